import { describe, expect, it } from 'vitest';
import {
  buildDigest,
  digestDue,
  type HistoryEntry,
  historyEntryOf,
  lastDigestTime,
} from '../../lambda/domain/digest.js';
import { sampleEvent } from '../../local/cli/sample-events.js';

const MONDAY_8_UTC = { weekday: 1, time: '08:00', timeZone: 'UTC' };
const MONDAY_8_BERLIN = { weekday: 1, time: '08:00', timeZone: 'Europe/Berlin' };

describe('lastDigestTime', () => {
  it.each<[string, string, typeof MONDAY_8_UTC, string]>([
    ['Saturday: the Monday before', '2026-11-28T12:00:00Z', MONDAY_8_UTC, '2026-11-23T08:00:00.000Z'],
    ['Monday before 08:00: a week earlier', '2026-11-30T07:59:00Z', MONDAY_8_UTC, '2026-11-23T08:00:00.000Z'],
    ['Monday at 08:00: now', '2026-11-30T08:00:00Z', MONDAY_8_UTC, '2026-11-30T08:00:00.000Z'],
    ['Berlin winter time (UTC+1)', '2026-11-30T12:00:00Z', MONDAY_8_BERLIN, '2026-11-30T07:00:00.000Z'],
    ['Berlin summer time (UTC+2)', '2026-07-06T12:00:00Z', MONDAY_8_BERLIN, '2026-07-06T06:00:00.000Z'],
  ])('%s', (_name, now, schedule, expected) => {
    expect(lastDigestTime(new Date(now), schedule)).toBe(expected);
  });
});

describe('digestDue', () => {
  it.each<[string, string | undefined, string, boolean]>([
    ['never before the first cycle set the start', undefined, '2026-12-07T09:00:00Z', false],
    ['not again in the same week', '2026-11-30T08:05:00Z', '2026-12-06T23:00:00Z', false],
    ['due once the next Monday 08:00 has passed', '2026-11-30T08:05:00Z', '2026-12-07T08:00:00Z', true],
    ['due after a long outage, once', '2026-11-02T08:05:00Z', '2026-11-28T10:00:00Z', true],
  ])('%s', (_name, last, now, expected) => {
    expect(digestDue(last, new Date(now), MONDAY_8_UTC)).toBe(expected);
  });

  it('is never due when the digest is off', () => {
    expect(digestDue('2026-01-01T00:00:00Z', new Date('2026-12-07T09:00:00Z'), null)).toBe(false);
  });
});

describe('history and digest', () => {
  it('keeps a history entry for each end of a sync, and none for other events', () => {
    expect(historyEntryOf(sampleEvent('sync.failed'))).toMatchObject({ outcome: 'failed', error: expect.any(String) });
    expect(historyEntryOf(sampleEvent('sync.completed'))).toMatchObject({
      outcome: 'completed',
      durationSeconds: 9000,
    });
    expect(historyEntryOf(sampleEvent('sync.stalled'))).toBeUndefined();
  });

  it('counts outcomes in the window, the median and longest completed durations, the latest problems first', () => {
    const entry = (i: number, outcome: HistoryEntry['outcome'], day: number, seconds: number): HistoryEntry => ({
      eventId: `e${i}`,
      sessionId: `s${i}`,
      repositoryId: `r${i}`,
      repositoryName: `Repo ${i}`,
      outcome,
      startedAt: `2026-11-${String(day).padStart(2, '0')}T00:00:00.000Z`,
      finishedAt: `2026-11-${String(day).padStart(2, '0')}T06:00:00.000Z`,
      durationSeconds: seconds,
      error: outcome === 'failed' ? 'boom' : null,
    });
    const entries = [
      entry(1, 'completed', 15, 100), // before the window
      entry(2, 'completed', 24, 3600),
      entry(3, 'completed', 25, 600),
      entry(4, 'failed', 26, 50),
      entry(5, 'completed', 27, 7200),
      entry(6, 'stopped', 28, 70),
    ];

    const d = buildDigest(entries, '2026-11-23T08:00:00.000Z', '2026-11-30T08:00:00.000Z', [], 2);

    expect(d.syncs).toEqual({ total: 5, completed: 3, stopped: 1, failed: 1 });
    expect(d.durations).toEqual({ medianSeconds: 3600, maxSeconds: 7200 });
    expect(d.problems.map((p) => [p.repositoryName, p.outcome])).toEqual([
      ['Repo 6', 'stopped'],
      ['Repo 4', 'failed'],
    ]);
    expect(d.running).toBe(2);
  });
});
