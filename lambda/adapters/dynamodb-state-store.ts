import {
  type AttributeValue,
  BatchGetItemCommand,
  BatchWriteItemCommand,
  ConditionalCheckFailedException,
  type ConsumedCapacity,
  type DynamoDBClient,
  PutItemCommand,
  QueryCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import type { HistoryEntry } from '../domain/digest.js';
import { StateConflictError, StateItemTooLargeError, StateStoreError } from '../domain/errors.js';
import type { MonitorEvent } from '../domain/events.js';
import type { CallOptions, FleetStore, ItemKey, ItemWrite, StateStore } from '../domain/ports.js';
import type {
  AckRequest,
  Envelope,
  FleetEntry,
  Lease,
  RepositoryRecord,
  ServerRecord,
  ServerSnapshot,
  SessionRecord,
} from '../domain/state.js';
import { TABLE_SCHEMA } from '../names.js';
import { awsCause } from './aws-errors.js';
import { DYNAMODB_LIMITS, utf8Bytes } from './limits.js';
import { LAST_SHRINK_STEP, shrinkEvent } from './shrink-event.js';

/** Repository names are refetched after this long (a rename shows up eventually). */
const NAME_TTL_SECONDS = 30 * 86_400;
/** An acknowledgement request is applied by the next cycle; kept a day in case cycles are late. */
const ACK_TTL_SECONDS = 86_400;

/** Requests and capacity this store used (for metrics and the benchmark). */
export interface StoreStats {
  queries: number;
  queryPages: number;
  puts: number;
  batchWrites: number;
  readCapacity: number;
  writeCapacity: number;
}

/** Keys read in one BatchGetItem call (DynamoDB's limit). */
const BATCH_GET_KEYS = 100;

/** Retries of the keys a BatchGetItem left unprocessed (50 ms doubling: about 3 s in all). */
const BATCH_GET_RETRIES = 6;

/** The attributes a partition Query returns (what `load` and `loadFleet` read), as expression names. */
const PARTITION_NAMES = {
  '#sk': TABLE_SCHEMA.sortKey,
  '#data': 'data',
  '#version': 'version',
  '#pending': 'pending',
  '#leaseOwner': 'leaseOwner',
  '#leaseUntil': 'leaseUntil',
  '#ttl': TABLE_SCHEMA.ttlAttribute,
} as const;
const PARTITION_PROJECTION = Object.keys(PARTITION_NAMES).join(', ');

/** The fleet check's partition: one entry per server, read in one Query. */
const FLEET_PARTITION = 'FLEET';

/**
 * State of every server in one DynamoDB table, one partition per server (`pk = SERVER#<id>`): the server item
 * (`sk = SERVER`), one item per tracked session (`SESSION#<id>`) and cached repository names (`REPO#<id>`); and the
 * fleet check's partition (`pk = FLEET`), one entry per server (`sk = SERVER#<id>`). Each item holds its record as
 * JSON in `data`, its outbox in `pending`, its lease, a `version` for conditional writes, and `expiresAt` for TTL. The
 * server item also carries its record's `polledAt` as an attribute of its own, so the fleet check reads only that.
 *
 * No item is sent over DynamoDB's limits (400 KB per item, 1,024-byte sort key, 2,048-byte partition key): an item
 * whose outbox makes it too large is written with its pending events shrunk (free text and item lists cut; ids, types
 * and totals kept, so they are still published and deduplicated as themselves).
 *
 * Failure contract: a lost conditional write is `StateConflictError`; an item that cannot fit even so (its record
 * alone is too large, or its key is) is refused before sending with a `StateItemTooLargeError` naming the item, its size and
 * the limit; any other DynamoDB failure is `StateStoreError` (message names the operation and the AWS error; the cause
 * is kept).
 */
export class DynamoDbStateStore implements StateStore, FleetStore {
  readonly stats: StoreStats = {
    queries: 0,
    queryPages: 0,
    puts: 0,
    batchWrites: 0,
    readCapacity: 0,
    writeCapacity: 0,
  };

  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async load(serverId: string, options: CallOptions = {}): Promise<ServerSnapshot> {
    let server: Envelope<ServerRecord> | undefined;
    const sessions: Envelope<SessionRecord>[] = [];
    const repositories: RepositoryRecord[] = [];
    const acks: AckRequest[] = [];
    // A cycle must see what the previous one wrote.
    await this.#partition(partitionOf(serverId), options, (item) => {
      const sk = item[TABLE_SCHEMA.sortKey]?.S ?? '';
      if (sk === 'SERVER') server = envelopeOf<ServerRecord>(item);
      else if (sk.startsWith('SESSION#')) sessions.push(envelopeOf<SessionRecord>(item));
      else if (sk.startsWith('REPO#')) repositories.push(JSON.parse(item.data?.S ?? '{}') as RepositoryRecord);
      else if (sk.startsWith('ACK#') && Number(item[TABLE_SCHEMA.ttlAttribute]?.N ?? 0) * 1000 > Date.now()) {
        // TTL deletes expired items only eventually: an expired request is ignored here.
        acks.push(JSON.parse(item.data?.S ?? '{}') as AckRequest);
      }
    });
    return acks.length > 0 ? { server, sessions, repositories, acks } : { server, sessions, repositories };
  }

  /** Every item of partition `pk`, page by page, strongly consistent (one Query; its pages counted). */
  async #partition(
    pk: string,
    options: CallOptions,
    each: (item: Record<string, AttributeValue>) => void,
  ): Promise<void> {
    let startKey: Record<string, AttributeValue> | undefined;
    this.stats.queries += 1;
    do {
      const page = await this.#send('Query', () =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: '#pk = :pk',
            // The partition key is known, and `polledAt` (the fleet check's) repeats `data`: neither is sent back.
            ProjectionExpression: PARTITION_PROJECTION,
            ExpressionAttributeNames: { '#pk': TABLE_SCHEMA.partitionKey, ...PARTITION_NAMES },
            ExpressionAttributeValues: { ':pk': { S: pk } },
            ConsistentRead: true,
            ExclusiveStartKey: startKey,
            ReturnConsumedCapacity: 'TOTAL',
          }),
          { abortSignal: options.signal },
        ),
      );
      this.stats.queryPages += 1;
      this.#count(page.ConsumedCapacity ? [page.ConsumedCapacity] : undefined, 'read');
      for (const item of page.Items ?? []) each(item);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  /** Ids of every server with state in the table (a Scan: for the `status` command, not for cycles). */
  async serverIds(): Promise<string[]> {
    const ids: string[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.#send('Scan', () =>
        this.client.send(
          new ScanCommand({
            TableName: this.tableName,
            FilterExpression: '#sk = :server',
            ProjectionExpression: '#pk',
            ExpressionAttributeNames: { '#pk': TABLE_SCHEMA.partitionKey, '#sk': TABLE_SCHEMA.sortKey },
            ExpressionAttributeValues: { ':server': { S: 'SERVER' } },
            ExclusiveStartKey: startKey,
          }),
        ),
      );
      for (const item of page.Items ?? []) {
        const pk = item[TABLE_SCHEMA.partitionKey]?.S ?? '';
        if (pk.startsWith('SERVER#')) ids.push(pk.slice('SERVER#'.length));
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return ids.sort();
  }

  async write(serverId: string, item: ItemWrite, expectedVersion: number, options: CallOptions = {}): Promise<number> {
    const version = expectedVersion + 1;
    const { pk, sk } = keysOf(serverId, item.key);
    const where = `${sk.slice(0, 80)} of server ${serverId.slice(0, 80)}`;
    const keyProblem = keyProblemOf(pk, sk);
    if (keyProblem !== undefined) throw new StateItemTooLargeError(`cannot store ${where}: ${keyProblem}`);
    const polledAt = item.key.kind === 'server' ? (item.record as ServerRecord).polledAt : undefined;
    const attributesWith = (pending: readonly MonitorEvent[]): Record<string, AttributeValue> => {
      const attributes: Record<string, AttributeValue> = {
        [TABLE_SCHEMA.partitionKey]: { S: pk },
        [TABLE_SCHEMA.sortKey]: { S: sk },
        version: { N: String(version) },
        data: { S: JSON.stringify(item.record) },
      };
      if (polledAt !== undefined) attributes.polledAt = { S: polledAt };
      if (pending.length > 0) attributes.pending = { S: JSON.stringify(pending) };
      if (item.lease) {
        attributes.leaseOwner = { S: item.lease.owner };
        attributes.leaseUntil = { S: item.lease.until };
      }
      if (item.expiresAt !== null) attributes[TABLE_SCHEMA.ttlAttribute] = { N: String(item.expiresAt) };
      return attributes;
    };
    let attributes = attributesWith(item.pending);
    // An outbox that grew (SNS down for long, a storm) or holds large events is shrunk rather than refused: the events
    // keep their ids, so what is published later is the same event, only shorter.
    for (let step = 1; itemBytes(attributes) > DYNAMODB_LIMITS.itemBytes && step <= LAST_SHRINK_STEP; step++) {
      attributes = attributesWith(item.pending.map((e) => shrinkEvent(e, step)));
    }
    const size = itemBytes(attributes);
    if (size > DYNAMODB_LIMITS.itemBytes) {
      throw new StateItemTooLargeError(
        `cannot store ${where}: the item is ${size} bytes even with its ${item.pending.length} pending event(s) shrunk, over DynamoDB's ${DYNAMODB_LIMITS.itemBytes}-byte item limit (the record alone is ${utf8Bytes(JSON.stringify(item.record))} bytes)`,
      );
    }
    this.stats.puts += 1;
    try {
      const out = await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: attributes,
          ...(expectedVersion === 0
            ? {
                ConditionExpression: 'attribute_not_exists(#pk)',
                ExpressionAttributeNames: { '#pk': TABLE_SCHEMA.partitionKey },
              }
            : {
                ConditionExpression: '#version = :expected',
                ExpressionAttributeNames: { '#version': 'version' },
                ExpressionAttributeValues: { ':expected': { N: String(expectedVersion) } },
              }),
          ReturnConsumedCapacity: 'TOTAL',
        }),
        { abortSignal: options.signal },
      );
      this.#count(out.ConsumedCapacity ? [out.ConsumedCapacity] : undefined, 'write');
      return version;
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException) {
        throw new StateConflictError(
          `${sk} of server ${serverId} changed since it was read (expected version ${expectedVersion})`,
          { cause: awsCause(err) },
        );
      }
      throw storeError('PutItem', this.tableName, err);
    }
  }

  /** Entries whose item would break DynamoDB's limits are not sent: the others are written, then it throws. */
  async recordHistory(
    serverId: string,
    entries: readonly HistoryEntry[],
    expiresAt: number,
    options: CallOptions = {},
  ): Promise<void> {
    const { fit, refused } = withinLimits(
      entries.map((e) => ({
        [TABLE_SCHEMA.partitionKey]: { S: historyPartitionOf(serverId) },
        [TABLE_SCHEMA.sortKey]: { S: `${e.finishedAt}#${e.eventId}` },
        data: { S: JSON.stringify(e) },
        [TABLE_SCHEMA.ttlAttribute]: { N: String(expiresAt) },
      })),
    );
    await this.#putAll(fit, options);
    if (refused.length > 0) {
      throw new StateStoreError(
        `${refused.length} history entr${refused.length === 1 ? 'y' : 'ies'} of server ${serverId.slice(0, 80)} not stored: ${refused[0]}`,
      );
    }
  }

  async history(serverId: string, sinceIso: string, options: CallOptions = {}): Promise<HistoryEntry[]> {
    const entries: HistoryEntry[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.#send('Query', () =>
        this.client.send(
          new QueryCommand({
            TableName: this.tableName,
            KeyConditionExpression: '#pk = :pk AND #sk >= :since',
            ExpressionAttributeNames: { '#pk': TABLE_SCHEMA.partitionKey, '#sk': TABLE_SCHEMA.sortKey },
            ExpressionAttributeValues: { ':pk': { S: historyPartitionOf(serverId) }, ':since': { S: sinceIso } },
            ExclusiveStartKey: startKey,
          }),
          { abortSignal: options.signal },
        ),
      );
      for (const item of page.Items ?? []) entries.push(JSON.parse(item.data?.S ?? '{}') as HistoryEntry);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    return entries;
  }

  /** A name whose item would break DynamoDB's limits is not cached (it costs a lookup next time, nothing more). */
  async saveRepositoryNames(
    serverId: string,
    names: readonly RepositoryRecord[],
    options: CallOptions = {},
  ): Promise<void> {
    const expiresAt = Math.floor(Date.now() / 1000) + NAME_TTL_SECONDS;
    const { fit } = withinLimits(
      names.map((n) => ({
        [TABLE_SCHEMA.partitionKey]: { S: partitionOf(serverId) },
        [TABLE_SCHEMA.sortKey]: { S: `REPO#${n.id}` },
        data: { S: JSON.stringify(n) },
        [TABLE_SCHEMA.ttlAttribute]: { N: String(expiresAt) },
      })),
    );
    await this.#putAll(fit, options);
  }

  async requestAck(serverId: string, ack: AckRequest, options: CallOptions = {}): Promise<void> {
    const item = {
      [TABLE_SCHEMA.partitionKey]: { S: partitionOf(serverId) },
      [TABLE_SCHEMA.sortKey]: { S: `ACK#${ack.key}` },
      data: { S: JSON.stringify(ack) },
      [TABLE_SCHEMA.ttlAttribute]: { N: String(Math.floor(Date.parse(ack.at) / 1000) + ACK_TTL_SECONDS) },
    };
    const { fit, refused } = withinLimits([item]);
    if (fit.length === 0)
      throw new StateStoreError(`acknowledgement of ${ack.key.slice(0, 80)}: ${refused.join('; ')}`);
    await this.#putAll(fit, options);
  }

  async loadFleet(options: CallOptions = {}): Promise<ReadonlyMap<string, Envelope<FleetEntry>>> {
    const entries = new Map<string, Envelope<FleetEntry>>();
    // A check must see what the previous one wrote (its versions guard the next writes).
    await this.#partition(FLEET_PARTITION, options, (item) => {
      const sk = item[TABLE_SCHEMA.sortKey]?.S ?? '';
      if (sk.startsWith('SERVER#')) entries.set(sk.slice('SERVER#'.length), envelopeOf<FleetEntry>(item));
    });
    return entries;
  }

  /**
   * BatchGetItem calls of 100 keys reading only `polledAt`, eventually consistent (half the cost): a poll time a
   * moment stale can only be one already older than any threshold. Unprocessed keys (throttling, the 16 MB answer
   * limit) are asked again with backoff; any still unread after that make it throw.
   */
  async lastPolled(serverIds: readonly string[], options: CallOptions = {}): Promise<ReadonlyMap<string, string>> {
    const polled = new Map<string, string>();
    let keys = [...new Set(serverIds)].map((id) => ({
      [TABLE_SCHEMA.partitionKey]: { S: partitionOf(id) },
      [TABLE_SCHEMA.sortKey]: { S: 'SERVER' },
    }));
    for (let attempt = 0; keys.length > 0; attempt++) {
      if (attempt > 0) {
        if (attempt > BATCH_GET_RETRIES) {
          throw new StateStoreError(
            `DynamoDB BatchGetItem on table ${this.tableName}: ${keys.length} server record(s) still unprocessed after ${BATCH_GET_RETRIES} retries (throttled?)`,
          );
        }
        await new Promise((r) => setTimeout(r, 50 * 2 ** (attempt - 1)));
      }
      const unprocessed: typeof keys = [];
      for (let i = 0; i < keys.length; i += BATCH_GET_KEYS) {
        const chunk = keys.slice(i, i + BATCH_GET_KEYS);
        const out = await this.#send('BatchGetItem', () =>
          this.client.send(
            new BatchGetItemCommand({
              RequestItems: {
                [this.tableName]: {
                  Keys: chunk,
                  ProjectionExpression: '#pk, #polledAt',
                  ExpressionAttributeNames: { '#pk': TABLE_SCHEMA.partitionKey, '#polledAt': 'polledAt' },
                },
              },
              ReturnConsumedCapacity: 'TOTAL',
            }),
            { abortSignal: options.signal },
          ),
        );
        this.#count(out.ConsumedCapacity, 'read');
        for (const item of out.Responses?.[this.tableName] ?? []) {
          const pk = item[TABLE_SCHEMA.partitionKey]?.S ?? '';
          const at = item.polledAt?.S;
          if (pk.startsWith('SERVER#') && at !== undefined) polled.set(pk.slice('SERVER#'.length), at);
        }
        unprocessed.push(...((out.UnprocessedKeys?.[this.tableName]?.Keys ?? []) as typeof keys));
      }
      keys = unprocessed;
    }
    return polled;
  }

  /** Unconditional puts in BatchWriteItem calls of 25; unprocessed ones (throttling) are retried a few times. */
  async #putAll(items: readonly Record<string, AttributeValue>[], options: CallOptions): Promise<void> {
    let requests = items.map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; requests.length > 0 && attempt < 4; attempt++) {
      const unprocessed: typeof requests = [];
      for (let i = 0; i < requests.length; i += 25) {
        const chunk = requests.slice(i, i + 25);
        this.stats.batchWrites += 1;
        const out = await this.#send('BatchWriteItem', () =>
          this.client.send(
            new BatchWriteItemCommand({ RequestItems: { [this.tableName]: chunk }, ReturnConsumedCapacity: 'TOTAL' }),
            { abortSignal: options.signal },
          ),
        );
        this.#count(out.ConsumedCapacity, 'write');
        unprocessed.push(...((out.UnprocessedItems?.[this.tableName] ?? []) as typeof requests));
      }
      requests = unprocessed;
      if (requests.length > 0) await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
    }
  }

  async #send<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw storeError(operation, this.tableName, err);
    }
  }

  #count(capacity: readonly ConsumedCapacity[] | undefined, kind: 'read' | 'write'): void {
    for (const c of capacity ?? []) {
      if (kind === 'read') this.stats.readCapacity += c.CapacityUnits ?? c.ReadCapacityUnits ?? 0;
      else this.stats.writeCapacity += c.CapacityUnits ?? c.WriteCapacityUnits ?? 0;
    }
  }
}

