import type pLimit from 'p-limit';
import { messageOf, StateConflictError, StateItemTooLargeError } from './errors.js';
import type { MonitorEvent } from './events.js';
import { incidentsChanged } from './incidents.js';
import type { CycleResult } from './lifecycle.js';
import type { Policy } from './policy.js';
import type { ItemKey, ItemWrite, Notifier, PublishResult } from './ports.js';
import type { Envelope, ServerSnapshot, SessionRecord } from './state.js';

/*
 * The outbox protocol, shared by the poll cycle and the fleet check (DESIGN §4).
 *
 * Guarantee: no crash and no failed publish loses an event, and two overlapping cycles never both publish one. A
 * duplicate happens only when a cycle dies between publishing and acknowledging (delivery is at-least-once, so every
 * event carries a stable `eventId`). By these means, in this order:
 *
 * 1. commit: each changed item is written with its new events appended to its outbox (`outboxWrite`), conditionally
 *    on the version read and under a lease (`leaseUntil`). Only the winner of the conditional write publishes, and an
 *    item another cycle has leased (`leasedByOther`, state.ts) is left alone until its lease runs out. A poll cycle
 *    also orders its writes (`planCycle`, `commitCycle`), so a crash between two of them leaves nothing inconsistent;
 * 2. publish (`publishInOrder`): the outboxes of the committed items, each one in order and stopping at its first
 *    failure, so a later event of an item never goes out before an earlier one;
 * 3. acknowledge (`acknowledgeOutboxes`): what was delivered leaves its outbox and the lease is released; the rest
 *    stays, for the next cycle to publish.
 */

/** How long a cycle may take to publish what it committed before another may take over. */
export const DEFAULT_LEASE_MS = 5 * 60_000;

/** When a lease taken at `now` runs out (ISO-8601). */
export function leaseUntil(now: Date, leaseMs: number = DEFAULT_LEASE_MS): string {
  return new Date(now.getTime() + leaseMs).toISOString();
}

/** An item with its outbox (`previous` events still pending, then `added`), leased by `owner` while it holds any. */
export function outboxWrite(
  key: ItemKey,
  record: ItemWrite['record'],
  previous: readonly MonitorEvent[],
  added: readonly MonitorEvent[],
  lease: { readonly owner: string; readonly until: string },
  expiresAt: number | null,
): ItemWrite {
  const pending = [...previous, ...added];
  return { key, record, pending, lease: pending.length > 0 ? lease : null, expiresAt };
}

/** A write to commit, at its position in the cycle's write list (which is also the publishing order). */
export interface PlannedWrite {
  readonly index: number;
  readonly write: ItemWrite;
  readonly expected: number;
}

/** What a poll cycle's writes depend on (see {@link commitCycle}). */
export interface CommitOrder {
  /** A baseline cycle that writes its server record (which ends the baseline). */
  readonly baseline: boolean;
  /** The server record changed and holds what the sessions' events rely on (held events, a group, incidents). */
  readonly serverFirst: boolean;
  /** A session write of a session this cycle discovered (nothing stored for it yet). */
  readonly discovered: (write: ItemWrite) => boolean;
}

/** Whether a poll cycle writes its server record: it changed, or its outbox holds events. */
export function writesServer(snapshot: ServerSnapshot, result: CycleResult): boolean {
  const pending = snapshot.server?.pending ?? [];
  return result.serverEvents.length > 0 || pending.length > 0 || !sameJson(snapshot.server?.record, result.server);
}

/**
 * A poll cycle's writes, in publishing order: the server record when it changed or its outbox holds events, then every
 * changed session in evaluation order, then every other session whose outbox still holds events from an earlier
 * cycle; and the order they must be committed in (see {@link commitCycle}).
 */
export function planCycle(
  snapshot: ServerSnapshot,
  envelopes: readonly Envelope<SessionRecord>[],
  result: CycleResult,
  lease: { readonly owner: string; readonly until: string },
  policy: Policy,
): { writes: PlannedWrite[]; order: CommitOrder } {
  const stored = snapshot.server?.record;
  const writes: { write: ItemWrite; expected: number }[] = [];
  if (writesServer(snapshot, result)) {
    const pending = snapshot.server?.pending ?? [];
    writes.push({
      expected: snapshot.server?.version ?? 0,
      write: outboxWrite({ kind: 'server' }, result.server, pending, result.serverEvents, lease, null),
    });
  }
  const byId = new Map(envelopes.map((e) => [e.record.id, e]));
  for (const { record, events } of result.sessions) {
    const previous = byId.get(record.id);
    const key = { kind: 'session', id: record.id } as const;
    writes.push({
      expected: previous?.version ?? 0,
      write: outboxWrite(key, record, previous?.pending ?? [], events, lease, expiryOf(record, policy)),
    });
  }
  const changed = new Set(result.sessions.map((s) => s.record.id));
  for (const e of envelopes) {
    if (e.pending.length > 0 && !changed.has(e.record.id)) {
      const key = { kind: 'session', id: e.record.id } as const;
      writes.push({
        expected: e.version,
        write: outboxWrite(key, e.record, e.pending, [], lease, expiryOf(e.record, policy)),
      });
    }
  }
  const serverChanged = result.serverEvents.length > 0 || !sameJson(stored, result.server);
  const serverFirst =
    serverChanged &&
    (!sameJson(stored?.held, result.server.held) ||
      result.serverEvents.some((e) => e.type === 'monitor.grouped') ||
      incidentsChanged(stored, result.server));
  return {
    writes: writes.map((w, index) => ({ ...w, index })),
    order: {
      baseline: result.baseline,
      serverFirst,
      discovered: (w) => w.key.kind === 'session' && !byId.has(w.key.id),
    },
  };
}

