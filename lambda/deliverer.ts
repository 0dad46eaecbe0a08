import { Logger } from '@aws-lambda-powertools/logger';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import type { Context, SNSEvent } from 'aws-lambda';
import { HttpChannelSender } from './adapters/channels/http-channel-sender.js';
import { SecretChannelTargets } from './adapters/channels/secret-channel-targets.js';
import { SnsTopicPoster } from './adapters/channels/sns-topic-poster.js';
import { DynamoDbDeliveryLog } from './adapters/dynamodb-delivery-log.js';
import { loadDelivererConfig } from './config.js';
import { type DeliveryReport, deliverEvent, forwardAlarm } from './domain/delivery.js';
import type { MonitorEvent } from './domain/events.js';

const logger = new Logger({ serviceName: 'vb365-sync-monitor-deliverer' });
const config = loadDelivererConfig(process.env);
const secrets = new SecretsProvider({ awsSdkV3Client: new SecretsManagerClient({}) });
const deps = {
  targets: new SecretChannelTargets(async (name) => (await secrets.get(name, { maxAge: 300 })) as string | undefined),
  poster: new HttpChannelSender({ ca: config.caBundle }),
  topics: new SnsTopicPoster(new SNSClient({})),
  log: new DynamoDbDeliveryLog(new DynamoDBClient({}), config.tableName),
  now: () => new Date(),
};

/**
 * Subscribed to the events topic: delivers each event to the configured chat and webhook channels, once per channel.
 * Throws when a channel could not be served, so Lambda retries the invocation and its dead-letter queue keeps what
 * never gets through; channels already served are not posted again (dedupe log).
 */
export async function handler(event: SNSEvent, context: Context): Promise<DeliveryReport[]> {
  logger.addContext(context);
  const reports: DeliveryReport[] = [];
  for (const record of event.Records) {
    const signal = AbortSignal.timeout(Math.max(1_000, context.getRemainingTimeInMillis() - 3_000));
    const message = parseEvent(record.Sns.Message);
    if (!message) {
      // CloudWatch alarm notifications share the topic: email gets them from SNS; Amazon Q Developer channels get
      // them as they are (rendered natively there); Slack, Teams and webhooks get monitor events only.
      const report = await forwardAlarm(record.Sns.MessageId, record.Sns.Message, config.channels, deps, signal);
      logger.info('not a monitor event; forwarded to Amazon Q Developer channels only', {
        messageId: record.Sns.MessageId,
        subject: record.Sns.Subject,
        ...report,
      });
      reports.push(report);
      continue;
    }
    const report = await deliverEvent(message, config.channels, deps, signal);
    logger.info('event delivered', { eventId: message.eventId, type: message.type, ...report });
    reports.push(report);
  }
  return reports;
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