/**
 * Size of an item as DynamoDB counts it against its 400 KB limit: every attribute's name and value in UTF-8 bytes; a
 * number is counted at its largest (21 bytes), so the estimate never falls short.
 */
export function itemBytes(item: Record<string, AttributeValue>): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(item)) {
    bytes += utf8Bytes(name);
    if (value.S !== undefined) bytes += utf8Bytes(value.S);
    else if (value.N !== undefined) bytes += 21;
    else bytes += utf8Bytes(JSON.stringify(value));
  }
  return bytes;
}

/** Why DynamoDB would refuse these keys, or `undefined`. */
function keyProblemOf(partitionKey: string, sortKey: string): string | undefined {
  const pk = utf8Bytes(partitionKey);
  const sk = utf8Bytes(sortKey);
  if (pk > DYNAMODB_LIMITS.partitionKeyBytes) {
    return `its partition key is ${pk} bytes, over DynamoDB's ${DYNAMODB_LIMITS.partitionKeyBytes}-byte limit`;
  }
  if (sk > DYNAMODB_LIMITS.sortKeyBytes) {
    return `its sort key is ${sk} bytes, over DynamoDB's ${DYNAMODB_LIMITS.sortKeyBytes}-byte limit`;
  }
  return undefined;
}

/** The items DynamoDB would accept, and why each of the others would be refused. */
function withinLimits(items: readonly Record<string, AttributeValue>[]): {
  fit: Record<string, AttributeValue>[];
  refused: string[];
} {
  const fit: Record<string, AttributeValue>[] = [];
  const refused: string[] = [];
  for (const item of items) {
    const sk = item[TABLE_SCHEMA.sortKey]?.S ?? '';
    const problem =
      keyProblemOf(item[TABLE_SCHEMA.partitionKey]?.S ?? '', sk) ??
      (itemBytes(item) > DYNAMODB_LIMITS.itemBytes
        ? `the item is ${itemBytes(item)} bytes, over DynamoDB's ${DYNAMODB_LIMITS.itemBytes}-byte limit`
        : undefined);
    if (problem === undefined) fit.push(item);
    else refused.push(`${sk.slice(0, 80)}: ${problem}`);
  }
  return { fit, refused };
}

