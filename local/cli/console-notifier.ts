import type { MonitorEvent } from '../../lambda/domain/events.js';
import type { Notifier, PublishResult } from '../../lambda/domain/ports.js';
import { subjectOf, textOf } from '../../lambda/domain/render-text.js';

const MARK: Record<MonitorEvent['severity'], string> = { info: 'INFO', warning: 'WARNING', critical: 'CRITICAL' };

/**
 * Delivers events to a stream: as readable text (what an email reader would see: a `monitor.grouped` message instead
 * of the events it stands for), or with `json` as exactly one event JSON per line (contract v1, every event) and
 * nothing else.
 */
export class ConsoleNotifier implements Notifier {
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly json: boolean,
  ) {}

  async publish(events: readonly MonitorEvent[]): Promise<PublishResult> {
    for (const e of events) {
      if (this.json) this.out.write(`${JSON.stringify(e)}\n`);
      else if (e.groupedIn === undefined) this.out.write(`${formatReadable(e)}\n\n`);
    }
    return { delivered: new Set(events.map((e) => e.eventId)), failed: [] };
  }
}

/** Subject line, then the body indented: one notification as a person reads it. */
export function formatReadable(e: MonitorEvent): string {
  const head = `=== ${MARK[e.severity].padEnd(8)} ${subjectOf(e)}`;
  const body = textOf(e)
    .split('\n')
    .map((line) => (line === '' ? '' : `    ${line}`))
    .join('\n');
  return `${head}\n${body}`;
}
