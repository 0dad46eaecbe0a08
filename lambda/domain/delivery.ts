import { alarmWebhookBody, type MonitorAlarm } from './alarm.js';
import { accepts, type Channel, FOR_PEOPLE, type PagerDutyChannel, type SlackAppChannel } from './channels.js';
import type { DeliveryDeps, DeliveryReport, PagerDutyApi } from './delivery-ports.js';
import { DeliveryError } from './errors.js';
import type { MonitorEvent } from './events.js';
import { qDeveloperNotification, teamsAlarmMessage, teamsMessage } from './render-chat.js';
import { pagerDutyAlarmEventOf, pagerDutyEventOf } from './render-pagerduty.js';
import { slackAlarmMessage, slackMessage } from './render-slack.js';
import { postToSlackApp, slackOf } from './slack-app-delivery.js';

/*
 * Delivery of events, the monitor's own alarms and other messages to every channel, each exactly once across
 * redeliveries: the body each channel kind posts, and the webhook, Teams, Amazon Q Developer and PagerDuty sends.
 */

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
  // A tenant's channel (`organizations`) gets its repositories' events one by one: a group lists every tenant's.
  const grouped = event.groupedIn
    ? channels.filter((c) => !filtered.includes(c) && FOR_PEOPLE.has(c.kind) && c.organizations === undefined)
    : [];
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
