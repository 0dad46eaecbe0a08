/**
 * Domain errors. Adapters translate every transport fact into one of these, keeping a *sanitised* cause: messages
 * and causes never carry a password, a token or an Authorization header.
 */

/** What went wrong with the VB365 server, as the monitor must react to it. */
export type UpstreamErrorKind =
  /** Network error, timeout, 5xx or 429: the server cannot be used right now (it may come back by itself). */
  | 'unreachable'
  /** The server's certificate was refused (unknown CA, changed, name mismatch, expired): a human must act. */
  | 'tls'
  /** The monitor is not set up for this server yet (e.g. the credentials secret still holds its placeholder). */
  | 'setup'
  /** Credentials refused: a human has to act; retrying does not help. */
  | 'auth'
  /** The server answered, but with something the monitor cannot use (bad JSON, too large, unexpected status). */
  | 'response'
  /** None of the supported API versions is served, or the configured one is not. */
  | 'unsupported';

interface UpstreamErrorOptions {
  readonly status?: number | undefined;
  readonly cause?: unknown;
}

/** A failed call to the VB365 REST API. `kind` decides how the monitor reacts. */
export class UpstreamError extends Error {
  override readonly name: string = 'UpstreamError';
  readonly kind: UpstreamErrorKind;
  /** HTTP status, when the server answered. */
  readonly status: number | undefined;

  constructor(kind: UpstreamErrorKind, message: string, options: UpstreamErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.kind = kind;
    this.status = options.status;
  }
}

/** The server could not be reached or did not answer usably in time (network, timeout, 5xx, 429 after retries). */
export class UpstreamUnreachableError extends UpstreamError {
  override readonly name = 'UpstreamUnreachableError';
  constructor(message: string, options?: UpstreamErrorOptions) {
    super('unreachable', message, options);
  }
}

/**
 * The server's certificate was refused: unknown CA, wrong name, expired, or not the pinned one. Waiting does not fix
 * it, so it is announced at once (`server.tls_failed`), with the fix in the message.
 */
export class UpstreamTlsError extends UpstreamError {
  override readonly name = 'UpstreamTlsError';
  constructor(message: string, options?: UpstreamErrorOptions) {
    super('tls', message, options);
  }
}

/**
 * Not set up yet: the credentials secret still holds the placeholder the deployment wrote. Announced once, as
 * information (`server.setup_required`), with what to do; not an outage.
 */
export class UpstreamSetupError extends UpstreamError {
  override readonly name = 'UpstreamSetupError';
  constructor(message: string, options?: UpstreamErrorOptions) {
    super('setup', message, options);
  }
}

/** The server refused the credentials (password grant rejected, or 401 persisting after refresh and re-login). */
export class UpstreamAuthError extends UpstreamError {
  override readonly name = 'UpstreamAuthError';
  constructor(message: string, options?: UpstreamErrorOptions) {
    super('auth', message, options);
  }
}

/** The server answered with something unusable: malformed or oversized body, unexpected status. */
export class UpstreamResponseError extends UpstreamError {
  override readonly name = 'UpstreamResponseError';
  constructor(message: string, options?: UpstreamErrorOptions) {
    super('response', message, options);
  }
}

/** No supported API version is served (auto probe), or the configured version is not served. */
export class UpstreamUnsupportedError extends UpstreamError {
  override readonly name = 'UpstreamUnsupportedError';
  constructor(message: string, options?: UpstreamErrorOptions) {
    super('unsupported', message, options);
  }
}

/** A conditional write found another version than expected: another cycle changed the item first. */
export class StateConflictError extends Error {
  override readonly name = 'StateConflictError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The state store failed for another reason than a conflict (throttling, network, permissions): the cycle fails. */
export class StateStoreError extends Error {
  override readonly name: string = 'StateStoreError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * One item cannot be stored at all (its key, or its record even with its outbox shrunk, is over DynamoDB's limits).
 * Nothing was sent; retrying does not help. The cycle reports it as that item's problem and goes on with the others.
 */
export class StateItemTooLargeError extends StateStoreError {
  override readonly name = 'StateItemTooLargeError';
}

/** Publishing failed as a whole (nothing got through): the cycle fails; the events stay in the outbox. */
export class NotifierError extends Error {
  override readonly name = 'NotifierError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * A chat or webhook delivery failed. The message names the channel id and what happened, never the webhook URL.
 * `retryable`: a later attempt may succeed (429, 5xx, network), as opposed to a refusal (4xx: wrong URL, revoked).
 */
export class DeliveryError extends Error {
  override readonly name = 'DeliveryError';
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** A one-line description of a failure, safe to log (an `UpstreamError`'s message is; others get their name). */
export function messageOf(err: unknown): string {
  if (err instanceof UpstreamError) return err.message;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
