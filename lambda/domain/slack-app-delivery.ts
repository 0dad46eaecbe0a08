import type { SlackAppChannel } from './channels.js';
import type { DeliveryDeps, SlackApi, SlackThread, SlackThreads } from './delivery-ports.js';
import { DeliveryError } from './errors.js';
import type { MonitorEvent } from './events.js';
import { DEFAULT_SLACK_MENTIONS, slackMessage } from './render-slack.js';

/* Slack app channels: one thread per incident, its first message edited to show where the incident stands. */

/**
 * Where an event stands in its incident: `occurredAt`, then the sequence number of its id (events of one cycle share a
 * time). Strings that sort in event order; the first message of a Slack thread shows the greatest.
 */
export function eventOrder(event: MonitorEvent): string {
  const sequence = Number.parseInt(event.eventId.split('/').at(-2) ?? '', 10);
  return `${event.occurredAt}#${String(Number.isFinite(sequence) ? sequence : 0).padStart(12, '0')}`;
}

/** The Slack Web API client and thread store, or a `DeliveryError` when the deliverer has none. */
export function slackOf(channel: SlackAppChannel, deps: DeliveryDeps): { api: SlackApi; threads: SlackThreads } {
  if (!deps.slack || !deps.threads)
    throw new DeliveryError(`channel ${channel.id}: no Slack Web API client or thread store configured`, false);
  return { api: deps.slack, threads: deps.threads };
}

const DAY_MS = 86_400_000;

/**
 * Posts an event to a Slack app channel: one thread per incident.
 * 1. No incident: a message of its own.
 * 2. The incident's first event (no thread yet): claim creating the thread, post the message, store its reference.
 *    Another delivery creating it at the same time: wait for its reference (bounded), else fail retryably.
 * 3. Later events: edit the first message to show this event when it is newer than what it shows (events can arrive
 *    out of order), then reply in the thread.
 * 4. The first message cannot be edited any more, or the thread is gone: post the event anew as a message of its own,
 *    which becomes the incident's thread, rather than lose it.
 *
 * `edit-only` (an event a `monitor.grouped` message stands for): only the edit of an existing thread's first message.
 *
 * Mentions: the incident's first message carries the channel's mention for its severity, like a webhook message;
 * edits never do (they notify nobody, and a stale `<!here>` would stay in the text). A critical reply (a failure after
 * a quiet start) is broadcast to the channel (`reply_broadcast`) with the mention, so it is not buried in a thread;
 * other replies stay in the thread without one.
 */
export async function postToSlackApp(
  channel: SlackAppChannel,
  event: MonitorEvent,
  deps: DeliveryDeps,
  signal?: AbortSignal,
  mode: 'post' | 'edit-only' = 'post',
): Promise<void> {
  const { api, threads } = slackOf(channel, deps);
  const mentions = channel.mentions ?? DEFAULT_SLACK_MENTIONS;
  const first = slackMessage(event, mentions);
  const incident = event.incident;
  if (!incident) {
    await api.post(channel, first, { signal });
    return;
  }
  const key = incident.key;
  const order = eventOrder(event);
  const expires = () => new Date(deps.now().getTime() + (deps.threadTtlMs ?? 30 * DAY_MS));
  const postAnew = async () => {
    const ref = await api.post(channel, first, { signal });
    await threads.save(channel.id, key, { ref, shown: order }, expires());
  };
  if (mode === 'edit-only') {
    // A group stands for this event in the channel: edit the incident's first message if it has a thread there, and
    // post nothing (no thread is started for it, none is started anew).
    const existing = await threads.get(channel.id, key, deps.now());
    if (existing === undefined || existing === 'creating' || existing.ref.channel !== channel.channelId) return;
    if (order > existing.shown && (await threads.advance(channel.id, key, existing.ref, order, expires()))) {
      try {
        await api.update(channel, existing.ref, slackMessage(event, {}), { signal });
      } catch (err) {
        await threads.restore(channel.id, key, existing.ref, order, existing.shown, expires()).catch(() => undefined);
        throw err;
      }
    }
    return;
  }
  const thread = await threadOf(channel, key, deps, threads);
  if (thread !== undefined && thread.ref.channel !== channel.channelId) {
    // The thread is in another Slack channel (the configuration moved this channel id elsewhere): start one here.
    await postAnew();
    return;
  }
  if (thread === undefined) {
    try {
      await postAnew();
    } catch (err) {
      await threads.release(channel.id, key);
      throw err;
    }
    return;
  }
  // The edit comes before the reply: recorded first (`advance`), it is not repeated when a failed reply is retried.
  if (order > thread.shown && (await threads.advance(channel.id, key, thread.ref, order, expires()))) {
    let updated: 'updated' | 'gone';
    try {
      updated = await api.update(channel, thread.ref, slackMessage(event, {}), { signal });
    } catch (err) {
      // Record the older state again, so a retry of this event edits the message. If that fails too, only a later
      // event edits it: the edit's error is the one to report.
      await threads.restore(channel.id, key, thread.ref, order, thread.shown, expires()).catch(() => undefined);
      throw err;
    }
    if (updated === 'gone') {
      await postAnew();
      return;
    }
  }
  const critical = event.severity === 'critical';
  const replied = await api.reply(channel, thread.ref, slackMessage(event, critical ? mentions : {}), {
    broadcast: critical,
    signal,
  });
  if (replied === 'gone') await postAnew();
}

/**
 * The incident's thread in the channel; `undefined` when this attempt is to post it (its claim is taken). Waits for
 * another attempt that is posting it, at most `threadWaitMs`.
 */
async function threadOf(
  channel: SlackAppChannel,
  key: string,
  deps: DeliveryDeps,
  threads: SlackThreads,
): Promise<SlackThread | undefined> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const waitMs = deps.threadWaitMs ?? 3_000;
  const step = Math.max(1, Math.min(250, waitMs));
  for (let waited = 0; ; waited += step) {
    const now = deps.now();
    const thread = await threads.get(channel.id, key, now);
    if (thread !== undefined && thread !== 'creating') return thread;
    // The thread is kept for as long as an incident's deliveries are retried (the lease covers one post).
    if (thread === undefined && (await threads.claim(channel.id, key, now, new Date(now.getTime() + 30_000)))) {
      return undefined;
    }
    if (waited >= waitMs) {
      throw new DeliveryError(
        `channel ${channel.id}: another attempt is posting the Slack thread of incident ${key}; a retry replies in it`,
        true,
      );
    }
    await sleep(step);
  }
}
