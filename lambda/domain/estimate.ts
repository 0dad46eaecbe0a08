/*
 * Rate and estimated finish of a running sync (pure). A session keeps a short history of (time, progress) samples,
 * one per progress change; the rate is read over that window, and only once it means something: at least
 * `MIN_SAMPLES` samples spanning `MIN_SPAN_MS` with progress that moved. Before that the answer is "estimating".
 */

/** A progress sample: epoch seconds and percent. */
export type Sample = readonly [at: number, percent: number];

export const MAX_SAMPLES = 8;
export const MIN_SAMPLES = 3;
export const MIN_SPAN_MS = 10 * 60_000;

export interface Estimate {
  /** Percent per hour over the sample window; `null` while estimating. */
  readonly ratePercentPerHour: number | null;
  /** ISO-8601 UTC; `null` while estimating or when progress does not move. */
  readonly estimatedFinishAt: string | null;
  /** Samples the estimate rests on. */
  readonly samples: number;
}

/** The samples with `percent` at `now` added when it differs from the last one (oldest dropped beyond the cap). */
export function addSample(samples: readonly Sample[] | undefined, now: Date, percent: number | null): Sample[] {
  const list = [...(samples ?? [])];
  if (percent === null) return list;
  const last = list.at(-1);
  if (last && last[1] === percent) return list;
  // Progress that went back (a restart under the same id) starts a new window.
  const kept = last && percent < last[1] ? [] : list;
  return [...kept, [Math.floor(now.getTime() / 1000), percent] as const].slice(-MAX_SAMPLES);
}

/** Rate and finish estimate at `now` from the samples (see the module comment for when it is given). */
export function estimateOf(samples: readonly Sample[] | undefined, now: Date): Estimate {
  const list = samples ?? [];
  const first = list[0];
  const last = list.at(-1);
  if (!first || !last || list.length < MIN_SAMPLES) return estimating(list.length);
  const spanMs = (last[0] - first[0]) * 1000;
  const moved = last[1] - first[1];
  if (spanMs < MIN_SPAN_MS || moved <= 0) return estimating(list.length);
  const perMs = moved / spanMs;
  const ratePercentPerHour = Math.round(perMs * 3_600_000 * 10) / 10;
  const remainingMs = (100 - last[1]) / perMs;
  // From the last sample, not from now: a session that stopped moving gets no closer to its finish.
  const finish = Math.max(now.getTime(), last[0] * 1000 + remainingMs);
  return {
    ratePercentPerHour,
    estimatedFinishAt: new Date(Math.round(finish / 60_000) * 60_000).toISOString(),
    samples: list.length,
  };
}

function estimating(samples: number): Estimate {
  return { ratePercentPerHour: null, estimatedFinishAt: null, samples };
}
