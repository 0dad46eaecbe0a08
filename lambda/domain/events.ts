import type { Digest } from './contract-digest.js';
import type {
  CauseFinding,
  FirstBackup,
  Forecast,
  Impact,
  OrganizationRef,
  ProxyProblem,
  RepositoryBlocker,
  RepositoryProblem,
} from './contract-repository.js';
import type { CertificateInfo, HealthInfo, PollingGap, ServerProblem } from './contract-server.js';
import type { MonitorSummary, Reminder, SessionSnapshot } from './contract-session.js';
import type { Estimate } from './estimate.js';

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

/**
 * The monitor's word about its own health, like its CloudWatch alarms: every email address and every channel gets
 * these whatever its `eventTypes` (a filter written before they existed must not hide that a server is not watched).
 */
export const ALWAYS_DELIVERED: readonly EventType[] = ['monitor.server_not_polled', 'monitor.server_polled_again'];

export const SUMMARY_LIMIT = 25;

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
