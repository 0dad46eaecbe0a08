import type { SessionState } from './types.js';

/* The session parts of contract v1 (DESIGN §3): what a sync event and the first cycle's summary say of sessions. */

/** The session part of a sync event. Times are ISO-8601 UTC, recorded by the monitor (the API has none). */
export interface SessionSnapshot {
  readonly id: string;
  readonly repositoryId: string | null;
  readonly repositoryName: string | null;
  readonly state: SessionState;
  readonly previousState: SessionState;
  readonly progressPercent: number | null;
  readonly error: string | null;
  readonly firstSeenAt: string;
  readonly finishedAt: string | null;
  /** From first seen to finished (ended sessions) or to now (running ones). */
  readonly durationSeconds: number;
  /**
   * `sync.completed` only: `true` when the repository reported `isOutOfSync: false`, `false` when that could not be
   * checked (the completion is then inferred from the session ending). `null` on other events.
   */
  readonly completionConfirmed: boolean | null;
  /** `sync.progress` only: the milestone crossed. */
  readonly milestone: number | null;
}

/**
 * `monitor.started`: what the first cycle found, in one message instead of a storm of old news. Each list holds at
 * most `SUMMARY_LIMIT` (events.ts) items (messages must stay small); `totals` has the full counts.
 */
export interface MonitorSummary {
  readonly running: readonly SummaryItem[];
  readonly failed: readonly SummaryItem[];
  readonly other: readonly SummaryItem[];
  readonly totals: { readonly running: number; readonly failed: number; readonly other: number };
}

export interface SummaryItem {
  readonly sessionId: string;
  readonly repositoryId: string | null;
  readonly repositoryName: string | null;
  readonly state: SessionState;
  readonly progressPercent: number | null;
  readonly error: string | null;
}

/** `sync.still_failed`: which reminder this is. */
export interface Reminder {
  /** 1 for the first reminder. */
  readonly count: number;
  /** Reminders at most (then silence until the session changes). */
  readonly of: number;
  /** When the failure was first announced. */
  readonly failedSince: string;
}
