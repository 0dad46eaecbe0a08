import { describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../../lambda/domain/digest.js';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import { FORECAST_SAMPLES, forecastOf, needsForecast, withForecasts } from '../../lambda/domain/forecast.js';
import type { CycleResult } from '../../lambda/domain/lifecycle.js';
import { INITIAL_SERVER } from '../../lambda/domain/state.js';

const START = '2026-11-28T10:00:00.000Z';
const SERVER = { id: 'srv', name: 'Contoso VB365', url: 'https://vb365.contoso.local:4443' };
const hoursBefore = (h: number) => new Date(Date.parse(START) - h * 3_600_000).toISOString();

function finished(n: number, durationSeconds: number, overrides: Partial<HistoryEntry> = {}): HistoryEntry {
  return {
    eventId: `srv/s${n}/9/sync.completed`,
    sessionId: `s${n}`,
    repositoryId: 'r1',
    repositoryName: 'Repo r1',
    outcome: 'completed',
    startedAt: hoursBefore(n + 1),
    finishedAt: hoursBefore(n),
    durationSeconds,
    error: null,
    ...overrides,
  };
}

describe('forecastOf', () => {
  it('gives the min, median and max of the completed syncs, and the start plus the median rounded to the minute', () => {
    const history = [finished(1, 1000), finished(2, 100), finished(3, 5000), finished(4, 1290)];

    expect(forecastOf(history, 'r1', START)).toEqual({
      count: 4,
      minSeconds: 100,
      medianSeconds: 1000,
      maxSeconds: 5000,
      expectedFinishAt: '2026-11-28T10:17:00.000Z', // 16 min 40 s
    });
  });

  it.each<[string, HistoryEntry[], number | undefined]>([
    ['nothing completed before: no forecast', [], undefined],
    [
      'only failed and stopped syncs: none',
      [finished(1, 60, { outcome: 'failed' }), finished(2, 60, { outcome: 'stopped' })],
      undefined,
    ],
    [
      'another repository: none',
      [finished(1, 60, { repositoryId: 'r2' }), finished(2, 60, { repositoryId: null })],
      undefined,
    ],
    ['a sync finished after the start: not counted', [finished(-1, 60), finished(1, 600)], 1],
    ['a sync finished at the start counts', [finished(0, 60), finished(1, 600)], 2],
    ['the repository id in another case counts', [finished(1, 60, { repositoryId: 'R1' })], 1],
  ])('%s', (_label, history, count) => {
    expect(forecastOf(history, 'r1', START)?.count).toBe(count);
  });

  it(`rests on the ${FORECAST_SAMPLES} most recent completed syncs`, () => {
    // Old ones took a day; the recent ten a minute to ten minutes.
    const old = Array.from({ length: 5 }, (_, i) => finished(100 + i, 86_400));
    const recent = Array.from({ length: 10 }, (_, i) => finished(10 - i, (i + 1) * 60));

    expect(forecastOf([...old, ...recent], 'r1', START)).toMatchObject({
      count: 10,
      minSeconds: 60,
      medianSeconds: 300,
      maxSeconds: 600,
    });
  });
});

describe('withForecasts', () => {
  function started(sessionId: string, repositoryId: string | null, type: MonitorEvent['type'] = 'sync.started') {
    return {
      schemaVersion: 1 as const,
      eventId: `srv/${sessionId}/1/${type}`,
      type,
      severity: 'info' as const,
      occurredAt: START,
      server: SERVER,
      session: {
        id: sessionId,
        repositoryId,
        repositoryName: null,
        state: 'Synchronizing',
        previousState: null,
        progressPercent: 0,
        error: null,
        firstSeenAt: START,
        finishedAt: null,
        durationSeconds: 0,
        completionConfirmed: null,
        milestone: null,
      },
    };
  }
  const resultOf = (events: MonitorEvent[]): CycleResult => ({
    server: { ...INITIAL_SERVER, initialized: true },
    serverEvents: [],
    sessions: events.map((e) => ({ record: { id: e.session?.id } as never, events: [e] })),
    learnedNames: [],
    baseline: false,
  });

  it('puts a forecast on each sync.started whose repository completed syncs, and nowhere else', () => {
    const result = withForecasts(
      resultOf([started('a', 'r1'), started('b', 'r2'), started('c', null), started('d', 'r1', 'sync.failed')]),
      [finished(1, 600)],
    );

    expect(result.sessions.map((s) => s.events[0]?.forecast?.medianSeconds)).toEqual([
      600,
      undefined,
      undefined,
      undefined,
    ]);
    expect(result.sessions[1]?.events[0]).not.toHaveProperty('forecast');
  });

  it.each<[string, MonitorEvent[], boolean]>([
    ['a sync of a known repository starts', [started('a', 'r1')], true],
    ['a sync of an unknown repository starts', [started('a', null)], false],
    ['no sync starts', [started('a', 'r1', 'sync.progress')], false],
  ])('needsForecast when %s: %s', (_label, events, expected) => {
    expect(needsForecast(resultOf(events))).toBe(expected);
  });
});
