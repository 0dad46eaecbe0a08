import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoDbSlackThreads } from '../../lambda/adapters/dynamodb-delivery-log.js';
import { ensureTable, localClient } from '../../local/stand-ins/embedded-dynamodb.js';

let client: DynamoDBClient;
let threads: DynamoDbSlackThreads;
const t = (s: number) => new Date(Date.parse('2026-11-28T12:00:00Z') + s * 1000);
const ref = { channel: 'C0INCIDENTS', ts: '1700000001.000100' };
const later = t(30 * 86_400);

beforeAll(async () => {
  client = localClient(inject('ddbEndpoint'));
  const table = `threads-${process.pid}`;
  await ensureTable(client, table);
  threads = new DynamoDbSlackThreads(client, table);
});

afterAll(() => client.destroy());

describe(`DynamoDbSlackThreads (${inject('ddbEngine')})`, () => {
  it('lets one of two attempts claim a thread; the other sees it being created, then the thread', async () => {
    const claims = await Promise.all([threads.claim('ch', 'k1', t(0), t(30)), threads.claim('ch', 'k1', t(0), t(30))]);
    const meanwhile = await threads.get('ch', 'k1', t(1));
    await threads.save('ch', 'k1', { ref, shown: 'a' }, later);

    expect(claims.sort()).toEqual([false, true]);
    expect(meanwhile).toBe('creating');
    expect(await threads.get('ch', 'k1', t(2))).toEqual({ ref, shown: 'a' });
    expect(await threads.claim('ch', 'k1', t(3), t(33))).toBe(false);
  });

  it('lets a new attempt claim a thread whose creator crashed (lease expired), or released it', async () => {
    await threads.claim('ch', 'k2', t(0), t(30));
    await threads.claim('ch', 'k3', t(0), t(30));
    await threads.release('ch', 'k3');

    expect(await threads.get('ch', 'k2', t(31))).toBeUndefined();
    expect(await threads.claim('ch', 'k2', t(31), t(61))).toBe(true);
    expect(await threads.claim('ch', 'k3', t(1), t(31))).toBe(true);
  });

  it('does not release a thread that was stored', async () => {
    await threads.save('ch', 'k4', { ref, shown: 'a' }, later);

    await threads.release('ch', 'k4');

    expect(await threads.get('ch', 'k4', t(0))).toEqual({ ref, shown: 'a' });
  });

  it('moves what the first message shows only forward, and only for its own first message', async () => {
    await threads.save('ch', 'k5', { ref, shown: '2026-11-28T11:00:00.000Z#000000000002' }, later);

    const older = await threads.advance('ch', 'k5', ref, '2026-11-28T10:00:00.000Z#000000000009', later);
    const other = await threads.advance(
      'ch',
      'k5',
      { ...ref, ts: '1.2' },
      '2026-11-28T12:00:00.000Z#000000000001',
      later,
    );
    const newer = await threads.advance('ch', 'k5', ref, '2026-11-28T11:00:00.000Z#000000000003', later);
    const same = await threads.advance('ch', 'k5', ref, '2026-11-28T11:00:00.000Z#000000000003', later);

    expect([older, other, newer, same]).toEqual([false, false, true, false]);
  });

  it('restores what an advance moved, unless something moved it on since', async () => {
    await threads.save('ch', 'k6', { ref, shown: 'b' }, later);
    await threads.advance('ch', 'k6', ref, 'c', later);
    await threads.restore('ch', 'k6', ref, 'c', 'b', later);
    const restored = await threads.get('ch', 'k6', t(0));
    await threads.advance('ch', 'k6', ref, 'd', later);
    await threads.restore('ch', 'k6', ref, 'c', 'b', later);

    expect(restored).toEqual({ ref, shown: 'b' });
    expect(await threads.get('ch', 'k6', t(0))).toEqual({ ref, shown: 'd' });
  });
});
