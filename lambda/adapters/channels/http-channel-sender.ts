import * as tls from 'node:tls';
import type { Dispatcher } from 'undici';
import { DeliveryError } from '../../domain/errors.js';
import { Redactor } from '../redact.js';
import { backoff } from '../retry-policy.js';
import { Agent, retry } from '../vb365/undici.js';
import { signWebhook } from './webhook-signature.js';

/** Where a channel posts: its webhook URL (a secret) and, for generic webhooks, the signing secret. */
export interface ChannelTarget {
  readonly url: string;
  readonly signingSecret?: string | undefined;
}

/** Options of {@link HttpChannelSender}; all optional. */
export interface HttpChannelSenderOptions {
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
  /** Deadline for one delivery, waits for `Retry-After` included. @default 20_000 */
  readonly deadlineMs?: number;
  /** @default 3 */
  readonly maxRetries?: number;
  /** A `Retry-After` longer than this fails the delivery now (SNS retries it later). @default 10_000 */
  readonly maxRetryAfterMs?: number;
  readonly now?: () => number;
  readonly random?: () => number;
}

/** Connection failures in which the request cannot have been processed: safe to retry a POST. */
const NOT_SENT = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT'];

/**
 * Posts rendered messages to Slack, Teams and generic webhooks over HTTPS (undici). Retries only what cannot have been
 * delivered already (HTTP 429, honouring `Retry-After`, and connections that never opened), inside one deadline.
 * Failure contract: throws `DeliveryError` whose message names the channel, never the URL (webhook URLs are secrets).
 */
export class HttpChannelSender {
  readonly #agent: Dispatcher;
  readonly #o: Required<Omit<HttpChannelSenderOptions, 'ca' | 'trustedRoots'>>;

  constructor(options: HttpChannelSenderOptions = {}) {
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

  /** Posts `body` (JSON) for channel `channelId`; signs it when the target has a signing secret. */
  async post(
    channelId: string,
    target: ChannelTarget,
    body: string,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    const redactor = new Redactor();
    redactor.add(target.url, target.signingSecret);
    let url: URL;
    try {
      url = new URL(target.url);
    } catch {
      throw new DeliveryError(`channel ${channelId}: its webhook URL is not a URL (check the secret)`, false);
    }
    if (url.protocol !== 'https:')
      throw new DeliveryError(`channel ${channelId}: its webhook URL must use https://`, false);
    const deadline = this.#o.now() + this.#o.deadlineMs;
    const timeout = AbortSignal.timeout(this.#o.deadlineMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (target.signingSecret)
      Object.assign(headers, signWebhook(body, target.signingSecret, Math.floor(this.#o.now() / 1000)));
    const dispatcher = this.#agent.compose(
      retry({
        maxRetries: this.#o.maxRetries,
        methods: ['POST'],
        statusCodes: [429],
        errorCodes: NOT_SENT,
        retry: backoff({
          maxRetries: this.#o.maxRetries,
          baseDelayMs: 250,
          maxDelayMs: 2_000,
          maxRetryAfterMs: this.#o.maxRetryAfterMs,
          retriable: ({ statusCode, code }) => statusCode === 429 || (code !== undefined && NOT_SENT.includes(code)),
          deadline,
          signal,
          now: this.#o.now,
          random: this.#o.random,
        }),
      }),
    );
    let status: number;
    try {
      const res = await dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        headers,
        body,
        signal,
      });
      status = res.statusCode;
      await res.body.dump({ limit: 64 * 1024 });
    } catch (err) {
      const e = err as Error & { statusCode?: number; code?: string };
      if (typeof e.statusCode === 'number') {
        throw new DeliveryError(`channel ${channelId}: HTTP ${e.statusCode} after retries`, true, e.statusCode, {
          cause: redactor.cause(err),
        });
      }
      const what = signal.aborted ? `no answer within ${this.#o.deadlineMs} ms` : redactor.text(e.code ?? e.message);
      throw new DeliveryError(`channel ${channelId}: delivery failed (${what})`, true, undefined, {
        cause: redactor.cause(err),
      });
    }
    if (status >= 200 && status < 300) return;
    const retryable = status === 429 || status >= 500;
    throw new DeliveryError(
      `channel ${channelId}: HTTP ${status}${retryable ? '' : ' (the webhook refused the message: check its URL in the secret)'}`,
      retryable,
      status,
    );
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
