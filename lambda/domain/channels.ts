import { ALWAYS_DELIVERED, type EventType, type MonitorEvent } from './events.js';
import type { SlackMentions } from './render-slack.js';

/* The channels the deliverer serves, and the filters that decide which events reach each one. */

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
  /** Mention per severity (see `postToSlackApp`, slack-app-delivery.ts, for where they go). */
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

/**
 * Channels read by people: they get a `monitor.grouped` event instead of the events it stands for. Webhooks and
 * PagerDuty are machine consumers (PagerDuty deduplicates by incident itself): they get every event.
 */
export const FOR_PEOPLE: ReadonlySet<Channel['kind']> = new Set(['slack', 'teams', 'qdeveloper', 'slackApp']);

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
