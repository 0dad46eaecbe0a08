import { Logger } from '@aws-lambda-powertools/logger';
import type { Context, SNSEvent, SNSMessage } from 'aws-lambda';
import { loadDelivererConfig } from './config.js';
import { parseAlarm } from './domain/alarm.js';
import { deliverAlarm, deliverEvent, forwardOther } from './domain/delivery.js';
import type { DeliveryDeps, DeliveryReport } from './domain/delivery-ports.js';
import type { MonitorEvent } from './domain/events.js';
import { SERVICE_NAMES } from './names.js';
import { delivererDeps } from './wiring.js';

const logger = new Logger({ serviceName: SERVICE_NAMES.deliverer });
const config = loadDelivererConfig(process.env);
// Built once per container (lambda/wiring.ts), started at init; a failure surfaces in the invocation that awaits it,
// and the next invocation builds it again.
let building: Promise<DeliveryDeps> | undefined;
function dependencies(): Promise<DeliveryDeps> {
  building ??= delivererDeps(config).catch((err: unknown) => {
    building = undefined;
    throw err;
  });
  return building;
}
dependencies().catch(() => undefined);

/**
 * Subscribed to the events topic: delivers each event to the configured chat and webhook channels, once per channel.
 * Throws when a channel could not be served, so Lambda retries the invocation and its dead-letter queue keeps what
 * never gets through; channels already served are not posted again (dedupe log).
 */
export async function handler(event: SNSEvent, context: Context): Promise<DeliveryReport[]> {
  logger.addContext(context);
  const deps = await dependencies();
  const reports: DeliveryReport[] = [];
  for (const record of event.Records) {
    const signal = AbortSignal.timeout(Math.max(1_000, context.getRemainingTimeInMillis() - 3_000));
    const message = parseEvent(record.Sns.Message);
    if (message) {
      const report = await deliverEvent(message, config.channels, deps, signal);
      logger.info('event delivered', { eventId: message.eventId, type: message.type, ...report });
      reports.push(report);
    } else {
      reports.push(await deliverNotAnEvent(record.Sns, deps, signal));
    }
  }
  return reports;
}

/**
 * The monitor's own CloudWatch alarms share the topic: email gets AWS's rendering from SNS, every channel here gets
 * ours (Q Developer gets the alarm as it is, rendered natively there). Anything else goes to Q Developer only.
 */
async function deliverNotAnEvent(sns: SNSMessage, deps: DeliveryDeps, signal: AbortSignal): Promise<DeliveryReport> {
  const alarm = parseAlarm(sns.MessageId, sns.Message);
  if (alarm) {
    const report = await deliverAlarm(alarm, sns.Message, config.channels, deps, signal);
    logger.info('alarm delivered', { messageId: sns.MessageId, alarm: alarm.name, state: alarm.state, ...report });
    return report;
  }
  const report = await forwardOther(sns.MessageId, sns.Message, config.channels, deps, signal);
  logger.info('neither a monitor event nor an alarm; forwarded to Amazon Q Developer channels only', {
    messageId: sns.MessageId,
    subject: sns.Subject,
    ...report,
  });
  return report;
}

function parseEvent(text: string): MonitorEvent | undefined {
  try {
    const json = JSON.parse(text) as Partial<MonitorEvent>;
    return json.schemaVersion === 1 && typeof json.eventId === 'string' && typeof json.type === 'string'
      ? (json as MonitorEvent)
      : undefined;
  } catch {
    return undefined;
  }
}
