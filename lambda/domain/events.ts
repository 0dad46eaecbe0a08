import type { Digest } from './digest.js';
import type { Estimate } from './estimate.js';
import type { SessionState } from './types.js';

/** Every event type of contract v1 (DESIGN §3). */
export const EVENT_TYPES = [
  'monitor.started',
  'sync.started',
  'sync.progress',
  'sync.stalled',
  'sync.resumed',
  'sync.failed',
  'sync.completed',
  'sync.stopped',
  'sync.state_changed',
  'server.unreachable',
  'server.recovered',
  'server.auth_failed',
  'server.api_unsupported',
  'server.certificate_expiring',
  'sync.still_failed',
  'monitor.held_summary',
  'repository.out_of_sync',
  'repository.in_sync',
  'digest.weekly',
  'server.tls_failed',
  'server.setup_required',
  'monitor.grouped',
  'monitor.server_not_polled',
  'monitor.server_polled_again',
  'incident.acknowledged',
  'incident.escalated',
  'repository.blocked',
  'repository.unblocked',
  'proxy.offline',
  'proxy.maintenance',
  'proxy.online',
  'server.unhealthy',
  'server.healthy',
  'repository.first_backup_ok',
  'repository.first_backup_failed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export type Severity = 'info' | 'warning' | 'critical';

/** Severity is a property of the type, never chosen case by case. */
export const SEVERITY: Readonly<Record<EventType, Severity>> = {
  'monitor.started': 'info',
  'sync.started': 'info',
  'sync.progress': 'info',
  'sync.stalled': 'warning',
  'sync.resumed': 'info',
  'sync.failed': 'critical',
  'sync.completed': 'info',
  'sync.stopped': 'warning',
  'sync.state_changed': 'info',
  'server.unreachable': 'critical',
  'server.recovered': 'info',
  'server.auth_failed': 'critical',
  'server.api_unsupported': 'critical',
  'server.certificate_expiring': 'warning',
  'sync.still_failed': 'warning',
  'monitor.held_summary': 'info',
  'repository.out_of_sync': 'warning',
  'repository.in_sync': 'info',
  'digest.weekly': 'info',
  'server.tls_failed': 'critical',
  'server.setup_required': 'info',
  // A group carries the severity of the events it stands for (see `groupSeverity`); this is the fallback.
  'monitor.grouped': 'info',
  // The monitor is blind to that server: nothing about its syncs reaches anyone until it is polled again.
  'monitor.server_not_polled': 'critical',
  'monitor.server_polled_again': 'info',
  // Someone is on it: reminders and escalation stop.
  'incident.acknowledged': 'info',
  // Nobody acknowledged an open incident in time: louder channels hear of it (`incident.severity` says how bad).
  'incident.escalated': 'warning',
  // Jobs of the repository do not run (Out of Date after an upgrade, Invalid, locked by a migration).
  'repository.blocked': 'warning',
  'repository.unblocked': 'info',
  // Jobs whose repositories the proxy serves cannot run.
  'proxy.offline': 'warning',
  // Planned: the proxy takes no jobs until maintenance mode is switched off.
  'proxy.maintenance': 'info',
  'proxy.online': 'info',
  // The configuration database or the message bus is down: every repository's cache may be out of sync.
  'server.unhealthy': 'critical',
  'server.healthy': 'info',
  'repository.first_backup_ok': 'info',
  'repository.first_backup_failed': 'warning',
};

export interface ServerRef {
  readonly id: string;
  readonly name: string;
  readonly url: string;
}

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
 * most {@link SUMMARY_LIMIT} items (messages must stay small); `totals` has the full counts.
 */
export interface MonitorSummary {
  readonly running: readonly SummaryItem[];
  readonly failed: readonly SummaryItem[];
  readonly other: readonly SummaryItem[];
  readonly totals: { readonly running: number; readonly failed: number; readonly other: number };
}

/**
 * The monitor's word about its own health, like its CloudWatch alarms: every email address and every channel gets
 * these whatever its `eventTypes` (a filter written before they existed must not hide that a server is not watched).
 */
export const ALWAYS_DELIVERED: readonly EventType[] = ['monitor.server_not_polled', 'monitor.server_polled_again'];

export const SUMMARY_LIMIT = 25;

export interface SummaryItem {
  readonly sessionId: string;
  readonly repositoryId: string | null;
  readonly repositoryName: string | null;
  readonly state: SessionState;
  readonly progressPercent: number | null;
  readonly error: string | null;
}

/** `server.*` events: why the server cannot be used, and since when. */
export interface ServerProblem {
  /** Safe, one-line reason (never a secret). */
  readonly reason: string | null;
  /** Kind of failure: `unreachable` (incl. TLS), `auth`, `response`, `unsupported`. */
  readonly kind: string | null;
  readonly since: string;
  /** `server.recovered`: length of the outage. */
  readonly outageSeconds: number | null;
}

/** `server.certificate_expiring`: the REST API's TLS certificate. */
export interface CertificateInfo {
  readonly subject: string;
  /** ISO-8601 UTC. */
  readonly validTo: string;
  readonly fingerprint256: string;
  /** Whole days left when the event was emitted (0: expires within a day). */
  readonly daysLeft: number;
}

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
  /** The first {@link SUMMARY_LIMIT} jobs: those whose next run is missed first, then enabled ones, then by name. */
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
  /** The first {@link SUMMARY_LIMIT} repositories it serves. */
  readonly repositories: readonly { readonly id: string; readonly name: string | null }[];
  readonly totalRepositories: number;
}

