import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SNSClient } from '@aws-sdk/client-sns';
import fc from 'fast-check';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { DynamoDbStateStore } from '../../lambda/adapters/dynamodb-state-store.js';
import { SERVER_TEXT, SNS_LIMITS, utf8Bytes } from '../../lambda/adapters/limits.js';
import { SnsNotifier } from '../../lambda/adapters/sns-notifier.js';
import { HttpVb365Api } from '../../lambda/adapters/vb365/http-vb365-api.js';
import { UpstreamError } from '../../lambda/domain/errors.js';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import { DEFAULT_POLICY } from '../../lambda/domain/policy.js';
import { pollOnce } from '../../lambda/domain/poll.js';
import type { Route } from '../../local/simulator/simulator.js';
import { startSimulator, type Vb365Simulator } from '../../local/simulator/simulator.js';
import { ensureTable, localClient } from '../../local/stand-ins/embedded-dynamodb.js';
import { type SnsStandIn, startSnsStandIn } from '../../local/stand-ins/sns-stand-in.js';

/*
 * Poison input from the server, end to end on real parts: the simulator over HTTPS, the real SDK clients against
 * DynamoDB Local and the SNS stand-in (which refuses what SNS refuses). One oversized or malformed item must not break
 * the cycle: it is cut or reported, and everything else proceeds.
 */

const TOPIC = 'arn:aws:sns:us-east-1:123456789012:vb365-poison';
const T0 = Date.parse('2026-11-28T10:00:00Z');

let sim: Vb365Simulator;
let sns: SnsStandIn;
let ddb: DynamoDBClient;
let snsClient: SNSClient;
let api: HttpVb365Api;
let table: string;
let n = 0;

beforeAll(async () => {
  sim = await startSimulator();
  sns = await startSnsStandIn();
  ddb = localClient(inject('ddbEndpoint'));
  snsClient = sns.client(1);
});

afterAll(async () => {
  ddb.destroy();
  snsClient.destroy();
  await Promise.all([sim.close(), sns.close()]);
});

beforeEach(async () => {
  n += 1;
  table = `poison-${process.pid}-${n}`;
  await ensureTable(ddb, table);
  sim.load({ name: `poison ${n}`, steps: [] });
  sim.clearFaults();
  sns.received.length = 0;
  sns.requests.length = 0;
  await api?.close();
  api = new HttpVb365Api({
    baseUrl: sim.url,
    credentials: () => ({ username: sim.username, password: sim.password }),
    ca: sim.pki.caCert,
    apiVersion: 'v8',
    maxRetries: 0,
  });
});

/** One cycle at `minutes` after T0 with the real adapters. */
function cycle(minutes: number) {
  return pollOnce({
    api,
    store: new DynamoDbStateStore(ddb, table),
    notifier: new SnsNotifier(snsClient, TOPIC),
    policy: DEFAULT_POLICY,
    server: { id: 'poison', name: 'Poison VB365', url: sim.url },
    now: () => new Date(T0 + minutes * 60_000),
    owner: `cycle-${minutes}`,
  });
}

function delivered(): MonitorEvent[] {
  return sns.defaults<MonitorEvent>();
}

function expectNothingRefused(): void {
  for (const r of sns.requests) {
    expect(r.refused).toBeUndefined();
    expect(r.bytes ?? 0).toBeLessThanOrEqual(SNS_LIMITS.batchBytes);
  }
}

