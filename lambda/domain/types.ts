/**
 * Session states documented by the VB365 REST API (v6–v8 enum). The API has no success state and no timestamps;
 * any other string a server sends is kept verbatim (see {@link SessionState}).
 */
export const KNOWN_SESSION_STATES = ['None', 'Synchronizing', 'Failed'] as const;

/** A documented state, or an unknown string kept verbatim, or `null` when the server sent none. */
export type SessionState = (typeof KNOWN_SESSION_STATES)[number] | (string & {}) | null;

/** API path versions found in the field. `auto` probes the newest one the server serves. */
export const API_VERSIONS = ['v8', 'v7', 'v6', 'v5'] as const;
export type ApiVersion = (typeof API_VERSIONS)[number];
export type ApiVersionSetting = ApiVersion | 'auto';

/** One repository synchronization session as reported by the server, normalised. */
export interface SyncSession {
  /** Session id (GUID as sent; from the body, the `self` link, or the id that was requested). */
  readonly id: string;
  /** The backup repository being synchronized; `null` when the server sent none and no link names it. */
  readonly repositoryId: string | null;
  readonly state: SessionState;
  /** 0..100, or `null` when missing or not a number. */
  readonly progressPercent: number | null;
  /** Error text of a failed session (v6+), `null` otherwise. */
  readonly error: string | null;
  /** HAL links resolved to absolute URLs, by name (`self`, `repository`, …). */
  readonly links: Readonly<Record<string, string>>;
}

/** The parts of a backup repository the monitor needs: its display name and whether its cache is usable. */
export interface RepositoryInfo {
  readonly id: string;
  readonly name: string | null;
  /** `false` once the cache is synchronized again; `null` when the server did not say. */
  readonly isOutOfSync: boolean | null;
  /** v8: "Out of Date" after an upgrade: its jobs do not run until it is upgraded. Absent/`null`: not said. */
  readonly isOutdated?: boolean | null | undefined;
  /** v8: shown as Invalid; `outOfOrderReason` says why. */
  readonly isOutOfOrder?: boolean | null | undefined;
  readonly outOfOrderReason?: string | null | undefined;
  /** v8: locked by a data migration. */
  readonly isMigrationLocked?: boolean | null | undefined;
  /** The backup proxy that serves it (all versions), when the server said. */
  readonly proxyId?: string | null | undefined;
  /** v8: the organization (tenant) the repository belongs to, when it belongs to one. */
  readonly organizationId?: string | null | undefined;
}

/**
 * An optional read (`../shared/DESIGN.md` §10, API reference §6): a server that lacks the endpoint (an older API
 * version) or refuses it (403/404/405) loses that feature only. `available: false` says why, safe to log. Any other
 * failure (network, 5xx, a malformed body) is thrown as an `UpstreamError` like every other read.
 */
export type Optional<T> =
  | { readonly available: true; readonly value: T }
  | { readonly available: false; readonly reason: string };

/** A backup proxy (`GET /vN/Proxies`). */
export interface ProxyInfo {
  readonly id: string;
  /** Its host name (the name VB365 shows). */
  readonly name: string;
  /** `Online`, `Offline`, or any other value a newer build sends, verbatim; `null` when not said. */
  readonly status: string | null;
  /** v8: `Disabled`, `Enabling`, `Enabled`; `null` before v8 or when not said. */
  readonly maintenanceModeState: string | null;
  /** v8: the proxy's build. */
  readonly version: string | null;
}

/** `GET /v8/Health` (anonymous): the REST service's view of its configuration database and message bus. */
export interface HealthReport {
  /** `Healthy`, `Unhealthy`, or another value verbatim. */
  readonly status: string;
  /** One entry per checked component (`PostgreSQL…`, `NATS…`), in the server's order. */
  readonly entries: readonly { readonly name: string; readonly status: string; readonly description: string | null }[];
}

/** `GET /vN/ServiceInstance`: the product build, to notice an upgrade. */
export interface ServiceInstance {
  /** The product build (e.g. `8.1.0.305`); `null` when not said. */
  readonly version: string | null;
}

/** One run of a backup or copy job (`GET /vN/JobSessions`, v7+). */
export interface JobSessionInfo {
  readonly id: string;
  readonly jobId: string | null;
  /** `Success`, `Warning`, `Failed`, `Running`, `Stopped`, … verbatim; `null` when not said. */
  readonly status: string | null;
  /** ISO-8601 UTC, `null` when not said (or still running). */
  readonly creationTime: string | null;
  readonly endTime: string | null;
  /** A failed run VB365 will retry (`jobWillBeRetried`): not its last word; `null` when not said. */
  readonly willBeRetried?: boolean | null | undefined;
}

/** An organization (tenant) protected by the server (`GET /vN/Organizations`). */
export interface OrganizationInfo {
  readonly id: string;
  readonly name: string;
}

/** A list item the server sent that could not be understood. The rest of the list is still used. */
export interface MalformedItem {
  /** Position in the list. */
  readonly index: number;
  /** The session id, when one could be read. */
  readonly id: string | null;
  /** What was wrong, without the item's content. */
  readonly reason: string;
}

/** Result of listing sessions: what parsed, and what was skipped. */
export interface SessionList {
  readonly sessions: readonly SyncSession[];
  readonly malformed: readonly MalformedItem[];
}

/** A lookup that may legitimately find nothing (the resource is gone): a result, not an exception. */
export type Lookup<T> = { readonly found: true; readonly value: T } | { readonly found: false };

/** The REST API's TLS certificate as the monitor last saw it. */
export interface ServerCertificate {
  readonly subject: string;
  /** ISO-8601 UTC. */
  readonly validTo: string;
  readonly fingerprint256: string;
}

/** A backup job, for saying what a repository problem blocks. */
export interface JobInfo {
  readonly id: string;
  readonly name: string;
  /** The repository it backs up to; `null` when the server did not say. */
  readonly repositoryId: string | null;
  readonly isEnabled: boolean;
  /** `backup` (`/vN/Jobs`, the default) or `copy` (`/vN/CopyJobs`, to a long-term repository). */
  readonly kind?: 'backup' | 'copy' | undefined;
  /** Next scheduled run (ISO-8601 UTC); `null` when none is scheduled or not said. */
  readonly nextRun?: string | null | undefined;
  /** Last run (ISO-8601 UTC) and its status verbatim (`Success`, `Warning`, `Failed`, …), for servers before v8. */
  readonly lastRun?: string | null | undefined;
  readonly lastStatus?: string | null | undefined;
}
