import {
  eventId,
  type HeldItem,
  type MonitorEvent,
  SEVERITY,
  type ServerRef,
  type Severity,
  SUMMARY_LIMIT,
} from './events.js';
import type { CycleResult } from './lifecycle.js';
import { type MaintenanceWindow, type Policy, type QuietHours, TIME_OF_DAY } from './policy.js';
import type { HeldBuffer } from './state.js';
import { localTime } from './time-zone.js';
import { titleOf } from './title.js';

/*
 * Noise control (pure): quiet hours hold non-critical events, a maintenance window holds every event of the servers
 * it names. Held events are not published one by one: they are counted in the server record and summarised in one
 * `monitor.held_summary` when the window is over. State keeps changing as usual underneath, so nothing is replayed.
 */

/** Ids kept to recognise an event held twice (re-evaluation after a crash); beyond this, held events are counted. */
const HELD_IDS_LIMIT = 1000;

export interface ActiveWindow {
  readonly reason: 'quiet-hours' | 'maintenance';
  readonly note: string | null;
}

/** The window in force for a server at `now`, if any (a maintenance window wins over quiet hours). */
export function activeWindow(now: Date, serverId: string, policy: Policy): ActiveWindow | null {
  const maintenance = policy.maintenanceWindows.find((w) => inMaintenance(now, serverId, w));
  if (maintenance) return { reason: 'maintenance', note: maintenance.note ?? null };
  if (policy.quietHours && inQuietHours(now, policy.quietHours)) return { reason: 'quiet-hours', note: null };
  return null;
}

export function inMaintenance(now: Date, serverId: string, w: MaintenanceWindow): boolean {
  if (w.servers && w.servers.length > 0 && !w.servers.includes(serverId)) return false;
  const t = now.getTime();
  return t >= Date.parse(w.start) && t < Date.parse(w.end);
}

/** Whether `now` falls in the daily quiet hours, read in their time zone (`start` included, `end` excluded). */
export function inQuietHours(now: Date, q: QuietHours): boolean {
  const local = localMinutes(now, q.timeZone);
  const start = minutesOf(q.start);
  const end = minutesOf(q.end);
  if (start === end) return false;
  return start < end ? local >= start && local < end : local >= start || local < end;
}

/** `HH:MM` → minutes after midnight; throws on anything else (configuration is validated before). */
export function minutesOf(hhmm: string): number {
  const m = TIME_OF_DAY.exec(hhmm);
  if (!m) throw new Error(`not a HH:MM time: ${hhmm}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

function localMinutes(now: Date, timeZone: string): number {
  const t = localTime(now, timeZone);
  return t.hour * 60 + t.minute;
}

/**
 * Whether a window holds this event: maintenance holds all, quiet hours all but critical ones. An acknowledgement is
 * someone's answer, never held; an escalation is as urgent as its incident.
 */
export function holds(window: ActiveWindow, event: MonitorEvent): boolean {
  if (event.type === 'incident.acknowledged') return false;
  return holdsSeverity(
    window,
    event.type === 'incident.escalated' ? (event.incident?.severity ?? event.severity) : event.severity,
  );
}

/** Whether a window holds an event of this severity. */
export function holdsSeverity(window: ActiveWindow, severity: Severity): boolean {
  return window.reason === 'maintenance' || severity !== 'critical';
}

/**
 * Applies quiet hours and maintenance windows to a cycle's result: events a window holds leave the outboxes and are
 * added to the server record's held buffer; once no window is in force, a buffer left from earlier cycles becomes one
 * `monitor.held_summary` server event (after this cycle's server events), and the buffer is cleared.
 */
export function applyNoiseControl(result: CycleResult, now: Date, server: ServerRef, policy: Policy): CycleResult {
  const window = activeWindow(now, server.id, policy);
  const record = result.server;
  if (window === null) {
    const buffer = record.held;
    if (buffer === undefined) return result;
    const { held: _, ...rest } = record;
    const sequence = rest.sequence + 1;
    const summary: MonitorEvent = {
      schemaVersion: 1,
      eventId: eventId(server.id, 'server', sequence, 'monitor.held_summary'),
      type: 'monitor.held_summary',
      severity: SEVERITY['monitor.held_summary'],
      occurredAt: now.toISOString(),
      server,
      held: {
        reason: buffer.reason,
        note: buffer.note,
        from: buffer.from,
        until: buffer.until,
        total: buffer.total,
        byType: buffer.byType,
        items: buffer.items,
      },
    };
    return { ...result, server: { ...rest, sequence }, serverEvents: [...result.serverEvents, summary] };
  }

  const heldNow: MonitorEvent[] = [];
  const keep = (events: readonly MonitorEvent[]) =>
    events.filter((e) => {
      if (!holds(window, e)) return true;
      heldNow.push(e);
      return false;
    });
  const serverEvents = keep(result.serverEvents);
  const sessions = result.sessions.map((s) => ({ record: s.record, events: keep(s.events) }));
  if (heldNow.length === 0) return result;
  return { ...result, server: { ...record, held: addHeld(record.held, window, heldNow) }, serverEvents, sessions };
}

function addHeld(buffer: HeldBuffer | undefined, window: ActiveWindow, events: readonly MonitorEvent[]): HeldBuffer {
  let b: HeldBuffer = buffer ?? {
    reason: window.reason,
    note: window.note,
    from: events[0]?.occurredAt ?? '',
    until: events[0]?.occurredAt ?? '',
    total: 0,
    byType: {},
    items: [],
    ids: [],
  };
  for (const e of events) {
    if (b.ids.includes(e.eventId)) continue;
    const item: HeldItem = {
      eventId: e.eventId,
      type: e.type,
      severity: e.severity,
      occurredAt: e.occurredAt,
      title: titleOf(e),
    };
    b = {
      ...b,
      // A maintenance window during quiet hours (or the reverse) is reported as the stricter one.
      reason: b.reason === 'maintenance' || window.reason === 'maintenance' ? 'maintenance' : 'quiet-hours',
      note: b.note ?? window.note,
      until: e.occurredAt,
      total: b.total + 1,
      byType: { ...b.byType, [e.type]: (b.byType[e.type] ?? 0) + 1 },
      items: b.items.length < SUMMARY_LIMIT ? [...b.items, item] : b.items,
      ids: b.ids.length < HELD_IDS_LIMIT ? [...b.ids, e.eventId] : b.ids,
    };
  }
  return b;
}
