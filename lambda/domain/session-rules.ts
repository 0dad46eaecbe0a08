import type { EventType } from './events.js';
import { FETCH_FAILED, type Fetched } from './observation.js';
import type { Policy } from './policy.js';
import type { Outcome, SessionRecord } from './state.js';
import type { RepositoryInfo, SessionState, SyncSession } from './types.js';

/*
 * The session rules of DESIGN §3, for one session at a time (pure): a session is discovered, advances through its
 * phases and milestones, stalls and resumes, fails (with reminders), and ends. `sessions.ts` runs them over a cycle.
 */

/** An event a rule raises for a session: the cycle numbers it and fills in the snapshot (see `sessions.ts`). */
export interface PendingEvent {
  readonly type: EventType;
  readonly previousState: SessionState;
  readonly completionConfirmed?: boolean;
  readonly milestone?: number;
  /** `sync.still_failed`: which reminder. */
  readonly reminder?: number;
}

/**
 * What the rules decided about one session this cycle:
 *
 * - `step`: its record as this cycle leaves it, and its events in order (none for a silent change);
 * - `needs`: the session ended and its repository's fresh in-sync status decides how, but it was not fetched this
 *   cycle: the caller fetches it and runs the rules again (see `Decision` in lifecycle.ts);
 * - `unchanged`: nothing to look at (an ended session no longer listed).
 */
export type RuleOutcome =
  | { readonly kind: 'step'; readonly record: SessionRecord; readonly events: readonly PendingEvent[] }
  | { readonly kind: 'needs'; readonly repositoryId: string }
  | { readonly kind: 'unchanged' };

/** What every rule knows. */
export interface RuleContext {
  readonly now: Date;
  readonly policy: Policy;
  /** Repositories fetched this cycle (fresh in-sync status), by id. */
  readonly repositories: ReadonlyMap<string, Fetched<RepositoryInfo>>;
}

const step = (record: SessionRecord, events: readonly PendingEvent[] = []): RuleOutcome => ({
  kind: 'step',
  record,
  events,
});

/**
 * How often a reachable server's `aliveAt`, and an ended session's `listedAt` while the server still lists it, are
 * renewed: a day (one write per item and day), or a quarter of `finishedRetention` if that is shorter, so a listed
 * session's record never expires and a gap in monitoring is recognised long before records can expire.
 */
export function renewEveryMs(policy: Policy): number {
  return Math.min(86_400_000, policy.finishedRetentionMs / 4);
}

/**
 * A session not tracked yet. On the first cycle it is recorded silently (the summary reports it). Later, one already
 * ended (`None`) ran from start to end between two cycles: it is announced like any ended sync, once (its repository
 * decides completed or stopped, so it `needs` that status until fetched). One already `Failed` is announced as failed.
 */
export function discover(seen: SyncSession, ctx: RuleContext & { readonly firstCycle: boolean }): RuleOutcome {
  const nowIso = ctx.now.toISOString();
  const state = seen.state;
  const base: SessionRecord = {
    id: seen.id,
    repositoryId: seen.repositoryId,
    repositoryName: null,
    state,
    phase: phaseOf(state),
    outcome: null,
    progressPercent: seen.progressPercent,
    error: seen.error,
    firstSeenAt: nowIso,
    lastProgressAt: nowIso,
    finishedAt: null,
    missingCycles: 0,
    milestone: milestoneReached(ctx.policy, seen.progressPercent, 0),
    sequence: 0,
  };
  if (state === 'None' && ctx.firstCycle) {
    // Already finished when monitoring started: old news, nothing to announce.
    return step({ ...base, phase: 'ended', outcome: 'unobserved', finishedAt: nowIso });
  }
  if (state === 'None') {
    // Started and finished between two cycles (shorter than the poll interval): never seen running.
    const ended = end({ ...base, phase: 'running' }, 'None', ctx);
    return ended.kind === 'step'
      ? { ...ended, events: ended.events.map((e) => ({ ...e, previousState: null })) }
      : ended;
  }
  if (ctx.firstCycle) return step(base);
  return step(base, [{ type: state === 'Failed' ? 'sync.failed' : 'sync.started', previousState: null }]);
}

/** A tracked session seen again (or missing) in a cycle where the server answered. */
export function advance(rec: SessionRecord, seen: SyncSession | 'missing', ctx: RuleContext): RuleOutcome {
  if (seen === 'missing') {
    if (rec.phase === 'ended') return { kind: 'unchanged' };
    const missingCycles = rec.missingCycles + 1;
    if (missingCycles < ctx.policy.vanishGraceCycles) return step({ ...rec, missingCycles });
    return end({ ...rec, missingCycles }, null, ctx);
  }

  const state = seen.state ?? rec.state;
  const observed: SessionRecord = {
    ...rec,
    repositoryId: seen.repositoryId ?? rec.repositoryId,
    state,
    progressPercent: seen.progressPercent ?? rec.progressPercent,
    error: seen.error ?? (state === 'Failed' ? rec.error : null),
    missingCycles: 0,
  };

  if (rec.phase === 'ended') return relisted(rec, observed, ctx);
  if (state === 'None') return end(observed, rec.state, ctx);
  if (state === 'Failed') {
    if (rec.state === 'Failed') return remind({ ...observed, phase: 'failed' }, ctx);
    return step({ ...observed, phase: 'failed' }, [{ type: 'sync.failed', previousState: rec.state }]);
  }
  if (state === 'Synchronizing') return progress(rec, seen, observed, ctx);
  // An unknown state value (kept verbatim).
  if (state !== rec.state) {
    return step({ ...observed, phase: 'other' }, [{ type: 'sync.state_changed', previousState: rec.state }]);
  }
  return step(observed);
}

