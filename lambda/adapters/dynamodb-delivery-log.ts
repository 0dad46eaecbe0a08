import {
  type AttributeValue,
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { DeliveryLog, SlackMessageRef, SlackThread, SlackThreads } from '../domain/delivery-ports.js';
import { StateStoreError } from '../domain/errors.js';
import { TABLE_SCHEMA } from '../names.js';
import { awsCause } from './aws-errors.js';

/**
 * The deliverer's dedupe log in the monitor's table: one item per (channel, event), `pk = DELIVERY#<channel>`,
 * `sk = <eventId>`, with `status` (`sending` under a lease, or `delivered`) and TTL. A claim is a conditional put that
 * succeeds when no item exists or the previous claim's lease has expired.
 */
export class DynamoDbDeliveryLog implements DeliveryLog {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async claim(
    channelId: string,
    eventId: string,
    now: Date,
    leaseUntil: Date,
  ): Promise<'claimed' | 'delivered' | 'busy'> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...this.#key(channelId, eventId),
            status: { S: 'sending' },
            leaseUntil: { N: String(leaseUntil.getTime()) },
            [TABLE_SCHEMA.ttlAttribute]: { N: String(Math.floor(leaseUntil.getTime() / 1000) + 86_400) },
          },
          ConditionExpression: 'attribute_not_exists(#pk) OR (#status = :sending AND #lease < :now)',
          ExpressionAttributeNames: { '#pk': TABLE_SCHEMA.partitionKey, '#status': 'status', '#lease': 'leaseUntil' },
          ExpressionAttributeValues: { ':sending': { S: 'sending' }, ':now': { N: String(now.getTime()) } },
        }),
      );
      return 'claimed';
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw this.#error('PutItem', err);
    }
    const existing = await this.client
      .send(new GetItemCommand({ TableName: this.tableName, Key: this.#key(channelId, eventId), ConsistentRead: true }))
      .catch((err: unknown) => {
        throw this.#error('GetItem', err);
      });
    return existing.Item?.status?.S === 'delivered' ? 'delivered' : 'busy';
  }

  async delivered(channelId: string, eventId: string, expiresAt: Date): Promise<void> {
    await this.client
      .send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: {
            ...this.#key(channelId, eventId),
            status: { S: 'delivered' },
            [TABLE_SCHEMA.ttlAttribute]: { N: String(Math.floor(expiresAt.getTime() / 1000)) },
          },
        }),
      )
      .catch((err: unknown) => {
        throw this.#error('PutItem', err);
      });
  }

  async release(channelId: string, eventId: string): Promise<void> {
    await this.client
      .send(new DeleteItemCommand({ TableName: this.tableName, Key: this.#key(channelId, eventId) }))
      .catch((err: unknown) => {
        throw this.#error('DeleteItem', err);
      });
  }

  #key(channelId: string, eventId: string) {
    return {
      [TABLE_SCHEMA.partitionKey]: { S: `DELIVERY#${channelId}` },
      [TABLE_SCHEMA.sortKey]: { S: eventId },
    };
  }

  #error(operation: string, err: unknown): StateStoreError {
    const e = err as Error;
    return new StateStoreError(`DynamoDB ${operation} on table ${this.tableName} failed: ${e.name}: ${e.message}`, {
      cause: awsCause(err),
    });
  }
}

/**
 * The Slack threads of incidents in the monitor's table, beside the delivery log: one item per (channel, incident),
 * `pk = THREAD#<channel>`, `sk = <incident key>`, with TTL. While an attempt posts the thread's first message the item
 * is `creating` under a lease (a conditional put, so two deliveries at once post one thread); then `ready`, with the
 * message (`channel`, `ts`) and the order of the event it shows (`shown`). Every write is a `PutItem` (the deliverer's
 * grant stays PutItem, GetItem, DeleteItem); moving `shown` on is conditional, so an older event never overwrites a
 * newer state.
 */
