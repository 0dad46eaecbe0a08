import { DeliveryError } from './errors.js';
import type { EventType, MonitorEvent } from './events.js';
import { type SlackMentions, slackMessage, teamsMessage } from './render-chat.js';

/** A chat or webhook channel the deliverer posts to. */
export interface Channel {
  /** Stable id, used in the delivery log and in error messages (never the URL). */
  readonly id: string;
  readonly kind: 'slack' | 'teams' | 'webhook';
  /** Secrets Manager secret holding the webhook URL (`{"url"}`, or the bare URL; `{"url","signingSecret"}` for webhooks). */
  readonly secret: string;
  /** Only these event types. @default all */
  readonly eventTypes?: readonly EventType[];
  /** Slack only: mention per severity. */
  readonly mentions?: SlackMentions;
}

/** Where a channel posts (from its secret). */
export interface ChannelTarget {
  readonly url: string;
  readonly signingSecret?: string | undefined;
}

/** Reads a channel's target from its secret (cached by the adapter). */
export interface ChannelTargets {
  target(channel: Channel): Promise<ChannelTarget>;
}

/** Posts a rendered body; throws `DeliveryError`. */
export interface ChannelPoster {
  post(channelId: string, target: ChannelTarget, body: string, options?: { signal?: AbortSignal }): Promise<void>;
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
  readonly log: DeliveryLog;
  readonly now: () => Date;
  /** @default 2 min */
  readonly leaseMs?: number;
  /** How long a delivery is remembered for deduplication. @default 7 days */
  readonly dedupeMs?: number;
}

export interface DeliveryReport {
  readonly delivered: readonly string[];
  readonly duplicates: readonly string[];
  readonly filtered: readonly string[];
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
  }
}

/**
 * Delivers one event to every channel whose filter accepts it, each exactly once across redeliveries. Throws one
 * `DeliveryError` naming every channel that failed (retryable when any failure is), after the others were delivered,
 * so the caller's retry (SNS, then its dead-letter queue) covers exactly what is missing.
 */
export async function deliverEvent(
  event: MonitorEvent,
  channels: readonly Channel[],
  deps: DeliveryDeps,
  signal?: AbortSignal,
): Promise<DeliveryReport> {
  const delivered: string[] = [];
  const duplicates: string[] = [];
  const filtered: string[] = [];
  const failures: { channel: string; error: DeliveryError }[] = [];
  await Promise.all(
    channels.map(async (channel) => {
      if (channel.eventTypes && channel.eventTypes.length > 0 && !channel.eventTypes.includes(event.type)) {
        filtered.push(channel.id);
        return;
      }
      const now = deps.now();
      const claim = await deps.log.claim(
        channel.id,
        event.eventId,
        now,
        new Date(now.getTime() + (deps.leaseMs ?? 120_000)),
      );
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
        const target = await deps.targets.target(channel);
        await deps.poster.post(channel.id, target, bodyFor(channel, event), { signal });
      } catch (err) {
        await deps.log.release(channel.id, event.eventId);
        const error =
          err instanceof DeliveryError
            ? err
            : new DeliveryError(`channel ${channel.id}: ${(err as Error)?.message ?? String(err)}`, true);
        failures.push({ channel: channel.id, error });
        return;
      }
      await deps.log.delivered(
        channel.id,
        event.eventId,
        new Date(deps.now().getTime() + (deps.dedupeMs ?? 7 * 86_400_000)),
      );
      delivered.push(channel.id);
    }),
  );
  if (failures.length > 0) {
    throw new DeliveryError(
      `event ${event.eventId} not delivered to ${failures.length} channel(s): ${failures.map((f) => f.error.message).join('; ')}`,
      failures.some((f) => f.error.retryable),
    );
  }
  return { delivered, duplicates, filtered };
}
