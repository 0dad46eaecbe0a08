import type { retry } from './undici.js';

/** The callback undici's retry interceptor calls to decide whether, and when, to try again. */
export type RetryDecider = NonNullable<NonNullable<Parameters<typeof retry>[0]>['retry']>;

export interface BackoffOptions {
  /** Retries after the first attempt. */
  readonly maxRetries: number;
  /** First backoff ceiling; doubles per retry (full jitter). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** A `Retry-After` longer than this is not waited for: give up now, a later attempt will retry. */
  readonly maxRetryAfterMs: number;
  /** Which failures are worth another attempt. */
  readonly retriable: (failure: { statusCode?: number; code?: string }) => boolean;
  /** No sleep may end after this time (ms since epoch). */
  readonly deadline: number;
  readonly signal: AbortSignal;
  readonly now: () => number;
  readonly random: () => number;
}

/**
 * Backoff for undici's retry interceptor: `Retry-After` when the server sends one, otherwise full jitter on a doubling
 * base; never sleeps past the deadline or after the signal aborted. Shared by every HTTP adapter.
 */
export function backoff(o: BackoffOptions): RetryDecider {
  return (err, { state }, cb) => {
    const { statusCode, code, headers } = err as Error & {
      statusCode?: number;
      code?: string;
      headers?: Record<string, string | string[] | undefined>;
    };
    const failure = statusCode !== undefined ? { statusCode } : code !== undefined ? { code } : {};
    if (!o.retriable(failure) || state.counter > o.maxRetries || o.signal.aborted) return cb(err);
    const retryAfter = retryAfterMs(headers?.['retry-after'], o.now());
    if (retryAfter !== undefined && retryAfter > o.maxRetryAfterMs) return cb(err);
    const ceiling = Math.min(o.maxDelayMs, o.baseDelayMs * 2 ** Math.max(0, state.counter - 1));
    const delay = retryAfter ?? Math.floor(o.random() * ceiling);
    if (o.now() + delay >= o.deadline) return cb(err);
    const timer = setTimeout(() => cb(null), delay);
    timer.unref?.();
    return undefined;
  };
}

/** `Retry-After` as delay in ms (seconds or an HTTP date); `undefined` when absent or unparseable. */
export function retryAfterMs(header: string | string[] | undefined, now: number): number | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value.trim() === '') return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : undefined;
}
