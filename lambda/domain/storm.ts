import type { CauseFinding } from './contract-repository.js';
import {
  type EventGroup,
  type EventType,
  eventId,
  type GroupItem,
  type MonitorEvent,
  SEVERITY,
  type ServerRef,
  SUMMARY_LIMIT,
} from './events.js';
import type { CycleResult } from './lifecycle.js';
import type { Policy } from './policy.js';

/*
 * Storm control (pure): when many items of one server produce the same event type in one cycle (2,000 sessions
 * failing at once after a storage outage), people get one `monitor.grouped` message listing them instead of one
 * message each. The single events are still committed and published, marked `groupedIn`, so machine consumers
 * (`--json`, webhooks, SQS/Lambda subscribers) keep the per-item contract; email filters them out by the `grouped`
 * message attribute and the deliverer does not send them to chat.
 */

/** Event types about one item (a session or a repository) that can be grouped. */
export const GROUPABLE_TYPES: ReadonlySet<EventType> = new Set<EventType>([
  'sync.started',
  'sync.progress',
  'sync.stalled',
  'sync.resumed',
  'sync.failed',
  'sync.completed',
  'sync.stopped',
  'sync.state_changed',
  'sync.still_failed',
  'repository.out_of_sync',
  'repository.in_sync',
  'repository.blocked',
  'repository.unblocked',
  'repository.first_backup_ok',
  'repository.first_backup_failed',
]);

/** An error shown in a group's list line is cut to this (the single event keeps its whole text). */
const ITEM_ERROR_MAX = 300;

/**
 * Adds one `monitor.grouped` server event per event type that at least `policy.groupThreshold` (≥ 2) items produced
 * in this cycle, and marks each of those events with `groupedIn`. Groups follow the cycle's other server events, in
 * the order of each type's first event. Returns the result unchanged when storm control is off or nothing reaches
 * the threshold. Deterministic: evaluating the same cycle again yields the same groups and ids.
 */
export function groupStorms(result: CycleResult, now: Date, server: ServerRef, policy: Policy): CycleResult {
  if (policy.groupThreshold === null) return result;
  const threshold = Math.max(2, policy.groupThreshold);
  const all = [...result.serverEvents, ...result.sessions.flatMap((s) => s.events)];
  // One group per type, whatever the organizations (tenants): an MSP's 300 tenants with one repository each still make
  // one storm. A group carries no organization; tenants' channels get their own repositories' events one by one.
  const byType = new Map<string, MonitorEvent[]>();
  for (const e of all) {
    if (!GROUPABLE_TYPES.has(e.type)) continue;
    byType.set(e.type, [...(byType.get(e.type) ?? []), e]);
  }
  const storms = [...byType.values()].filter((events) => events.length >= threshold);
  if (storms.length === 0) return result;

  let sequence = result.server.sequence;
  const groupOf = new Map<string, string>();
  const groups: MonitorEvent[] = [];
  for (const events of storms) {
    const type = (events[0] as MonitorEvent).type;
    sequence += 1;
    const id = eventId(server.id, 'server', sequence, 'monitor.grouped');
    const group: EventGroup = { type, total: events.length, items: events.slice(0, SUMMARY_LIMIT).map(itemOf) };
    const cause = sharedCause(events);
    groups.push({
      schemaVersion: 1,
      eventId: id,
      type: 'monitor.grouped',
      severity: SEVERITY[type],
      occurredAt: now.toISOString(),
      server,
      group,
      ...(cause.length > 0 ? { cause } : {}),
    });
    for (const e of events) groupOf.set(e.eventId, id);
  }
  const mark = (events: readonly MonitorEvent[]) =>
    events.map((e) => {
      const groupedIn = groupOf.get(e.eventId);
      return groupedIn === undefined ? e : { ...e, groupedIn };
    });
  return {
    ...result,
    server: { ...result.server, sequence },
    serverEvents: [...mark(result.serverEvents), ...groups],
    sessions: result.sessions.map((s) => ({ record: s.record, events: mark(s.events) })),
  };
}

/** The likely-cause findings every event of a group carries (one fault behind many repositories: said once). */
function sharedCause(events: readonly MonitorEvent[]): CauseFinding[] {
  const [first, ...rest] = events;
  return (first?.cause ?? []).filter((f) =>
    rest.every((e) => (e.cause ?? []).some((g) => JSON.stringify(g) === JSON.stringify(f))),
  );
}

function itemOf(e: MonitorEvent): GroupItem {
  const error = e.session?.error ?? null;
  return {
    eventId: e.eventId,
    sessionId: e.session?.id ?? null,
    repositoryId: e.session?.repositoryId ?? e.repository?.id ?? e.blocker?.id ?? e.firstBackup?.repositoryId ?? null,
    repositoryName:
      e.session?.repositoryName ?? e.repository?.name ?? e.blocker?.name ?? e.firstBackup?.repositoryName ?? null,
    progressPercent: e.session?.progressPercent ?? null,
    error: error !== null && error.length > ITEM_ERROR_MAX ? `${error.slice(0, ITEM_ERROR_MAX - 1)}…` : error,
  };
}
