import type { HistoryEntry } from './digest.js';
import type { MonitorEvent } from './events.js';
import type {
  AckRequest,
  Envelope,
  FleetEntry,
  Lease,
  RepositoryRecord,
  ServerRecord,
  ServerSnapshot,
  SessionRecord,
} from './state.js';
import type {
  ApiVersion,
  HealthReport,
  JobInfo,
  JobSessionInfo,
  Lookup,
  Optional,
  OrganizationInfo,
  ProxyInfo,
  RepositoryInfo,
  ServerCertificate,
  ServiceInstance,
  SessionList,
  SyncSession,
} from './types.js';

/** Options every remote call accepts. */
export interface CallOptions {
  /** Aborts the call (and its retries) when the caller's own deadline passes. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * The VB365 REST API as the monitor uses it, for one server. Every method throws only {@link UpstreamError}
 * subclasses (see `errors.ts`); a resource that no longer exists is a `{ found: false }` result, not an error.
 */
export interface Vb365Api {
  /** The API version in use (probed once when configured as `auto`). */
  apiVersion(options?: CallOptions): Promise<ApiVersion>;
  /** All sessions the server lists. Malformed items are skipped and reported; they never fail the list. */
  listSessions(options?: CallOptions): Promise<SessionList>;
  /** One session by id; `{ found: false }` when the server no longer knows it. Throws on a malformed body. */
  getSession(id: string, options?: CallOptions): Promise<Lookup<SyncSession>>;
  /** One backup repository (name, out-of-sync flag); `{ found: false }` when it no longer exists. */
  getRepository(id: string, options?: CallOptions): Promise<Lookup<RepositoryInfo>>;
  /** Every backup repository (v8 pages through `offset`/`limit`); malformed items are skipped. */
  listRepositories(options?: CallOptions): Promise<RepositoryInfo[]>;
  /** Every backup job (for what a repository problem blocks); malformed items are skipped. */
  listJobs(options?: CallOptions): Promise<JobInfo[]>;
  /*
   * Optional reads (see `Optional`): each answers `available: false` when this server's API version lacks the
   * endpoint (without asking) or the server answers 403/404/405; malformed items are skipped.
   */
  /** Every backup copy job (`/vN/CopyJobs`, `kind: 'copy'`). */
  listCopyJobs(options?: CallOptions): Promise<Optional<JobInfo[]>>;
  /** Every backup proxy (`/vN/Proxies`). */
  listProxies(options?: CallOptions): Promise<Optional<ProxyInfo[]>>;
  /** `GET /v8/Health`, sent without a token (v8 only). */
  health(options?: CallOptions): Promise<Optional<HealthReport>>;
  /** `GET /vN/ServiceInstance`: the product build. */
  serviceInstance(options?: CallOptions): Promise<Optional<ServiceInstance>>;
  /**
   * Runs of one job that ended at or after `endedAfter` (ISO), oldest first (`/vN/JobSessions`, v7+: v6 has no `jobId`
   * filter). A running job's session (no end time yet) is not included.
   */
  listJobSessions(jobId: string, endedAfter: string, options?: CallOptions): Promise<Optional<JobSessionInfo[]>>;
  /** Every organization (tenant), for naming the one a repository belongs to. */
  listOrganizations(options?: CallOptions): Promise<Optional<OrganizationInfo[]>>;
  /** The server's TLS certificate as last seen on a new connection; `undefined` before any, or over plain HTTP. */
  certificate(): ServerCertificate | undefined;
}

/**
 * Identifies one stored item of a server: its health record, one session, or its entry in the fleet check's
 * partition (`fleet`: kept apart from the server's own items, so the fleet check reads every entry in one Query).
 */
export type ItemKey =
  | { readonly kind: 'server' }
  | { readonly kind: 'session'; readonly id: string }
  | { readonly kind: 'fleet' };

/** An item to write: the record, its outbox, its lease, and when the store may forget it (TTL). */
export interface ItemWrite {
  readonly key: ItemKey;
  readonly record: ServerRecord | SessionRecord | FleetEntry;
  readonly pending: readonly MonitorEvent[];
  readonly lease: Lease | null;
  /** Epoch seconds after which the item may be deleted; `null` keeps it. */
  readonly expiresAt: number | null;
}

/**
 * Durable state of every server, one partition per server (DESIGN §4). Throws `StateConflictError` when a
 * conditional write loses; any other failure (throttling, network) is thrown as is and fails the cycle.
 */
export interface StateStore {
  /** Everything stored for the server, in one Query (paged by 1 MB). */
  load(serverId: string, options?: CallOptions): Promise<ServerSnapshot>;
  /**
   * Writes the item only if its stored version is still `expectedVersion` (`0`: it must not exist yet), and returns
   * the new version (`expectedVersion + 1`). Throws `StateConflictError` otherwise.
   */
  write(serverId: string, item: ItemWrite, expectedVersion: number, options?: CallOptions): Promise<number>;
  /** Keeps finished syncs for the digest until `expiresAt` (epoch seconds); writing one twice is harmless. */
  recordHistory(
    serverId: string,
    entries: readonly HistoryEntry[],
    expiresAt: number,
    options?: CallOptions,
  ): Promise<void>;
  /** Finished syncs of the server since `sinceIso`, oldest first. */
  history(serverId: string, sinceIso: string, options?: CallOptions): Promise<HistoryEntry[]>;
  /** Caches repository names (unconditional; a lost race only costs a lookup). */
  saveRepositoryNames(serverId: string, names: readonly RepositoryRecord[], options?: CallOptions): Promise<void>;
  /** Stores a request to acknowledge an incident (kept a day; `load` returns it in `acks`). */
  requestAck(serverId: string, ack: AckRequest, options?: CallOptions): Promise<void>;
}

/**
 * What the fleet check reads and writes: its entries (one per server, `ItemKey` `fleet`, written with
 * {@link StateStore.write}'s conditions) and every server's last poll. Same failure contract as {@link StateStore}.
 */
export interface FleetStore {
  write: StateStore['write'];
  /** Every entry of the fleet check (configured servers and removed ones), by server id, in one Query (paged). */
  loadFleet(options?: CallOptions): Promise<ReadonlyMap<string, Envelope<FleetEntry>>>;
  /**
   * When each of these servers was last polled (`polledAt` of its server record), by server id; a server with no
   * record, or none yet, is absent. Throws rather than leave a server out unread (it would look never polled).
   */
  lastPolled(serverIds: readonly string[], options?: CallOptions): Promise<ReadonlyMap<string, string>>;
}

/** Result of publishing a batch: which events got through, and why the others did not. */
export interface PublishResult {
  readonly delivered: ReadonlySet<string>;
  readonly failed: readonly { readonly eventId: string; readonly reason: string }[];
}

/**
 * Where events go (SNS in AWS, the console in the CLI). Reports per-event failures in the result; throws only when
 * nothing could be attempted. Events not delivered stay in the outbox and are published again next cycle.
 */
export interface Notifier {
  publish(events: readonly MonitorEvent[], options?: CallOptions): Promise<PublishResult>;
}