export class DynamoDbSlackThreads implements SlackThreads {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async get(channelId: string, incidentKey: string, now: Date): Promise<SlackThread | 'creating' | undefined> {
    const { Item: item } = await this.client
      .send(
        new GetItemCommand({ TableName: this.tableName, Key: this.#key(channelId, incidentKey), ConsistentRead: true }),
      )
      .catch((err: unknown) => {
        throw this.#error('GetItem', err);
      });
    if (!item) return undefined;
    if (item.status?.S === 'ready' && item.channel?.S && item.ts?.S) {
      return { ref: { channel: item.channel.S, ts: item.ts.S }, shown: item.shown?.S ?? '' };
    }
    return item.status?.S === 'creating' && Number(item.leaseUntil?.N ?? 0) > now.getTime() ? 'creating' : undefined;
  }

  async claim(channelId: string, incidentKey: string, now: Date, leaseUntil: Date): Promise<boolean> {
    return this.#put(
      {
        ...this.#key(channelId, incidentKey),
        status: { S: 'creating' },
        leaseUntil: { N: String(leaseUntil.getTime()) },
        [TABLE_SCHEMA.ttlAttribute]: { N: String(Math.floor(leaseUntil.getTime() / 1000) + 86_400) },
      },
      'attribute_not_exists(#pk) OR (#status = :creating AND #lease < :now)',
      { '#pk': TABLE_SCHEMA.partitionKey, '#status': 'status', '#lease': 'leaseUntil' },
      { ':creating': { S: 'creating' }, ':now': { N: String(now.getTime()) } },
    );
  }

  async save(channelId: string, incidentKey: string, thread: SlackThread, expiresAt: Date): Promise<void> {
    await this.#put(this.#item(channelId, incidentKey, thread.ref, thread.shown, expiresAt));
  }

  async release(channelId: string, incidentKey: string): Promise<void> {
    await this.client
      .send(
        new DeleteItemCommand({
          TableName: this.tableName,
          Key: this.#key(channelId, incidentKey),
          // Only a claim: a thread another attempt stored meanwhile stays.
          ConditionExpression: '#status = :creating',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':creating': { S: 'creating' } },
        }),
      )
      .catch((err: unknown) => {
        if (!(err instanceof ConditionalCheckFailedException)) throw this.#error('DeleteItem', err);
      });
  }

  async advance(
    channelId: string,
    incidentKey: string,
    message: SlackMessageRef,
    shown: string,
    expiresAt: Date,
  ): Promise<boolean> {
    return this.#put(
      this.#item(channelId, incidentKey, message, shown, expiresAt),
      '#status = :ready AND #ts = :ts AND #shown < :shown',
      { '#status': 'status', '#ts': 'ts', '#shown': 'shown' },
      { ':ready': { S: 'ready' }, ':ts': { S: message.ts }, ':shown': { S: shown } },
    );
  }

  async restore(
    channelId: string,
    incidentKey: string,
    message: SlackMessageRef,
    from: string,
    to: string,
    expiresAt: Date,
  ): Promise<void> {
    await this.#put(
      this.#item(channelId, incidentKey, message, to, expiresAt),
      '#status = :ready AND #ts = :ts AND #shown = :from',
      { '#status': 'status', '#ts': 'ts', '#shown': 'shown' },
      { ':ready': { S: 'ready' }, ':ts': { S: message.ts }, ':from': { S: from } },
    );
  }

  #item(channelId: string, incidentKey: string, ref: SlackMessageRef, shown: string, expiresAt: Date) {
    return {
      ...this.#key(channelId, incidentKey),
      status: { S: 'ready' },
      channel: { S: ref.channel },
      ts: { S: ref.ts },
      shown: { S: shown },
      [TABLE_SCHEMA.ttlAttribute]: { N: String(Math.floor(expiresAt.getTime() / 1000)) },
    };
  }

  /** A put; with a condition, `false` when it does not hold. */
  async #put(
    item: Record<string, AttributeValue>,
    condition?: string,
    names?: Record<string, string>,
    values?: Record<string, AttributeValue>,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: item,
          ...(condition
            ? { ConditionExpression: condition, ExpressionAttributeNames: names, ExpressionAttributeValues: values }
            : {}),
        }),
      );
      return true;
    } catch (err) {
      if (condition && err instanceof ConditionalCheckFailedException) return false;
      throw this.#error('PutItem', err);
    }
  }

  #key(channelId: string, incidentKey: string) {
    return {
      [TABLE_SCHEMA.partitionKey]: { S: `THREAD#${channelId}` },
      [TABLE_SCHEMA.sortKey]: { S: incidentKey },
    };
  }

  #error(operation: string, err: unknown): StateStoreError {
    const e = err as Error;
    return new StateStoreError(`DynamoDB ${operation} on table ${this.tableName} failed: ${e.name}: ${e.message}`, {
      cause: awsCause(err),
    });
  }
}
