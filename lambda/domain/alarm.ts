import type { Severity } from './events.js';
import { utc } from './format.js';
import type { EventView } from './render-text.js';

/*
 * The monitor's own CloudWatch alarms (poll function errors, throttles and silence, dead letters) notify the alarms topic with
 * their JSON state-change message. Email gets AWS's own rendering; the deliverer renders them for chat and webhooks
 * from this shape. Alarm text is AWS-generated, but it is treated like server text: untrusted.
 */

/** A CloudWatch alarm state change, as read from the SNS message. Every field is as sent, unescaped. */
export interface MonitorAlarm {
  /** The SNS message id: one alarm message, so the dedupe key of its deliveries. */
  readonly messageId: string;
  readonly name: string;
  readonly description: string | null;
  /** `ALARM`, `OK` or `INSUFFICIENT_DATA` (any other string is kept as sent). */
  readonly state: string;
  readonly previousState: string | null;
  readonly reason: string | null;
  /** ISO-8601 UTC when CloudWatch's time could be read; `null` otherwise. */
  readonly changedAt: string | null;
  readonly region: string | null;
  readonly accountId: string | null;
  readonly arn: string | null;
}

/**
 * The alarm in a CloudWatch alarm notification (`AlarmName` and `NewStateValue` strings), or `undefined` for any other
 * message (not JSON, a monitor event, something else). Never throws.
 */
export function parseAlarm(messageId: string, message: string): MonitorAlarm | undefined {
  let json: unknown;
  try {
    json = JSON.parse(message);
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const o = json as Record<string, unknown>;
  const text = (key: string): string | null => (typeof o[key] === 'string' && o[key] !== '' ? o[key] : null);
  const name = text('AlarmName');
  const state = text('NewStateValue');
  if (name === null || state === null) return undefined;
  // CloudWatch writes `2026-11-28T12:30:00.000+0000`.
  const changed = Date.parse(text('StateChangeTime') ?? '');
  return {
    messageId,
    name,
    description: text('AlarmDescription'),
    state,
    previousState: text('OldStateValue'),
    reason: text('NewStateReason'),
    changedAt: Number.isNaN(changed) ? null : new Date(changed).toISOString(),
    region: text('Region'),
    accountId: text('AWSAccountId'),
    arn: text('AlarmArn'),
  };
}

/** `critical` in ALARM, `info` when OK again, `warning` otherwise (insufficient data). */
export function alarmSeverity(alarm: MonitorAlarm): Severity {
  if (alarm.state === 'ALARM') return 'critical';
  return alarm.state === 'OK' ? 'info' : 'warning';
}

/** "Monitor alarm: <name> is ALARM". */
export function alarmTitle(alarm: MonitorAlarm): string {
  return `Monitor alarm: ${alarm.name} is ${alarm.state}`;
}

/** What to do about each of the monitor's alarms, recognised by the construct id CloudFormation keeps in the name. */
const ALARM_NEXT: readonly { readonly match: RegExp; readonly next: string }[] = [
  {
    match: /poll.?not.?invoked/i,
    next: 'Nothing invoked the poll function for several intervals: no server is watched. Check its EventBridge Scheduler schedules (disabled or deleted?) and the schedule group; the dead-letter queue keeps polls that could not be delivered. Invoke the poll function with {"serverId": "…"} to run a cycle now.',
  },
  {
    match: /poll.?throttles/i,
    next: "Lambda refused some polls (the account's concurrency is used up, or reservedConcurrency is too low). Those polls are retried; if it stays, raise the account's concurrency quota or the configured reservation.",
  },
  {
    match: /delivery.?dead.?letter/i,
    next: "Notifications did not reach a chat or webhook channel after the retries. The deliverer's CloudWatch logs name the channel and the answer (e.g. HTTP 404: the webhook was deleted; fix the URL in the channel's secret); its dead-letter queue keeps the messages, which can be sent again by invoking the deliverer with them.",
  },
  {
    match: /dead.?letter/i,
    next: 'Scheduled polls could not invoke the poll function (throttled, deleted or no permission): the dead-letter queue keeps them with the error. Check the function and its schedule; the next cycle that runs catches up.',
  },
  {
    match: /poll.?errors/i,
    next: 'The poll function failed (DynamoDB or SNS trouble, or a bug). Its CloudWatch log group has the error; the schedule retries by itself, so an alarm that stays means it keeps failing.',
  },
];

/** What every channel shows of an alarm: the same shape as an event's view, so the chat renderers serve both. */
export function alarmViewOf(alarm: MonitorAlarm): EventView {
  const facts: { label: string; value: string }[] = [];
  const fact = (label: string, value: string | null) => {
    if (value !== null) facts.push({ label, value });
  };
  fact('Alarm', alarm.name);
  fact('State', alarm.previousState ? `${alarm.previousState} -> ${alarm.state}` : alarm.state);
  fact('What it means', alarm.description);
  fact('Reason', alarm.reason);
  fact('Changed', alarm.changedAt ? utc(alarm.changedAt) : null);
  fact('Account', [alarm.accountId, alarm.region].filter((x) => x !== null).join(', ') || null);
  let headline: string;
  let next: string | null;
  if (alarm.state === 'ALARM') {
    headline = `The monitor itself needs attention: its CloudWatch alarm ${alarm.name} is in ALARM.`;
    next =
      ALARM_NEXT.find((a) => a.match.test(alarm.name))?.next ??
      "Open the alarm in the CloudWatch console and the monitor's CloudWatch logs for the cause.";
  } else if (alarm.state === 'OK') {
    headline = `The monitor's CloudWatch alarm ${alarm.name} is OK again.`;
    next = 'Nothing to do: the condition cleared. If it keeps coming back, look at the same logs as for the alarm.';
  } else {
    headline = `The monitor's CloudWatch alarm ${alarm.name} is ${alarm.state}: CloudWatch cannot tell whether the monitor works.`;
    next = "Check that the monitor's functions still run (CloudWatch logs, the schedule).";
  }
  return {
    title: alarmTitle(alarm),
    headline,
    facts,
    progressPercent: null,
    error: null,
    lists: [],
    note: null,
    next,
    runbookUrl: null,
    incident: null,
    footer: [`Alarm message ${alarm.messageId}${alarm.changedAt ? ` at ${utc(alarm.changedAt)}` : ''}`],
  };
}

/**
 * The body a generic webhook receives for an alarm: `kind: "alarm"` tells it apart from a monitor event (which has
 * `schemaVersion` and `type`, and no `kind`). Values are as CloudWatch sent them; `id` is the SNS message id.
 */
export function alarmWebhookBody(alarm: MonitorAlarm): Record<string, unknown> {
  return {
    kind: 'alarm',
    id: alarm.messageId,
    severity: alarmSeverity(alarm),
    title: alarmTitle(alarm),
    alarm: {
      name: alarm.name,
      description: alarm.description,
      state: alarm.state,
      previousState: alarm.previousState,
      reason: alarm.reason,
      changedAt: alarm.changedAt,
      region: alarm.region,
      accountId: alarm.accountId,
      arn: alarm.arn,
    },
  };
}
