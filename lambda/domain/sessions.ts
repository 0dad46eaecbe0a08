import type { SessionSnapshot } from './contract-session.js';
import { secondsBetween as seconds } from './emit.js';
import { addSample, estimateOf } from './estimate.js';
import { type EventType, eventId, type MonitorEvent, SEVERITY, type ServerRef } from './events.js';
import { FETCH_FAILED, type Reachable } from './observation.js';
import type { Policy } from './policy.js';
import { advance, discover, type PendingEvent, type RuleOutcome } from './session-rules.js';
import type { RepositoryRecord, SessionRecord } from './state.js';
import type { SyncSession } from './types.js';

/*
 * One cycle's sessions through the session rules (`session-rules.ts`): every listed session, and every tracked one
 * the list lacks; each changed record gets its repository's name, its failure bookkeeping, its progress samples and
 * its events, numbered per session.
 */

/** A session whose record changed this cycle (new ones included), with its events in order. */
export interface SessionChange {
  readonly record: SessionRecord;
  readonly events: readonly MonitorEvent[];
}

/** What the session rules made of one cycle, or the repositories they need first. */
export type SessionsOutcome =
  | { readonly kind: 'needs'; readonly repositories: readonly string[] }
  | {
      readonly kind: 'observed';
      readonly changed: readonly SessionChange[];
      /** Every session the server showed this cycle (listed or found), as the cycle leaves it, in order. */
      readonly present: readonly SessionRecord[];
      /** Repository names learned this cycle (to cache). */
      readonly learnedNames: readonly RepositoryRecord[];
    };

export interface SessionsInput {
  readonly now: Date;
  readonly policy: Policy;
  readonly server: ServerRef;
  readonly firstCycle: boolean;
  readonly sessions: readonly SessionRecord[];
  readonly repositoryNames: readonly RepositoryRecord[];
  readonly observation: Reachable;
}

/**
 * Runs the rules over every session the cycle saw. A tracked session whose single GET failed is neither present nor
 * missing this cycle; on a baseline, one not looked up is left alone. The repositories the rules need (a status that
 * decides how a session ended, a name neither cached nor fetched) are collected over all sessions, in order.
 */
export function observeSessions(input: SessionsInput): SessionsOutcome {
  const { now, policy, firstCycle, observation } = input;
  const nowIso = now.toISOString();
  const cached = new Map(input.repositoryNames.map((r) => [r.id, r]));
  const learned = learnedNames(cached, observation);
  const needs = new Set<string>();
  const nameOf = (repositoryId: string | null): string | null => {
    if (repositoryId === null) return null;
    if (learned.has(repositoryId)) return learned.get(repositoryId)?.name ?? null;
    if (cached.has(repositoryId)) return cached.get(repositoryId)?.name ?? null;
    if (!observation.repositories.has(repositoryId)) needs.add(repositoryId);
    return null;
  };
  const ctx = { now, policy, repositories: observation.repositories };
  const tracked = new Map(input.sessions.map((s) => [s.id, s]));
  const changed: SessionChange[] = [];
  const present: SessionRecord[] = [];

  const observe = (rec: SessionRecord | undefined, seen: SyncSession | 'missing'): void => {
    const outcome: RuleOutcome = rec ? advance(rec, seen, ctx) : discover(seen as SyncSession, { ...ctx, firstCycle });
    if (outcome.kind === 'needs') needs.add(outcome.repositoryId);
    if (outcome.kind !== 'step') return;
    const repositoryName = outcome.record.repositoryName ?? nameOf(outcome.record.repositoryId);
    let record: SessionRecord = { ...outcome.record, repositoryName };
    if (outcome.events.some((e) => e.type === 'sync.failed') || (record.phase === 'failed' && !record.lastAlertAt)) {
      // A new failure (or one found failed, summarised by monitor.started): reminders count from now.
      record = { ...record, failedAt: nowIso, lastAlertAt: nowIso, reminders: 0 };
    } else if (record.phase !== 'failed' && record.lastAlertAt !== undefined) {
      const { failedAt: _f, lastAlertAt: _a, reminders: _r, ...rest } = record;
      record = rest;
    }
    record = withSamples(record, now);
    const events: MonitorEvent[] = [];
    for (const e of outcome.events) {
      record = { ...record, sequence: record.sequence + 1 };
      events.push(sessionEvent(input.server, record, e, nowIso, policy));
    }
    if (seen !== 'missing') present.push(record);
    if (events.length > 0 || !sameRecord(rec, record)) changed.push({ record, events });
  };

  const listedIds = new Set<string>();
  for (const session of observation.listed) {
    listedIds.add(session.id);
    observe(tracked.get(session.id), session);
  }
  for (const rec of input.sessions) {
    if (listedIds.has(rec.id) || rec.phase === 'ended') continue;
    const fetched = observation.lookedUp.get(rec.id);
    if (fetched === FETCH_FAILED) continue; // unknown this cycle: neither present nor missing
    if (fetched?.found) observe(rec, fetched.value);
    else if (fetched === undefined && firstCycle) continue;
    else observe(rec, 'missing');
  }
  if (needs.size > 0) return { kind: 'needs', repositories: [...needs] };
  return { kind: 'observed', changed, present, learnedNames: [...learned.values()] };
}

