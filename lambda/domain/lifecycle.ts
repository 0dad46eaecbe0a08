import type { RepositoryProblem } from './contract-repository.js';
import type { MonitorSummary, SessionSnapshot, SummaryItem } from './contract-session.js';
import { buildDigest, type HistoryEntry } from './digest.js';
import { secondsBetween as seconds } from './emit.js';
import type { UpstreamErrorKind } from './errors.js';
import { addSample, estimateOf } from './estimate.js';
import { type EventType, eventId, type MonitorEvent, SEVERITY, type ServerRef, SUMMARY_LIMIT } from './events.js';
import type { Policy } from './policy.js';
import { INITIAL_SERVER, type Outcome, type RepositoryRecord, type ServerRecord, type SessionRecord } from './state.js';
import type { Lookup, RepositoryInfo, ServerCertificate, SessionState, SyncSession } from './types.js';

/** A fetch that failed for this one item (logged, retried next cycle); it never fails the cycle. */
export const FETCH_FAILED = 'fetch-failed' as const;
export type Fetched<T> = Lookup<T> | typeof FETCH_FAILED;

/** What one cycle saw of the server. */
export type Observation =
  | {
      readonly reachable: true;
      /** Sessions in the list, in list order. */
      readonly listed: readonly SyncSession[];
      /** Single GETs of tracked sessions missing from the list, by session id. */
      readonly lookedUp: ReadonlyMap<string, Fetched<SyncSession>>;
      /** Repositories fetched this cycle (fresh in-sync status), by repository id. */
      readonly repositories: ReadonlyMap<string, Fetched<RepositoryInfo>>;
      /** The server's TLS certificate, when the client saw one. */
      readonly certificate?: ServerCertificate | undefined;
      /** Every repository, when they were listed this cycle (see {@link repositoryScanDue}). */
      readonly repositoryList?: readonly RepositoryInfo[] | undefined;
    }
  | { readonly reachable: false; readonly kind: UpstreamErrorKind; readonly reason: string };

export interface CycleInput {
  readonly now: Date;
  readonly policy: Policy;
  readonly server: ServerRef;
  /** Stored server record; `undefined` before the first cycle. */
  readonly serverRecord: ServerRecord | undefined;
  /** Stored sessions this cycle may change (those leased by another cycle are left out). */
  readonly sessions: readonly SessionRecord[];
  /** Cached repository names. */
  readonly repositoryNames: readonly RepositoryRecord[];
  readonly observation: Observation;
  /** Finished syncs of the last seven days, given when the weekly digest is due (see `digestDue`). */
  readonly history?: readonly HistoryEntry[] | undefined;
  /**
   * The time between scheduled cycles (ms), when known: repository scans then follow the clock (see
   * {@link repositoryScanDue}) and `repositoriesScannedAt` is not stored, so a scan that changes nothing writes nothing.
   */
  readonly intervalMs?: number | undefined;
}

export interface CycleResult {
  readonly server: ServerRecord;
  /** Events about the server (`monitor.started`, `server.*`), in order. */
  readonly serverEvents: readonly MonitorEvent[];
  /** Sessions whose record changed (new ones included), with the events emitted for each, in order. */
  readonly sessions: readonly { readonly record: SessionRecord; readonly events: readonly MonitorEvent[] }[];
  /** Repository names learned this cycle (to cache). */
  readonly learnedNames: readonly RepositoryRecord[];
  /**
   * Repository ids whose lookup this cycle needs and the observation lacks: fetch them and evaluate again. Empty
   * when the result is final.
   */
  readonly needRepositories: readonly string[];
  /**
   * A baseline cycle (the first, or the first after a long gap): it discovers sessions silently and emits
   * `monitor.started`. Its sessions must be stored before the server record that ends the baseline.
   */
  readonly baseline: boolean;
}

/**
 * The lifecycle rules of DESIGN §3 as one pure function: stored state + what the server showed → new state + events.
 *
 * - First reachable cycle: everything is recorded silently and one `monitor.started` summarises it.
 * - While the server cannot be used nothing about sessions changes (no end event during an outage); after
 *   `unreachableAfterMs` one `server.unreachable` (or at once, `server.auth_failed`), then one `server.recovered`.
 * - A session ends when it goes `Synchronizing` → `None`, or has been missing for `vanishGraceCycles` reachable
 *   cycles; its repository decides: in sync → `sync.completed`; out of sync → `sync.stopped`; unknown →
 *   `sync.completed` with `completionConfirmed: false`.
 * - Feeding the same observation twice emits nothing the second time; event sequence numbers grow per session.
 */
