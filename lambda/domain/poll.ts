import pLimit from 'p-limit';
import { digestDue, type HistoryEntry, historyEntryOf } from './digest.js';
import { enrich } from './enrich.js';
import { messageOf, type StateItemTooLargeError, type UpstreamError } from './errors.js';
import type { EventType, ServerRef } from './events.js';
import { type Heartbeat, withPolledAt } from './fleet.js';
import { withIncidents } from './incidents.js';
import { type CycleInput, type CycleResult, decide } from './lifecycle.js';
import { applyNoiseControl } from './noise.js';
import type { Observation } from './observation.js';
import { type CycleProblem, fetchEach, observeServer } from './observe.js';
import { withOrganizations } from './organizations.js';
import { acknowledgeOutboxes, commitCycle, leaseUntil, planCycle, publishInOrder, writesServer } from './outbox.js';
import type { Policy } from './policy.js';
import type { CallOptions, ItemKey, Notifier, StateStore, Vb365Api } from './ports.js';
import { leasedByOther, type RepositoryRecord, type ServerSnapshot } from './state.js';
import { groupStorms } from './storm.js';

export interface PollDeps {
  readonly api: Vb365Api;
  readonly store: StateStore;
  readonly notifier: Notifier;
  readonly policy: Policy;
  readonly server: ServerRef;
  readonly now: () => Date;
  /** Identifies this cycle in leases (e.g. the Lambda request id). */
  readonly owner: string;
  /** How long a cycle may take to publish what it committed before another may take over. @default 5 min */
  readonly leaseMs?: number;
  /** Parallel single GETs and writes. @default 8 */
  readonly concurrency?: number;
  /**
   * The configured rhythm: each cycle then records when it polled the server (`polledAt`, renewed every few cycles)
   * for the fleet check. Absent: nothing is recorded (local runs, which have no fleet check).
   */
  readonly heartbeat?: Heartbeat;
  /**
   * The time between scheduled cycles (ms; the Lambda's schedule). With it the out-of-sync detector scans on the clock
   * and stores nothing for it, so a quiet cycle writes nothing, scans included. Absent (local runs at any pace): the
   * time of the last scan is stored in the server record.
   */
  readonly intervalMs?: number;
  /**
   * When the schedule meant this cycle to run (EventBridge Scheduler's scheduled time, before its flexible window
   * delayed the invocation): the repository scan's slots follow it, so exactly one cycle per slot scans whatever the
   * delay. Absent (a manual invocation, a local run): `now`.
   */
  readonly scheduledAt?: Date | undefined;
}

export interface CycleSummary {
  readonly serverId: string;
  /** `ok`: the server answered. Otherwise the kind of upstream failure (recorded, alerted per policy). */
  readonly status: 'ok' | 'busy' | UpstreamError['kind'];
  /** One-line reason when the server could not be used. */
  readonly reason: string | null;
  readonly sessionsListed: number;
  readonly sessionsTracked: number;
  readonly apiLookups: { readonly sessions: number; readonly repositories: number };
  readonly writes: number;
  readonly conflicts: number;
  readonly eventsCommitted: number;
  readonly eventsPublished: number;
  /** Events still in the outbox after this cycle (published next cycle). */
  readonly eventsPending: number;
  readonly eventsByType: Readonly<Partial<Record<EventType, number>>>;
  /** The first {@link PROBLEMS_LISTED} problems (then one saying how many more). */
  readonly problems: readonly CycleProblem[];
  /** Problems confined to one session or repository, all of them (the `ApiErrors` metric). */
  readonly isolatedProblems: number;
}

/** Problems listed in a summary (and logged): a server listing 60,000 malformed items must not make 60,000 lines. */
export const PROBLEMS_LISTED = 25;

/**
 * One poll cycle for one server (DESIGN §4), in steps:
 *
 * 1. load the server's partition (one Query); leave it alone while another cycle holds its lease;
 * 2. observe: list sessions, GET only tracked sessions missing from the list (`observe.ts`);
 * 3. decide with the pure lifecycle rules, fetching the repositories they ask for (`decide`);
 * 4. enrich the result, then noise control and storm grouping;
 * 5. commit each changed item with its new events in its outbox, then publish and acknowledge (`outbox.ts`).
 *
 * Guarantees (see `outbox.ts`): an event is lost by no crash or failed publish (it stays in the outbox and the next
 * cycle publishes it); two overlapping cycles never both publish it (only the winner of the conditional write does,
 * and a leased outbox is left alone); a duplicate is possible only when a cycle dies between publish and
 * acknowledgement. An unreachable server is recorded, not thrown. Throws when the state store fails (after
 * publishing what it committed), so the invocation fails and is retried.
 */
