import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { DynamoDbStateStore } from '../../lambda/adapters/dynamodb-state-store.js';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import type { FleetCheckSummary } from '../../lambda/domain/fleet-check.js';
import type { CycleSummary } from '../../lambda/domain/poll.js';
import { INITIAL_SERVER } from '../../lambda/domain/state.js';
import { startSimulator, type Vb365Simulator } from '../../local/simulator/simulator.js';
import { ensureTable, localClient } from '../../local/stand-ins/embedded-dynamodb.js';
import { type SecretsStandIn, startSecretsStandIn } from '../../local/stand-ins/secrets-stand-in.js';
import { type SnsStandIn, startSnsStandIn } from '../../local/stand-ins/sns-stand-in.js';
import { type FaultProxy, startFaultProxy } from '../harness/fault-proxy.js';
import { captureOutput } from '../support/capture-output.js';

interface Handler {
  (event: { fleetCheck: true }, context: Context): Promise<FleetCheckSummary>;
  (event: { serverId: string }, context: Context): Promise<CycleSummary>;
}

let sim: Vb365Simulator;
let sns: SnsStandIn;
let secrets: SecretsStandIn;
/** Every DynamoDB request the function sends passes (and is recorded) here. */
let ddbProxy: FaultProxy;
/** The same table, read and written directly (to make a server look silent for half an hour). */
let store: DynamoDbStateStore;
let handler: Handler;
let capture: ReturnType<typeof captureOutput>;
let requestNumber = 0;

function context(): Context {
  requestNumber += 1;
  return {
    awsRequestId: `req-${requestNumber}`,
    functionName: 'vb365-sync-monitor-poll',
    getRemainingTimeInMillis: () => 60_000,
  } as unknown as Context;
}

/** The fleet check's events SNS received so far: server id and type. */
function fleetEvents(): string[] {
  return sns
    .defaults<MonitorEvent>()
    .filter((e) => e.type.startsWith('monitor.server_'))
    .map((e) => `${e.server.id} ${e.type}`);
}

/** DynamoDB operations the function sent while `run` ran. */
async function operationsOf<T>(run: () => Promise<T>): Promise<{ result: T; operations: string[] }> {
  const before = ddbProxy.requests.length;
  const result = await run();
  return { result, operations: ddbProxy.requests.slice(before).map((r) => r.operation) };
}

beforeAll(async () => {
  sim = await startSimulator({ scenario: { name: 'fleet-check', repositories: [], steps: [] } });
  sns = await startSnsStandIn();
  secrets = await startSecretsStandIn();
  secrets.secrets.set('vb365/sim', JSON.stringify({ username: sim.username, password: sim.password }));
  ddbProxy = await startFaultProxy(inject('ddbEndpoint'));
  const table = `fleet-check-${process.pid}`;
  const ddb = localClient(inject('ddbEndpoint'));
  await ensureTable(ddb, table);
  store = new DynamoDbStateStore(ddb, table);

  const configFile = join(mkdtempSync(join(tmpdir(), 'fleet-check-')), 'monitor-config.json');
  const server = (id: string) => ({
    id,
    name: `VB365 ${id}`,
    url: sim.url,
    credentials: { secretName: 'vb365/sim' },
    caBundle: sim.pki.caCert,
  });
  writeFileSync(
    configFile,
    JSON.stringify({
      servers: [server('polled'), server('silent'), server('fresh')],
      pollEveryMinutes: 5,
      heartbeatIntervals: 3,
    }),
  );
  const env: Record<string, string> = {
    TABLE_NAME: table,
    TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:vb365-sync-monitor',
    CONFIG_FILE: configFile,
    // DynamoDB Local keeps one database per access key and region: the same as the client that created the table.
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: ddbProxy.endpoint,
    AWS_ENDPOINT_URL_SNS: sns.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
  };
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  capture = captureOutput();
  vi.resetModules();
  ({ handler } = (await import('../../lambda/handler.js')) as unknown as { handler: Handler });
});

afterAll(async () => {
  capture.restore();
  vi.unstubAllEnvs();
  await Promise.all([sim.close(), sns.close(), secrets.close(), ddbProxy.close()]);
});

