import type { MonitorEvent } from '../../lambda/domain/events.js';
import type { Notifier, PublishResult } from '../../lambda/domain/ports.js';

/** Notifier that keeps what it delivered; can be told to refuse some events or to throw. */
export class RecordingNotifier implements Notifier {
  readonly delivered: MonitorEvent[] = [];
  /** Event ids refused (reported as failed) while present. */
  readonly refuse = new Set<string>();
  /** Refuse every event of these types while present. */
  readonly refuseTypes = new Set<string>();
  /** When set, `publish` throws it (nothing attempted). */
  throwOnPublish: unknown;

  async publish(events: readonly MonitorEvent[]): Promise<PublishResult> {
    if (this.throwOnPublish !== undefined) throw this.throwOnPublish;
    const delivered = new Set<string>();
    const failed: { eventId: string; reason: string }[] = [];
    for (const e of events) {
      if (this.refuse.has(e.eventId) || this.refuseTypes.has(e.type))
        failed.push({ eventId: e.eventId, reason: 'refused by test' });
      else {
        this.delivered.push(e);
        delivered.add(e.eventId);
      }
    }
    return { delivered, failed };
  }

  types(): string[] {
    return this.delivered.map((e) => e.type);
  }
}
