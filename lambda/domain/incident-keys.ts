import type { EventType, IncidentRef, IncidentSubject, MonitorEvent } from './events.js';
import type { IncidentEntry } from './state.js';

/*
 * What an event is about, as an incident (incidents.ts): its subject, since when, and the key every event of that
 * problem carries (`IncidentRef` lists the key shapes).
 */

/** Server alerts and their cause (the key's `<cause>`: the first cause of the outage). */
const SERVER_CAUSE: Partial<Record<EventType, string>> = {
  'server.unreachable': 'unreachable',
  'server.auth_failed': 'auth',
  'server.tls_failed': 'tls',
  'server.api_unsupported': 'unsupported',
  'server.setup_required': 'setup',
};

/**
 * Events about no particular problem. The first backup after a resync is news in the resync's incident, which has
 * ended: it carries that key already (`first-backup.ts`) and changes nothing here.
 */
const NO_INCIDENT: ReadonlySet<EventType> = new Set<EventType>([
  'monitor.started',
  'monitor.held_summary',
  'monitor.grouped',
  'digest.weekly',
  'repository.first_backup_ok',
  'repository.first_backup_failed',
]);

/** The incident's reference as an event carries it: the entry's state, and the incident's event before this one. */
export function refOf(entry: IncidentEntry, previous: IncidentEntry['latest']): IncidentRef {
  return {
    key: entry.key,
    subject: entry.subject,
    openedAt: entry.openedAt,
    status: entry.resolvedAt === null ? 'open' : 'resolved',
    severity: entry.severity,
    repository: entry.repository,
    acknowledged: entry.acknowledged,
    escalatedAfterMinutes: entry.escalatedAfterMinutes,
    durationSeconds:
      entry.resolvedAt === null
        ? null
        : Math.max(0, Math.round((Date.parse(entry.resolvedAt) - Date.parse(entry.openedAt)) / 1000)),
    latest: previous ?? null,
  };
}

/** The subject of an incident an event belongs to. */
export interface Subject {
  readonly subject: IncidentSubject;
  /** `repository`: its id; `session`: the session id; `server`: the cause. */
  readonly id: string;
  readonly openedAt: string;
  readonly repository: IncidentRef['repository'];
  /** Tracked in the server record (acknowledged, escalated, joined by later events). */
  readonly tracked: boolean;
}

/** What an event is about, and since when (the start of an incident it opens). */
export function incidentSubjectOf(event: MonitorEvent): Subject | null {
  if (NO_INCIDENT.has(event.type)) return null;
  const s = event.session;
  if (s) {
    return s.repositoryId !== null
      ? {
          subject: 'repository',
          id: s.repositoryId,
          openedAt: s.firstSeenAt,
          repository: { id: s.repositoryId, name: s.repositoryName },
          tracked: true,
        }
      : { subject: 'session', id: s.id, openedAt: s.firstSeenAt, repository: { id: null, name: null }, tracked: true };
  }
  if (event.blocker) {
    const b = event.blocker;
    return {
      subject: 'blocker',
      id: `${b.id}/${b.kind}`,
      openedAt: b.since,
      repository: { id: b.id, name: b.name },
      // Not tracked in the server record: an upgrade blocks every repository at once, and an entry per repository would
      // outgrow the record (DynamoDB's 400 KB item); the key is derived from the blocker's start, so its events still
      // share it, and its clearing resolves it. Nothing to acknowledge or escalate: upgrading the repository is the fix.
      tracked: false,
    };
  }
  if (event.proxy) {
    return { subject: 'proxy', id: event.proxy.id, openedAt: event.proxy.since, repository: null, tracked: true };
  }
  if (event.health) {
    return { subject: 'health', id: 'unhealthy', openedAt: event.health.since, repository: null, tracked: true };
  }
  if (event.repository) {
    return {
      subject: 'repository',
      id: event.repository.id,
      openedAt: event.repository.outOfSyncSince,
      repository: { id: event.repository.id, name: event.repository.name },
      tracked: true,
    };
  }
  const cause = SERVER_CAUSE[event.type];
  if (cause !== undefined || event.type === 'server.recovered') {
    return {
      subject: 'server',
      id: cause ?? causeOf(event.problem?.kind ?? null),
      openedAt: event.problem?.since ?? event.occurredAt,
      repository: null,
      tracked: true,
    };
  }
  if (event.type === 'server.certificate_expiring' && event.certificate) {
    return {
      subject: 'certificate',
      id: event.certificate.validTo,
      openedAt: event.occurredAt,
      repository: null,
      tracked: false,
    };
  }
  return null;
}

/** The cause in a server incident's key, from the failure kind a recovery carries. */
function causeOf(kind: string | null): string {
  return kind === 'auth' || kind === 'tls' || kind === 'unsupported' || kind === 'setup' ? kind : 'unreachable';
}

/** `<server>/<subject>/<id>/<openedAt>`, or `<server>/certificate/<validTo>`. */
export function keyOf(serverId: string, s: Subject): string {
  return s.subject === 'certificate'
    ? `${serverId}/certificate/${s.id}`
    : `${serverId}/${s.subject}/${s.id}/${s.openedAt}`;
}

/** The subject part of a key (`<server>/<subject>/<id>/`): entries of one subject share it. */
export function subjectPrefix(serverId: string, s: Pick<Subject, 'subject' | 'id'>): string {
  return `${serverId}/${s.subject}/${s.id}/`;
}