export async function pollOnce(deps: PollDeps, signal?: AbortSignal): Promise<CycleSummary> {
  const now = deps.now();
  const serverId = deps.server.id;
  const limit = pLimit(deps.concurrency ?? 8);
  const call = { signal };
  const problems: CycleProblem[] = [];
  const problem = (p: CycleProblem) => problems.push(p);

  // 1. Load.
  const snapshot = await deps.store.load(serverId, call);
  if (snapshot.server && leasedByOther(snapshot.server, deps.owner, now)) {
    const reason = 'another cycle is publishing this server\u2019s events';
    return emptySummary(serverId, 'busy', reason, snapshot.sessions.length);
  }
  const envelopes = snapshot.sessions.filter((s) => !leasedByOther(s, deps.owner, now));
  const records = envelopes.map((e) => e.record);

  // 2. Observe.
  const stored = snapshot.server?.record;
  const observation = await observeServer({ ...deps, now, call, limit, server: stored, sessions: records, problem });
  // The weekly digest needs the history of finished syncs: read only when one is due.
  let history: HistoryEntry[] | undefined;
  if (observation.reachable && digestDue(stored?.lastDigestAt, now, deps.policy.digest)) {
    try {
      history = await deps.store.history(serverId, new Date(now.getTime() - 7 * 86_400_000).toISOString(), call);
    } catch (err) {
      problem({ message: `reading the sync history (weekly digest, retried next cycle): ${messageOf(err)}` });
    }
  }

  // 3. Decide, fetching the repositories the rules ask for.
  const input: CycleInput = {
    now,
    history,
    policy: deps.policy,
    server: deps.server,
    serverRecord: stored,
    sessions: records,
    repositoryNames: snapshot.repositories,
    observation,
    intervalMs: deps.intervalMs,
  };
  const decision = await decide(input, (ids) =>
    fetchEach(
      ids,
      limit,
      (id) => deps.api.getRepository(id, call),
      (id, err) => problem({ repositoryId: id, message: messageOf(err) }),
    ),
  );

  // 4. Shape what the rules decided into what is committed.
  const { result, learned, finished } = await shape(decision.result, observation, snapshot, deps, now, call, problem);

  // 5. Commit, then record what ended and the names learned, publish and acknowledge.
  const lease = { owner: deps.owner, until: leaseUntil(now, deps.leaseMs) };
  const plan = planCycle(snapshot, envelopes, result, lease, deps.policy);
  const commit = await commitCycle((w, expected) => deps.store.write(serverId, w, expected, call), plan, limit);
  const { committed } = commit;
  for (const { key, error } of commit.tooLarge) problems.push(itemProblem(key, error));
  let storeFailure = commit.storeFailure;
  // Finished syncs of this cycle whose session was committed go to the history (for the digest); writing one twice
  // is harmless, losing one (a crash right here) only thins a digest.
  const committedSessions = new Set(committed.map((c) => (c.write.key.kind === 'session' ? c.write.key.id : '')));
  const ended = finished.filter((e) => committedSessions.has(e.sessionId));
  if (ended.length > 0) {
    const expiresAt = Math.floor((now.getTime() + deps.policy.historyRetentionMs) / 1000);
    await deps.store.recordHistory(serverId, ended, expiresAt, call).catch((err: unknown) => {
      problem({ message: `recording ${ended.length} finished sync(s) in the history: ${messageOf(err)}` });
    });
  }
  if (learned.length > 0 && storeFailure === undefined) {
    // A cache: failing to write it costs a lookup next cycle, never the publishing of what was committed.
    await deps.store.saveRepositoryNames(serverId, learned, call).catch((err: unknown) => {
      problem({ message: `caching ${learned.length} repository name(s): ${messageOf(err)}` });
    });
  }

  // Publish in a stable order: server events first, then sessions as they were evaluated.
  const outbox = committed.flatMap((c) => c.write.pending);
  const { published, publishFailure } = await publishInOrder(
    deps.notifier,
    committed.map((c) => c.write.pending),
    call,
  );
  for (const f of published.failed) problem({ message: `publish ${f.eventId} failed: ${f.reason}` });
  const ack = await acknowledgeOutboxes(
    (c, acknowledged) => deps.store.write(serverId, acknowledged, c.version, call),
    committed,
    published.delivered,
    limit,
  );
  for (const c of ack.tooLarge) problems.push(itemProblem(c.write.key, c.error));
  storeFailure ??= ack.storeFailure;
  if (storeFailure !== undefined) throw storeFailure;
  if (publishFailure !== undefined) throw publishFailure;

  const trackedIds = new Set(envelopes.map((e) => e.record.id));
  const newEvents = [...result.serverEvents, ...result.sessions.flatMap((s) => s.events)];
  const committedIds = new Set(committed.flatMap((c) => c.write.pending.map((e) => e.eventId)));
  const eventsByType: Partial<Record<EventType, number>> = {};
  for (const e of outbox) {
    if (published.delivered.has(e.eventId)) eventsByType[e.type] = (eventsByType[e.type] ?? 0) + 1;
  }
  return {
    serverId,
    status: observation.reachable ? 'ok' : observation.kind,
    reason: observation.reachable ? null : observation.reason,
    sessionsListed: observation.reachable ? observation.listed.length : 0,
    sessionsTracked: snapshot.sessions.length + result.sessions.filter((s) => !trackedIds.has(s.record.id)).length,
    apiLookups: { sessions: observation.reachable ? observation.lookedUp.size : 0, repositories: decision.lookups },
    writes: committed.length + ack.acks,
    conflicts: commit.conflicts,
    eventsCommitted: newEvents.filter((e) => committedIds.has(e.eventId)).length,
    eventsPublished: published.delivered.size,
    eventsPending: ack.eventsPending,
    eventsByType,
    problems: capped(problems),
    isolatedProblems: problems.filter((p) => p.sessionId !== undefined || p.repositoryId !== undefined).length,
  };
}