/** What committing a cycle's writes came to. */
export interface CommitOutcome {
  /** The writes committed, with their new versions, in publishing order. */
  readonly committed: readonly (PlannedWrite & { readonly version: number })[];
  /** Writes another cycle won (it publishes their events). */
  readonly conflicts: number;
  /** Items too large to store: each one's own problem, retried next cycle. */
  readonly tooLarge: readonly { readonly key: ItemKey; readonly error: StateItemTooLargeError }[];
  /** The first other store failure, for the caller to throw once it published what was committed. */
  readonly storeFailure: unknown;
}

/**
 * Commits a poll cycle's writes conditionally on their versions (`write` returns the new one), in the order that
 * makes a crash, or a lost race, between two of them harmless:
 *
 * - held events, `monitor.grouped` events and incidents live only in the server record: it is written before any
 *   session that has events, and those only if it was, so no session advances (nor is published marked `groupedIn`)
 *   without its held or group event, and no event carries an incident key its server record does not know;
 * - a baseline cycle ends with the server record (`initialized`, `aliveAt`): the sessions it discovers are written
 *   before it, and it only once they are stored, so an old session cannot look new (and be announced) next cycle.
 *   Sessions discovered by a baseline carry no events; tracked sessions may (after a long gap), so they come last.
 *
 * Otherwise every write goes at once (bounded by `limit`). An item too large to store counts as done: retrying cannot
 * help, and it must not hold up the steps after it (a baseline would never end).
 */
export async function commitCycle(
  write: (item: ItemWrite, expected: number) => Promise<number>,
  plan: { readonly writes: readonly PlannedWrite[]; readonly order: CommitOrder },
  limit: ReturnType<typeof pLimit>,
): Promise<CommitOutcome> {
  let conflicts = 0;
  let storeFailure: unknown;
  const committed: (PlannedWrite & { readonly version: number })[] = [];
  const tooLarge: { key: ItemKey; error: StateItemTooLargeError }[] = [];
  const commit = async (planned: PlannedWrite) => {
    try {
      committed.push({ ...planned, version: await write(planned.write, planned.expected) });
      return true;
    } catch (err) {
      if (err instanceof StateConflictError) conflicts += 1;
      else if (err instanceof StateItemTooLargeError) {
        tooLarge.push({ key: planned.write.key, error: err });
        return true;
      } else storeFailure ??= err;
      return false;
    }
  };
  const commitAll = async (list: readonly PlannedWrite[]) =>
    (await Promise.all(list.map((w) => limit(() => commit(w))))).every(Boolean);
  const { writes, order } = plan;
  const serverWrite = writes.filter((w) => w.write.key.kind === 'server');
  const sessionWrites = writes.filter((w) => w.write.key.kind === 'session');
  if (serverWrite.length > 0 && order.baseline) {
    const discovered = sessionWrites.filter((w) => order.discovered(w.write));
    if ((await commitAll(discovered)) && (await commitAll(serverWrite))) {
      await commitAll(sessionWrites.filter((w) => !order.discovered(w.write)));
    }
  } else if (order.serverFirst) {
    if (await commitAll(serverWrite)) await commitAll(sessionWrites);
  } else {
    await commitAll(writes);
  }
  committed.sort((a, b) => a.index - b.index);
  return { committed, conflicts, tooLarge, storeFailure };
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

/** Ended sessions are forgotten `finishedRetentionMs` after they finished, or after the server last listed them. */
function expiryOf(record: SessionRecord, policy: Policy): number | null {
  if (record.phase !== 'ended' || record.finishedAt === null) return null;
  const last = Math.max(Date.parse(record.finishedAt), Date.parse(record.listedAt ?? record.finishedAt));
  return Math.floor((last + policy.finishedRetentionMs) / 1000);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
