import {
  type MessageAttributeValue,
  PublishBatchCommand,
  type PublishBatchRequestEntry,
  PublishCommand,
  type SNSClient,
} from '@aws-sdk/client-sns';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type SnsStandIn, startSnsStandIn } from '../../local/stand-ins/sns-stand-in.js';

/*
 * The stand-in refuses what Amazon SNS refuses, with the same error codes, so the notifier's tests see what AWS would
 * refuse. Requests go through the real SDK client.
 */

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:vb365-sync-monitor';
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

function entry(id: string, overrides: Partial<PublishBatchRequestEntry> = {}): PublishBatchRequestEntry {
  return { Id: id, Message: 'hello', ...overrides };
}

function batch(entries: PublishBatchRequestEntry[]) {
  return client.send(new PublishBatchCommand({ TopicArn: TOPIC, PublishBatchRequestEntries: entries }));
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const err = (await promise.then(
    () => undefined,
    (e: unknown) => e,
  )) as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } } | undefined;
  return err === undefined ? undefined : `${err.$metadata?.httpStatusCode} ${err.Code ?? err.name}`;
}

function attributes(n: number): Record<string, MessageAttributeValue> {
  return Object.fromEntries(
    Array.from({ length: n }, (_, i) => [`a${i}`, { DataType: 'String', StringValue: 'v' }] as const),
  );
}

describe('SnsStandIn', () => {
  it('accepts a message of exactly 262,144 bytes counting its attributes, and refuses one byte more', async () => {
    const attrs = { type: { DataType: 'String', StringValue: 'sync.failed' } };
    const room = 262_144 - ('type'.length + 'String'.length + 'sync.failed'.length);

    const fits = await codeOf(
      client.send(new PublishCommand({ TopicArn: TOPIC, Message: 'm'.repeat(room), MessageAttributes: attrs })),
    );
    const over = await codeOf(
      client.send(new PublishCommand({ TopicArn: TOPIC, Message: 'm'.repeat(room + 1), MessageAttributes: attrs })),
    );

    expect(fits).toBeUndefined();
    expect(over).toBe('400 InvalidParameter');
  });

  it('counts the whole MessageStructure=json text, and refuses one without a default string', async () => {
    const big = JSON.stringify({ default: 'd'.repeat(131_072), email: 'e'.repeat(131_072) });

    const tooBig = await codeOf(
      client.send(new PublishCommand({ TopicArn: TOPIC, Message: big, MessageStructure: 'json' })),
    );
    const noDefault = await codeOf(
      client.send(new PublishCommand({ TopicArn: TOPIC, Message: '{"email":"x"}', MessageStructure: 'json' })),
    );
    const notJson = await codeOf(
      client.send(new PublishCommand({ TopicArn: TOPIC, Message: '{"default":', MessageStructure: 'json' })),
    );

    expect([tooBig, noDefault, notJson]).toEqual([
      '400 InvalidParameter',
      '400 InvalidParameter',
      '400 InvalidParameter',
    ]);
    expect(sns.received).toEqual([]);
  });

  it('refuses a batch over 262,144 bytes in all even when each entry fits', async () => {
    const code = await codeOf(
      batch([entry('a', { Message: 'x'.repeat(140_000) }), entry('b', { Message: 'y'.repeat(140_000) })]),
    );

    expect(code).toBe('400 BatchRequestTooLong');
    expect(sns.requests.at(-1)).toMatchObject({ entries: 2, bytes: 280_000, refused: 'BatchRequestTooLong' });
  });

  it('refuses more than 10 entries, no entry, repeated ids and ids SNS does not allow', async () => {
    const codes = [
      await codeOf(batch(Array.from({ length: 11 }, (_, i) => entry(`e${i}`)))),
      await codeOf(batch([entry('same'), entry('same')])),
      await codeOf(batch([entry('not.allowed')])),
      await codeOf(batch([entry('x'.repeat(81))])),
    ];

    expect(codes).toEqual([
      '400 TooManyEntriesInBatchRequest',
      '400 BatchEntryIdsNotDistinct',
      '400 InvalidBatchEntryId',
      '400 InvalidBatchEntryId',
    ]);
    expect(sns.received).toEqual([]);
  });

  it('fails an entry whose subject or attributes SNS refuses, and delivers the others', async () => {
    const out = await batch([
      entry('ok', { Subject: '[VB365] fine' }),
      entry('newline', { Subject: 'line\nbreak' }),
      entry('long', { Subject: 's'.repeat(101) }),
      entry('unicode', { Subject: 'Société' }),
      entry('eleven', { MessageAttributes: attributes(11) }),
      entry('ten', { MessageAttributes: attributes(10) }),
    ]);

    expect(out.Successful?.map((s) => s.Id)).toEqual(['ok', 'ten']);
    expect(out.Failed?.map((f) => [f.Id, f.Code, f.SenderFault])).toEqual([
      ['newline', 'InvalidParameter', true],
      ['long', 'InvalidParameter', true],
      ['unicode', 'InvalidParameter', true],
      ['eleven', 'InvalidParameterValue', true],
    ]);
  });
});
