import {
  type EventType,
  eventId,
  type IncidentRef,
  type MonitorEvent,
  SEVERITY,
  type ServerRef,
  type Severity,
} from './events.js';
import { incidentSubjectOf, keyOf, refOf, type Subject, subjectPrefix } from './incident-keys.js';
import type { CycleResult } from './lifecycle.js';
import { activeWindow, holdsSeverity } from './noise.js';
import type { Policy } from './policy.js';
import type { AckRequest, IncidentEntry, ServerRecord } from './state.js';

/*
 * Incidents (DESIGN §10): every event about one problem carries the same key, from its first event to the one that
 * ends it, across session restarts, so channels that can thread or update keep one conversation per problem.
 *
 * - A repository's incident runs from "syncing or out of sync" to "in sync again" (`sync.completed`,
 *   `repository.in_sync`); a failed, stopped or restarted sync stays in it. A session whose repository is unknown is
 *   its own subject.
 * - A server's incident runs from its alert (unreachable, refused login, refused certificate, API version, setup) to
 *   `server.recovered`; another cause while it lasts is another incident (the first one ends there).
 * - A repository blocker (Out of Date, Invalid, migration-locked), a proxy offline or in maintenance and the health
 *   check failing run from their first event to their clearing (`repository.unblocked`, `proxy.online`,
 *   `server.healthy`).
 * - The certificate warning and the fleet check's polling gap are keyed without being tracked here (nothing to
 *   acknowledge or escalate: the one warns weeks ahead, the other is announced by the fleet check).
 *
 * Open incidents live in the server record, written before the sessions whose events carry their key (poll.ts), so a
 * crash between the two writes cannot give one problem two keys. An ending event that comes late (the detector's
 * `repository.in_sync` after `sync.completed`) joins the incident resolved within the last day.
 *
 * Acknowledgements (`vb365-sync-monitor ack`) and escalation are applied here too: an acknowledged incident sends no
 * more reminders and is never escalated; an open problem (warning or worse) nobody acknowledged is escalated once
 * per configured `escalateAfterMinutes` it outlives, counted from its first warning.
 */

/** Resolved incidents are kept this long, for ending events that come late. */
export const RESOLVED_KEPT_MS = 86_400_000;
/** The server record keeps at most this many incidents (the oldest resolved ones go first). */
export const INCIDENTS_KEPT = 200;

const ENDS: ReadonlySet<EventType> = new Set<EventType>([
  'sync.completed',
  'repository.in_sync',
  'server.recovered',
  'monitor.server_polled_again',
  'repository.unblocked',
  'proxy.online',
  'server.healthy',
]);

/** Events that say a sync moves again: the problem so far is no reason to escalate any more. */
const RECOVERING: ReadonlySet<EventType> = new Set<EventType>(['sync.resumed', 'sync.started', 'sync.progress']);

const RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, critical: 2 };

function worse(a: Severity, b: Severity): Severity {
  return RANK[b] > RANK[a] ? b : a;
}

/**
 * The polling gap's incident (fleet check): `<server>/polling/<since>`, open with `monitor.server_not_polled`, resolved
 * with `monitor.server_polled_again`. Not tracked (see the module comment).
 */
export function pollingIncident(
  serverId: string,
  since: string,
  severity: Severity,
  resolvedAt: string | null,
): IncidentRef {
  return refOf(
    {
      key: `${serverId}/polling/${since}`,
      subject: 'polling',
      openedAt: since,
      severity,
      repository: null,
      latest: null,
      acknowledged: null,
      escalatedAfterMinutes: null,
      resolvedAt,
      problemSince: null,
    },
    null,
  );
}

/**
 * Gives every event of the cycle its incident (opening, joining and ending incidents in the server record), applies
 * acknowledgement requests, escalates what nobody acknowledged in time, drops reminders of acknowledged incidents and
 * stamps the configured runbook links. Changes the server record only when an incident changed, so a quiet cycle
 * still writes nothing.
 */
