import type { BlockerKind, ProxyProblem } from './contract-repository.js';
import type { HealthInfo } from './contract-server.js';
import type { Sample } from './estimate.js';
import type {
  EventType,
  HeldSummary,
  IncidentAck,
  IncidentRef,
  IncidentSubject,
  MonitorEvent,
  Severity,
} from './events.js';
import type { SessionState } from './types.js';

/**
 * Where a tracked session is in its lifecycle: `running` → (`stalled` ⇄ `running`) → `ended`; `failed` is kept
 * while the session is still listed; `other` is an unknown state value (no stall detection there).
 */
export type Phase = 'running' | 'stalled' | 'failed' | 'other' | 'ended';

/** How an ended session ended. `unobserved`: it was already finished when the monitor first saw it. */
export type Outcome = 'completed' | 'stopped' | 'failed' | 'unobserved';

/** What the monitor remembers about one session. Times are ISO-8601 UTC. */
export interface SessionRecord {
  readonly id: string;
  readonly repositoryId: string | null;
  readonly repositoryName: string | null;
  /** Last state the server reported. */
  readonly state: SessionState;
  readonly phase: Phase;
  readonly outcome: Outcome | null;
  readonly progressPercent: number | null;
  readonly error: string | null;
  readonly firstSeenAt: string;
  /** Last time the progress value moved (first seen, when it never did). */
  readonly lastProgressAt: string;
  readonly finishedAt: string | null;
  /** Consecutive cycles, with the server reachable, in which the session was neither listed nor found. */
  readonly missingCycles: number;
  /** Highest progress milestone already announced or passed (0: none). */
  readonly milestone: number;
  /** Events emitted for this session so far (the last event's sequence number). */
  readonly sequence: number;
  /** `failed` phase: when the failure was announced (or first seen). */
  readonly failedAt?: string;
  /** `failed` phase: when the failure, or the last reminder, was announced (absent in records of older versions). */
  readonly lastAlertAt?: string;
  /** `failed` phase: `sync.still_failed` reminders sent for this failure. */
  readonly reminders?: number;
  /**
   * Ended sessions: when the server was last seen still listing it (renewed daily). The record expires
   * `finishedRetention` after this (or after `finishedAt`), never while the server lists the session.
   */
  readonly listedAt?: string;
  /** While running: recent (time, progress) samples, for the rate and the finish estimate. */
  readonly samples?: readonly Sample[];
}

/** Per-server health and bookkeeping. */
export interface ServerRecord {
  /** `false` until the first cycle in which the server answered (that cycle emits `monitor.started`). */
  readonly initialized: boolean;
  /** Since when every cycle has failed to use the server; `null` while it works. */
  readonly failingSince: string | null;
  readonly failure: { readonly kind: string; readonly reason: string } | null;
  /** The outstanding alert about the server, if any: cleared by `server.recovered`. */
  readonly alerted: 'unreachable' | 'auth' | 'unsupported' | 'tls' | 'setup' | null;
  /** While an alert is out: reachable cycles in a row so far (`server.recovered` waits for `recoverAfterCycles`). */
  readonly reachableStreak?: number;
  /** `validTo` of the certificate `server.certificate_expiring` was sent for (once per certificate). */
  readonly certificateWarnedFor?: string;
  /**
   * A recent reachable cycle (renewed daily, see `renewEveryMs`): a cycle long after it starts a new baseline, since
   * records of ended sessions may have expired in between.
   */
  readonly aliveAt?: string;
  /** Last listing of the repositories (the out-of-sync detector runs every `REPOSITORY_SCAN_MS`). */
  readonly repositoriesScannedAt?: string;
  /** Repositories out of sync with nothing syncing them, by id; `alerted` once `repository.out_of_sync` was sent. */
  readonly outOfSync?: Readonly<
    Record<string, { readonly since: string; readonly name: string | null; readonly alerted: boolean }>
  >;
  /** When the last weekly digest went out (set at the first cycle, so a new install does not send one at once). */
  readonly lastDigestAt?: string;
  /** Events held by quiet hours or a maintenance window, summarised when it ends. */
  readonly held?: HeldBuffer;
  /**
   * When a cycle last polled the server, reachable or not: the fleet check reads it to find servers no longer polled.
   * Renewed at least every `heartbeatIntervals` − 1 cycles (see `withPolledAt`), not each one: a quiet cycle writes
   * nothing in between. Absent in records of older versions until their next cycle.
   */
  readonly polledAt?: string;
  /**
   * Incidents of this server by key: open ones, and resolved ones for a day (an ending event that comes a cycle late,
   * such as `repository.in_sync` after `sync.completed`, joins the incident it ends instead of opening one).
   */
  readonly incidents?: Readonly<Record<string, IncidentEntry>>;
  /**
   * What blocks backups besides a sync, as the repository scans see it (see `scan.ts`): repository blockers by
   * `<repositoryId>/<kind>`, proxies offline or in maintenance by id, the health check while it reports a problem.
   * `alerted` once the event was sent (after `outOfSyncAfterMs`, like the out-of-sync detector).
   */
  readonly blockers?: Readonly<Record<string, BlockerEntry>>;
  readonly proxies?: Readonly<Record<string, ProxyEntry>>;
  readonly unhealthy?: HealthEntry;
  /** The product build last seen (`GET /vN/ServiceInstance`). */
  readonly build?: string;
  /** The last change of `build` (an upgrade), kept a day as a likely cause. */
  readonly upgrade?: { readonly from: string; readonly to: string; readonly at: string };
  /**
   * Optional reads this server lacks or refuses, by read: reported once, tried again a day later (`at`), and at once
   * after an upgrade.
   */
  readonly unavailable?: Readonly<Record<string, { readonly reason: string; readonly at: string }>>;
  /** Set once the repository scans have filled the repository cache: a repository missing from it later is new. */
  readonly repositoriesKnown?: true;
  /** Repositories whose resync completed: the first run of each job they blocked is awaited, by repository id. */
  readonly firstBackupWatch?: Readonly<Record<string, FirstBackupWatch>>;
  /** Server-level events emitted so far. */
  readonly sequence: number;
}

