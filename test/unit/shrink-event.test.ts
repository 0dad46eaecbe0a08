import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { SHRINK_STEPS } from '../../lambda/adapters/limits.js';
import { LAST_SHRINK_STEP, shrinkEvent } from '../../lambda/adapters/shrink-event.js';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import { everyEventType, sampleEvent } from '../../local/cli/sample-events.js';

const schema = JSON.parse(readFileSync(new URL('../../lambda/domain/event-v1.schema.json', import.meta.url), 'utf8'));
const ajv = new Ajv2020({ allErrors: true, strict: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const validate = ajv.compile(schema);

/** Every sample event with its free text made long, so that every step has something to cut. */
function longEvents(): MonitorEvent[] {
  // `held.reason` is an enum, not free text.
  const long = (s: unknown) =>
    typeof s === 'string' && !['quiet-hours', 'maintenance'].includes(s) ? `${s} ${'z'.repeat(5_000)}` : s;
  const lengthen = (value: unknown, key = ''): unknown => {
    if (Array.isArray(value)) return value.map((v) => lengthen(v));
    if (typeof value === 'object' && value !== null) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, key === 'server' ? v : lengthen(v, k)]));
    }
    return ['error', 'reason', 'repositoryName', 'name', 'title', 'note'].includes(key) ? long(value) : value;
  };
  return everyEventType().map((e) => lengthen(e) as MonitorEvent);
}

describe('shrinkEvent', () => {
  it('keeps every event type valid contract v1 at every step', () => {
    for (const event of longEvents()) {
      for (let step = 0; step <= LAST_SHRINK_STEP; step++) {
        const shrunk = shrinkEvent(event, step);

        expect(validate(shrunk), `${event.type} at step ${step}: ${ajv.errorsText(validate.errors)}`).toBe(true);
      }
    }
  });

  it('keeps ids, type, times, the server and every total; cuts text and lists to the step', () => {
    const items = Array.from({ length: 25 }, (_, i) => ({
      sessionId: `s${i}`,
      repositoryId: `r${i}`,
      repositoryName: `Repository ${i} ${'n'.repeat(2_000)}`,
      state: 'Failed',
      progressPercent: 10,
      error: 'e'.repeat(4_096),
    }));
    const event = sampleEvent('monitor.started', {
      server: { id: 'srv', name: `Long server name ${'s'.repeat(500)}`, url: 'https://vb365.example:4443' },
      summary: { running: [], failed: items, other: [], totals: { running: 0, failed: 60, other: 0 } },
    });

    const shrunk = shrinkEvent(event, 2);

    const bounds = SHRINK_STEPS[2] ?? { textChars: 0, listItems: 0 };
    expect(shrunk.eventId).toBe(event.eventId);
    expect(shrunk.occurredAt).toBe(event.occurredAt);
    expect(shrunk.server).toEqual(event.server);
    expect(shrunk.summary?.totals).toEqual(event.summary?.totals);
    expect(shrunk.summary?.failed).toHaveLength(bounds.listItems);
    expect(shrunk.summary?.failed[0]?.sessionId).toBe('s0');
    expect(shrunk.summary?.failed[0]?.error).toHaveLength(bounds.textChars);
    expect(shrunk.summary?.failed[0]?.repositoryName?.endsWith('…')).toBe(true);
    expect(event.summary?.failed).toHaveLength(25);
  });

  it('returns the event itself at step 0', () => {
    const event = sampleEvent('sync.failed');

    expect(shrinkEvent(event, 0)).toBe(event);
  });
});
