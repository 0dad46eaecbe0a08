import type { PagerDutyChannel, SlackAppChannel, WebhookChannel } from './channels.js';
import type { PagerDutyEvent } from './render-pagerduty.js';

/* What delivery needs from the outside (targets, posters, the delivery log, Slack and PagerDuty), and what it reports. */

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
