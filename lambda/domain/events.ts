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
}

/** Deterministic event id: `<server>/<subject>/<sequence>/<type>`; the subject is a session id, or `server`. */
export function eventId(serverId: string, subject: string, sequence: number, type: EventType): string {
  return `${serverId}/${subject}/${sequence}/${type}`;
}