/** Finished syncs live in their own partition, so a cycle's Query never reads them. */
function historyPartitionOf(serverId: string): string {
  return `HISTORY#${serverId}`;
}

function partitionOf(serverId: string): string {
  return `SERVER#${serverId}`;
}

function keysOf(serverId: string, key: ItemKey): { pk: string; sk: string } {
  if (key.kind === 'fleet') return { pk: FLEET_PARTITION, sk: `SERVER#${serverId}` };
  return { pk: partitionOf(serverId), sk: key.kind === 'server' ? 'SERVER' : `SESSION#${key.id}` };
}

function envelopeOf<T>(item: Record<string, AttributeValue>): Envelope<T> {
  const lease: Lease | null =
    item.leaseOwner?.S && item.leaseUntil?.S ? { owner: item.leaseOwner.S, until: item.leaseUntil.S } : null;
  return {
    record: JSON.parse(item.data?.S ?? 'null') as T,
    version: Number(item.version?.N ?? 0),
    pending: item.pending?.S ? (JSON.parse(item.pending.S) as MonitorEvent[]) : [],
    lease,
  };
}

function storeError(operation: string, table: string, err: unknown): StateStoreError {
  const e = err as Error;
  return new StateStoreError(`DynamoDB ${operation} on table ${table} failed: ${e.name}: ${e.message}`, {
    cause: awsCause(err),
  });
}
