import type { PollingGap } from './contract-server.js';
import { type EventType, eventId, type MonitorEvent, SEVERITY, type ServerRef } from './events.js';
import { pollingIncident } from './incidents.js';
import type { MaintenanceWindow, Policy } from './policy.js';
import type { FleetEntry, ServerRecord } from './state.js';

/*
 * Watching the watcher without an alarm per server: every poll cycle leaves a cheap trace (`polledAt` on the server
 * record, renewed every few cycles), and a periodic fleet check announces each server whose trace is older than
 * `heartbeatIntervals` intervals, once, and again once it is polled. Pure rules; `fleet-check.ts` runs them.
 */

/** The configured rhythm: how often each server is polled, and how many intervals without a poll are announced. */
export interface Heartbeat {
  readonly pollEveryMinutes: number;
  /** A server not polled for more than this many intervals is announced (`monitor.server_not_polled`). */
  readonly heartbeatIntervals: number;
}

function intervalMs(heartbeat: Heartbeat): number {
  return heartbeat.pollEveryMinutes * 60_000;
}

/** The rhythm as stored in a fleet entry (`5x3`). */
export function cadenceOf(heartbeat: Heartbeat): string {
  return `${heartbeat.pollEveryMinutes}x${heartbeat.heartbeatIntervals}`;
}

/**
 * The flexible time window of each server's poll schedule, in minutes (0: none): EventBridge Scheduler runs each
 * invocation at a random moment of the window after its scheduled time, so a fleet's cycles spread over half the
 * interval instead of all running within the same minute (fewer Lambda containers at once, so fewer cold starts and
 * fewer logins, which read credentials). A cycle is then up to this much late, so two cycles of a server are between
 * interval − window and interval + window apart.
 */
export function scheduleWindowMinutes(pollEveryMinutes: number): number {
  return Math.floor(pollEveryMinutes / 2);
}

/**
 * How old a server's `polledAt` may get before a cycle renews it: one interval under the fleet check's threshold, less
 * the schedule's window (a cycle may come that much later than the interval) and half an interval for the scheduler's
 * own jitter and the cycle's duration. While the server is polled, its stored time is then never more than N − ½
 * intervals old, so a check (more than N) stays quiet, and a silent server is announced by the first check more than N
 * intervals after its last recorded poll. A quiet cycle writes at least every N − 1 cycles (N = `heartbeatIntervals`),
 * and more often as the window varies the gaps: with the default 3 and a 5-minute interval, every 1.7 to 1.8 cycles.
 */
export function polledAtRenewalMs(heartbeat: Heartbeat): number {
  const window = scheduleWindowMinutes(heartbeat.pollEveryMinutes) * 60_000;
  return Math.max(0, (heartbeat.heartbeatIntervals - 1.5) * intervalMs(heartbeat) - window);
}

/**
 * The server record as a cycle leaves it, with `polledAt` set to now when due: when the record is written anyway
 * (`writtenAnyway`: it costs nothing more then), when it has none yet, or when it is {@link polledAtRenewalMs} old.
 * Otherwise the record is returned as is, and a quiet cycle writes nothing.
 */
export function withPolledAt(
  record: ServerRecord,
  now: Date,
  heartbeat: Heartbeat,
  writtenAnyway: boolean,
): ServerRecord {
  const last = record.polledAt === undefined ? Number.NaN : Date.parse(record.polledAt);
  const due = writtenAnyway || Number.isNaN(last) || now.getTime() - last >= polledAtRenewalMs(heartbeat);
  return due ? { ...record, polledAt: now.toISOString() } : record;
}

export interface FleetInput {
  readonly now: Date;
  readonly heartbeat: Heartbeat;
  /** The servers configured now. */
  readonly servers: readonly ServerRef[];
  /** Stored fleet entries by server id (removed servers' included). */
  readonly entries: ReadonlyMap<string, FleetEntry>;
  /** When each server was last polled, by server id; absent: no poll recorded. */
  readonly polledAt: ReadonlyMap<string, string>;
  /** Planned maintenance: a server in an active window is not announced (it is expected to be quiet). */
  readonly maintenanceWindows?: readonly MaintenanceWindow[] | undefined;
  /** Runbook links per event type. */
  readonly runbooks?: Policy['runbooks'] | undefined;
}

/** An entry that changed, with the events emitted for its server. */
export interface FleetChange {
  readonly serverId: string;
  readonly entry: FleetEntry;
  readonly events: readonly MonitorEvent[];
}

export interface FleetResult {
  /** Entries to write, configured servers in configuration order, then removed ones. */
  readonly changes: readonly FleetChange[];
  /** Configured servers not polled for more than the threshold now (announced by this check or an earlier one). */
  readonly notPolled: readonly string[];
}