export function evaluate(input: CycleInput): CycleResult {
  const { now, policy, observation } = input;
  const nowIso = now.toISOString();
  const previous = input.serverRecord ?? INITIAL_SERVER;
  const serverEvents: MonitorEvent[] = [];
  let server: ServerRecord = previous;
  const emitServer = (
    type: EventType,
    extra: Pick<MonitorEvent, 'summary' | 'problem' | 'certificate' | 'repository' | 'digest'>,
  ) => {
    server = { ...server, sequence: server.sequence + 1 };
    serverEvents.push({
      schemaVersion: 1,
      eventId: eventId(input.server.id, 'server', server.sequence, type),
      type,
      severity: SEVERITY[type],
      occurredAt: nowIso,
      server: input.server,
      ...extra,
    });
  };

  if (!observation.reachable) {
    const failingSince = previous.failingSince ?? nowIso;
    server = {
      ...withoutStreak(server),
      failingSince,
      failure: { kind: observation.kind, reason: observation.reason },
    };
    const problem = { reason: observation.reason, kind: observation.kind, since: failingSince, outageSeconds: null };
    // Refused logins, refused certificates, an API version no longer served and a missing setup are announced at once
    // (waiting does not fix them); a network failure only once it has lasted `unreachableAfterMs`. Each alert once,
    // until the server recovers.
    const immediate = IMMEDIATE_ALERT[observation.kind];
    if (immediate) {
      if (previous.alerted !== observation.kind) {
        emitServer(immediate, { problem });
        server = { ...server, alerted: observation.kind as NonNullable<ServerRecord['alerted']> };
      }
    } else if (previous.alerted === null && now.getTime() - Date.parse(failingSince) >= policy.unreachableAfterMs) {
      emitServer('server.unreachable', { problem });
      server = { ...server, alerted: 'unreachable' };
    }
    return { server, serverEvents, sessions: [], learnedNames: [], needRepositories: [], baseline: false };
  }

  if (previous.alerted === 'setup') {
    // Set up at last: the first cycle's monitor.started says so; there was no outage to recover from.
    server = { ...withoutStreak(server), failingSince: null, failure: null, alerted: null };
  } else if (previous.alerted !== null && previous.failingSince !== null) {
    // Hysteresis: the alert stands until the server worked for `recoverAfterCycles` cycles in a row, so a flapping
    // server raises one alert, not a storm of unreachable/recovered pairs.
    const streak = (previous.reachableStreak ?? 0) + 1;
    if (streak >= policy.recoverAfterCycles) {
      emitServer('server.recovered', {
        problem: {
          reason: previous.failure?.reason ?? null,
          kind: previous.failure?.kind ?? null,
          since: previous.failingSince,
          outageSeconds: seconds(previous.failingSince, nowIso),
        },
      });
      server = { ...withoutStreak(server), failingSince: null, failure: null, alerted: null };
    } else {
      server = { ...server, reachableStreak: streak };
    }
  } else {
    server = { ...server, failingSince: null, failure: null, alerted: null };
  }

  const cert = observation.certificate;
  if (cert && server.certificateWarnedFor !== cert.validTo) {
    const left = Date.parse(cert.validTo) - now.getTime();
    if (left <= policy.certificateWarningMs) {
      emitServer('server.certificate_expiring', {
        problem: {
          reason: `certificate ${cert.subject} expires ${cert.validTo}`,
          kind: 'certificate',
          since: nowIso,
          outageSeconds: null,
        },
        certificate: { ...cert, daysLeft: Math.max(0, Math.floor(left / 86_400_000)) },
      });
      server = { ...server, certificateWarnedFor: cert.validTo };
    }
  }

  const cached = new Map(input.repositoryNames.map((r) => [r.id, r]));
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
  const needRepositories = new Set<string>();
  const nameOf = (repositoryId: string | null): string | null => {
    if (repositoryId === null) return null;
    if (learned.has(repositoryId)) return learned.get(repositoryId)?.name ?? null;
    if (cached.has(repositoryId)) return cached.get(repositoryId)?.name ?? null;
    if (!observation.repositories.has(repositoryId)) needRepositories.add(repositoryId);
    return null;
  };
  /** Fresh in-sync status; `undefined` (and a need) when not fetched yet this cycle. */
  const repositoryStatus = (repositoryId: string | null): Fetched<RepositoryInfo> | undefined => {
    if (repositoryId === null) return { found: false };
    const fetched = observation.repositories.get(repositoryId);
    if (fetched === undefined) needRepositories.add(repositoryId);
    return fetched;
  };

  // A baseline cycle records what it finds silently and summarises it in monitor.started: the very first one, and the
  // first after a gap so long that records of ended sessions may have expired (they would look new, and be announced).
  // Records live at least `finishedRetention` after their last renewal, which is at most `renewEveryMs` before the last
  // reachable cycle, itself at most `renewEveryMs` after `aliveAt`: a gap under retention − 2 × renewal is safe.
  const gap = previous.aliveAt === undefined ? 0 : now.getTime() - Date.parse(previous.aliveAt);
  const firstCycle = !previous.initialized || gap > policy.finishedRetentionMs - 2 * renewEveryMs(policy);
  if (gap >= renewEveryMs(policy) || previous.aliveAt === undefined) server = { ...server, aliveAt: nowIso };
  const tracked = new Map(input.sessions.map((s) => [s.id, s]));
  const changed: { record: SessionRecord; events: MonitorEvent[] }[] = [];
  const summary: { running: SummaryItem[]; failed: SummaryItem[]; other: SummaryItem[] } = {
    running: [],
    failed: [],
    other: [],
  };

  const observe = (rec: SessionRecord | undefined, seen: SyncSession | 'missing'): void => {
    const step = rec
      ? advance(rec, seen, { now, policy, repositoryStatus })
      : discover(seen as SyncSession, { now, policy, firstCycle, repositoryStatus });
    if (!step) return;
    const repositoryName = step.record.repositoryName ?? nameOf(step.record.repositoryId);
    let record: SessionRecord = { ...step.record, repositoryName };
    if (step.events.some((e) => e.type === 'sync.failed') || (record.phase === 'failed' && !record.lastAlertAt)) {
      // A new failure (or one found failed, summarised by monitor.started): reminders count from now.
      record = { ...record, failedAt: nowIso, lastAlertAt: nowIso, reminders: 0 };
    } else if (record.phase !== 'failed' && record.lastAlertAt !== undefined) {
      const { failedAt: _f, lastAlertAt: _a, reminders: _r, ...rest } = record;
      record = rest;
    }
    record = withSamples(record, now);
    const events: MonitorEvent[] = [];
    for (const e of step.events) {
      record = { ...record, sequence: record.sequence + 1 };
      events.push(sessionEvent(input.server, record, e, nowIso, policy));
    }
    if (firstCycle && seen !== 'missing') {
      const item: SummaryItem = {
        sessionId: record.id,
        repositoryId: record.repositoryId,
        repositoryName,
        state: record.state,
        progressPercent: record.progressPercent,
        error: record.error,
      };
      if (record.phase === 'running') summary.running.push(item);
      else if (record.phase === 'failed') summary.failed.push(item);
      else if (record.phase === 'other') summary.other.push(item);
    }
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

  // Every tracked session as this cycle leaves it.
  const sessionsNow = new Map(input.sessions.map((r) => [r.id, r]));
  for (const c of changed) sessionsNow.set(c.record.id, c.record);

  if (observation.repositoryList) {
    const scan = detectOutOfSync(
      server.outOfSync ?? {},
      observation.repositoryList,
      [...sessionsNow.values()],
      now,
      policy,
    );
    const { outOfSync: _, ...rest } = server;
    server = {
      ...rest,
      ...(input.intervalMs === undefined ? { repositoriesScannedAt: nowIso } : {}),
      ...(Object.keys(scan.state).length > 0 ? { outOfSync: scan.state } : {}),
    };
    for (const e of scan.events) emitServer(e.type, { repository: e.repository });
  }

  if (policy.digest !== null && server.lastDigestAt === undefined) {
    // Counting starts now: a new install sends its first digest at the next scheduled time, not at once.
    server = { ...server, lastDigestAt: nowIso };
  } else if (input.history !== undefined) {
    const running = [...sessionsNow.values()].filter((r) => ['running', 'stalled', 'other'].includes(r.phase)).length;
    const outOfSync = Object.entries(server.outOfSync ?? {})
      .filter(([, r]) => r.alerted)
      .map(([id, r]) => ({ id, name: r.name, since: r.since }));
    const from = new Date(now.getTime() - 7 * 86_400_000).toISOString();
    emitServer('digest.weekly', { digest: buildDigest(input.history, from, nowIso, outOfSync, running) });
    server = { ...server, lastDigestAt: nowIso };
  }

  if (firstCycle) {
    server = { ...server, initialized: true };
    const capped: MonitorSummary = {
      running: summary.running.slice(0, SUMMARY_LIMIT),
      failed: summary.failed.slice(0, SUMMARY_LIMIT),
      other: summary.other.slice(0, SUMMARY_LIMIT),
      totals: { running: summary.running.length, failed: summary.failed.length, other: summary.other.length },
    };
    emitServer('monitor.started', { summary: capped });
  }

  return {
    server,
    serverEvents,
    sessions: changed,
    learnedNames: [...learned.values()],
    needRepositories: [...needRepositories],
    baseline: firstCycle,
  };
}

/**
 * How often a reachable server's `aliveAt`, and an ended session's `listedAt` while the server still lists it, are
 * renewed: a day (one write per item and day), or a quarter of `finishedRetention` if that is shorter, so a listed
 * session's record never expires and a gap in monitoring is recognised long before records can expire.
 */
export function renewEveryMs(policy: Policy): number {
  return Math.min(86_400_000, policy.finishedRetentionMs / 4);
}

/** How often the repositories are listed for the out-of-sync detector. */
export const REPOSITORY_SCAN_MS = 15 * 60_000;

/**
 * Whether this cycle should list the repositories (the out-of-sync detector is on, and a scan period, the shorter of
 * `REPOSITORY_SCAN_MS` and `outOfSyncAfterMs`, has passed).
 *
 * With `intervalMs` (the schedule's rate: the Lambda) the period follows the clock: a cycle scans when it is the first
 * one in its period-long slot of the clock (or the server's first cycle), which needs nothing stored, so a quiet scan
 * writes nothing. When the scheduler's jitter straddles a slot boundary, one slot may be scanned twice or not at all
 * (the next slot's scan then notices what that one would have). Without `intervalMs` (local runs at any pace), the
 * time of the last scan is stored (`repositoriesScannedAt`).
 */
export function repositoryScanDue(
  server: ServerRecord | undefined,
  now: Date,
  policy: Policy,
  intervalMs?: number,
): boolean {
  if (policy.outOfSyncAfterMs === null) return false;
  const period = Math.min(REPOSITORY_SCAN_MS, policy.outOfSyncAfterMs);
  const t = now.getTime();
  if (intervalMs !== undefined) {
    if (server === undefined || intervalMs >= period) return true;
    return Math.floor(t / period) !== Math.floor((t - intervalMs) / period);
  }
  const last = server?.repositoriesScannedAt;
  return last === undefined || t - Date.parse(last) >= period;
}

type OutOfSyncState = NonNullable<ServerRecord['outOfSync']>;

/**
 * Repositories out of sync with nothing syncing them: once one has been so for `outOfSyncAfterMs`,
 * `repository.out_of_sync` (once); `repository.in_sync` when it clears. A repository with a running session, or with
 * a failed one still listed (its failure and reminders speak for it), is not counted.
 */
function detectOutOfSync(
  previous: OutOfSyncState,
  repositories: readonly RepositoryInfo[],
  sessions: readonly SessionRecord[],
  now: Date,
  policy: Policy,
): { state: OutOfSyncState; events: { type: EventType; repository: RepositoryProblem }[] } {
  const busy = new Set(sessions.filter((s) => s.phase !== 'ended').map((s) => s.repositoryId));
  const state: Record<string, OutOfSyncState[string]> = {};
  const events: { type: EventType; repository: RepositoryProblem }[] = [];
  const problem = (id: string, name: string | null, since: string): RepositoryProblem => ({
    id,
    name,
    outOfSyncSince: since,
    outOfSyncSeconds: seconds(since, now.toISOString()),
  });
  const byId = new Map(repositories.map((r) => [r.id, r]));
  for (const repo of [...repositories].sort((a, b) => a.id.localeCompare(b.id))) {
    const prior = previous[repo.id];
    if (repo.isOutOfSync !== true || busy.has(repo.id)) continue;
    const since = prior?.since ?? now.toISOString();
    let alerted = prior?.alerted ?? false;
    if (!alerted && now.getTime() - Date.parse(since) >= (policy.outOfSyncAfterMs ?? Number.POSITIVE_INFINITY)) {
      events.push({ type: 'repository.out_of_sync', repository: problem(repo.id, repo.name, since) });
      alerted = true;
    }
    state[repo.id] = { since, name: repo.name, alerted };
  }
  for (const [id, prior] of Object.entries(previous).sort(([a], [b]) => a.localeCompare(b))) {
    if (state[id] || !prior.alerted) continue;
    const repo = byId.get(id);
    // Cleared, or a session now syncs it (its own events take over), or the repository is gone.
    if (repo?.isOutOfSync === true) continue;
    events.push({ type: 'repository.in_sync', repository: problem(id, repo?.name ?? prior.name, prior.since) });
  }
  return { state, events };
}

/** Ids of tracked, not-ended sessions absent from the list: the cycle GETs each one. */
export function sessionsToLookUp(sessions: readonly SessionRecord[], listed: readonly SyncSession[]): string[] {
  const listedIds = new Set(listed.map((s) => s.id));
  return sessions.filter((s) => s.phase !== 'ended' && !listedIds.has(s.id)).map((s) => s.id);
}

// ---- rules ------------------------------------------------------------------------------------------------------

interface PendingEvent {
  readonly type: EventType;
  readonly previousState: SessionState;
  readonly completionConfirmed?: boolean;
  readonly milestone?: number;
  /** `sync.still_failed`: which reminder. */
  readonly reminder?: number;
}

interface Step {
  readonly record: SessionRecord;
  readonly events: readonly PendingEvent[];
}

interface RuleContext {
  readonly now: Date;
  readonly policy: Policy;
}

/**
 * A session not tracked yet. On the first cycle it is recorded silently (the summary reports it). Later, one already
 * ended (`None`) ran from start to end between two cycles: it is announced like any ended sync, once (its repository
 * decides completed or stopped; `undefined` until that status is fetched). One already `Failed` is announced as failed.
 */
function discover(
  seen: SyncSession,
  ctx: RuleContext & {
    firstCycle: boolean;
    repositoryStatus: (id: string | null) => Fetched<RepositoryInfo> | undefined;
  },
): Step | undefined {
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
    return { record: { ...base, phase: 'ended', outcome: 'unobserved', finishedAt: nowIso }, events: [] };
  }
  if (state === 'None') {
    // Started and finished between two cycles (shorter than the poll interval): never seen running.
    const step = end({ ...base, phase: 'running' }, 'None', ctx);
    return step && { ...step, events: step.events.map((e) => ({ ...e, previousState: null })) };
  }
  if (ctx.firstCycle) return { record: base, events: [] };
  return {
    record: base,
    events: [{ type: state === 'Failed' ? 'sync.failed' : 'sync.started', previousState: null }],
  };
}

