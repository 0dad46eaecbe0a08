import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { generatePki, type TestPki } from '../simulator/certs.js';

/*
 * A loopback HTTPS stand-in for the two Slack Web API methods the deliverer calls, `chat.postMessage` and
 * `chat.update`, with Slack's request and answer shapes: a bot token as `Authorization: Bearer`, a JSON body, and
 * HTTP 200 `{"ok": true, …}` or `{"ok": false, "error": "…"}`; rate limits as HTTP 429 with `Retry-After` (seconds).
 * It keeps each channel's messages with their threads and edits, so a test can read "the thread" and "the current
 * first message". Faults are scripted per request (429, an error code, an HTTP status), and a message can be deleted.
 */

/** A message as the stand-in keeps it. */
export interface SlackStandInMessage {
  readonly ts: string;
  /** Set on replies: the parent's `ts`. */
  readonly threadTs: string | undefined;
  readonly replyBroadcast: boolean;
  text: string;
  attachments: unknown[] | undefined;
  blocks: unknown[] | undefined;
  /** How often `chat.update` replaced it. */
  edits: number;
  deleted: boolean;
}

/** What to answer to a coming request instead of serving it. */
export type SlackFault =
  | { readonly kind: 'rate-limit'; readonly retryAfterSeconds: number }
  | { readonly kind: 'error'; readonly error: string }
  | { readonly kind: 'status'; readonly status: number };

/** Which requests a fault applies to. */
export type SlackMethod = 'chat.postMessage' | 'chat.update';

export class SlackApiStandIn {
  /** Bot tokens it accepts; any other is `invalid_auth` (and none at all `not_authed`). */
  readonly tokens = new Set<string>();
  /** Channel ids that exist and the app is a member of. */
  readonly channels = new Set<string>();
  /** Channels that exist but the app is not in (`not_in_channel`). */
  readonly notJoined = new Set<string>();
  /** Every message per channel, in posting order (replies included). */
  readonly messages = new Map<string, SlackStandInMessage[]>();
  /** Every request: method, HTTP status answered, Slack's error code if any. */
  readonly requests: { method: string; status: number; error?: string; body: Record<string, unknown> }[] = [];
  readonly #faults: { method: SlackMethod | undefined; fault: SlackFault }[] = [];
  #clock = 0;