/** Names (and organizations) of the repositories fetched this cycle that differ from the cache. */
function learnedNames(cached: ReadonlyMap<string, RepositoryRecord>, observation: Reachable) {
  const learned = new Map<string, RepositoryRecord>();
  for (const [id, fetched] of observation.repositories) {
    if (fetched === FETCH_FAILED || !fetched.found) continue;
    const prior = cached.get(id);
    const organizationId = fetched.value.organizationId ?? prior?.organizationId ?? null;
    if (prior === undefined || fetched.value.name !== prior.name || organizationId !== (prior.organizationId ?? null)) {
      // Kept: what a repository scan stored (when it was added, the organization's name while it is the same one).
      const { organizationName, ...kept } = prior ?? { id };
      const sameOrganization = organizationId === (prior?.organizationId ?? null);
      learned.set(id, {
        ...kept,
        id,
        name: fetched.value.name,
        ...(fetched.value.proxyId != null ? { proxyId: fetched.value.proxyId } : {}),
        ...(organizationId !== null ? { organizationId } : {}),
        ...(sameOrganization && organizationName != null ? { organizationName } : {}),
      });
    }
  }
  return learned;
}

function sessionEvent(
  server: ServerRef,
  rec: SessionRecord,
  e: PendingEvent,
  nowIso: string,
  policy: Policy,
): MonitorEvent {
  const session: SessionSnapshot = {
    id: rec.id,
    repositoryId: rec.repositoryId,
    repositoryName: rec.repositoryName,
    state: rec.state,
    previousState: e.previousState,
    progressPercent: rec.progressPercent,
    error: rec.error,
    firstSeenAt: rec.firstSeenAt,
    finishedAt: rec.finishedAt,
    durationSeconds: seconds(rec.firstSeenAt, rec.finishedAt ?? nowIso),
    completionConfirmed: e.type === 'sync.completed' ? (e.completionConfirmed ?? false) : null,
    milestone: e.milestone ?? null,
  };
  return {
    schemaVersion: 1,
    eventId: eventId(server.id, rec.id, rec.sequence, e.type),
    type: e.type,
    severity: SEVERITY[e.type],
    occurredAt: nowIso,
    server,
    session,
    ...(ESTIMATED.has(e.type) ? { estimate: estimateOf(rec.samples, new Date(nowIso)) } : {}),
    ...(e.reminder === undefined
      ? {}
      : { reminder: { count: e.reminder, of: policy.maxReminders, failedSince: rec.failedAt ?? rec.firstSeenAt } }),
  };
}

/** Events of a running session, which carry its rate and estimated finish. */
const ESTIMATED = new Set<EventType>([
  'sync.started',
  'sync.progress',
  'sync.stalled',
  'sync.resumed',
  'sync.state_changed',
]);

/** Keeps the progress samples of a running session (one more when progress moved); drops them once it is not. */
function withSamples(record: SessionRecord, now: Date): SessionRecord {
  if (record.phase === 'ended' || record.phase === 'failed') {
    if (record.samples === undefined) return record;
    const { samples: _, ...rest } = record;
    return rest;
  }
  const samples = addSample(record.samples, now, record.progressPercent);
  const same = samples.length === (record.samples?.length ?? 0) && samples.at(-1) === record.samples?.at(-1);
  return same ? record : { ...record, samples };
}

function sameRecord(a: SessionRecord | undefined, b: SessionRecord): boolean {
  if (a === undefined) return false;
  const keys = Object.keys(b) as (keyof SessionRecord)[];
  return keys.length === Object.keys(a).length && keys.every((k) => a[k] === b[k]);
}