/**
 * Step 4: enriches a reachable cycle's result (forecasts, impact, blockers, the first backup after a resync,
 * incidents, likely causes, tenants: `enrich.ts`; an unreachable one gets its incidents only), notes the syncs that
 * finished (history, whether or not quiet hours hold their message), applies noise control and storm grouping, and
 * renews the heartbeat. Returns the result to commit and the repository cache entries learned.
 */
async function shape(
  decided: CycleResult,
  observation: Observation,
  snapshot: ServerSnapshot,
  deps: PollDeps,
  now: Date,
  call: CallOptions,
  problem: (p: CycleProblem) => void,
): Promise<{ result: CycleResult; learned: readonly RepositoryRecord[]; finished: HistoryEntry[] }> {
  let result = decided;
  let learned = result.learnedNames;
  if (observation.reachable) {
    const enriched = await enrich(result, {
      api: deps.api,
      store: deps.store,
      policy: deps.policy,
      server: deps.server,
      now,
      call,
      cache: snapshot.repositories,
      repositoryList: observation.repositoryList,
      acks: snapshot.acks,
      problem: (message) => problem({ message }),
    });
    result = enriched.result;
    learned = enriched.learned;
  } else {
    result = withIncidents(result, { now, server: deps.server, policy: deps.policy, acks: snapshot.acks });
    // An escalation or acknowledgement while the server cannot be read still reaches its tenant's channels.
    result = withOrganizations(result, new Map(snapshot.repositories.map((r) => [r.id, r])));
  }
  const finished = result.sessions
    .flatMap((s) => s.events)
    .map(historyEntryOf)
    .filter((e): e is HistoryEntry => e !== undefined);
  result = groupStorms(applyNoiseControl(result, now, deps.server, deps.policy), now, deps.server, deps.policy);
  if (deps.heartbeat !== undefined) {
    // Reachable or not, the cycle leaves its trace for the fleet check: free when the record is written anyway.
    const writtenAnyway = writesServer(snapshot, result);
    result = { ...result, server: withPolledAt(result.server, now, deps.heartbeat, writtenAnyway) };
  }
  return { result, learned, finished };
}

function capped(problems: readonly CycleProblem[]): readonly CycleProblem[] {
  if (problems.length <= PROBLEMS_LISTED) return problems;
  return [
    ...problems.slice(0, PROBLEMS_LISTED),
    { message: `and ${problems.length - PROBLEMS_LISTED} more problem(s) of the same cycle, not listed` },
  ];
}

/** An item the store cannot hold: that item's problem (retried next cycle), not the cycle's. */
function itemProblem(key: ItemKey, err: StateItemTooLargeError): CycleProblem {
  return key.kind === 'session' ? { sessionId: key.id, message: err.message } : { message: err.message };
}

function emptySummary(serverId: string, status: CycleSummary['status'], reason: string, tracked: number): CycleSummary {
  return {
    serverId,
    status,
    reason,
    sessionsListed: 0,
    sessionsTracked: tracked,
    apiLookups: { sessions: 0, repositories: 0 },
    writes: 0,
    conflicts: 0,
    eventsCommitted: 0,
    eventsPublished: 0,
    eventsPending: 0,
    eventsByType: {},
    problems: [],
    isolatedProblems: 0,
  };
}
