import type { ApiVersion, Lookup, RepositoryInfo, SessionList, SyncSession } from './types.js';

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
}