/** A finished session listed again: a new run under the same id (restart), or a failure after all. */
function relisted(rec: SessionRecord, observed: SessionRecord, ctx: RuleContext): RuleOutcome {
  const nowIso = ctx.now.toISOString();
  if (observed.state === 'Synchronizing') {
    const record: SessionRecord = {
      ...observed,
      phase: 'running',
      outcome: null,
      firstSeenAt: nowIso,
      lastProgressAt: nowIso,
      finishedAt: null,
      milestone: milestoneReached(ctx.policy, observed.progressPercent, 0),
    };
    return step(record, [{ type: 'sync.started', previousState: rec.state }]);
  }
  if (observed.state === 'Failed' && rec.outcome !== 'failed') {
    return step({ ...observed, phase: 'failed', outcome: null, finishedAt: null }, [
      { type: 'sync.failed', previousState: rec.state },
    ]);
  }
  // Still listed: its record must outlive its TTL, or the session would be found again as new (and re-announced).
  const listedAt = rec.listedAt ?? rec.finishedAt ?? nowIso;
  const refresh = ctx.now.getTime() - Date.parse(listedAt) >= renewEveryMs(ctx.policy);
  return step({ ...rec, missingCycles: 0, ...(refresh ? { listedAt: nowIso } : {}) });
}

/** A session synchronizing, as before or again: milestones, stalls and resumes. */
function progress(rec: SessionRecord, seen: SyncSession, observed: SessionRecord, ctx: RuleContext): RuleOutcome {
  const nowIso = ctx.now.toISOString();
  if (rec.state !== 'Synchronizing') {
    return step({ ...observed, phase: 'running', lastProgressAt: nowIso }, [
      { type: 'sync.state_changed', previousState: rec.state },
    ]);
  }
  const moved = seen.progressPercent !== null && seen.progressPercent !== rec.progressPercent;
  const events: PendingEvent[] = [];
  let record: SessionRecord = observed;
  if (moved) {
    record = { ...record, lastProgressAt: nowIso, phase: 'running' };
    if (rec.phase === 'stalled') events.push({ type: 'sync.resumed', previousState: rec.state });
    const milestone = milestoneReached(ctx.policy, seen.progressPercent, rec.milestone);
    if (milestone > rec.milestone) {
      record = { ...record, milestone };
      events.push({ type: 'sync.progress', previousState: rec.state, milestone });
    }
  } else if (rec.phase === 'running' && ctx.now.getTime() - Date.parse(rec.lastProgressAt) >= ctx.policy.stallAfterMs) {
    record = { ...record, phase: 'stalled' };
    events.push({ type: 'sync.stalled', previousState: rec.state });
  }
  return step(record, events);
}

/** A session still failed: a `sync.still_failed` reminder every `remindEveryMs`, at most `maxReminders` times. */
function remind(rec: SessionRecord, ctx: RuleContext): RuleOutcome {
  const { remindEveryMs, maxReminders } = ctx.policy;
  const reminders = rec.reminders ?? 0;
  if (remindEveryMs === null || rec.lastAlertAt === undefined || reminders >= maxReminders) return step(rec);
  if (ctx.now.getTime() - Date.parse(rec.lastAlertAt) < remindEveryMs) return step(rec);
  return step({ ...rec, lastAlertAt: ctx.now.toISOString(), reminders: reminders + 1 }, [
    { type: 'sync.still_failed', previousState: rec.state, reminder: reminders + 1 },
  ]);
}

/**
 * The session ended (went to `None`, or vanished past the grace). A failed one ends quietly (its failure was
 * announced); otherwise the repository's fresh status decides: in sync → `sync.completed`; out of sync →
 * `sync.stopped`; unknown (not found, or its fetch failed) → `sync.completed` with `completionConfirmed: false`. Not
 * fetched yet this cycle: `needs` it.
 */
function end(rec: SessionRecord, previousState: SessionState | null, ctx: RuleContext): RuleOutcome {
  const nowIso = ctx.now.toISOString();
  const finalState: SessionState = previousState === null ? null : rec.state;
  const before = previousState ?? rec.state;
  const ended = (outcome: Outcome): SessionRecord => ({
    ...rec,
    state: finalState,
    phase: 'ended',
    outcome,
    finishedAt: nowIso,
  });
  if (rec.phase === 'failed') return step(ended('failed'));
  let status: Fetched<RepositoryInfo> = { found: false };
  if (rec.repositoryId !== null) {
    const fetched = ctx.repositories.get(rec.repositoryId);
    if (fetched === undefined) return { kind: 'needs', repositoryId: rec.repositoryId };
    status = fetched;
  }
  if (status !== FETCH_FAILED && status.found && status.value.isOutOfSync === true) {
    return step(ended('stopped'), [{ type: 'sync.stopped', previousState: before }]);
  }
  const confirmed = status !== FETCH_FAILED && status.found && status.value.isOutOfSync === false;
  return step(ended('completed'), [{ type: 'sync.completed', previousState: before, completionConfirmed: confirmed }]);
}

function phaseOf(state: SessionState): SessionRecord['phase'] {
  if (state === 'Synchronizing') return 'running';
  if (state === 'Failed') return 'failed';
  if (state === 'None') return 'ended';
  return 'other';
}

/** Highest configured milestone ≤ progress, never below `current`. */
function milestoneReached(policy: Policy, progress: number | null, current: number): number {
  if (progress === null) return current;
  return policy.milestones.reduce((best, m) => (m <= progress && m > best ? m : best), current);
}