export function withIncidents(
  result: CycleResult,
  input: {
    readonly now: Date;
    readonly server: ServerRef;
    readonly policy: Policy;
    readonly acks?: readonly AckRequest[];
  },
): CycleResult {
  const { now, server: ref, policy } = input;
  const nowIso = now.toISOString();
  const before = result.server.incidents ?? {};
  const incidents = new Map<string, IncidentEntry>(Object.entries(before));
  let changed = false;
  const put = (entry: IncidentEntry) => {
    incidents.set(entry.key, entry);
    changed = true;
  };

  /** The open incident of a subject, else (for an ending event) the one resolved within the last day. */
  const find = (s: Subject, ending: boolean, event: MonitorEvent): IncidentEntry | undefined => {
    if (s.subject === 'server') {
      // One incident per outage: another cause while it lasts (unreachable, then a refused login) joins it, and the
      // recovery ends it whatever its cause.
      const open = [...incidents.values()].find((e) => e.subject === 'server' && e.resolvedAt === null);
      if (open) return open;
    }
    // The detector's in-sync ends the episode it reported: not an incident opened after that episode began (a new
    // sync started after the one that fixed it).
    const since = event.type === 'repository.in_sync' ? event.repository?.outOfSyncSince : undefined;
    const prefix = subjectPrefix(ref.id, s);
    let recent: IncidentEntry | undefined;
    for (const e of incidents.values()) {
      if (!e.key.startsWith(prefix)) continue;
      if (e.resolvedAt === null && (since === undefined || e.openedAt <= since)) return e;
      if (ending && e.resolvedAt !== null && now.getTime() - Date.parse(e.resolvedAt) <= RESOLVED_KEPT_MS) {
        if (e.resolvedAt > (recent?.resolvedAt ?? '')) recent = e;
      }
    }
    return recent;
  };

  const stamp = (event: MonitorEvent): MonitorEvent | null => {
    const runbookUrl = policy.runbooks[event.group?.type ?? event.type];
    const withRunbook = runbookUrl === undefined ? event : { ...event, runbookUrl };
    const s = incidentSubjectOf(event);
    if (s === null) return withRunbook;
    const ending = ENDS.has(event.type);
    if (!s.tracked) {
      const entry: IncidentEntry = {
        key: keyOf(ref.id, s),
        subject: s.subject,
        openedAt: s.openedAt,
        severity: event.severity,
        repository: s.repository,
        latest: null,
        acknowledged: null,
        escalatedAfterMinutes: null,
        resolvedAt: ending ? nowIso : null,
        problemSince: null,
      };
      return { ...withRunbook, incident: refOf(entry, null) };
    }
    let entry = find(s, ending, event);
    if (entry !== undefined && event.type === 'sync.still_failed' && entry.acknowledged !== null) {
      return null; // acknowledged: no more reminders
    }
    if (entry === undefined) {
      entry = {
        key: keyOf(ref.id, s),
        subject: s.subject,
        openedAt: s.openedAt,
        severity: 'info',
        repository: s.repository,
        latest: null,
        acknowledged: null,
        escalatedAfterMinutes: null,
        resolvedAt: null,
        problemSince: null,
      };
    }
    const previous = entry.latest;
    const updated: IncidentEntry = {
      ...entry,
      severity: worse(entry.severity, event.severity),
      repository:
        s.repository && (s.repository.name ?? null) !== null ? s.repository : (entry.repository ?? s.repository),
      latest: { type: event.type, eventId: event.eventId, occurredAt: event.occurredAt },
      resolvedAt: entry.resolvedAt ?? (ending ? nowIso : null),
      // Escalation counts from the first warning of the problem as it stands: a stall that resumed, or a failed sync
      // restarted and moving, is no problem to escalate any more (until the next warning).
      problemSince: RECOVERING.has(event.type)
        ? null
        : (entry.problemSince ?? (event.severity === 'info' ? null : nowIso)),
    };
    put(updated);
    return { ...withRunbook, incident: refOf(updated, previous) };
  };

  let sequence = result.server.sequence;
  const incidentEvents: MonitorEvent[] = [];
  const emit = (type: EventType, entry: IncidentEntry, previous: IncidentEntry['latest']): MonitorEvent => {
    sequence += 1;
    const event: MonitorEvent = {
      schemaVersion: 1,
      eventId: eventId(ref.id, 'server', sequence, type),
      type,
      severity: SEVERITY[type],
      occurredAt: nowIso,
      server: ref,
      incident: refOf(entry, previous),
      ...(policy.runbooks[type] === undefined ? {} : { runbookUrl: policy.runbooks[type] }),
    };
    incidentEvents.push(event);
    return event;
  };

  // Acknowledgements first: every event of this cycle then says who is on it (and reminders are dropped).
  for (const ack of input.acks ?? []) {
    const entry = incidents.get(ack.key);
    if (entry === undefined || entry.resolvedAt !== null) continue;
    const current = entry.acknowledged;
    if (current !== null && current.at >= ack.at) continue; // applied already (or a newer one was)
    const acknowledged: IncidentEntry = { ...entry, acknowledged: { by: ack.by, reason: ack.reason, at: ack.at } };
    const event = emit('incident.acknowledged', acknowledged, entry.latest);
    put({ ...acknowledged, latest: { type: event.type, eventId: event.eventId, occurredAt: nowIso } });
  }

  const stampAll = (events: readonly MonitorEvent[]) => events.map(stamp).filter((e): e is MonitorEvent => e !== null);
  // Sessions first (a sync's completion), then the server's events (the detector's in-sync that follows it).
  const sessions = result.sessions.map((s) => ({ record: s.record, events: stampAll(s.events) }));
  const serverEvents = stampAll(result.serverEvents);

  if (result.server.alerted === null && result.server.failingSince === null) {
    // The server works (again): an incident of it still open ends here, also one no recovery message ends (the
    // credentials it waited for were stored: `server.setup_required` is followed by `monitor.started`).
    for (const e of [...incidents.values()])
      if (e.subject === 'server' && e.resolvedAt === null) put({ ...e, resolvedAt: nowIso });
  }

  // Escalation, once per threshold an open, unacknowledged problem outlives; not while a quiet-hours or maintenance
  // window would hold the message (it comes when the window ends, if the problem is still open by then).
  const window = activeWindow(now, ref.id, policy);
  for (const entry of [...incidents.values()]) {
    if (entry.resolvedAt !== null || entry.acknowledged !== null || entry.problemSince === null) continue;
    if (window !== null && holdsSeverity(window, entry.severity)) continue;
    const open = (now.getTime() - Date.parse(entry.problemSince)) / 60_000;
    const due = policy.escalateAfterMinutes.filter((m) => m <= open && m > (entry.escalatedAfterMinutes ?? 0)).at(-1);
    if (due === undefined) continue;
    const escalated: IncidentEntry = { ...entry, escalatedAfterMinutes: due };
    const event = emit('incident.escalated', escalated, entry.latest);
    put({ ...escalated, latest: { type: event.type, eventId: event.eventId, occurredAt: nowIso } });
  }

  const events = { ...result, sessions, serverEvents: [...serverEvents, ...incidentEvents] };
  if (!changed) return events;
  // Every open incident is kept; resolved ones a day (for an ending event that comes late), the newest first, within
  // the cap; one that was only news (no warning) needs no late ending and goes at once.
  const open = [...incidents.values()].filter((e) => e.resolvedAt === null);
  const resolved = [...incidents.values()]
    .filter((e) => e.resolvedAt !== null && e.severity !== 'info')
    .filter((e) => now.getTime() - Date.parse(e.resolvedAt as string) <= RESOLVED_KEPT_MS)
    .sort((a, b) => (b.resolvedAt as string).localeCompare(a.resolvedAt as string))
    .slice(0, Math.max(0, INCIDENTS_KEPT - open.length));
  const record: ServerRecord = {
    ...result.server,
    sequence,
    incidents: Object.fromEntries([...open, ...resolved].map((e) => [e.key, e])),
  };
  return { ...events, server: record };
}

/** Whether the cycle opened, changed or ended an incident (its server record must be written before the sessions). */
export function incidentsChanged(before: ServerRecord | undefined, after: ServerRecord): boolean {
  return JSON.stringify(before?.incidents ?? {}) !== JSON.stringify(after.incidents ?? {});
}
