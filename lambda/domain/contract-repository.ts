import type { HealthInfo } from './contract-server.js';

/*
 * The repository parts of contract v1 (DESIGN §3): what keeps a repository's jobs from running (out of sync, blockers,
 * proxies), what they block, what may explain it, how long a sync should take, and the first backups after a resync.
 */

/** `repository.*`: a repository out of sync with nothing syncing it. */
export interface RepositoryProblem {
  readonly id: string;
  readonly name: string | null;
  /** Since when the monitor has seen it out of sync with no session running. */
  readonly outOfSyncSince: string;
  readonly outOfSyncSeconds: number;
}

/** What a repository problem blocks: the backup and backup copy jobs that target the repository. */
export interface Impact {
  /**
   * The first `SUMMARY_LIMIT` (events.ts) jobs: those whose next run is missed first, then enabled ones, then by
   * name.
   */
  readonly jobs: readonly ImpactJob[];
  readonly total: number;
  /**
   * Until when the repository is expected to stay blocked: the sync's estimated finish; `null` when unknown (no
   * estimate yet, a failure, a blocker): then every scheduled run is at risk until the problem ends.
   */
  readonly blockedUntil: string | null;
  /** How many of all `total` jobs miss their next run (enabled, with a next run before `blockedUntil`). */
  readonly missedRuns: number;
}

export interface ImpactJob {
  readonly id: string;
  readonly name: string;
  readonly isEnabled: boolean;
  /** `backup` (a backup job) or `copy` (a backup copy job). */
  readonly kind: 'backup' | 'copy';
  /** Its next scheduled run (ISO-8601 UTC); `null`: none scheduled, or the server did not say. */
  readonly nextRun: string | null;
  /** `true`: enabled, and its next run falls before `blockedUntil` (or `blockedUntil` is unknown). */
  readonly missesNextRun: boolean;
}

/**
 * `repository.blocked` / `repository.unblocked`: a repository whose jobs do not run for a reason VB365 shows on the
 * repository itself (v8), other than out of sync. One blocker per event; a repository may have several.
 */
export interface RepositoryBlocker {
  readonly id: string;
  readonly name: string | null;
  /** `outdated`: "Out of Date" after an upgrade; `out_of_order`: Invalid (`reason` says why); `migration_locked`. */
  readonly kind: BlockerKind;
  /** `out_of_order`: the server's `outOfOrderReason`; `null` otherwise. */
  readonly reason: string | null;
  /** Since when the monitor has seen it (ISO-8601 UTC). */
  readonly since: string;
  readonly seconds: number;
}

export const BLOCKER_KINDS = ['outdated', 'out_of_order', 'migration_locked'] as const;
export type BlockerKind = (typeof BLOCKER_KINDS)[number];

/** `proxy.*`: a backup proxy that cannot take jobs, and the repositories it serves. */
export interface ProxyProblem {
  readonly id: string;
  readonly name: string;
  /** `offline` (status Offline) or `maintenance` (maintenance mode Enabling or Enabled). */
  readonly state: 'offline' | 'maintenance';
  /** The server's words: `status` and `maintenanceModeState` as sent. */
  readonly status: string | null;
  readonly maintenanceModeState: string | null;
  /** Since when the monitor has seen it so (ISO-8601 UTC); `proxy.online`: until now. */
  readonly since: string;
  readonly seconds: number;
  /** The first `SUMMARY_LIMIT` (events.ts) repositories it serves. */
  readonly repositories: readonly { readonly id: string; readonly name: string | null }[];
  readonly totalRepositories: number;
}

/**
 * What the monitor could see that may explain the first event of a repository incident (out of sync, or a sync that
 * started, failed or stopped), and of a group of them. Each finding is a fact, not a diagnosis.
 */
export type CauseFinding =
  /** `GET /v8/Health` reported a component not healthy. */
  | { readonly kind: 'unhealthy'; readonly entries: HealthInfo['entries'] }
  /** The product build changed (an upgrade) in the last day. */
  | { readonly kind: 'upgrade'; readonly from: string; readonly to: string; readonly at: string }
  /** The repository's proxy is offline or in maintenance. */
  | {
      readonly kind: 'proxy';
      readonly proxyId: string;
      readonly proxyName: string;
      readonly state: ProxyProblem['state'];
    }
  /** The repository appeared in the server's list in the last day (a new repository syncs its cache). */
  | { readonly kind: 'new_repository'; readonly addedAt: string };

/** `sync.started`: how long this repository's previous syncs took (from the monitor's history). */
export interface Forecast {
  /** Previous finished syncs counted (the most recent, up to 10). */
  readonly count: number;
  readonly minSeconds: number;
  readonly medianSeconds: number;
  readonly maxSeconds: number;
  /** The start time plus the median (ISO-8601 UTC). */
  readonly expectedFinishAt: string;
}

/**
 * `repository.first_backup_ok` / `repository.first_backup_failed`: after a resync completed, the first run of each job
 * it had blocked. `ok`: every one succeeded (Success or Warning); `failed`: at least one failed.
 */
export interface FirstBackup {
  readonly repositoryId: string;
  readonly repositoryName: string | null;
  /** When the sync completed (the watch started). */
  readonly syncCompletedAt: string;
  /** The first `SUMMARY_LIMIT` (events.ts) jobs' first runs after it. */
  readonly jobs: readonly {
    readonly id: string;
    readonly name: string;
    readonly kind: 'backup' | 'copy';
    /** `Success`, `Warning`, `Failed`, … as the server said. */
    readonly status: string;
    readonly endedAt: string | null;
  }[];
  readonly total: number;
}

/** The organization (tenant, v8) a repository belongs to, for MSPs' per-customer channels. */
export interface OrganizationRef {
  readonly id: string;
  /** `null` when the server did not name it. */
  readonly name: string | null;
}
