import { alarmWebhookBody, type MonitorAlarm } from './alarm.js';
import { DeliveryError } from './errors.js';
import { ALWAYS_DELIVERED, type EventType, type MonitorEvent } from './events.js';
import {
  DEFAULT_SLACK_MENTIONS,
  qDeveloperNotification,
  type SlackMentions,
  slackAlarmMessage,
  slackMessage,
  teamsAlarmMessage,
  teamsMessage,
} from './render-chat.js';
import { type PagerDutyEvent, pagerDutyAlarmEventOf, pagerDutyEventOf } from './render-pagerduty.js';

interface ChannelBase {
  /** Stable id, used in the delivery log and in error messages (never the URL). */
  readonly id: string;
  /** Only these event types. @default all */
  readonly eventTypes?: readonly EventType[];
  /**
   * An escalation channel (1 to 10080): it receives only events of incidents that stayed open and unacknowledged at
   * least this many minutes (`incident.escalatedAfterMinutes` ≥ this): from the `incident.escalated` event that says
   * so (which passes `eventTypes` whatever it lists) to the end of the incident. @default every event, as filtered
   */
  readonly escalateAfterMinutes?: number;
  /**
   * A tenant's channel (MSPs): only events about a repository of one of these organizations (ids or names, any letter
   * case); nothing else reaches it, not even the monitor's word about itself (that is the MSP's, not its customer's).
   * @default every event
   */
  readonly organizations?: readonly string[];
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

/**
 * A Slack app (bot token, Slack Web API): one thread per incident. The incident's first event is a message in the
 * channel, every later one a reply in its thread, and the first message is edited to show the incident's current
 * state. Events without an incident are messages of their own.
 */
export interface SlackAppChannel extends ChannelBase {
  readonly kind: 'slackApp';
  /** Secrets Manager secret holding the bot token: `{"token":"xoxb-…"}` or the bare token. Scope: `chat:write`. */
  readonly secret: string;
  /** The Slack channel's id (`C…`); the app must be a member of it. */
  readonly channelId: string;
  /** Mention per severity (see {@link postToSlackApp} for where they go). */
  readonly mentions?: SlackMentions;
}

/**
 * PagerDuty Events API v2: one PagerDuty alert per incident (`dedup_key` = the incident key), triggered by trouble,
 * acknowledged by `incident.acknowledged`, resolved when the incident ends. A machine consumer: it gets every event its
 * filter lets through (PagerDuty deduplicates), grouped ones included.
 */
export interface PagerDutyChannel extends ChannelBase {
  readonly kind: 'pagerduty';
  /** Secrets Manager secret holding the integration's routing key: `{"routingKey":"…"}` or the bare 32-character key. */
  readonly secret: string;
}

/** A chat or webhook channel the deliverer serves. */
export type Channel = WebhookChannel | QDeveloperChannel | SlackAppChannel | PagerDutyChannel;

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

/** Where a Slack message is: the channel id and the message's timestamp. */
export interface SlackMessageRef {
  readonly channel: string;
  readonly ts: string;
}

/** A Slack message's content (`text`, `attachments`), as {@link slackMessage} renders it. */
export type SlackContent = Readonly<Record<string, unknown>>;

/** The Slack Web API with a channel's bot token. Every method throws `DeliveryError` (never naming the token). */
export interface SlackApi {
  /** `chat.postMessage`: a message in the channel. */
  post(channel: SlackAppChannel, content: SlackContent, options?: { signal?: AbortSignal }): Promise<SlackMessageRef>;
  /**
   * `chat.postMessage` with `thread_ts`: a reply in the thread of `parent` (`broadcast`: also shown in the channel).
   * `'gone'` when the thread is not there any more (`thread_not_found`, `message_not_found`).
   */
  reply(
    channel: SlackAppChannel,
    parent: SlackMessageRef,
    content: SlackContent,
    options?: { broadcast?: boolean; signal?: AbortSignal },
  ): Promise<SlackMessageRef | 'gone'>;
  /**
   * `chat.update`: replaces the message's content. `'gone'` when it cannot be edited any more (`message_not_found`,
   * `cant_update_message`, `edit_window_closed`).
   */
  update(
    channel: SlackAppChannel,
    message: SlackMessageRef,
    content: SlackContent,
    options?: { signal?: AbortSignal },
  ): Promise<'updated' | 'gone'>;
}

/** PagerDuty Events API v2 with a channel's routing key; throws `DeliveryError` (never naming the key). */
export interface PagerDutyApi {
  send(channel: PagerDutyChannel, event: PagerDutyEvent, options?: { signal?: AbortSignal }): Promise<void>;
}

/** An incident's thread in one Slack app channel. */
export interface SlackThread {
  /** The first message: the thread's parent, edited to show the incident's current state. */
  readonly ref: SlackMessageRef;
  /** What the first message shows: the {@link eventOrder} of its event. */
  readonly shown: string;
}

/**
 * The Slack threads of incidents, per (channel, incident key), kept with the delivery log. Creating one is claimed
 * first (with a lease), so two deliveries of an incident's first events at once post one thread, not two.
 */
export interface SlackThreads {
  /** The thread; `'creating'` while another attempt holds an unexpired claim to post it; `undefined`: none. */
  get(channelId: string, incidentKey: string, now: Date): Promise<SlackThread | 'creating' | undefined>;
  /** `true`: this attempt posts the thread (there was none, or the claim of a crashed attempt expired). */
  claim(channelId: string, incidentKey: string, now: Date, leaseUntil: Date): Promise<boolean>;
  /** Stores the thread (new, or posted anew), kept until `expiresAt`. */
  save(channelId: string, incidentKey: string, thread: SlackThread, expiresAt: Date): Promise<void>;
  /** Drops this attempt's claim after a failed post, so the next attempt can post at once. */
  release(channelId: string, incidentKey: string): Promise<void>;
  /**
   * Records that the first message (`message`) now shows `shown`, only if that is newer than what it shows; `false`
   * when it shows a newer (or the same) event already, or the thread has another first message.
   */
  advance(
    channelId: string,
    incidentKey: string,
    message: SlackMessageRef,
    shown: string,
    expiresAt: Date,
  ): Promise<boolean>;
  /** Undoes an `advance` to `from` whose edit failed (back to `to`), unless something else moved it on since. */
  restore(
    channelId: string,
    incidentKey: string,
    message: SlackMessageRef,
    from: string,
    to: string,
    expiresAt: Date,
  ): Promise<void>;
}

export interface DeliveryDeps {
  readonly targets: ChannelTargets;
  readonly poster: ChannelPoster;
  /** Needed only when a `qdeveloper` channel is configured. */
  readonly topics?: TopicPoster;
  /** Needed only when a `slackApp` channel is configured (with `threads`). */
  readonly slack?: SlackApi;
  readonly threads?: SlackThreads;
  /** Needed only when a `pagerduty` channel is configured. */
  readonly pagerDuty?: PagerDutyApi;
  readonly log: DeliveryLog;
  readonly now: () => Date;
  /** @default 2 min */
  readonly leaseMs?: number;
  /** How long a delivery is remembered for deduplication. @default 7 days */
  readonly dedupeMs?: number;
  /** How long an incident's Slack thread is remembered after its last event. @default 30 days */
  readonly threadTtlMs?: number;
  /** How long a delivery waits for another attempt to post the incident's thread before failing (retryable). @default 3 s */
  readonly threadWaitMs?: number;
  /** @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
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

/**
 * Channels read by people: they get a `monitor.grouped` event instead of the events it stands for. Webhooks and
 * PagerDuty are machine consumers (PagerDuty deduplicates by incident itself): they get every event.
 */
const FOR_PEOPLE: ReadonlySet<Channel['kind']> = new Set(['slack', 'teams', 'qdeveloper', 'slackApp']);

/** Whether the event is about a repository of one of the organizations (matched by id or name, any letter case). */
export function inOrganizations(organizations: readonly string[], event: MonitorEvent): boolean {
  const o = event.organization;
  if (o === undefined) return false;
  const names = new Set([o.id, o.name ?? ''].map((x) => x.toLowerCase()));
  return organizations.some((x) => names.has(x.toLowerCase()));
}

/**
 * Whether a channel's filter lets an event through. A tenant's channel (`organizations`) gets only its repositories'
 * events. An escalation channel (`escalateAfterMinutes`) first requires
 * the incident to have been escalated that far (`incident.escalated` then always passes). Otherwise the monitor's word
 * about its own health always passes; a group passes when the filter names `monitor.grouped` or the type it groups:
 * the events it stands for do not reach that channel themselves.
 */
export function accepts(channel: Channel, event: MonitorEvent): boolean {
  if (channel.organizations !== undefined && !inOrganizations(channel.organizations, event)) return false;
  // The monitor's word about its own health reaches every channel, escalation channels included: it is blind there.
  if (ALWAYS_DELIVERED.includes(event.type)) return true;
  if (channel.escalateAfterMinutes !== undefined) {
    const reached = event.incident?.escalatedAfterMinutes ?? null;
    if (reached === null || reached < channel.escalateAfterMinutes) return false;
    if (event.type === 'incident.escalated') return true;
  }
  const types = channel.eventTypes;
  if (!types || types.length === 0) return true;
  // PagerDuty: what acknowledges or resolves an alert passes whatever the filter lists, or an alert the filter let
  // trigger would never be resolved there (a resolve of an alert PagerDuty does not have is a no-op).
  if (
    channel.kind === 'pagerduty' &&
    event.incident &&
    (event.type === 'incident.acknowledged' || event.incident.status === 'resolved')
  ) {
    return true;
  }
  return types.includes(event.type) || (event.group !== undefined && types.includes(event.group.type));
}

/**
 * Where an event stands in its incident: `occurredAt`, then the sequence number of its id (events of one cycle share a
 * time). Strings that sort in event order; the first message of a Slack thread shows the greatest.
 */
export function eventOrder(event: MonitorEvent): string {
  const sequence = Number.parseInt(event.eventId.split('/').at(-2) ?? '', 10);
  return `${event.occurredAt}#${String(Number.isFinite(sequence) ? sequence : 0).padStart(12, '0')}`;
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
    case 'slackApp':
      return JSON.stringify(slackMessage(event, channel.mentions));
    case 'pagerduty':
      return JSON.stringify(pagerDutyEventOf(event));
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
  // PagerDuty is sent only what changes an alert there (trigger, acknowledge, resolve); the rest counts as filtered.
  const filtered = channels.filter(
    (c) => !accepts(c, event) || (c.kind === 'pagerduty' && pagerDutyEventOf(event) === null),
  );
  const grouped = event.groupedIn ? channels.filter((c) => !filtered.includes(c) && FOR_PEOPLE.has(c.kind)) : [];
  // A Slack app thread of an incident still learns where it stands from an event a group stands for: its first
  // message is edited (no reply: the group message says it in the channel).
  const edits = grouped.filter((c): c is SlackAppChannel => c.kind === 'slackApp' && event.incident !== undefined);
  const report = await deliverEach(
    [
      ...channels
        .filter((c) => !filtered.includes(c) && !grouped.includes(c))
        .map((channel) => ({ channel, send: () => sendEvent(channel, event, deps, signal) })),
      ...edits.map((channel) => ({ channel, send: () => postToSlackApp(channel, event, deps, signal, 'edit-only') })),
    ],
    event.eventId,
    deps,
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
    case 'slackApp':
      return JSON.stringify(slackAlarmMessage(alarm, channel.mentions));
    case 'pagerduty':
      return JSON.stringify(pagerDutyAlarmEventOf(alarm));
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
  // PagerDuty: ALARM triggers, OK resolves; INSUFFICIENT_DATA means nothing there.
  const filtered = channels.filter((c) => c.kind === 'pagerduty' && pagerDutyAlarmEventOf(alarm) === null);
  const report = await deliverEach(
    channels
      .filter((c) => !filtered.includes(c))
      .map((channel) => ({ channel, send: () => sendAlarm(channel, alarm, raw, deps, signal) })),
    `alarm/${alarm.messageId}`,
    deps,
  );
  return { ...report, filtered: filtered.map((c) => c.id), grouped: [] };
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
    accepted.map((channel) => ({ channel, send: () => postTo(channel, message, deps, signal) })),
    `alarm/${messageId}`,
    deps,
  );
  return { ...report, filtered, grouped: [] };
}

/** Sends each (channel, send) once per `key`, recording it in the delivery log; throws naming every failure. */
async function deliverEach(
  posts: readonly { channel: Channel; send: () => Promise<void> }[],
  key: string,
  deps: DeliveryDeps,
): Promise<Omit<DeliveryReport, 'filtered' | 'grouped'>> {
  const delivered: string[] = [];
  const duplicates: string[] = [];
  const failures: { channel: string; error: DeliveryError }[] = [];
  await Promise.all(
    posts.map(async ({ channel, send }) => {
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
        await send();
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
  if (channel.kind === 'slackApp' || channel.kind === 'pagerduty')
    throw new DeliveryError(`channel ${channel.id}: a ${channel.kind} channel takes no rendered body`, false);
  const target = await deps.targets.target(channel);
  await deps.poster.post(channel.id, target, body, { signal });
}

async function sendEvent(
  channel: Channel,
  event: MonitorEvent,
  deps: DeliveryDeps,
  signal?: AbortSignal,
): Promise<void> {
  switch (channel.kind) {
    case 'slackApp':
      return postToSlackApp(channel, event, deps, signal);
    case 'pagerduty': {
      const pd = pagerDutyEventOf(event);
      if (pd) await pagerDutyOf(channel, deps).send(channel, pd, { signal });
      return;
    }
    default:
      return postTo(channel, bodyFor(channel, event), deps, signal);
  }
}

async function sendAlarm(
  channel: Channel,
  alarm: MonitorAlarm,
  raw: string,
  deps: DeliveryDeps,
  signal?: AbortSignal,
): Promise<void> {
  switch (channel.kind) {
    case 'slackApp':
      await slackOf(channel, deps).api.post(channel, slackAlarmMessage(alarm, channel.mentions), { signal });
      return;
    case 'pagerduty': {
      const pd = pagerDutyAlarmEventOf(alarm);
      if (pd) await pagerDutyOf(channel, deps).send(channel, pd, { signal });
      return;
    }
    default:
      return postTo(channel, alarmBodyFor(channel, alarm, raw), deps, signal);
  }
}

function pagerDutyOf(channel: PagerDutyChannel, deps: DeliveryDeps): PagerDutyApi {
  if (!deps.pagerDuty) throw new DeliveryError(`channel ${channel.id}: no PagerDuty client configured`, false);
  return deps.pagerDuty;
}

function slackOf(channel: SlackAppChannel, deps: DeliveryDeps): { api: SlackApi; threads: SlackThreads } {
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
async function postToSlackApp(
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