/** A tracked session seen again (or missing) in a cycle where the server answered. */
function advance(
  rec: SessionRecord,
  seen: SyncSession | 'missing',
  ctx: RuleContext & { repositoryStatus: (id: string | null) => Fetched<RepositoryInfo> | undefined },
): Step | undefined {
  const nowIso = ctx.now.toISOString();

  if (seen === 'missing') {
    if (rec.phase === 'ended') return undefined;
    const missingCycles = rec.missingCycles + 1;
    if (missingCycles < ctx.policy.vanishGraceCycles) return { record: { ...rec, missingCycles }, events: [] };
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

  if (rec.phase === 'ended') {
    // A finished session listed again: a new run under the same id (restart), or a failure after all.
    if (state === 'Synchronizing') {
      return {
        record: {
          ...observed,
          phase: 'running',
          outcome: null,
          firstSeenAt: nowIso,
          lastProgressAt: nowIso,
          finishedAt: null,
          milestone: milestoneReached(ctx.policy, observed.progressPercent, 0),
        },
        events: [{ type: 'sync.started', previousState: rec.state }],
      };
    }
    if (state === 'Failed' && rec.outcome !== 'failed') {
      return {
        record: { ...observed, phase: 'failed', outcome: null, finishedAt: null },
        events: [{ type: 'sync.failed', previousState: rec.state }],
      };
    }
    // Still listed: its record must outlive its TTL, or the session would be found again as new (and re-announced).
    const listedAt = rec.listedAt ?? rec.finishedAt ?? nowIso;
    const refresh = ctx.now.getTime() - Date.parse(listedAt) >= renewEveryMs(ctx.policy);
    return { record: { ...rec, missingCycles: 0, ...(refresh ? { listedAt: nowIso } : {}) }, events: [] };
  }

  if (state === 'None') return end(observed, rec.state, ctx);

  if (state === 'Failed') {
    if (rec.state === 'Failed') return remind({ ...observed, phase: 'failed' }, ctx);
    return { record: { ...observed, phase: 'failed' }, events: [{ type: 'sync.failed', previousState: rec.state }] };
  }

  if (state === 'Synchronizing') {
    if (rec.state !== 'Synchronizing') {
      return {
        record: { ...observed, phase: 'running', lastProgressAt: nowIso },
        events: [{ type: 'sync.state_changed', previousState: rec.state }],
      };
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
    } else if (
      rec.phase === 'running' &&
      ctx.now.getTime() - Date.parse(rec.lastProgressAt) >= ctx.policy.stallAfterMs
    ) {
      record = { ...record, phase: 'stalled' };
      events.push({ type: 'sync.stalled', previousState: rec.state });
    }
    return { record, events };
  }

  // An unknown state value (kept verbatim).
  if (state !== rec.state) {
    return {
      record: { ...observed, phase: 'other' },
      events: [{ type: 'sync.state_changed', previousState: rec.state }],
    };
  }
  return { record: observed, events: [] };
}

/** A session still failed: a `sync.still_failed` reminder every `remindEveryMs`, at most `maxReminders` times. */
function remind(rec: SessionRecord, ctx: RuleContext): Step {
  const { remindEveryMs, maxReminders } = ctx.policy;
  const reminders = rec.reminders ?? 0;
  if (remindEveryMs === null || rec.lastAlertAt === undefined || reminders >= maxReminders) {
    return { record: rec, events: [] };
  }
  if (ctx.now.getTime() - Date.parse(rec.lastAlertAt) < remindEveryMs) return { record: rec, events: [] };
  return {
    record: { ...rec, lastAlertAt: ctx.now.toISOString(), reminders: reminders + 1 },
    events: [{ type: 'sync.still_failed', previousState: rec.state, reminder: reminders + 1 }],
  };
}

/**
 * The session ended (went to `None`, or vanished past the grace). A failed one ends quietly (its failure was
 * announced); otherwise the repository's fresh status decides. Returns `undefined` when that status is not fetched
 * yet (the caller fetches it and evaluates again).
 */
function end(
  rec: SessionRecord,
  previousState: SessionState | null,
  ctx: RuleContext & { repositoryStatus: (id: string | null) => Fetched<RepositoryInfo> | undefined },
): Step | undefined {
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
  if (rec.phase === 'failed') return { record: ended('failed'), events: [] };
  const status = ctx.repositoryStatus(rec.repositoryId);
  if (status === undefined) return undefined;
  if (status !== FETCH_FAILED && status.found && status.value.isOutOfSync === true) {
    return { record: ended('stopped'), events: [{ type: 'sync.stopped', previousState: before }] };
  }
  const confirmed = status !== FETCH_FAILED && status.found && status.value.isOutOfSync === false;
  return {
    record: ended('completed'),
    events: [{ type: 'sync.completed', previousState: before, completionConfirmed: confirmed }],
  };
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

/** Upstream failures announced at once, and their event. */
const IMMEDIATE_ALERT: Partial<Record<UpstreamErrorKind, EventType>> = {
  auth: 'server.auth_failed',
  unsupported: 'server.api_unsupported',
  tls: 'server.tls_failed',
  setup: 'server.setup_required',
};

function withoutStreak(server: ServerRecord): ServerRecord {
  const { reachableStreak: _, ...rest } = server;
  return rest;
}

function sameRecord(a: SessionRecord | undefined, b: SessionRecord): boolean {
  if (a === undefined) return false;
  const keys = Object.keys(b) as (keyof SessionRecord)[];
  return keys.length === Object.keys(a).length && keys.every((k) => a[k] === b[k]);
}