export interface BlockerEntry {
  readonly repositoryId: string;
  readonly kind: BlockerKind;
  readonly name: string | null;
  readonly reason: string | null;
  readonly since: string;
  readonly alerted: boolean;
}

export interface ProxyEntry {
  readonly name: string;
  readonly state: ProxyProblem['state'];
  readonly status: string | null;
  readonly maintenanceModeState: string | null;
  readonly since: string;
  readonly alerted: boolean;
}

export interface HealthEntry {
  readonly status: string;
  readonly entries: HealthInfo['entries'];
  readonly since: string;
}

export interface FirstBackupWatch {
  readonly name: string | null;
  /** When `sync.completed` was emitted: runs that ended after it count. */
  readonly completedAt: string;
  /** The resync's incident: the result joins its conversation. */
  readonly incidentKey: string | null;
}

/** What the monitor keeps about one incident (see {@link IncidentRef}). */
export interface IncidentEntry {
  readonly key: string;
  readonly subject: IncidentSubject;
  readonly openedAt: string;
  readonly severity: Severity;
  readonly repository: IncidentRef['repository'];
  /** The incident's last event so far. */
  readonly latest: { readonly type: EventType; readonly eventId: string; readonly occurredAt: string } | null;
  readonly acknowledged: IncidentAck | null;
  readonly escalatedAfterMinutes: number | null;
  /** When it ended; `null` while open. */
  readonly resolvedAt: string | null;
  /** Its first warning or critical event (escalation counts from there); `null` while it is only news. */
  readonly problemSince: string | null;
}

/**
 * A request to acknowledge an incident (`vb365-sync-monitor ack`), stored beside the server's items; the next cycle
 * applies it to the open incident with that key (once) and announces it with `incident.acknowledged`.
 */
export interface AckRequest {
  readonly key: string;
  readonly by: string;
  readonly reason: string | null;
  /** ISO-8601 UTC. */
  readonly at: string;
}

/**
 * What the fleet check keeps about one configured server (one item per server in the fleet check's own partition):
 * since when it is configured, and the outstanding `monitor.server_not_polled`, if any.
 */
export interface FleetEntry {
  /**
   * When the fleet check first found the server in the configuration (again, after it was removed): a server never
   * polled is announced only once it has been configured for more than `heartbeatIntervals` intervals.
   */
  readonly configuredAt: string;
  /** While `monitor.server_not_polled` is out: the gap it announced (cleared by `monitor.server_polled_again`). */
  readonly notPolled?: { readonly since: string; readonly lastPolledAt: string | null };
  /** When the server left the configuration: the fleet check ignores it until it comes back. */
  readonly removedAt?: string;
  /** Events the fleet check emitted about this server so far. */
  readonly sequence: number;
  /**
   * The rhythm the entry was judged by (`<pollEveryMinutes>x<heartbeatIntervals>`): when it changes, the server's
   * grace restarts (a poll under the old, slower rhythm is not a silence under the new one).
   */
  readonly cadence?: string;
}

/** Held events of a server, until the window ends: the summary to send, and every held event's id. */
export interface HeldBuffer extends HeldSummary {
  /** Ids of every held event (capped), so re-evaluating after a crash does not count one twice. */
  readonly ids: readonly string[];
}

/** A cached repository name (names rarely change; in-sync status is always fetched fresh). */
export interface RepositoryRecord {
  readonly id: string;
  readonly name: string | null;
  /** Its proxy and organization (tenant, v8), as last seen. */
  readonly proxyId?: string | null;
  readonly organizationId?: string | null;
  /** The organization's name, once looked up. */
  readonly organizationName?: string | null;
  /** When a repository scan first found it after the cache was filled (a new repository); absent: known before. */
  readonly addedAt?: string;
  /** When a scan last stored it: renewed before the cache forgets it (30 days), so a known one never looks new. */
  readonly seenAt?: string;
}

/**
 * A stored record with its concurrency and outbox fields (DESIGN §4). `version` guards every write; `pending` holds
 * events committed but not yet acknowledged by the publisher; a lease marks the cycle that is publishing them.
 */
export interface Envelope<T> {
  readonly record: T;
  readonly version: number;
  readonly pending: readonly MonitorEvent[];
  readonly lease: Lease | null;
}

export interface Lease {
  readonly owner: string;
  /** ISO-8601 UTC. */
  readonly until: string;
}

/** Everything stored for one server, as loaded at the start of a cycle. */
export interface ServerSnapshot {
  readonly server: Envelope<ServerRecord> | undefined;
  readonly sessions: readonly Envelope<SessionRecord>[];
  readonly repositories: readonly RepositoryRecord[];
  /** Acknowledgements requested and not yet expired (a day); a cycle applies each once. */
  readonly acks?: readonly AckRequest[];
}

export const INITIAL_SERVER: ServerRecord = {
  initialized: false,
  failingSince: null,
  failure: null,
  alerted: null,
  sequence: 0,
};

/** A record whose pending events another, still-running cycle is publishing: leave it alone this cycle. */
export function leasedByOther(envelope: Envelope<unknown>, owner: string, now: Date): boolean {
  return (
    envelope.pending.length > 0 &&
    envelope.lease !== null &&
    envelope.lease.owner !== owner &&
    Date.parse(envelope.lease.until) > now.getTime()
  );
}
