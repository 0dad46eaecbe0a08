import { alarmWebhookBody, type MonitorAlarm } from './alarm.js';
import { DeliveryError } from './errors.js';
import { ALWAYS_DELIVERED, type EventType, type MonitorEvent } from './events.js';
import {
  qDeveloperNotification,
  type SlackMentions,
  slackAlarmMessage,
  slackMessage,
  teamsAlarmMessage,
  teamsMessage,
} from './render-chat.js';

interface ChannelBase {
  /** Stable id, used in the delivery log and in error messages (never the URL). */
  readonly id: string;
  /** Only these event types. @default all */
  readonly eventTypes?: readonly EventType[];
}

/** A channel posted to over HTTPS (Slack incoming webhook, Teams Workflows webhook, signed generic webhook). */
export interface WebhookChannel extends ChannelBase {
  readonly kind: 'slack' | 'teams' | 'webhook';
  /** Secrets Manager secret holding the webhook URL (`{"url"}`, or the bare URL; `{"url","signingSecret"}` for webhooks). */
  readonly secret: string;
  /** Slack only: mention per severity. */
  readonly mentions?: SlackMentions;
}

/**
 * An Amazon Q Developer in chat applications (AWS Chatbot) channel: custom notifications are published to the SNS
 * topic its channel configuration subscribes to. CloudWatch alarm messages are forwarded as they are (Q Developer
 * renders them natively).
 */
export interface QDeveloperChannel extends ChannelBase {
  readonly kind: 'qdeveloper';
  readonly topicArn: string;
}

/** A chat or webhook channel the deliverer serves. */
export type Channel = WebhookChannel | QDeveloperChannel;

/** Where a channel posts (from its secret). */
export interface ChannelTarget {
  readonly url: string;
  readonly signingSecret?: string | undefined;
}

/** Reads a channel's target from its secret (cached by the adapter). */
export interface ChannelTargets {
  target(channel: WebhookChannel): Promise<ChannelTarget>;
}

/** Posts a rendered body; throws `DeliveryError`. */
export interface ChannelPoster {
  post(channelId: string, target: ChannelTarget, body: string, options?: { signal?: AbortSignal }): Promise<void>;
}

/** Publishes a rendered message to a channel's SNS topic; throws `DeliveryError`. */
export interface TopicPoster {
  publish(channelId: string, topicArn: string, body: string, options?: { signal?: AbortSignal }): Promise<void>;
}

/**
 * Which (channel, event) pairs were delivered, so a redelivered SNS message is not posted twice. Two phases: a claim
 * with a lease before posting, then `delivered`; a crash in between leaves a claim that expires, so the message is
 * posted again rather than lost.
 */
export interface DeliveryLog {
  /** `claimed`: post it now; `delivered`: already done, skip; `busy`: another attempt holds an unexpired claim. */
  claim(channelId: string, eventId: string, now: Date, leaseUntil: Date): Promise<'claimed' | 'delivered' | 'busy'>;
  /** Records the delivery; the record is kept until `expiresAt` (dedupe window). */
  delivered(channelId: string, eventId: string, expiresAt: Date): Promise<void>;
  /** Drops a claim after a failed post, so the next attempt can post at once. */
  release(channelId: string, eventId: string): Promise<void>;
}

export interface DeliveryDeps {
  readonly targets: ChannelTargets;
  readonly poster: ChannelPoster;
  /** Needed only when a `qdeveloper` channel is configured. */
  readonly topics?: TopicPoster;
  readonly log: DeliveryLog;
  readonly now: () => Date;
  /** @default 2 min */
  readonly leaseMs?: number;
  /** How long a delivery is remembered for deduplication. @default 7 days */
  readonly dedupeMs?: number;
}

/** What happened per channel (ids). */
export interface DeliveryReport {
  readonly delivered: readonly string[];
  /** Delivered by an earlier attempt (SNS redelivery). */
  readonly duplicates: readonly string[];
  /** The channel's `eventTypes` exclude the event. */
  readonly filtered: readonly string[];
  /** People's channels skipped because a `monitor.grouped` event stands for this one there (`groupedIn`). */
  readonly grouped: readonly string[];
}

/** Channels read by people: they get a `monitor.grouped` event instead of the events it stands for. */
const FOR_PEOPLE: ReadonlySet<Channel['kind']> = new Set(['slack', 'teams', 'qdeveloper']);

/**
 * Whether a channel's filter lets an event through (the monitor's word about its own health always passes). A group passes when the filter names `monitor.grouped` or the
 * type it groups: the events it stands for do not reach that channel themselves.
 */
function accepts(channel: Channel, event: MonitorEvent): boolean {
  const types = channel.eventTypes;
  if (!types || types.length === 0 || ALWAYS_DELIVERED.includes(event.type)) return true;
  return types.includes(event.type) || (event.group !== undefined && types.includes(event.group.type));
}

/** The body a channel posts for an event. */
export function bodyFor(channel: Channel, event: MonitorEvent): string {
  switch (channel.kind) {
    case 'slack':
      return JSON.stringify(slackMessage(event, channel.mentions));
    case 'teams':
      return JSON.stringify(teamsMessage(event));
    case 'webhook':
      return JSON.stringify(event);
    case 'qdeveloper':
      return JSON.stringify(qDeveloperNotification(event));
  }
}

/**
 * Delivers one event to every channel whose filter accepts it, each exactly once across redeliveries. An event that a
 * `monitor.grouped` event stands for (`groupedIn`) goes to webhooks only (machine consumers get every event); people's
 * channels get the group. Throws one `DeliveryError` naming every channel that failed (retryable when any failure
 * is), after the others were delivered, so the caller's retry (SNS, then its dead-letter queue) covers exactly what is
 * missing.
 */
