import { DeliveryError } from '../../domain/errors.js';
import { Redactor } from '../http/redact.js';
import { JsonApiClient, type JsonApiClientOptions } from './json-api-client.js';
import { signWebhook } from './webhook-signature.js';

/** Where a channel posts: its webhook URL (a secret) and, for generic webhooks, the signing secret. */
export interface ChannelTarget {
  readonly url: string;
  readonly signingSecret?: string | undefined;
}

/** Options of {@link HttpChannelSender}: its transport's (certificates, timeouts, deadline, retries). */
export type HttpChannelSenderOptions = JsonApiClientOptions;

/**
 * Posts rendered messages to Slack, Teams and generic webhooks over HTTPS, through the channels' one HTTPS client
 * ({@link JsonApiClient}): it retries only what cannot have been delivered already (HTTP 429, honouring `Retry-After`,
 * and connections that never opened), inside one deadline. Failure contract: throws `DeliveryError` whose message
 * names the channel, never the URL (webhook URLs are secrets).
 */
export class HttpChannelSender {
  readonly #client: JsonApiClient;
  readonly #now: () => number;

  constructor(options: HttpChannelSenderOptions = {}) {
    this.#client = new JsonApiClient(options);
    this.#now = options.now ?? Date.now;
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
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (target.signingSecret)
      Object.assign(headers, signWebhook(body, target.signingSecret, Math.floor(this.#now() / 1000)));
    const { status } = await this.#client.post(url, headers, body, {
      what: `channel ${channelId}`,
      retryStatuses: [429],
      redactor,
      signal: options.signal,
    });
    if (status >= 200 && status < 300) return;
    const retryable = status === 429 || status >= 500;
    throw new DeliveryError(
      `channel ${channelId}: HTTP ${status}${retryable ? '' : ' (the webhook refused the message: check its URL in the secret)'}`,
      retryable,
      status,
    );
  }

  async close(): Promise<void> {
    await this.#client.close();
  }
}
