import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { DynamoDbDeliveryLog } from '../../lambda/adapters/dynamodb-delivery-log.js';
import { ensureTable, localClient } from '../../local/stand-ins/embedded-dynamodb.js';

let client: DynamoDBClient;
let log: DynamoDbDeliveryLog;
const t = (s: number) => new Date(Date.parse('2026-11-28T12:00:00Z') + s * 1000);

beforeAll(async () => {
  client = localClient(inject('ddbEndpoint'));
  const table = `deliveries-${process.pid}`;
  await ensureTable(client, table);
  log = new DynamoDbDeliveryLog(client, table);
});

afterAll(() => client.destroy());

describe(`DynamoDbDeliveryLog (${inject('ddbEngine')})`, () => {
  it('claims once, reports a live claim as busy, and a delivery as delivered', async () => {
    const first = await log.claim('slack-ops', 'e1', t(0), t(120));
    const second = await log.claim('slack-ops', 'e1', t(1), t(121));
    await log.delivered('slack-ops', 'e1', t(86_400));
    const third = await log.claim('slack-ops', 'e1', t(500), t(620));

    expect([first, second, third]).toEqual(['claimed', 'busy', 'delivered']);
  });

  it('lets a new attempt take over a claim whose lease expired (the first attempt crashed)', async () => {
    await log.claim('teams', 'e2', t(0), t(120));

    expect(await log.claim('teams', 'e2', t(121), t(241))).toBe('claimed');
  });

  it('forgets a released claim, so a retry can post at once', async () => {
    await log.claim('siem', 'e3', t(0), t(120));
    await log.release('siem', 'e3');

    expect(await log.claim('siem', 'e3', t(1), t(121))).toBe('claimed');
  });

  it('keeps channels apart', async () => {
    await log.claim('a', 'e4', t(0), t(120));

    expect(await log.claim('b', 'e4', t(0), t(120))).toBe('claimed');
  });

  it('lets exactly one of many concurrent attempts claim', async () => {
    const results = await Promise.all(Array.from({ length: 8 }, () => log.claim('race', 'e5', t(0), t(120))));

    expect(results.filter((r) => r === 'claimed')).toHaveLength(1);
  });
});
