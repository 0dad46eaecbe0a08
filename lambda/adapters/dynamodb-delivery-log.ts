import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import type { DeliveryLog } from '../domain/delivery.js';
import { StateStoreError } from '../domain/errors.js';
import { awsCause } from './aws-errors.js';
import { TABLE_SCHEMA } from './dynamodb-state-store.js';

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