describe('poison input from the server (real parts)', () => {
  it('a 300 KB error and a 2,000-character id do not break the cycle: the failure is delivered cut, the id reported', async () => {
    sim.apply([
      { op: 'start', session: 'good', repository: 'r-good', progress: 10 },
      { op: 'start', session: 'bad', repository: 'r-bad', progress: 20 },
    ]);
    await cycle(0);
    const longId = 'L'.repeat(2_000);
    const error = `Unable to access object storage: ${'x'.repeat(300_000)}`;
    sim.apply([
      { op: 'fail', session: 'bad', error },
      { op: 'start', session: longId, repository: 'r-long', progress: 1 },
      { op: 'start', session: 'fresh', repository: 'r-fresh', progress: 2 },
    ]);

    const summary = await cycle(5);
    await cycle(10);

    expect(summary.status).toBe('ok');
    expect(summary.problems).toContainEqual({
      sessionId: `${'L'.repeat(SERVER_TEXT.quotedIdChars - 1)}…`,
      message: expect.stringMatching(/^malformed session in the list \(item \d\): id: 2000 characters \(2000 bytes\)/),
    });
    const failed = delivered().filter((e) => e.type === 'sync.failed');
    expect(failed.map((e) => e.session?.id)).toEqual(['bad']);
    expect(failed[0]?.session?.error).toHaveLength(SERVER_TEXT.errorChars);
    expect(failed[0]?.session?.error).toBe(`${error.slice(0, SERVER_TEXT.errorChars - 1)}…`);
    expect(
      delivered()
        .filter((e) => e.type === 'sync.started')
        .map((e) => e.session?.id),
    ).toEqual(['fresh']);
    expect(delivered().some((e) => e.session?.id === longId)).toBe(false);
    expectNothingRefused();
    const snapshot = await new DynamoDbStateStore(ddb, table).load('poison');
    expect(snapshot.sessions.map((s) => s.record.id).sort()).toEqual(['bad', 'fresh', 'good']);
    expect(snapshot.sessions.flatMap((s) => s.pending)).toEqual([]);
  });

  it('a first cycle with many long errors sends one monitor.started within 256 KiB, totals intact', async () => {
    sim.apply(
      Array.from({ length: 30 }, (_, i) => [
        { op: 'start' as const, session: `f${i}`, repository: `r${i}`, progress: i },
        { op: 'fail' as const, session: `f${i}`, error: `Fehler beim Zugriff ${i}: ${'é'.repeat(5_000)}` },
      ]).flat(),
    );

    const summary = await cycle(0);

    expect(summary.status).toBe('ok');
    const [started] = delivered().filter((e) => e.type === 'monitor.started');
    expect(started?.summary?.totals).toEqual({ running: 0, failed: 30, other: 0 });
    expect(started?.summary?.failed.length).toBeGreaterThan(0);
    expect(started?.summary?.failed.length).toBeLessThan(25);
    for (const item of started?.summary?.failed ?? []) {
      expect(item.error?.length).toBeLessThanOrEqual(SERVER_TEXT.errorChars);
    }
    expect(sns.received.every((m) => m.bytes <= SNS_LIMITS.messageBytes)).toBe(true);
    expectNothingRefused();
  });

  it('one malformed link escape fails only its item, not the list: the cycle sees the server as reachable', async () => {
    sim.apply([{ op: 'start', session: 'good', repository: 'r-good', progress: 10 }]);
    await cycle(0);
    sim.inject({
      route: 'listSessions',
      fault: {
        kind: 'body',
        json: [
          { id: 'good', repositoryId: 'r-good', state: 'Synchronizing', progressPercent: 30, error: null },
          { state: 'Synchronizing', _links: { self: { href: '/v8/RepositorySynchronizeSessions/%E0%A4%A' } } },
          {
            id: 'new',
            state: 'Synchronizing',
            progressPercent: 1,
            _links: { repository: { href: '/v8/backuprepositories/%zz' } },
          },
        ],
      },
    });

    const summary = await cycle(5);

    expect(summary.status).toBe('ok');
    expect(summary.sessionsListed).toBe(2);
    expect(summary.problems.map((p) => p.message)).toContain(
      'malformed session in the list (item 1): id: missing, and no self link names the session',
    );
    expect(
      delivered()
        .filter((e) => e.type === 'sync.started')
        .map((e) => e.session?.id),
    ).toEqual(['new']);
    expect(delivered().some((e) => e.type === 'server.unreachable')).toBe(false);
  });

  it('lone surrogates in an error and a repositoryId do not break the cycle: the error is delivered as U+FFFD, the id reported', async () => {
    sim.apply([
      { op: 'start', session: 'good', repository: 'r-good', progress: 10 },
      { op: 'start', session: 'bad', repository: 'r-bad', progress: 20 },
    ]);
    await cycle(0);
    sim.inject({
      route: 'listSessions',
      fault: {
        kind: 'body',
        // JSON.stringify sends each lone surrogate as a `\ud800` escape, which JSON.parse turns back into one.
        json: [
          { id: 'good', repositoryId: 'r-good', state: 'Failed', progressPercent: 10, error: 'disk \uD800 full' },
          { id: 'bad', repositoryId: 'r\uD800', state: 'Synchronizing', progressPercent: 30, error: null },
          { id: 'fresh', repositoryId: 'r-fresh', state: 'Synchronizing', progressPercent: 1, error: null },
        ],
      },
    });

    const summary = await cycle(5);

    expect(summary.status).toBe('ok');
    expect(summary.problems).toContainEqual({
      sessionId: 'bad',
      message: expect.stringMatching(/^malformed session in the list \(item 1\): repositoryId: holds a lone UTF-16/),
    });
    const failed = delivered().filter((e) => e.type === 'sync.failed');
    expect(failed.map((e) => [e.session?.id, e.session?.error])).toEqual([['good', 'disk \uFFFD full']]);
    expect(
      delivered()
        .filter((e) => e.type === 'sync.started')
        .map((e) => e.session?.id),
    ).toEqual(['fresh']);
    expectNothingRefused();
  });
});

/**
 * Arbitrary JSON, with long strings in the fields the client reads, so the bounds are reached often, and lone
 * surrogates (sent as `\ud800` escapes) and surrogate pairs where a cut could split one.
 */
