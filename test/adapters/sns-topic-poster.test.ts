import type { SNSClient } from '@aws-sdk/client-sns';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SnsTopicPoster } from '../../lambda/adapters/channels/sns-topic-poster.js';
import { DeliveryError } from '../../lambda/domain/errors.js';
import { type SnsStandIn, startSnsStandIn } from '../../local/stand-ins/sns-stand-in.js';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:vb365-qdeveloper-1';
let sns: SnsStandIn;
let client: SNSClient;

beforeEach(async () => {
  sns = await startSnsStandIn();
  client = sns.client(1);
});

afterEach(async () => {
  client.destroy();
  await sns.close();
});

describe('SnsTopicPoster (real SDK, loopback SNS)', () => {
  it('publishes the body as the raw message of the channel topic', async () => {
    await new SnsTopicPoster(client).publish('q-1', TOPIC, '{"version":"1.0","source":"custom"}');

    expect(sns.received).toEqual([
      expect.objectContaining({ topicArn: TOPIC, message: '{"version":"1.0","source":"custom"}' }),
    ]);
    expect(sns.received[0]?.messageStructure).toBeUndefined();
  });

  it.each([
    [500, 'InternalError', true],
    [400, 'Throttling', true],
    [403, 'AuthorizationError', false],
    [404, 'NotFound', false],
  ])(
    'translates HTTP %d %s into a DeliveryError (retryable: %s) without the message',
    async (status, code, retryable) => {
      sns.inject({ kind: 'error', status, code, message: 'refused' });

      const err = await new SnsTopicPoster(client).publish('q-1', TOPIC, 'secret-ish body').catch((e: unknown) => e);

      expect(err).toBeInstanceOf(DeliveryError);
      expect((err as DeliveryError).retryable).toBe(retryable);
      expect((err as DeliveryError).message).toMatch(
        new RegExp(`^channel q-1: SNS publish failed \\(${code}(Exception)? ${status}\\)$`),
      );
      expect(String((err as DeliveryError).message)).not.toContain('secret-ish');
    },
  );
});
