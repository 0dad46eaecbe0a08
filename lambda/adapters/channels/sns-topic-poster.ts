import { PublishCommand, type SNSClient } from '@aws-sdk/client-sns';
import type { TopicPoster } from '../../domain/delivery-ports.js';
import { DeliveryError } from '../../domain/errors.js';
import { awsCause } from '../aws-errors.js';

/** SNS errors that a retry cannot fix (wrong topic, no permission, message rejected). */
const PERMANENT = new Set([
  'AuthorizationErrorException',
  'AuthorizationError',
  'NotFoundException',
  'NotFound',
  'InvalidParameterException',
  'InvalidParameter',
  'InvalidParameterValueException',
  'InvalidParameterValue',
  'KMSDisabledException',
  'KMSNotFoundException',
]);

/**
 * Publishes a channel's message to its SNS topic (Amazon Q Developer channels subscribe to one). The SDK retries
 * throttling and 5xx itself; what still fails becomes a `DeliveryError` naming the channel, never the message.
 */
export class SnsTopicPoster implements TopicPoster {
  constructor(private readonly client: SNSClient) {}

  async publish(channelId: string, topicArn: string, body: string, options: { signal?: AbortSignal } = {}) {
    try {
      await this.client.send(new PublishCommand({ TopicArn: topicArn, Message: body }), {
        abortSignal: options.signal,
      });
    } catch (err) {
      const cause = awsCause(err);
      const status = (cause as Error & { httpStatusCode?: number }).httpStatusCode;
      throw new DeliveryError(
        `channel ${channelId}: SNS publish failed (${cause.name}${status ? ` ${status}` : ''})`,
        !PERMANENT.has(cause.name),
        status,
        { cause },
      );
    }
  }
}