describe('fleet check through the poll handler ({"fleetCheck": true}; real SDK clients, local stand-ins)', () => {
  it('announces nothing on a fresh deployment: servers never polled get their time', async () => {
    const first = await operationsOf(() => handler({ fleetCheck: true }, context()));
    const second = await operationsOf(() => handler({ fleetCheck: true }, context()));

    expect(sns.received).toEqual([]);
    expect(first.result).toMatchObject({ servers: 3, notPolled: 0, eventsPublished: 0, writes: 3 });
    // One Query (the fleet entries), one BatchGetItem (three servers' polledAt); an entry per new server.
    expect(first.operations.sort()).toEqual(['BatchGetItem', 'PutItem', 'PutItem', 'PutItem', 'Query']);
    expect(second.operations.sort()).toEqual(['BatchGetItem', 'Query']);
    expect([...(await store.loadFleet()).keys()].sort()).toEqual(['fresh', 'polled', 'silent']);
  });

  it('announces a server not polled for more than 3 intervals once, on SNS with the usual attributes', async () => {
    // `silent` was configured an hour ago and last polled 30 minutes ago; `polled` is polled now.
    const fleet = await store.loadFleet();
    const halfAnHourAgo = new Date(Date.now() - 30 * 60_000).toISOString();
    await store.write(
      'silent',
      {
        key: { kind: 'fleet' },
        record: { configuredAt: new Date(Date.now() - 60 * 60_000).toISOString(), sequence: 0 },
        pending: [],
        lease: null,
        expiresAt: null,
      },
      fleet.get('silent')?.version ?? 0,
    );
    await store.write(
      'silent',
      {
        key: { kind: 'server' },
        record: { ...INITIAL_SERVER, polledAt: halfAnHourAgo },
        pending: [],
        lease: null,
        expiresAt: null,
      },
      0,
    );
    const cycle = await handler({ serverId: 'polled' }, context());
    const before = sns.received.length;

    const check = await handler({ fleetCheck: true }, context());
    const again = await handler({ fleetCheck: true }, context());

    expect(cycle.status).toBe('ok');
    expect(check).toMatchObject({ notPolled: 1, notPolledIds: ['silent'], eventsPublished: 1, eventsPending: 0 });
    expect(again).toMatchObject({ notPolled: 1, eventsPublished: 0, writes: 0 });
    const [message] = sns.received.slice(before);
    expect(sns.received.slice(before)).toHaveLength(1);
    expect(message?.attributes).toEqual({
      type: 'monitor.server_not_polled',
      severity: 'critical',
      serverId: 'silent',
      incidentKey: `silent/polling/${halfAnHourAgo}`,
    });
    expect(message?.subject).toBe('[VB365] VB365 silent not polled for 30m');
    const published = JSON.parse(message?.message ?? '{}') as { default: string; email: string };
    expect(JSON.parse(published.default)).toMatchObject({
      eventId: 'silent/fleet/1/monitor.server_not_polled',
      server: { id: 'silent', name: 'VB365 silent', url: sim.url },
      polling: { lastPolledAt: halfAnHourAgo, since: halfAnHourAgo, intervals: 6, heartbeatIntervals: 3 },
    });
    expect(published.email).toMatch(/NOT POLLED VB365 silent for 30m/);
    expect(published.email).toMatch(/EventBridge Scheduler schedule .* dead-letter queue .* errors, throttles/);
  });

  it('says once, when the server is polled again, how long it was not', async () => {
    const cycle = await handler({ serverId: 'silent' }, context());
    const check = await handler({ fleetCheck: true }, context());
    await handler({ fleetCheck: true }, context());

    expect(cycle.status).toBe('ok');
    expect(check).toMatchObject({ notPolled: 0, eventsPublished: 1 });
    expect(fleetEvents()).toEqual(['silent monitor.server_not_polled', 'silent monitor.server_polled_again']);
    const recovery = sns.received.at(-1);
    // The same incident key as the announcement: a subscriber groups the two.
    expect(recovery?.attributes).toEqual({
      type: 'monitor.server_polled_again',
      severity: 'info',
      serverId: 'silent',
      incidentKey: sns.received.find((m) => m.attributes.type === 'monitor.server_not_polled')?.attributes.incidentKey,
    });
    expect(JSON.parse(JSON.parse(recovery?.message ?? '{}').default)).toMatchObject({
      eventId: 'silent/fleet/2/monitor.server_polled_again',
      polling: { seconds: expect.any(Number), polledAgainAt: expect.any(String) },
    });
    expect(JSON.parse(JSON.parse(recovery?.message ?? '{}').default).polling.seconds).toBeGreaterThanOrEqual(1800);
  });

  it('sends only actions the poll function is granted: DynamoDB Query, BatchGetItem, PutItem; SNS Publish', () => {
    const granted = new Set(['dynamodb:BatchGetItem', 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem']);
    const sent = new Set(ddbProxy.requests.map((r) => `dynamodb:${r.operation}`));

    expect([...sent].filter((a) => !granted.has(a))).toEqual([]);
    expect(new Set(sns.requests.map((r) => r.action))).toEqual(new Set(['PublishBatch']));
  });
});
