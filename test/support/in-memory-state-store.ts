import type { HistoryEntry } from '../../lambda/domain/digest.js';
import { StateConflictError } from '../../lambda/domain/errors.js';
import type { FleetStore, ItemWrite, StateStore } from '../../lambda/domain/ports.js';
import type {
  AckRequest,
  Envelope,
  FleetEntry,
  RepositoryRecord,
  ServerRecord,
  ServerSnapshot,
  SessionRecord,
} from '../../lambda/domain/state.js';

interface Stored {
  readonly write: ItemWrite;
  readonly version: number;
}

/** StateStore (and FleetStore) in memory with the same conditional-write semantics as the DynamoDB adapter. */
export class InMemoryStateStore implements StateStore, FleetStore {
  readonly items = new Map<string, Stored>();
  readonly names = new Map<string, RepositoryRecord>();
  readonly historyEntries = new Map<string, HistoryEntry & { expiresAt: number }>();
  /** Calls to `write`, successful or not. */
  writes = 0;
  /** Makes the next `write` calls throw this (e.g. throttling), once each. */
  failNextWrites: unknown[] = [];
  /** While set, `saveRepositoryNames` throws it. */
  failRepositoryNames: unknown;
  readonly acks = new Map<string, AckRequest>();

  async load(serverId: string): Promise<ServerSnapshot> {
    const envelope = <T>(s: Stored): Envelope<T> => ({
      record: structuredClone(s.write.record) as T,
      version: s.version,
      pending: structuredClone(s.write.pending),
      lease: s.write.lease,
    });
    const server = this.items.get(`${serverId}|server`);
    const acks = [...this.acks.entries()].filter(([k]) => k.startsWith(`${serverId}|`)).map(([, a]) => a);
    return {
      server: server ? envelope<ServerRecord>(server) : undefined,
      sessions: [...this.items.entries()]
        .filter(([k]) => k.startsWith(`${serverId}|session|`))
        .map(([, s]) => envelope<SessionRecord>(s)),
      repositories: [...this.names.entries()].filter(([k]) => k.startsWith(`${serverId}|`)).map(([, r]) => r),
      ...(acks.length > 0 ? { acks } : {}),
    };
  }

  async requestAck(serverId: string, ack: AckRequest): Promise<void> {
    this.acks.set(`${serverId}|${ack.key}`, structuredClone(ack));
  }

  async recordHistory(serverId: string, entries: readonly HistoryEntry[], expiresAt: number): Promise<void> {
    for (const e of entries) this.historyEntries.set(`${serverId}|${e.finishedAt}#${e.eventId}`, { ...e, expiresAt });
  }

  async history(serverId: string, sinceIso: string): Promise<HistoryEntry[]> {
    return [...this.historyEntries.entries()]
      .filter(([k, e]) => k.startsWith(`${serverId}|`) && e.finishedAt >= sinceIso)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([, { expiresAt: _, ...e }]) => e);
  }

  async write(serverId: string, item: ItemWrite, expectedVersion: number): Promise<number> {
    this.writes += 1;
    const failure = this.failNextWrites.shift();
    if (failure !== undefined) throw failure;
    const key = keyOf(serverId, item);
    const current = this.items.get(key)?.version ?? 0;
    if (current !== expectedVersion) {
      throw new StateConflictError(`${key}: version ${current}, expected ${expectedVersion}`);
    }
    this.items.set(key, { write: structuredClone(item), version: expectedVersion + 1 });
    return expectedVersion + 1;
  }

  async loadFleet(): Promise<ReadonlyMap<string, Envelope<FleetEntry>>> {
    const entries = new Map<string, Envelope<FleetEntry>>();
    for (const [key, s] of this.items) {
      if (!key.startsWith(FLEET)) continue;
      entries.set(key.slice(FLEET.length), {
        record: structuredClone(s.write.record) as FleetEntry,
        version: s.version,
        pending: structuredClone(s.write.pending),
        lease: s.write.lease,
      });
    }
    return entries;
  }

  async lastPolled(serverIds: readonly string[]): Promise<ReadonlyMap<string, string>> {
    const polled = new Map<string, string>();
    for (const id of serverIds) {
      const at = (this.items.get(`${id}|server`)?.write.record as ServerRecord | undefined)?.polledAt;
      if (at !== undefined) polled.set(id, at);
    }
    return polled;
  }

  /** DynamoDB's TTL, at once: forgets every item whose `expiresAt` (epoch seconds) is at or before `nowMs`. */
  expire(nowMs: number): void {
    for (const [key, { write }] of this.items) {
      if (write.expiresAt !== null && write.expiresAt * 1000 <= nowMs) this.items.delete(key);
    }
  }

  async saveRepositoryNames(serverId: string, names: readonly RepositoryRecord[]): Promise<void> {
    if (this.failRepositoryNames !== undefined) throw this.failRepositoryNames;
    for (const n of names) this.names.set(`${serverId}|${n.id}`, n);
  }
}

/** Prefix of the fleet check's entries (`#` is in no server id, so no key of a server starts with it). */
const FLEET = 'fleet#';

function keyOf(serverId: string, item: ItemWrite): string {
  if (item.key.kind === 'fleet') return `${FLEET}${serverId}`;
  return item.key.kind === 'server' ? `${serverId}|server` : `${serverId}|session|${item.key.id}`;
}
