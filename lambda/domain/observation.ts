import type { UpstreamErrorKind } from './errors.js';
import type { SessionRecord } from './state.js';
import type { Lookup, RepositoryInfo, ServerCertificate, SyncSession } from './types.js';

/** A fetch that failed for this one item (logged, retried next cycle); it never fails the cycle. */
export const FETCH_FAILED = 'fetch-failed' as const;
export type Fetched<T> = Lookup<T> | typeof FETCH_FAILED;

/** What one cycle saw of the server. */
export type Observation =
  | {
      readonly reachable: true;
      /** Sessions in the list, in list order. */
      readonly listed: readonly SyncSession[];
      /** Single GETs of tracked sessions missing from the list, by session id. */
      readonly lookedUp: ReadonlyMap<string, Fetched<SyncSession>>;
      /**
       * Repositories fetched this cycle (fresh in-sync status), by repository id: those the rules asked for (see
       * `Decision` in lifecycle.ts); empty on the first evaluation.
       */
      readonly repositories: ReadonlyMap<string, Fetched<RepositoryInfo>>;
      /** The server's TLS certificate, when the client saw one. */
      readonly certificate?: ServerCertificate | undefined;
      /** Every repository, when they were listed this cycle (see `repositoryScanDue`). */
      readonly repositoryList?: readonly RepositoryInfo[] | undefined;
    }
  | { readonly reachable: false; readonly kind: UpstreamErrorKind; readonly reason: string };

/** An observation of a server that answered. */
export type Reachable = Extract<Observation, { readonly reachable: true }>;

/** Ids of tracked, not-ended sessions absent from the list: the cycle GETs each one. */
export function sessionsToLookUp(sessions: readonly SessionRecord[], listed: readonly SyncSession[]): string[] {
  const listedIds = new Set(listed.map((s) => s.id));
  return sessions.filter((s) => s.phase !== 'ended' && !listedIds.has(s.id)).map((s) => s.id);
}
