import pLimit from 'p-limit';
import { digestDue, type HistoryEntry, historyEntryOf } from './digest.js';
import { enrich } from './enrich.js';
import { messageOf, StateConflictError, StateItemTooLargeError, UpstreamError } from './errors.js';
import type { EventType, MonitorEvent, ServerRef } from './events.js';
import { type Heartbeat, withPolledAt } from './fleet.js';
import { incidentsChanged, withIncidents } from './incidents.js';
import {
  evaluate,
  FETCH_FAILED,
  type Fetched,
  type Observation,
  repositoryScanDue,
  sessionsToLookUp,
} from './lifecycle.js';
import { applyNoiseControl } from './noise.js';
import type { Policy } from './policy.js';
import type { ItemKey, ItemWrite, Notifier, PublishResult, StateStore, Vb365Api } from './ports.js';
import { leasedByOther, type ServerRecord, type SessionRecord } from './state.js';
import { groupStorms } from './storm.js';
import type { Lookup, RepositoryInfo, SyncSession } from './types.js';

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
}

/** One problem confined to one session or repository: logged, retried next cycle, never fatal. */
export interface CycleProblem {
  readonly sessionId?: string | undefined;
  readonly repositoryId?: string | undefined;
  readonly message: string;
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

/** Malformed list items listed one by one; the rest are counted in one more problem. */
const MALFORMED_LISTED = 10;

/** Problems listed in a summary (and logged): a server listing 60,000 malformed items must not make 60,000 lines. */
export const PROBLEMS_LISTED = 25;

interface Committed {
  /** Position in the write list: server first, then sessions in evaluation order. */
  readonly index: number;
  readonly write: ItemWrite;
  readonly version: number;
}

/**
 * One poll cycle for one server (DESIGN §4):
 *
 * 1. load the server's partition (one Query);
 * 2. list sessions, GET only tracked sessions missing from the list, GET a repository only when its name or its
 *    in-sync status is needed; a failed single GET is a problem of that session, not of the cycle;
 * 3. evaluate the pure lifecycle rules;
 * 4. commit each changed item with its new events in its outbox, conditionally on its version, under a lease;
 * 5. publish the outbox of every item this cycle committed;
 * 6. acknowledge: remove delivered events from the outbox.
 *
 * Guarantees: an event is lost by no crash or failed publish (it stays in the outbox and the next cycle publishes
 * it); two overlapping cycles never both publish it (only the winner of the conditional write does, and a leased
 * outbox is left alone); a duplicate is possible only when a cycle dies between publish and acknowledgement. An
 * unreachable server is recorded, not thrown. Throws when the state store fails (after publishing what it
 * committed), so the invocation fails and is retried.
 */
export async function pollOnce(deps: PollDeps, signal?: AbortSignal): Promise<CycleSummary> {
  const now = deps.now();
  const serverId = deps.server.id;
  const limit = pLimit(deps.concurrency ?? 8);
  const call = { signal };
  const problems: CycleProblem[] = [];

  const snapshot = await deps.store.load(serverId, call);
  if (snapshot.server && leasedByOther(snapshot.server, deps.owner, now)) {
    return emptySummary(
      serverId,
      'busy',
      'another cycle is publishing this server\u2019s events',
      snapshot.sessions.length,
    );
  }
  const envelopes = snapshot.sessions.filter((s) => !leasedByOther(s, deps.owner, now));
  const records = envelopes.map((e) => e.record);

  let observation: Observation;
  let status: CycleSummary['status'] = 'ok';
  let reason: string | null = null;
  let listed: readonly SyncSession[] = [];
  let lookedUp = new Map<string, Fetched<SyncSession>>();
  try {
    const list = await deps.api.listSessions(call);
    listed = list.sessions;
    // Each malformed item is a problem of its own, up to a few: a list of thousands is one line more.
    for (const m of list.malformed.slice(0, MALFORMED_LISTED)) {
      problems.push({
        sessionId: m.id ?? undefined,
        message: `malformed session in the list (item ${m.index}): ${m.reason}`,
      });
    }
    const unlisted = list.malformed.length - MALFORMED_LISTED;
    if (unlisted > 0) problems.push({ message: `and ${unlisted} more malformed session(s) in the list` });
    const missing = sessionsToLookUp(records, listed);
    lookedUp = await fetchEach(
      missing,
      limit,
      (id) => deps.api.getSession(id, call),
      (id, err) => problems.push({ sessionId: id, message: messageOf(err) }),
    );
    let repositoryList: RepositoryInfo[] | undefined;
    if (repositoryScanDue(snapshot.server?.record, now, deps.policy, deps.intervalMs)) {
      try {
        repositoryList = await deps.api.listRepositories(call);
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        problems.push({ message: `listing the repositories (out-of-sync check): ${err.message}` });
      }
    }
    observation = {
      reachable: true,
      listed,
      lookedUp,
      repositories: new Map(),
      certificate: deps.api.certificate(),
      repositoryList,
    };
  } catch (err) {
    if (!(err instanceof UpstreamError)) throw err;
    status = err.kind;
    reason = err.message;
    observation = { reachable: false, kind: err.kind, reason: err.message };
  }

  // The weekly digest needs the history of finished syncs: read only when one is due.
  let history: HistoryEntry[] | undefined;
  if (observation.reachable && digestDue(snapshot.server?.record.lastDigestAt, now, deps.policy.digest)) {
    try {
      history = await deps.store.history(serverId, new Date(now.getTime() - 7 * 86_400_000).toISOString(), call);
    } catch (err) {
      problems.push({ message: `reading the sync history (weekly digest, retried next cycle): ${messageOf(err)}` });
    }
  }

  const input = {
    now,
    history,
    policy: deps.policy,
    server: deps.server,
    serverRecord: snapshot.server?.record,
    sessions: records,
    repositoryNames: snapshot.repositories,
    observation,
    intervalMs: deps.intervalMs,
  };
  let result = evaluate(input);
  let repositoryLookups = 0;
  if (result.needRepositories.length > 0 && observation.reachable) {
    repositoryLookups = result.needRepositories.length;
    const repositories = await fetchEach(
      result.needRepositories,
      limit,
      (id) => deps.api.getRepository(id, call),
      (id, err) => problems.push({ repositoryId: id, message: messageOf(err) }),
    );
    result = evaluate({ ...input, observation: { ...observation, repositories } });
  }
  let learned = result.learnedNames;
  if (observation.reachable) {
    // Forecasts, impact, blockers, the first backup after a resync, incidents, likely causes, tenants (enrich.ts).
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
      problem: (message) => problems.push({ message }),
    });
    result = enriched.result;
    learned = enriched.learned;
  } else {
    result = withIncidents(result, { now, server: deps.server, policy: deps.policy, acks: snapshot.acks });
  }
  // Finished syncs go to the history whether or not quiet hours hold their message.
  const finished = result.sessions
    .flatMap((s) => s.events)
    .map(historyEntryOf)
    .filter((e): e is HistoryEntry => e !== undefined);
  result = groupStorms(applyNoiseControl(result, now, deps.server, deps.policy), now, deps.server, deps.policy);

  // Commit: every changed item, plus any item whose outbox still holds events from an earlier cycle.
  const leaseUntil = new Date(now.getTime() + (deps.leaseMs ?? 5 * 60_000)).toISOString();
  const writes: { write: ItemWrite; expected: number }[] = [];
  const serverPending = snapshot.server?.pending ?? [];
  if (deps.heartbeat !== undefined) {
    // Reachable or not, the cycle leaves its trace for the fleet check: free when the record is written anyway.
    const writtenAnyway =
      result.serverEvents.length > 0 || serverPending.length > 0 || !sameJson(snapshot.server?.record, result.server);
    result = { ...result, server: withPolledAt(result.server, now, deps.heartbeat, writtenAnyway) };
  }
  const serverChanged = result.serverEvents.length > 0 || !sameJson(snapshot.server?.record, result.server);
  if (serverChanged || serverPending.length > 0) {
    writes.push({
      expected: snapshot.server?.version ?? 0,
      write: outboxWrite({ kind: 'server' }, result.server, serverPending, result.serverEvents, leaseUntil, deps, null),
    });
  }
  const byId = new Map(envelopes.map((e) => [e.record.id, e]));
  const changedIds = new Set<string>();
  for (const { record, events } of result.sessions) {
    changedIds.add(record.id);
    const previous = byId.get(record.id);
    writes.push({
      expected: previous?.version ?? 0,
      write: outboxWrite(
        { kind: 'session', id: record.id },
        record,
        previous?.pending ?? [],
        events,
        leaseUntil,
        deps,
        expiryOf(record, deps.policy),
      ),
    });
  }
  for (const e of envelopes) {
    if (e.pending.length > 0 && !changedIds.has(e.record.id)) {
      writes.push({
        expected: e.version,
        write: outboxWrite(
          { kind: 'session', id: e.record.id },
          e.record,
          e.pending,
          [],
          leaseUntil,
          deps,
          expiryOf(e.record, deps.policy),
        ),
      });
    }
  }

  let conflicts = 0;
  let storeFailure: unknown;
  const committed: Committed[] = [];
  const commit = async (write: ItemWrite, expected: number, index: number) => {
    try {
      const version = await deps.store.write(serverId, write, expected, call);
      committed.push({ index, write, version });
      return true;
    } catch (err) {
      if (err instanceof StateConflictError) conflicts += 1;
      else if (err instanceof StateItemTooLargeError) {
        problems.push(itemProblem(write.key, err));
        // Retrying cannot help: this item must not hold up the steps after it (a baseline would never end).
        return true;
      } else storeFailure ??= err;
      return false;
    }
  };
  // The order of the writes carries these guarantees (a crash or a lost race between two steps is then harmless):
  // - held events, `monitor.grouped` events and incidents live only in the server record: it is written before any
  //   session that has events, and those only if it was, so no session advances (nor is published marked `groupedIn`)
  //   without its held or group event, and no event carries an incident key its server record does not know;
  // - a baseline cycle ends with the server record (`initialized`, `aliveAt`): the sessions it discovers are written
  //   before it, and it only once they are stored, so an old session cannot look new (and be announced) next cycle.
  // Sessions discovered by a baseline carry no events; tracked sessions may (after a long gap), so they come last.
  const indexed = writes.map((w, index) => ({ ...w, index }));
  const serverWrite = indexed.filter((w) => w.write.key.kind === 'server');
  const sessionWrites = indexed.filter((w) => w.write.key.kind === 'session');
  const discovered = (w: (typeof indexed)[number]) => w.write.key.kind === 'session' && !byId.has(w.write.key.id);
  const grouped = result.serverEvents.some((e) => e.type === 'monitor.grouped');
  const heldChanged = !sameJson(snapshot.server?.record.held, result.server.held);
  const commitAll = async (list: typeof indexed) =>
    (await Promise.all(list.map(({ write, expected, index }) => limit(() => commit(write, expected, index))))).every(
      Boolean,
    );
  if (serverWrite.length > 0 && result.baseline) {
    if ((await commitAll(sessionWrites.filter(discovered))) && (await commitAll(serverWrite))) {
      await commitAll(sessionWrites.filter((w) => !discovered(w)));
    }
  } else if (serverChanged && (heldChanged || grouped || incidentsChanged(snapshot.server?.record, result.server))) {
    if (await commitAll(serverWrite)) await commitAll(sessionWrites);
  } else {
    await commitAll(indexed);
  }
  // Finished syncs of this cycle whose session was committed go to the history (for the digest); writing one twice
  // is harmless, losing one (a crash right here) only thins a digest.
  const committedSessions = new Set(committed.map((c) => (c.write.key.kind === 'session' ? c.write.key.id : '')));
  const ended = finished.filter((e) => committedSessions.has(e.sessionId));
  if (ended.length > 0) {
    const expiresAt = Math.floor((now.getTime() + deps.policy.historyRetentionMs) / 1000);
    await deps.store.recordHistory(serverId, ended, expiresAt, call).catch((err: unknown) => {
      problems.push({ message: `recording ${ended.length} finished sync(s) in the history: ${messageOf(err)}` });
    });
  }
  if (learned.length > 0 && storeFailure === undefined) {
    // A cache: failing to write it costs a lookup next cycle, never the publishing of what was committed.
    await deps.store.saveRepositoryNames(serverId, learned, call).catch((err: unknown) => {
      problems.push({ message: `caching ${learned.length} repository name(s): ${messageOf(err)}` });
    });
  }

  // Publish in a stable order: server events first, then sessions as they were evaluated.
  committed.sort((a, b) => a.index - b.index);
  const outbox = committed.flatMap((c) => c.write.pending);
  const { published, publishFailure } = await publishInOrder(
    deps.notifier,
    committed.map((c) => c.write.pending),
    call,
  );
  for (const f of published.failed) problems.push({ message: `publish ${f.eventId} failed: ${f.reason}` });

  const ack = await acknowledgeOutboxes(
    (c, acknowledged) => deps.store.write(serverId, acknowledged, c.version, call),
    committed,
    published.delivered,
    limit,
  );
  for (const c of ack.tooLarge) problems.push(itemProblem(c.write.key, c.error));
  storeFailure ??= ack.storeFailure;
  const { acks, eventsPending } = ack;
  if (storeFailure !== undefined) throw storeFailure;
  if (publishFailure !== undefined) throw publishFailure;

  const newEvents = [...result.serverEvents, ...result.sessions.flatMap((s) => s.events)];
  const committedIds = new Set(committed.flatMap((c) => c.write.pending.map((e) => e.eventId)));
  const eventsByType: Partial<Record<EventType, number>> = {};
  for (const e of outbox) {
    if (published.delivered.has(e.eventId)) eventsByType[e.type] = (eventsByType[e.type] ?? 0) + 1;
  }
  return {
    serverId,
    status,
    reason,
    sessionsListed: listed.length,
    sessionsTracked: snapshot.sessions.length + result.sessions.filter((s) => !byId.has(s.record.id)).length,
    apiLookups: { sessions: lookedUp.size, repositories: repositoryLookups },
    writes: committed.length + acks,
    conflicts,
    eventsCommitted: newEvents.filter((e) => committedIds.has(e.eventId)).length,
    eventsPublished: published.delivered.size,
    eventsPending,
    eventsByType,
    problems: capped(problems),
    isolatedProblems: problems.filter((p) => p.sessionId !== undefined || p.repositoryId !== undefined).length,
  };
}