/** `server.unhealthy` / `server.healthy`: `GET /v8/Health` (the configuration database and message bus). */
export interface HealthInfo {
  /** `Unhealthy` (or another value the server sent) / `Healthy`. */
  readonly status: string;
  /** The components not healthy (`server.healthy`: the ones that were), with the server's descriptions. */
  readonly entries: readonly { readonly name: string; readonly status: string; readonly description: string | null }[];
  readonly since: string;
  readonly seconds: number;
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
  /** The first {@link SUMMARY_LIMIT} jobs' first runs after it. */
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

/**
 * `monitor.server_not_polled` / `monitor.server_polled_again` (the fleet check): a gap in the monitor's own polling of
 * a server. Times are ISO-8601 UTC.
 */
export interface PollingGap {
  /** Start of the gap: the last poll recorded, or when the server was configured if it was not polled since. */
  readonly since: string;
  /**
   * The last poll recorded before the gap; `null`: not polled since it was configured. A poll is recorded every
   * `heartbeatIntervals` − 1 intervals, so the last poll itself may be up to `heartbeatIntervals` − 2 intervals later.
   */
  readonly lastPolledAt: string | null;
  /** `monitor.server_polled_again`: the poll that ended the gap; `null` otherwise. */
  readonly polledAgainAt: string | null;
  /** The gap so far (`server_not_polled`) or in all (`server_polled_again`). */
  readonly seconds: number;
  /** The same in poll intervals, rounded down. */
  readonly intervals: number;
  /** The configured interval between two polls of a server. */
  readonly pollEveryMinutes: number;
  /** The configured threshold: a gap of more than this many intervals is announced. */
  readonly heartbeatIntervals: number;
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

/** One event held back by quiet hours or a maintenance window. */
export interface HeldItem {
  readonly eventId: string;
  readonly type: EventType;
  readonly severity: Severity;
  readonly occurredAt: string;
  /** The event's title, as a chat card shows it. */
  readonly title: string;
}

/** `monitor.held_summary`: what quiet hours or a maintenance window held back, sent when it ended. */
export interface HeldSummary {
  readonly reason: 'quiet-hours' | 'maintenance';
  /** Maintenance window description, if one was given. */
  readonly note: string | null;
  /** First and last held event times. */
  readonly from: string;
  readonly until: string;
  readonly total: number;
  readonly byType: Readonly<Partial<Record<EventType, number>>>;
  /** The first {@link SUMMARY_LIMIT} held events, in order. */
  readonly items: readonly HeldItem[];
}

/**
 * One notification, contract v1: the JSON published to SNS (`default`), printed by `--json`, and rendered by every
 * channel. `eventId` is deterministic (server, subject, per-subject sequence, type), so a consumer can drop
 * duplicates.
 */
export interface MonitorEvent {
  readonly schemaVersion: 1;
  readonly eventId: string;
  readonly type: EventType;
  readonly severity: Severity;
  readonly occurredAt: string;
  readonly server: ServerRef;
  readonly session?: SessionSnapshot;
  readonly summary?: MonitorSummary;
  readonly problem?: ServerProblem;
  readonly certificate?: CertificateInfo;
  readonly reminder?: Reminder;
  readonly held?: HeldSummary;
  /** Running-session events: the rate and the estimated finish (`null`s while estimating). */
  readonly estimate?: Estimate;
  readonly repository?: RepositoryProblem;
  /** Failures, stalls, stopped syncs, out-of-sync and blocked repositories, offline proxies: the jobs they block. */
  readonly impact?: Impact;
  /** `repository.blocked` / `repository.unblocked`. */
  readonly blocker?: RepositoryBlocker;
  /** `proxy.*`. */
  readonly proxy?: ProxyProblem;
  /** `server.unhealthy` / `server.healthy`. */
  readonly health?: HealthInfo;
  /** The first event of a repository incident (and a group of them): what may explain it. Absent: nothing seen. */
  readonly cause?: readonly CauseFinding[];
  /** `sync.started`: how long the repository's previous syncs took; absent when none is known. */
  readonly forecast?: Forecast;
  /** `repository.first_backup_*`. */
  readonly firstBackup?: FirstBackup;
  /** The repository's organization (v8, when it belongs to one). */
  readonly organization?: OrganizationRef;
  /** `digest.weekly`: the last seven days. */
  readonly digest?: Digest;
  /** `monitor.grouped`: the events of one type it stands for (storm control). */
  readonly group?: EventGroup;
  /** `monitor.server_not_polled` / `monitor.server_polled_again`: the gap in polling. */
  readonly polling?: PollingGap;
  /**
   * The problem this event belongs to (absent on events that are no problem's: `monitor.started`, digests, summaries,
   * groups). Channels that can thread or update (Slack apps, PagerDuty, Amazon Q Developer) keep one conversation per
   * key.
   */
  readonly incident?: IncidentRef;
  /** The runbook configured for this event type (`runbooks` in the configuration), if any. */
  readonly runbookUrl?: string;
  /**
   * Set on an event that a `monitor.grouped` event of the same cycle stands for: people's channels (email, chat) get
   * the group instead; machine consumers (`--json`, webhooks, SQS/Lambda subscribers) still get every event.
   */
  readonly groupedIn?: string;
}

/** What an incident is about. */
export type IncidentSubject =
  | 'repository'
  | 'session'
  | 'server'
  | 'certificate'
  | 'polling'
  | 'blocker'
  | 'proxy'
  | 'health';

/**
 * An incident: one problem, from its first event to the one that ends it, across session restarts. Keys:
 * - `<server>/repository/<repositoryId>/<openedAt>`: a repository from "syncing or out of sync" to "in sync again";
 * - `<server>/session/<sessionId>/<openedAt>`: a session whose repository is unknown;
 * - `<server>/server/<cause>/<since>`: the server cannot be used (`cause`: unreachable, auth, tls, unsupported, setup);
 * - `<server>/certificate/<validTo>`: the API's certificate expires soon;
 * - `<server>/polling/<since>`: the monitor stopped polling the server;
 * - `<server>/blocker/<repositoryId>/<kind>/<since>`: a repository blocked (Out of Date, Invalid, migration-locked);
 * - `<server>/proxy/<proxyId>/<since>`: a proxy offline or in maintenance;
 * - `<server>/health/unhealthy/<since>`: the server's health check reports a component down.
 */
export interface IncidentRef {
  readonly key: string;
  readonly subject: IncidentSubject;
  /** ISO-8601 UTC: when the problem started (the time in the key). */
  readonly openedAt: string;
  /** After this event: `resolved` once the problem ended (sync completed, back in sync, recovered, polled again). */
  readonly status: 'open' | 'resolved';
  /** The worst severity among the incident's events so far, this one included. */
  readonly severity: Severity;
  /** `repository` and `session` incidents: the repository (its name as last known). */
  readonly repository: { readonly id: string | null; readonly name: string | null } | null;
  /** Who acknowledged it (`vb365-sync-monitor ack`); `null` while nobody did. Reminders and escalation stop. */
  readonly acknowledged: IncidentAck | null;
  /** The largest `escalateAfterMinutes` it reached unacknowledged; `null`: not escalated. */
  readonly escalatedAfterMinutes: number | null;
  /** `resolved`: whole seconds from `openedAt` to this event; `null` while open. */
  readonly durationSeconds: number | null;
  /** The incident's previous event (`incident.*` events: the one that shows its current state); `null`: none. */
  readonly latest: { readonly type: EventType; readonly eventId: string; readonly occurredAt: string } | null;
}

export interface IncidentAck {
  readonly by: string;
  readonly reason: string | null;
  /** ISO-8601 UTC. */
  readonly at: string;
}

/**
 * `monitor.grouped`: at least `groupThreshold` items of one server produced the same event type in one cycle; one
 * message lists them instead of one message each.
 */
export interface EventGroup {
  /** The event type every grouped event has. */
  readonly type: EventType;
  /** How many events the group stands for. */
  readonly total: number;
  /** The first {@link SUMMARY_LIMIT} of them, in order. */
  readonly items: readonly GroupItem[];
}

/** One event of a {@link EventGroup}, reduced to what a list line shows. */
export interface GroupItem {
  readonly eventId: string;
  readonly sessionId: string | null;
  readonly repositoryId: string | null;
  readonly repositoryName: string | null;
  readonly progressPercent: number | null;
  readonly error: string | null;
}

/**
 * Deterministic event id: `<server>/<subject>/<sequence>/<type>`; the subject is a session id, `server`, or `fleet`
 * (the fleet check's events about the server).
 */
export function eventId(serverId: string, subject: string, sequence: number, type: EventType): string {
  return `${serverId}/${subject}/${sequence}/${type}`;
}
