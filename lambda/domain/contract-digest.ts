/* The `digest.weekly` part of contract v1 (DESIGN §3); digest.ts builds it from the history of finished syncs. */

/** `digest.weekly`: the last seven days of a server. */
export interface Digest {
  readonly from: string;
  readonly to: string;
  readonly syncs: {
    readonly total: number;
    readonly completed: number;
    readonly stopped: number;
    readonly failed: number;
  };
  /** Of completed syncs; `null` when none completed. */
  readonly durations: { readonly medianSeconds: number | null; readonly maxSeconds: number | null };
  /** The most recent failures and stops (at most `SUMMARY_LIMIT` (events.ts)). */
  readonly problems: readonly {
    readonly repositoryName: string | null;
    readonly outcome: 'stopped' | 'failed';
    readonly finishedAt: string;
    readonly error: string | null;
  }[];
  /** Repositories out of sync right now with nothing syncing them. */
  readonly outOfSync: readonly { readonly id: string; readonly name: string | null; readonly since: string }[];
  /** Sessions running right now. */
  readonly running: number;
}