const longText = fc.oneof(
  fc
    .tuple(fc.constantFrom('x', 'é', '"', '\n', '%zz', '😀', '\uD800'), fc.constantFrom(10, 300, 301, 5_000, 100_000))
    .map(([c, k]) => c.repeat(k)),
  fc.string({ unit: 'binary' }),
);
const anyJson = fc.oneof(
  fc.jsonValue(),
  fc.record(
    {
      message: fc.oneof(fc.string(), longText, fc.jsonValue()),
      error: fc.oneof(fc.string(), longText),
      error_description: fc.oneof(fc.string(), longText),
      errorCode: fc.oneof(fc.string(), longText),
      access_token: fc.oneof(fc.string(), longText, fc.jsonValue()),
      expires_in: fc.oneof(fc.integer(), fc.string(), fc.double()),
    },
    { requiredKeys: [] },
  ),
  fc.array(
    fc.record(
      {
        id: fc.oneof(fc.uuid(), longText, fc.jsonValue()),
        name: fc.oneof(fc.string(), longText),
        state: fc.oneof(fc.string(), longText),
        error: fc.oneof(fc.string(), longText),
        repositoryId: fc.oneof(fc.uuid(), longText),
        _links: fc.jsonValue(),
      },
      { requiredKeys: [] },
    ),
    { maxLength: 5 },
  ),
);

/** The public call that reads `route`, with ids the simulator knows. */
function callFor(route: Route, client: HttpVb365Api): Promise<unknown> {
  switch (route) {
    case 'getSession':
      return client.getSession('s1');
    case 'getRepository':
      return client.getRepository('r1');
    case 'listRepositories':
      return client.listRepositories();
    case 'listJobs':
      return client.listJobs();
    default:
      return client.listSessions();
  }
}

/** `String.prototype.toWellFormed` (Node 20; ES2024, beyond the project's `lib`). */
function toWellFormed(s: string): string {
  return (s as string & { toWellFormed(): string }).toWellFormed();
}

/** Every string in a resolved value is within the wire bounds and well-formed. */
function expectBoundedStrings(value: unknown): void {
  if (typeof value === 'string') {
    expect(value.length).toBeLessThanOrEqual(SERVER_TEXT.errorChars);
    expect(value).toBe(toWellFormed(value));
  } else if (Array.isArray(value)) for (const v of value) expectBoundedStrings(v);
  else if (typeof value === 'object' && value !== null) {
    const o = value as Record<string, unknown>;
    for (const key of ['id', 'repositoryId']) {
      if (typeof o[key] === 'string') expect(utf8Bytes(o[key] as string)).toBeLessThanOrEqual(SERVER_TEXT.idBytes);
    }
    for (const v of Object.values(o)) expectBoundedStrings(v);
  }
}

async function outcome(call: Promise<unknown>): Promise<void> {
  const result = await call.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  if (result.ok) expectBoundedStrings(result.value);
  else {
    expect(result.error).toBeInstanceOf(UpstreamError);
    const { message } = result.error as Error;
    expect(message.length).toBeLessThanOrEqual(1_024);
    expect(message).toBe(toWellFormed(message));
  }
}

describe('the API client on arbitrary bodies (simulator)', () => {
  beforeEach(() => {
    sim.apply([
      { op: 'repository', id: 'r1', name: 'Repo 1' },
      { op: 'start', session: 's1', repository: 'r1', progress: 5 },
    ]);
    sim.jobs.push({ id: 'j1', name: 'Job 1', repositoryId: 'r1' });
  });

  it('a data route answering any JSON: the call resolves bounded or fails with an UpstreamError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Route>('listSessions', 'getSession', 'getRepository', 'listRepositories', 'listJobs'),
        anyJson,
        async (route, json) => {
          sim.clearFaults();
          sim.inject({ route, fault: { kind: 'body', json } });

          await outcome(callFor(route, api));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('an error answer with any body (the server reason): always an UpstreamError with a bounded message', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Route>('listSessions', 'getSession', 'getRepository', 'listJobs'),
        fc.constantFrom(400, 403, 404, 409, 429, 500, 503),
        fc.oneof(
          anyJson.map((j) => JSON.stringify(j)),
          fc.string(),
          longText,
        ),
        async (route, status, body) => {
          sim.clearFaults();
          sim.inject({ route, fault: { kind: 'status', status, body } });

          await outcome(callFor(route, api));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('the token endpoint answering any JSON or any refusal: the call fails or succeeds, never anything else', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          anyJson.map((json) => ({ kind: 'body' as const, json })),
          fc
            .tuple(
              fc.constantFrom(400, 401, 403, 500),
              fc.oneof(
                anyJson.map((j) => JSON.stringify(j)),
                longText,
              ),
            )
            .map(([status, body]) => ({ kind: 'status' as const, status, body })),
        ),
        async (fault) => {
          sim.clearFaults();
          sim.inject({ route: 'token', fault });
          const fresh = new HttpVb365Api({
            baseUrl: sim.url,
            credentials: () => ({ username: sim.username, password: sim.password }),
            ca: sim.pki.caCert,
            apiVersion: 'v8',
            maxRetries: 0,
          });

          await outcome(fresh.listSessions()).finally(() => fresh.close());
        },
      ),
      { numRuns: 60 },
    );
  });
});