  constructor(
    private readonly server: Server,
    /** The Web API's base URL, e.g. `https://127.0.0.1:PORT/api/`. */
    readonly baseUrl: string,
    /** The CA that signed its certificate (give it to the client as an extra CA). */
    readonly caCert: string,
  ) {
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.#handle(req, res).catch((err: unknown) => {
        res.writeHead(500).end(String(err));
      });
    });
  }

  /** Answer the next request (of `method`, if given) with `fault`. */
  inject(fault: SlackFault, method?: SlackMethod): void {
    this.#faults.push({ method, fault });
  }

  /** The messages in the channel itself (no replies, unless broadcast), in order, deleted ones left out. */
  topLevel(channel: string): SlackStandInMessage[] {
    return (this.messages.get(channel) ?? []).filter(
      (m) => !m.deleted && (m.threadTs === undefined || m.replyBroadcast),
    );
  }

  /** The thread started by `ts`: its replies, in order. */
  thread(channel: string, ts: string): SlackStandInMessage[] {
    return (this.messages.get(channel) ?? []).filter((m) => !m.deleted && m.threadTs === ts);
  }

  /** The message `ts` as it reads now. */
  message(channel: string, ts: string): SlackStandInMessage | undefined {
    return (this.messages.get(channel) ?? []).find((m) => m.ts === ts && !m.deleted);
  }

  /** Deletes a message (as a person in Slack would): editing it is then `message_not_found`. */
  delete(channel: string, ts: string): void {
    const m = (this.messages.get(channel) ?? []).find((x) => x.ts === ts);
    if (m) m.deleted = true;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0] ?? '';
    let body: Record<string, unknown> = {};
    const answer = (status: number, json: Record<string, unknown>, headers: Record<string, string> = {}) => {
      this.requests.push({
        method,
        status,
        ...(json.ok === false ? { error: String(json.error) } : {}),
        body,
      });
      res
        .writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers })
        .end(JSON.stringify(json));
    };
    if (req.method !== 'POST') return answer(405, { ok: false, error: 'method_not_supported_for_channel_type' });
    if (method !== 'chat.postMessage' && method !== 'chat.update')
      return answer(404, { ok: false, error: 'unknown_method' });
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json'))
      return answer(200, { ok: false, error: 'invalid_form_data' });
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      return answer(200, { ok: false, error: 'invalid_json' });
    }
    const auth = String(req.headers.authorization ?? '');
    if (!auth.startsWith('Bearer ')) return answer(200, { ok: false, error: 'not_authed' });
    if (!this.tokens.has(auth.slice('Bearer '.length))) return answer(200, { ok: false, error: 'invalid_auth' });
    const i = this.#faults.findIndex((f) => f.method === undefined || f.method === method);
    if (i >= 0) {
      const { fault } = this.#faults.splice(i, 1)[0] as { fault: SlackFault };
      if (fault.kind === 'rate-limit')
        return answer(429, { ok: false, error: 'ratelimited' }, { 'retry-after': String(fault.retryAfterSeconds) });
      if (fault.kind === 'status') return answer(fault.status, { ok: false, error: 'internal_error' });
      return answer(200, { ok: false, error: fault.error });
    }
    const channel = typeof body.channel === 'string' ? body.channel : '';
    if (this.notJoined.has(channel)) return answer(200, { ok: false, error: 'not_in_channel' });
    if (!this.channels.has(channel)) return answer(200, { ok: false, error: 'channel_not_found' });
    const text = typeof body.text === 'string' ? body.text : '';
    const attachments = Array.isArray(body.attachments) ? body.attachments : undefined;
    const blocks = Array.isArray(body.blocks) ? body.blocks : undefined;
    if (text === '' && !attachments && !blocks) return answer(200, { ok: false, error: 'no_text' });
    const list = this.messages.get(channel) ?? [];
    this.messages.set(channel, list);
    if (method === 'chat.postMessage') {
      const threadTs = typeof body.thread_ts === 'string' ? body.thread_ts : undefined;
      if (threadTs !== undefined && !list.some((m) => m.ts === threadTs && !m.deleted && m.threadTs === undefined))
        return answer(200, { ok: false, error: 'thread_not_found' });
      this.#clock += 1;
      const message: SlackStandInMessage = {
        ts: `${1_700_000_000 + this.#clock}.000100`,
        threadTs,
        replyBroadcast: threadTs !== undefined && body.reply_broadcast === true,
        text,
        attachments,
        blocks,
        edits: 0,
        deleted: false,
      };
      list.push(message);
      return answer(200, {
        ok: true,
        channel,
        ts: message.ts,
        message: {
          type: 'message',
          subtype: 'bot_message',
          text,
          ts: message.ts,
          bot_id: 'B0STANDIN',
          ...(threadTs ? { thread_ts: threadTs } : {}),
          ...(attachments ? { attachments } : {}),
          ...(blocks ? { blocks } : {}),
        },
      });
    }
    const ts = typeof body.ts === 'string' ? body.ts : '';
    const message = list.find((m) => m.ts === ts && !m.deleted);
    if (!message) return answer(200, { ok: false, error: 'message_not_found' });
    message.text = text;
    // As in Slack: attachments or blocks left out are kept; given, they replace the old ones.
    if (attachments) message.attachments = attachments;
    if (blocks) message.blocks = blocks;
    message.edits += 1;
    return answer(200, {
      ok: true,
      channel,
      ts,
      text,
      message: { type: 'message', text, ...(message.attachments ? { attachments: message.attachments } : {}) },
    });
  }
}

/** Starts a stand-in on a loopback port with a certificate from `pki` (a fresh CA by default). */
export async function startSlackApiStandIn(pki?: TestPki): Promise<SlackApiStandIn> {
  const certs = pki ?? (await generatePki());
  const server = createServer({ key: certs.serverKey, cert: certs.serverCert });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return new SlackApiStandIn(server, `https://127.0.0.1:${port}/api/`, certs.caCert);
}
