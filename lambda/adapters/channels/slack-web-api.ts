import type { SlackAppChannel } from '../../domain/channels.js';
import type { SlackApi, SlackContent, SlackMessageRef } from '../../domain/delivery-ports.js';
import { DeliveryError } from '../../domain/errors.js';
import { Redactor } from '../http/redact.js';
import { JsonApiClient, type JsonApiClientOptions } from './json-api-client.js';
import { readChannelSecret, type SecretReader, secretField } from './secret-channel-targets.js';

/** Options of {@link SlackWebApi}. */
export interface SlackWebApiOptions extends JsonApiClientOptions {
  /** The Web API's base URL (a loopback stand-in in tests). @default https://slack.com/api/ */
  readonly baseUrl?: string | undefined;
}

/** Errors that say the channel's setup is wrong: retrying cannot help, a person must fix the app or the secret. */
const REFUSALS: Readonly<Record<string, string>> = {
  invalid_auth: 'the bot token is not valid (check the secret)',
  not_authed: 'no bot token was accepted (check the secret)',
  token_revoked: 'the bot token was revoked (reinstall the app, update the secret)',
  token_expired: 'the bot token expired (update the secret)',
  account_inactive: 'the app or its workspace is deactivated',
  channel_not_found: 'the Slack channel does not exist or the app cannot see it (check channelId)',
  not_in_channel: 'the app is not a member of the Slack channel (invite it: /invite @app)',
  is_archived: 'the Slack channel is archived',
  missing_scope: 'the app lacks the chat:write scope (add it and reinstall)',
  no_permission: 'the app has no permission to post there',
  restricted_action: 'the workspace does not allow the app to post there',
};

/** Errors worth another attempt later. */
const TRANSIENT = new Set([
  'ratelimited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'team_added_to_org',
]);

/** The message is not there (or not editable) any more: the caller posts anew. */
const GONE = {
  update: new Set(['message_not_found', 'cant_update_message', 'edit_window_closed']),
  reply: new Set(['thread_not_found', 'message_not_found']),
} as const;

/**
 * The Slack Web API (`chat.postMessage`, `chat.update`) with a Slack app's bot token, read from the channel's secret
 * (`{"token":"xoxb-…"}` or the bare token). Slack answers errors as HTTP 200 `{"ok":false,"error":"…"}`: setup errors
 * (invalid token, channel not found, app not in the channel, missing scope) throw a non-retryable `DeliveryError` that
 * names the channel and Slack's error code; rate limits (HTTP 429) are retried here after `Retry-After` within the
 * deadline; Slack's own failures are retryable. A POST that may have been processed is not retried here (it could post
 * twice). Messages and causes never carry the token.
 */
export class SlackWebApi implements SlackApi {
  readonly #client: JsonApiClient;
  readonly #base: URL;

  constructor(
    private readonly read: SecretReader,
    options: SlackWebApiOptions = {},
  ) {
    this.#client = new JsonApiClient(options);
    const base = options.baseUrl ?? 'https://slack.com/api/';
    this.#base = new URL(base.endsWith('/') ? base : `${base}/`);
  }

  async post(
    channel: SlackAppChannel,
    content: SlackContent,
    options: { signal?: AbortSignal } = {},
  ): Promise<SlackMessageRef> {
    const answer = await this.#call(
      channel,
      'chat.postMessage',
      { ...content, channel: channel.channelId, unfurl_links: false, unfurl_media: false },
      options.signal,
    );
    if ('gone' in answer) throw this.#refused(channel, 'chat.postMessage', answer.gone);
    return answer.ref;
  }

  async reply(
    channel: SlackAppChannel,
    parent: SlackMessageRef,
    content: SlackContent,
    options: { broadcast?: boolean; signal?: AbortSignal } = {},
  ): Promise<SlackMessageRef | 'gone'> {
    const answer = await this.#call(
      channel,
      'chat.postMessage',
      {
        ...content,
        channel: parent.channel,
        thread_ts: parent.ts,
        ...(options.broadcast ? { reply_broadcast: true } : {}),
        unfurl_links: false,
        unfurl_media: false,
      },
      options.signal,
      GONE.reply,
    );
    return 'gone' in answer ? 'gone' : answer.ref;
  }

  async update(
    channel: SlackAppChannel,
    message: SlackMessageRef,
    content: SlackContent,
    options: { signal?: AbortSignal } = {},
  ): Promise<'updated' | 'gone'> {
    const answer = await this.#call(
      channel,
      'chat.update',
      { ...content, channel: message.channel, ts: message.ts },
      options.signal,
      GONE.update,
    );
    return 'gone' in answer ? 'gone' : 'updated';
  }

  async close(): Promise<void> {
    await this.#client.close();
  }

  async #call(
    channel: SlackAppChannel,
    method: string,
    body: Record<string, unknown>,
    signal: AbortSignal | undefined,
    gone: ReadonlySet<string> = new Set(),
  ): Promise<{ ref: SlackMessageRef } | { gone: string }> {
    const token = await this.#token(channel);
    const redactor = new Redactor();
    redactor.add(token);
    const what = `channel ${channel.id}: Slack ${method}`;
    const { status, json } = await this.#client.post(
      new URL(method, this.#base),
      { authorization: `Bearer ${token}`, 'content-type': 'application/json; charset=utf-8' },
      JSON.stringify(body),
      { what, retryStatuses: [429], redactor, signal },
    );
    if (status >= 500) throw new DeliveryError(`${what}: HTTP ${status}`, true, status);
    const answer = json as { ok?: unknown; error?: unknown; channel?: unknown; ts?: unknown } | undefined;
    if (status !== 200 || typeof answer !== 'object' || answer === null || typeof answer.ok !== 'boolean') {
      throw new DeliveryError(`${what}: unexpected answer (HTTP ${status})`, status === 408, status);
    }
    if (answer.ok) {
      if (typeof answer.channel !== 'string' || typeof answer.ts !== 'string')
        throw new DeliveryError(`${what}: the answer names no message (channel, ts)`, false, status);
      return { ref: { channel: answer.channel, ts: answer.ts } };
    }
    // Slack's error codes are short snake_case words; anything else is not echoed.
    const code = typeof answer.error === 'string' && /^[a-z_]{1,64}$/.test(answer.error) ? answer.error : 'unknown';
    if (gone.has(code)) return { gone: code };
    throw this.#refused(channel, method, code);
  }

  #refused(channel: SlackAppChannel, method: string, code: string): DeliveryError {
    const what = `channel ${channel.id}: Slack ${method} failed: ${code}`;
    const why = REFUSALS[code];
    if (why) return new DeliveryError(`${what} (${why})`, false);
    return new DeliveryError(what, TRANSIENT.has(code));
  }

  async #token(channel: SlackAppChannel): Promise<string> {
    const token = secretField(await readChannelSecret(this.read, channel), 'token');
    if (typeof token !== 'string' || !/^xox[a-z]-\S{8,}$/.test(token.trim())) {
      throw new DeliveryError(
        `channel ${channel.id}: secret ${channel.secret} must hold the Slack app's bot token, {"token": "xoxb-…"} or the bare token`,
        false,
      );
    }
    return token.trim();
  }
}