export async function deliverEvent(
  event: MonitorEvent,
  channels: readonly Channel[],
  deps: DeliveryDeps,
  signal?: AbortSignal,
): Promise<DeliveryReport> {
  const filtered = channels.filter((c) => !accepts(c, event));
  const grouped = event.groupedIn ? channels.filter((c) => !filtered.includes(c) && FOR_PEOPLE.has(c.kind)) : [];
  const report = await deliverEach(
    channels
      .filter((c) => !filtered.includes(c) && !grouped.includes(c))
      .map((channel) => ({ channel, body: () => bodyFor(channel, event) })),
    event.eventId,
    deps,
    signal,
  );
  return { ...report, filtered: filtered.map((c) => c.id), grouped: grouped.map((c) => c.id) };
}

/** The body a channel posts for one of the monitor's own alarms: `raw` is the CloudWatch message as SNS carried it. */
export function alarmBodyFor(channel: Channel, alarm: MonitorAlarm, raw: string): string {
  switch (channel.kind) {
    case 'slack':
      return JSON.stringify(slackAlarmMessage(alarm, channel.mentions));
    case 'teams':
      return JSON.stringify(teamsAlarmMessage(alarm));
    case 'webhook':
      return JSON.stringify(alarmWebhookBody(alarm));
    case 'qdeveloper':
      // Q Developer renders CloudWatch alarms natively.
      return raw;
  }
}

/**
 * Delivers one of the monitor's own CloudWatch alarms (ALARM, or OK when it clears) to every channel, whatever its
 * event filter: that the monitor is broken is news for everyone it notifies. Once per channel, deduplicated by the
 * SNS message id; failures as for `deliverEvent`.
 */
export async function deliverAlarm(
  alarm: MonitorAlarm,
  raw: string,
  channels: readonly Channel[],
  deps: DeliveryDeps,
  signal?: AbortSignal,
): Promise<DeliveryReport> {
  const report = await deliverEach(
    channels.map((channel) => ({ channel, body: () => alarmBodyFor(channel, alarm, raw) })),
    `alarm/${alarm.messageId}`,
    deps,
    signal,
  );
  return { ...report, filtered: [], grouped: [] };
}

/**
 * Forwards a message that is neither a monitor event nor a CloudWatch alarm to the Amazon Q Developer channels as it
 * is (they show what they understand); the other channels are not sent what they cannot render. Deduplicated by the
 * SNS message id.
 */
export async function forwardOther(
  messageId: string,
  message: string,
  channels: readonly Channel[],
  deps: DeliveryDeps,
  signal?: AbortSignal,
): Promise<DeliveryReport> {
  const accepted = channels.filter((c) => c.kind === 'qdeveloper');
  const filtered = channels.filter((c) => c.kind !== 'qdeveloper').map((c) => c.id);
  const report = await deliverEach(
    accepted.map((channel) => ({ channel, body: () => message })),
    `alarm/${messageId}`,
    deps,
    signal,
  );
  return { ...report, filtered, grouped: [] };
}

/** Posts each (channel, body) once per `key`, recording it in the delivery log; throws naming every failure. */
async function deliverEach(
  posts: readonly { channel: Channel; body: () => string }[],
  key: string,
  deps: DeliveryDeps,
  signal: AbortSignal | undefined,
): Promise<Omit<DeliveryReport, 'filtered' | 'grouped'>> {
  const delivered: string[] = [];
  const duplicates: string[] = [];
  const failures: { channel: string; error: DeliveryError }[] = [];
  await Promise.all(
    posts.map(async ({ channel, body }) => {
      const now = deps.now();
      const claim = await deps.log.claim(channel.id, key, now, new Date(now.getTime() + (deps.leaseMs ?? 120_000)));
      if (claim === 'delivered') {
        duplicates.push(channel.id);
        return;
      }
      if (claim === 'busy') {
        failures.push({
          channel: channel.id,
          error: new DeliveryError(`channel ${channel.id}: another attempt is delivering this event`, true),
        });
        return;
      }
      try {
        await postTo(channel, body(), deps, signal);
      } catch (err) {
        await deps.log.release(channel.id, key);
        const error =
          err instanceof DeliveryError
            ? err
            : new DeliveryError(`channel ${channel.id}: ${(err as Error)?.message ?? String(err)}`, true);
        failures.push({ channel: channel.id, error });
        return;
      }
      await deps.log.delivered(channel.id, key, new Date(deps.now().getTime() + (deps.dedupeMs ?? 7 * 86_400_000)));
      delivered.push(channel.id);
    }),
  );
  if (failures.length > 0) {
    throw new DeliveryError(
      `event ${key} not delivered to ${failures.length} channel(s): ${failures.map((f) => f.error.message).join('; ')}`,
      failures.some((f) => f.error.retryable),
    );
  }
  return { delivered, duplicates };
}

async function postTo(channel: Channel, body: string, deps: DeliveryDeps, signal?: AbortSignal): Promise<void> {
  if (channel.kind === 'qdeveloper') {
    if (!deps.topics) throw new DeliveryError(`channel ${channel.id}: no topic publisher configured`, false);
    await deps.topics.publish(channel.id, channel.topicArn, body, { signal });
    return;
  }
  const target = await deps.targets.target(channel);
  await deps.poster.post(channel.id, target, body, { signal });
}