/**
 * Fetches each id with bounded concurrency. A failure is that item's problem: reported through `onError` and recorded
 * as `FETCH_FAILED`, never thrown, so one bad session or repository cannot fail the cycle.
 */
async function fetchEach<T>(
  ids: readonly string[],
  limit: ReturnType<typeof pLimit>,
  fetch: (id: string) => Promise<Lookup<T>>,
  onError: (id: string, err: unknown) => void,
): Promise<Map<string, Fetched<T>>> {
  const entries = await Promise.all(
    ids.map((id) =>
      limit(async (): Promise<[string, Fetched<T>]> => {
        try {
          return [id, await fetch(id)];
        } catch (err) {
          onError(id, err);
          return [id, FETCH_FAILED];
        }
      }),
    ),
  );
  return new Map(entries);
}

/**
 * Acknowledge: what was delivered leaves each committed item's outbox; the rest stays, unleased, for the next run. A
 * lost acknowledgement only means the events are published again (at-least-once): a conflict is ignored, an item too
 * large to store is that item's problem (`tooLarge`), any other store failure is returned for the caller to throw.
 */
export async function acknowledgeOutboxes<C extends { readonly write: ItemWrite }>(
  write: (committed: C, acknowledged: ItemWrite) => Promise<unknown>,
  committed: readonly C[],
  delivered: ReadonlySet<string>,
  limit: ReturnType<typeof pLimit>,
): Promise<{
  acks: number;
  eventsPending: number;
  tooLarge: { readonly write: ItemWrite; readonly error: StateItemTooLargeError }[];
  storeFailure: unknown;
}> {
  let acks = 0;
  let eventsPending = 0;
  let storeFailure: unknown;
  const tooLarge: { write: ItemWrite; error: StateItemTooLargeError }[] = [];
  await Promise.all(
    committed
      .filter((c) => c.write.pending.length > 0)
      .map((c) =>
        limit(async () => {
          const remaining = c.write.pending.filter((e) => !delivered.has(e.eventId));
          eventsPending += remaining.length;
          try {
            await write(c, { ...c.write, pending: remaining, lease: null });
            acks += 1;
          } catch (err) {
            if (err instanceof StateItemTooLargeError) tooLarge.push({ write: c.write, error: err });
            else if (!(err instanceof StateConflictError)) storeFailure ??= err;
          }
        }),
      ),
  );
  return { acks, eventsPending, tooLarge, storeFailure };
}