/**
 * The fleet check's rules, one pure function: the configured servers, their stored entries and last polls → what to
 * store and announce.
 *
 * - A server not seen before (a new deployment, a server added, or one configured again after its removal) gets an
 *   entry with `configuredAt` = now, and nothing is announced: its gap is counted from its last poll, or from
 *   `configuredAt` while it has none since, so a fresh deployment is quiet while its schedules start.
 * - A gap of more than `heartbeatIntervals` intervals: one `monitor.server_not_polled` (critical), kept in the entry
 *   until a poll later than the gap's start; then one `monitor.server_polled_again` (info) with the gap's length.
 * - A changed rhythm (`pollEveryMinutes` or `heartbeatIntervals` redeployed) restarts the grace of every server, as
 *   for a new one: a poll recorded under a slower rhythm is not a silence under a faster one.
 * - A server in an active maintenance window is not announced while the window lasts (one already announced stays so).
 * - A server no longer configured: its entry is marked removed (an outstanding alert is dropped without a message,
 *   since the server is not watched any more); it counts as new if it comes back.
 * - The same input twice emits nothing the second time; event sequence numbers grow per server.
 */
export function checkFleet(input: FleetInput): FleetResult {
  const { now, heartbeat } = input;
  const nowIso = now.toISOString();
  const limitMs = heartbeat.heartbeatIntervals * intervalMs(heartbeat);
  const cadence = cadenceOf(heartbeat);
  const inMaintenance = (id: string) =>
    (input.maintenanceWindows ?? []).some(
      (w) =>
        (w.servers === undefined || w.servers.includes(id)) &&
        Date.parse(w.start) <= now.getTime() &&
        now.getTime() < Date.parse(w.end),
    );
  const changes: FleetChange[] = [];
  const notPolled: string[] = [];
  const configured = new Set<string>();
  for (const server of input.servers) {
    configured.add(server.id);
    const stored = input.entries.get(server.id);
    if (stored === undefined || stored.removedAt !== undefined) {
      changes.push({
        serverId: server.id,
        entry: { configuredAt: nowIso, sequence: stored?.sequence ?? 0, cadence },
        events: [],
      });
      continue;
    }
    if ((stored.cadence ?? cadence) !== cadence && stored.notPolled === undefined) {
      changes.push({ serverId: server.id, entry: { ...stored, configuredAt: nowIso, cadence }, events: [] });
      continue;
    }
    const configuredMs = Date.parse(stored.configuredAt);
    const polled = input.polledAt.get(server.id);
    const polledMs = polled === undefined ? Number.NaN : Date.parse(polled);
    // A poll from before the server was configured (again) is not one of this configuration's.
    const lastPolledAt = polled !== undefined && polledMs >= configuredMs ? polled : null;
    let entry: FleetEntry = stored;
    const events: MonitorEvent[] = [];
    const emit = (type: EventType, polling: PollingGap) => {
      entry = { ...entry, sequence: entry.sequence + 1 };
      const runbookUrl = input.runbooks?.[type];
      events.push({
        schemaVersion: 1,
        eventId: eventId(server.id, 'fleet', entry.sequence, type),
        type,
        severity: SEVERITY[type],
        occurredAt: nowIso,
        server,
        polling,
        // One incident per gap: opened by the announcement, resolved by the poll that ends it.
        incident: pollingIncident(
          server.id,
          polling.since,
          'critical',
          type === 'monitor.server_polled_again' ? nowIso : null,
        ),
        ...(runbookUrl === undefined ? {} : { runbookUrl }),
      });
    };
    const gap = (since: string, last: string | null, again: string | null, ms: number): PollingGap => ({
      since,
      lastPolledAt: last,
      polledAgainAt: again,
      seconds: Math.max(0, Math.round(ms / 1000)),
      intervals: Math.max(0, Math.floor(ms / intervalMs(heartbeat))),
      pollEveryMinutes: heartbeat.pollEveryMinutes,
      heartbeatIntervals: heartbeat.heartbeatIntervals,
    });
    const outstanding = stored.notPolled;
    if (outstanding !== undefined) {
      const sinceMs = Date.parse(outstanding.since);
      if (lastPolledAt !== null && polledMs > sinceMs) {
        emit(
          'monitor.server_polled_again',
          gap(outstanding.since, outstanding.lastPolledAt, lastPolledAt, polledMs - sinceMs),
        );
        const { notPolled: _, ...rest } = entry;
        entry = rest;
      } else {
        notPolled.push(server.id);
      }
    } else {
      const since = lastPolledAt ?? stored.configuredAt;
      const silentMs = now.getTime() - Date.parse(since);
      if (silentMs > limitMs && !inMaintenance(server.id)) {
        emit('monitor.server_not_polled', gap(since, lastPolledAt, null, silentMs));
        entry = { ...entry, notPolled: { since, lastPolledAt } };
        notPolled.push(server.id);
      }
    }
    if (events.length > 0) changes.push({ serverId: server.id, entry, events });
  }
  const removed = [...input.entries].filter(([id, e]) => !configured.has(id) && e.removedAt === undefined);
  for (const [serverId, stored] of removed.sort(([a], [b]) => a.localeCompare(b))) {
    const { notPolled: _, ...rest } = stored;
    changes.push({ serverId, entry: { ...rest, removedAt: nowIso }, events: [] });
  }
  return { changes, notPolled };
}
