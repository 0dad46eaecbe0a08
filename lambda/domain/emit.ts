import { type EventType, eventId, type MonitorEvent, SEVERITY, type ServerRef } from './events.js';
import type { CycleResult } from './lifecycle.js';
import type { ServerRecord } from './state.js';

/** A server event to emit: its type and the fields it carries (ids, times, severity and sequence are added). */
export type ServerEventDraft = { readonly type: EventType } & Partial<
  Omit<MonitorEvent, 'schemaVersion' | 'eventId' | 'type' | 'severity' | 'occurredAt' | 'server'>
>;

/**
 * The result with `server` as its server record and the drafts appended to its server events, each numbered from the
 * record's sequence (so ids stay deterministic: the same cycle evaluated again yields the same ids).
 */
export function withServerEvents(
  result: CycleResult,
  server: ServerRecord,
  drafts: readonly ServerEventDraft[],
  now: Date,
  ref: ServerRef,
): CycleResult {
  let sequence = server.sequence;
  const occurredAt = now.toISOString();
  const events = drafts.map((draft): MonitorEvent => {
    sequence += 1;
    return {
      ...draft,
      schemaVersion: 1,
      eventId: eventId(ref.id, 'server', sequence, draft.type),
      severity: SEVERITY[draft.type],
      occurredAt,
      server: ref,
    };
  });
  return { ...result, server: { ...server, sequence }, serverEvents: [...result.serverEvents, ...events] };
}

/** Whole seconds from `fromIso` to `toIso` (never negative). */
export function secondsBetween(fromIso: string, toIso: string): number {
  return Math.max(0, Math.round((Date.parse(toIso) - Date.parse(fromIso)) / 1000));
}
