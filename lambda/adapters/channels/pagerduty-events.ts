import type { PagerDutyChannel } from '../../domain/channels.js';
import type { PagerDutyApi } from '../../domain/delivery-ports.js';
import { DeliveryError } from '../../domain/errors.js';
import type { PagerDutyEvent } from '../../domain/render-pagerduty.js';
import { Redactor } from '../http/redact.js';
import { JsonApiClient, type JsonApiClientOptions } from './json-api-client.js';
import { readChannelSecret, type SecretReader, secretField } from './secret-channel-targets.js';

/** Options of {@link PagerDutyEvents}. */
export interface PagerDutyEventsOptions extends JsonApiClientOptions {
  /** The Events API v2 endpoint (a loopback stand-in in tests). @default https://events.pagerduty.com/v2/enqueue */
  readonly url?: string | undefined;
}

/**
 * PagerDuty Events API v2 (`POST /v2/enqueue`) with the integration's routing key, read from the channel's secret
 * (`{"routingKey":"…"}` or the bare 32-character key) and added to each event. `202` is success; `400` (an invalid
 * event or key) throws a non-retryable `DeliveryError` with PagerDuty's reasons; `429` and `5xx` are retried here
 * (after `Retry-After` when sent, else with backoff) within the deadline, then fail retryably. Retrying is safe:
 * PagerDuty deduplicates by `dedup_key`. Messages and causes never carry the routing key.
 */
export class PagerDutyEvents implements PagerDutyApi {
  readonly #client: JsonApiClient;
  readonly #url: URL;

  constructor(
    private readonly read: SecretReader,
    options: PagerDutyEventsOptions = {},
  ) {
    this.#client = new JsonApiClient(options);
    this.#url = new URL(options.url ?? 'https://events.pagerduty.com/v2/enqueue');
  }

  async send(channel: PagerDutyChannel, event: PagerDutyEvent, options: { signal?: AbortSignal } = {}): Promise<void> {
    const routingKey = await this.#routingKey(channel);
    const redactor = new Redactor();
    redactor.add(routingKey);
    const what = `channel ${channel.id}: PagerDuty ${event.event_action}`;
    const { status, json } = await this.#client.post(
      this.#url,
      { 'content-type': 'application/json' },
      JSON.stringify({ routing_key: routingKey, ...event }),
      { what, retryStatuses: [429, 500, 502, 503, 504], redactor, signal: options.signal },
    );
    if (status === 202 || status === 200) return;
    if (status === 429 || status >= 500) throw new DeliveryError(`${what}: HTTP ${status}`, true, status);
    const answer = (json ?? {}) as { message?: unknown; errors?: unknown };
    const reasons = [
      ...(typeof answer.message === 'string' ? [answer.message] : []),
      ...(Array.isArray(answer.errors) ? answer.errors.filter((e): e is string => typeof e === 'string') : []),
    ]
      .map((r) => redactor.text(r).slice(0, 300))
      .join('; ');
    throw new DeliveryError(
      `${what}: HTTP ${status}, the event was refused${reasons ? ` (${reasons})` : ''}: check the routing key in secret ${channel.secret}`,
      false,
      status,
    );
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  async #routingKey(channel: PagerDutyChannel): Promise<string> {
    const key = secretField(await readChannelSecret(this.read, channel), 'routingKey');
    if (typeof key !== 'string' || !/^[A-Za-z0-9]{32}$/.test(key.trim())) {
      throw new DeliveryError(
        `channel ${channel.id}: secret ${channel.secret} must hold the PagerDuty integration's routing key (32 characters), {"routingKey": "…"} or the bare key`,
        false,
      );
    }
    return key.trim();
  }
}
