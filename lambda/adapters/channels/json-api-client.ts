import * as tls from 'node:tls';
import type { Dispatcher } from 'undici';
import { DeliveryError } from '../../domain/errors.js';
import type { Redactor } from '../http/redact.js';
import { backoff } from '../http/retry-policy.js';
import { Agent, retry } from '../http/undici.js';

/** Options of {@link JsonApiClient}; all optional. */
export interface JsonApiClientOptions {
  /**
   * Extra CA certificates (PEM) for self-hosted receivers, trusted in addition to `trustedRoots` (Slack, Teams and
   * other public receivers keep working); public services need none.
   */
  readonly ca?: string | undefined;
  /**
   * The trust store `ca` adds to.
   * @default Node's default CA certificates (bundled roots plus `NODE_EXTRA_CA_CERTS` where the runtime reports them)
   */
  readonly trustedRoots?: readonly string[];
  /** @default 5_000 */
  readonly connectTimeoutMs?: number;
  /** @default 10_000 */
  readonly responseTimeoutMs?: number;
  /** Deadline for one call, waits for `Retry-After` included. @default 20_000 */
  readonly deadlineMs?: number;
  /** @default 3 */
  readonly maxRetries?: number;
  /** A `Retry-After` longer than this fails the call now (a later delivery attempt retries it). @default 10_000 */
  readonly maxRetryAfterMs?: number;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** What one call needs besides the request. */
export interface JsonCallOptions {
  /** Prefix of every error message, e.g. `channel ops-slack`. */
  readonly what: string;
  /** Statuses retried here (with `Retry-After` or backoff), besides connections that never opened. */
  readonly retryStatuses: readonly number[];
  /** Knows the call's secrets: every error text passes through it. */
  readonly redactor: Redactor;
  readonly signal?: AbortSignal | undefined;
}

/** Most of an answer's body read (more is dropped: a receiver's page is no reason to buffer megabytes). */
const MAX_BODY_BYTES = 64 * 1024;

/** An answer: the status and the body parsed as JSON (`undefined` when it is not JSON). */
export interface JsonAnswer {
  readonly status: number;
  readonly json: unknown;
}

/** Connection failures in which the request cannot have been processed: safe to retry a POST. */
const NOT_SENT = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT'];

/**
 * HTTPS JSON POSTs to a channel (webhooks, Slack Web API, PagerDuty Events API) over undici, with the project's retry
 * policy: `retryStatuses` and connections that never opened are retried inside one deadline, honouring `Retry-After`.
 * Failure contract: a transport failure, or a retried status still failing, throws a retryable `DeliveryError` whose
 * text went through the call's redactor; any answer otherwise is returned for the caller to judge.
 */
export class JsonApiClient {
  readonly #agent: Dispatcher;
  readonly #o: Required<Omit<JsonApiClientOptions, 'ca' | 'trustedRoots'>>;

  constructor(options: JsonApiClientOptions = {}) {
    this.#o = {
      connectTimeoutMs: options.connectTimeoutMs ?? 5_000,
      responseTimeoutMs: options.responseTimeoutMs ?? 10_000,
      deadlineMs: options.deadlineMs ?? 20_000,
      maxRetries: options.maxRetries ?? 3,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 10_000,
      now: options.now ?? Date.now,
      random: options.random ?? Math.random,
    };
    this.#agent = new Agent({
      connect: {
        timeout: this.#o.connectTimeoutMs,
        // Explicit, so NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment cannot switch verification off.
        rejectUnauthorized: true,
        // A `ca` option replaces Node's roots, so the extra certificates are appended to them rather than given alone.
        ...(options.ca || options.trustedRoots
          ? { ca: [...(options.trustedRoots ?? defaultRoots()), ...(options.ca ? [options.ca] : [])] }
          : {}),
      },
      headersTimeout: this.#o.responseTimeoutMs,
      bodyTimeout: this.#o.responseTimeoutMs,
    });
  }

  async post(url: URL, headers: Record<string, string>, body: string, call: JsonCallOptions): Promise<JsonAnswer> {
    const deadline = this.#o.now() + this.#o.deadlineMs;
    const timeout = AbortSignal.timeout(this.#o.deadlineMs);
    const signal = call.signal ? AbortSignal.any([call.signal, timeout]) : timeout;
    const retriable = ({ statusCode, code }: { statusCode?: number; code?: string }) =>
      (statusCode !== undefined && call.retryStatuses.includes(statusCode)) ||
      (code !== undefined && NOT_SENT.includes(code));
    const dispatcher = this.#agent.compose(
      retry({
        maxRetries: this.#o.maxRetries,
        methods: ['POST'],
        statusCodes: [...call.retryStatuses],
        errorCodes: NOT_SENT,
        retry: backoff({
          maxRetries: this.#o.maxRetries,
          baseDelayMs: 250,
          maxDelayMs: 2_000,
          maxRetryAfterMs: this.#o.maxRetryAfterMs,
          retriable,
          deadline,
          signal,
          now: this.#o.now,
          random: this.#o.random,
        }),
      }),
    );
    try {
      const res = await dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers,
        body,
        signal,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_BODY_BYTES) {
          res.body.destroy();
          break;
        }
        chunks.push(chunk as Buffer);
      }
      let json: unknown;
      try {
        json = size > MAX_BODY_BYTES ? undefined : JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        json = undefined;
      }
      return { status: res.statusCode, json };
    } catch (err) {
      const e = err as Error & { statusCode?: number; code?: string };
      if (typeof e.statusCode === 'number') {
        throw new DeliveryError(`${call.what}: HTTP ${e.statusCode} after retries`, true, e.statusCode, {
          cause: call.redactor.cause(err),
        });
      }
      const why = signal.aborted
        ? `no answer within ${this.#o.deadlineMs} ms`
        : call.redactor.text(e.code ?? e.message);
      throw new DeliveryError(`${call.what}: request failed (${why})`, true, undefined, {
        cause: call.redactor.cause(err),
      });
    }
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }
}

/** Node's default trust store: `tls.getCACertificates('default')` where available (Node 22.15+), else the bundled roots. */
export function defaultRoots(): readonly string[] {
  const withExtras = (tls as { getCACertificates?: (type: 'default') => string[] }).getCACertificates;
  return withExtras ? withExtras('default') : tls.rootCertificates;
}
