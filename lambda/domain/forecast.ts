import type { Forecast } from './contract-repository.js';
import { type HistoryEntry, medianOf } from './digest.js';
import type { MonitorEvent } from './events.js';
import type { CycleResult } from './lifecycle.js';

/*
 * The forecast at the start of a sync (pure): before the live estimate has samples, `sync.started` says how long this
 * repository's previous syncs took, from the monitor's history of finished syncs (kept `historyRetention`, 90 days by
 * default): the most recent completed ones, up to {@link FORECAST_SAMPLES}.
 */

/** Completed syncs a forecast rests on, at most (the most recent). */
export const FORECAST_SAMPLES = 10;

/** Whether the cycle starts a sync of a known repository (its forecast needs the history). */
export function needsForecast(result: CycleResult): boolean {
  return result.sessions.some((s) =>
    s.events.some((e) => e.type === 'sync.started' && e.session?.repositoryId != null),
  );
}

/** The forecast of a repository's next sync started at `startedAt`, or `undefined` when none completed before. */
export function forecastOf(
  history: readonly HistoryEntry[],
  repositoryId: string,
  startedAt: string,
): Forecast | undefined {
  const id = repositoryId.toLowerCase();
  const durations = history
    .filter((h) => h.outcome === 'completed' && h.repositoryId?.toLowerCase() === id && h.finishedAt <= startedAt)
    .sort((a, b) => b.finishedAt.localeCompare(a.finishedAt))
    .slice(0, FORECAST_SAMPLES)
    .map((h) => h.durationSeconds)
    .sort((a, b) => a - b);
  const median = medianOf(durations);
  if (median === null) return undefined;
  const finish = Date.parse(startedAt) + median * 1000;
  return {
    count: durations.length,
    minSeconds: durations[0] as number,
    medianSeconds: median,
    maxSeconds: durations.at(-1) as number,
    expectedFinishAt: new Date(Math.round(finish / 60_000) * 60_000).toISOString(),
  };
}

/** The result with a `forecast` on every `sync.started` whose repository has completed syncs in the history. */
export function withForecasts(result: CycleResult, history: readonly HistoryEntry[]): CycleResult {
  const annotate = (e: MonitorEvent): MonitorEvent => {
    if (e.type !== 'sync.started' || !e.session?.repositoryId) return e;
    const forecast = forecastOf(history, e.session.repositoryId, e.session.firstSeenAt);
    return forecast === undefined ? e : { ...e, forecast };
  };
  return { ...result, sessions: result.sessions.map((s) => ({ record: s.record, events: s.events.map(annotate) })) };
}
