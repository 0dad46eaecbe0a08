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
}
