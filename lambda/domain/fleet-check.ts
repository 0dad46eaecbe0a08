import pLimit from 'p-limit';
import { StateConflictError, StateItemTooLargeError } from './errors.js';
import type { EventType, MonitorEvent, ServerRef } from './events.js';
import { checkFleet, type Heartbeat } from './fleet.js';
import { acknowledgeOutboxes, leaseUntil, outboxWrite, publishInOrder } from './outbox.js';
import type { MaintenanceWindow } from './policy.js';
import type { FleetStore, ItemWrite, Notifier } from './ports.js';
import { type Envelope, type FleetEntry, leasedByOther } from './state.js';

export interface FleetCheckDeps {
  readonly store: FleetStore;
  readonly notifier: Notifier;
  /** Every configured server. */
  readonly servers: readonly ServerRef[];
  readonly heartbeat: Heartbeat;
  /** Planned maintenance (the policy's): servers in an active window are not announced. */
  readonly maintenanceWindows?: readonly MaintenanceWindow[] | undefined;
  /** Runbook links per event type. */
  readonly runbooks?: Readonly<Partial<Record<EventType, string>>> | undefined;
  readonly now: () => Date;
  /** Identifies this check in leases (e.g. the Lambda request id). */
  readonly owner: string;
  /** How long a check may take to publish what it committed before another may take over. @default 5 min */
  readonly leaseMs?: number;
  /** Parallel writes. @default 8 */
  readonly concurrency?: number;
}

export interface FleetCheckSummary {
  /** Servers configured. */
  readonly servers: number;
  /** Configured servers not polled for more than the threshold now (announced now or before): how many. */
  readonly notPolled: number;
  /** The first {@link IDS_LISTED} of them. */
  readonly notPolledIds: readonly string[];
  /** Entries another, still-running check is publishing: left alone this time. */
  readonly busy: number;
  readonly writes: number;
  readonly conflicts: number;
  readonly eventsCommitted: number;
  readonly eventsPublished: number;
  /** Events still in an outbox after this check (published by the next one). */
  readonly eventsPending: number;
  /** Problems confined to one entry (logged; retried next check). */
  readonly problems: readonly string[];
}

/** Server ids listed in a summary (and logged). */
export const IDS_LISTED = 25;

interface Committed {
  readonly index: number;
  readonly serverId: string;
  readonly write: ItemWrite;
  readonly version: number;
}

/**
 * One fleet check: finds the configured servers no longer being polled, and announces each once, and its recovery.
 *
 * 1. read every fleet entry (one Query on the `FLEET` partition) and every configured server's last poll
 *    (BatchGetItem, 100 servers a call);
 * 2. evaluate the pure rules (`checkFleet`);
 * 3. commit each changed entry with its new events in its outbox, conditionally on its version, under a lease;
 * 4. publish what was committed; 5. acknowledge.
 *
 * The same guarantees as a poll cycle (see `pollOnce`), by the same means: an event is lost by no crash or failed
 * publish; two overlapping checks never both publish it (only the winner of the conditional write does, and a leased
 * outbox is left alone). Throws when the state store fails (after publishing what it committed).
 */
export async function fleetCheckOnce(deps: FleetCheckDeps, signal?: AbortSignal): Promise<FleetCheckSummary> {
  const now = deps.now();
  const call = { signal };
  const limit = pLimit(deps.concurrency ?? 8);
  const [stored, polledAt] = await Promise.all([
    deps.store.loadFleet(call),
    deps.store.lastPolled(
      deps.servers.map((s) => s.id),
      call,
    ),
  ]);
  const busy = new Set([...stored].filter(([, e]) => leasedByOther(e, deps.owner, now)).map(([id]) => id));
  const result = checkFleet({
    now,
    heartbeat: deps.heartbeat,
    servers: deps.servers.filter((s) => !busy.has(s.id)),
    entries: new Map([...stored].filter(([id]) => !busy.has(id)).map(([id, e]) => [id, e.record])),
    polledAt,
    maintenanceWindows: deps.maintenanceWindows,
    runbooks: deps.runbooks,
  });

  // Commit: every changed entry, plus any whose outbox still holds events from an earlier check.
  const lease = { owner: deps.owner, until: leaseUntil(now, deps.leaseMs) };
  const entryWrite = (record: FleetEntry, previous: readonly MonitorEvent[], added: readonly MonitorEvent[]) =>
    outboxWrite({ kind: 'fleet' }, record, previous, added, lease, null);
  const writes: { serverId: string; expected: number; write: ItemWrite }[] = [];
  for (const c of result.changes) {
    const previous: Envelope<FleetEntry> | undefined = stored.get(c.serverId);
    writes.push({
      serverId: c.serverId,
      expected: previous?.version ?? 0,
      write: entryWrite(c.entry, previous?.pending ?? [], c.events),
    });
  }
  const changed = new Set(result.changes.map((c) => c.serverId));
  for (const [serverId, e] of stored) {
    if (e.pending.length > 0 && !changed.has(serverId) && !busy.has(serverId)) {
      writes.push({ serverId, expected: e.version, write: entryWrite(e.record, e.pending, []) });
    }
  }

  let conflicts = 0;
  let storeFailure: unknown;
  const problems: string[] = [];
  const committed: Committed[] = [];
  await Promise.all(
    writes.map(({ serverId, expected, write }, index) =>
      limit(async () => {
        try {
          const version = await deps.store.write(serverId, write, expected, call);
          committed.push({ index, serverId, write, version });
        } catch (err) {
          // A lost race: another check committed this entry (and publishes its events).
          if (err instanceof StateConflictError) conflicts += 1;
          else if (err instanceof StateItemTooLargeError) problems.push(err.message);
          else storeFailure ??= err;
        }
      }),
    ),
  );

  committed.sort((a, b) => a.index - b.index);
  const { published, publishFailure } = await publishInOrder(
    deps.notifier,
    committed.map((c) => c.write.pending),
    call,
  );
  for (const f of published.failed) problems.push(`publish ${f.eventId} failed: ${f.reason}`);

  // Acknowledge, as the poll cycle does: what was delivered leaves the outbox, the rest stays for the next check.
  const ack = await acknowledgeOutboxes(
    (c, acknowledged) => deps.store.write(c.serverId, acknowledged, c.version, call),
    committed,
    published.delivered,
    limit,
  );
  for (const { error } of ack.tooLarge) problems.push(error.message);
  storeFailure ??= ack.storeFailure;
  const { acks, eventsPending } = ack;
  if (storeFailure !== undefined) throw storeFailure;
  if (publishFailure !== undefined) throw publishFailure;

  const committedIds = new Set(committed.flatMap((c) => c.write.pending.map((e) => e.eventId)));
  return {
    servers: deps.servers.length,
    notPolled: result.notPolled.length,
    notPolledIds: result.notPolled.slice(0, IDS_LISTED),
    busy: busy.size,
    writes: committed.length + acks,
    conflicts,
    eventsCommitted: result.changes.flatMap((c) => c.events).filter((e) => committedIds.has(e.eventId)).length,
    eventsPublished: published.delivered.size,
    eventsPending,
    problems: problems.slice(0, IDS_LISTED),
  };
}