/**
 * Publishes each outbox in order, in waves: wave k holds the k-th event of every outbox still going. An outbox stops
 * at its first event that fails, so a later event of a session is never delivered before an earlier one. Usually
 * every outbox holds one event and this is a single batch. A thrown publish stops everything (nothing more is sent).
 */
export async function publishInOrder(
  notifier: Notifier,
  outboxes: readonly (readonly MonitorEvent[])[],
  call: { signal?: AbortSignal | undefined },
): Promise<{ published: PublishResult; publishFailure: unknown }> {
  const delivered = new Set<string>();
  const failed: { eventId: string; reason: string }[] = [];
  const blocked = new Set<number>();
  let publishFailure: unknown;
  for (let wave = 0; publishFailure === undefined; wave++) {
    const batch: { event: MonitorEvent; outbox: number }[] = [];
    outboxes.forEach((events, outbox) => {
      const event = events[wave];
      if (event && !blocked.has(outbox)) batch.push({ event, outbox });
    });
    if (batch.length === 0) break;
    try {
      const result = await notifier.publish(
        batch.map((b) => b.event),
        call,
      );
      for (const id of result.delivered) delivered.add(id);
      for (const f of result.failed) failed.push(f);
      const failedIds = new Set(result.failed.map((f) => f.eventId));
      for (const b of batch)
        if (!result.delivered.has(b.event.eventId) || failedIds.has(b.event.eventId)) blocked.add(b.outbox);
    } catch (err) {
      // Nothing of this wave went out: the leases are released below so the next cycle retries at once.
      publishFailure = err;
      for (const b of batch) failed.push({ eventId: b.event.eventId, reason: messageOf(err) });
    }
  }
  return { published: { delivered, failed }, publishFailure };
}

function outboxWrite(
  key: ItemKey,
  record: ServerRecord | SessionRecord,
  previous: readonly MonitorEvent[],
  added: readonly MonitorEvent[],
  leaseUntil: string,
  deps: PollDeps,
  expiresAt: number | null,
): ItemWrite {
  const pending = [...previous, ...added];
  return {
    key,
    record,
    pending,
    lease: pending.length > 0 ? { owner: deps.owner, until: leaseUntil } : null,
    expiresAt,
  };
}

/** Ended sessions are forgotten `finishedRetentionMs` after they finished, or after the server last listed them. */
function expiryOf(record: SessionRecord, policy: Policy): number | null {
  if (record.phase !== 'ended' || record.finishedAt === null) return null;
  const last = Math.max(Date.parse(record.finishedAt), Date.parse(record.listedAt ?? record.finishedAt));
  return Math.floor((last + policy.finishedRetentionMs) / 1000);
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

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
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
