import {
  BatchGetItemCommand,
  DeleteTableCommand,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { DynamoDbStateStore, itemBytes } from '../../lambda/adapters/dynamodb-state-store.js';
import { DYNAMODB_LIMITS } from '../../lambda/adapters/limits.js';
import { StateConflictError, StateStoreError } from '../../lambda/domain/errors.js';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import { fleetCheckOnce } from '../../lambda/domain/fleet-check.js';
import { DEFAULT_POLICY } from '../../lambda/domain/policy.js';
import { pollOnce } from '../../lambda/domain/poll.js';
import type { FleetStore, ItemWrite } from '../../lambda/domain/ports.js';
import { type FleetEntry, INITIAL_SERVER, type SessionRecord } from '../../lambda/domain/state.js';
import { sampleEvent } from '../../local/cli/sample-events.js';
import { ensureTable, localClient } from '../../local/stand-ins/embedded-dynamodb.js';
import { RecordingNotifier } from '../support/recording-notifier.js';
import { StubVb365Api } from '../support/stub-vb365-api.js';

let client: DynamoDBClient;
let table: string;
let store: DynamoDbStateStore;
let n = 0;

beforeAll(() => {
  client = localClient(inject('ddbEndpoint'));
});

afterAll(() => client.destroy());

beforeEach(async () => {
  n += 1;
  table = `monitor-${process.pid}-${n}`;
  await ensureTable(client, table);
  store = new DynamoDbStateStore(client, table);
});

function sessionRecord(id: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id,
    repositoryId: 'r1',
    repositoryName: 'Repo 1',
    state: 'Synchronizing',
    phase: 'running',
    outcome: null,
    progressPercent: 5,
    error: null,
    firstSeenAt: '2026-11-28T10:00:00.000Z',
    lastProgressAt: '2026-11-28T10:00:00.000Z',
    finishedAt: null,
    missingCycles: 0,
    milestone: 0,
    sequence: 0,
    ...overrides,
  };
}

const event = { schemaVersion: 1, eventId: 'srv/s1/1/sync.started', type: 'sync.started' } as unknown as MonitorEvent;

describe(`DynamoDbStateStore (${inject('ddbEngine')})`, () => {
  it('writes items and loads the whole partition back, outbox and lease included', async () => {
    const sessionWrite: ItemWrite = {
      key: { kind: 'session', id: 's1' },
      record: sessionRecord('s1'),
      pending: [event],
      lease: { owner: 'cycle-1', until: '2026-11-28T10:05:00.000Z' },
      expiresAt: null,
    };

    const v1 = await store.write('srv', sessionWrite, 0);
    await store.write(
      'srv',
      { key: { kind: 'server' }, record: INITIAL_SERVER, pending: [], lease: null, expiresAt: null },
      0,
    );
    await store.saveRepositoryNames('srv', [{ id: 'r1', name: 'Repo 1' }]);
    await store.write('other', sessionWrite, 0);
    const snapshot = await store.load('srv');

    expect(v1).toBe(1);
    expect(snapshot.server).toEqual({ record: INITIAL_SERVER, version: 1, pending: [], lease: null });
    expect(snapshot.sessions).toEqual([
      {
        record: sessionRecord('s1'),
        version: 1,
        pending: [event],
        lease: { owner: 'cycle-1', until: '2026-11-28T10:05:00.000Z' },
      },
    ]);
    expect(snapshot.repositories).toEqual([{ id: 'r1', name: 'Repo 1' }]);
    expect(store.stats.queries).toBe(1);
  });

  it('keeps acknowledgement requests beside the server, in the cycle’s one Query, and ignores expired ones', async () => {
    const now = Date.now();
    const fresh = {
      key: 'acks/repository/r1/2026-11-30T06:00:00.000Z',
      by: 'ana',
      reason: 'on it',
      at: new Date(now - 60_000).toISOString(),
    };
    const stale = {
      key: 'acks/repository/r2/2026-11-28T06:00:00.000Z',
      by: 'bo',
      reason: null,
      at: new Date(now - 2 * 86_400_000).toISOString(),
    };
    const queries = store.stats.queries;

    await store.requestAck('acks', fresh);
    await store.requestAck('acks', stale);
    const snapshot = await store.load('acks');

    // The stale one is past its TTL (a day) but DynamoDB deletes expired items only eventually: load drops it.
    expect(snapshot.acks).toEqual([fresh]);
    expect(store.stats.queries - queries).toBe(1);
    expect((await store.load('other-server')).acks).toBeUndefined();
  });

  it('keeps finished syncs in their own partition, reads them back since a time, and lists the servers', async () => {
    const entry = (i: number, finishedAt: string) => ({
      eventId: `srv-h/s${i}/2/sync.completed`,
      sessionId: `s${i}`,
      repositoryId: 'r1',
      repositoryName: 'S3',
      outcome: 'completed' as const,
      startedAt: '2026-11-20T00:00:00.000Z',
      finishedAt,
      durationSeconds: 60,
      error: null,
    });
    await store.recordHistory(
      'srv-h',
      [entry(1, '2026-11-20T01:00:00.000Z'), entry(2, '2026-11-27T01:00:00.000Z')],
      2_000_000_000,
    );
    await store.recordHistory('srv-h', [entry(2, '2026-11-27T01:00:00.000Z')], 2_000_000_000); // again: harmless
    await store.write(
      'srv-h',
      { key: { kind: 'server' }, record: INITIAL_SERVER, pending: [], lease: null, expiresAt: null },
      0,
    );

    const since = await store.history('srv-h', '2026-11-23T08:00:00.000Z');
    const snapshot = await store.load('srv-h');

    expect(since).toEqual([entry(2, '2026-11-27T01:00:00.000Z')]);
    expect(snapshot.sessions).toEqual([]); // the cycle's Query never reads the history
    expect(await store.serverIds()).toContain('srv-h');
  });

  it('refuses a write whose expected version is stale, and a create of an existing item', async () => {
    const write: ItemWrite = {
      key: { kind: 'session', id: 's1' },
      record: sessionRecord('s1'),
      pending: [],
      lease: null,
      expiresAt: null,
    };
    await store.write('srv', write, 0);
    await store.write('srv', write, 1);

    await expect(store.write('srv', write, 1)).rejects.toBeInstanceOf(StateConflictError);
    await expect(store.write('srv', write, 0)).rejects.toBeInstanceOf(StateConflictError);
    expect((await store.load('srv')).sessions[0]?.version).toBe(2);
  });

  it('sets the TTL attribute on finished sessions', async () => {
    await store.write(
      'srv',
      {
        key: { kind: 'session', id: 's1' },
        record: sessionRecord('s1', { phase: 'ended' }),
        pending: [],
        lease: null,
        expiresAt: 1_900_000_000,
      },
      0,
    );
    const item = await client.send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: 'SERVER#srv' }, sk: { S: 'SESSION#s1' } } }),
    );

    expect(item.Item?.expiresAt).toEqual({ N: '1900000000' });
  });

  it('pages through a partition larger than 1 MB', async () => {
    const big = 'x'.repeat(20_000);
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        store.write(
          'srv',
          {
            key: { kind: 'session', id: `s${i}` },
            record: sessionRecord(`s${i}`, { error: big }),
            pending: [],
            lease: null,
            expiresAt: null,
          },
          0,
        ),
      ),
    );

    const snapshot = await store.load('srv');

    expect(snapshot.sessions).toHaveLength(60);
    expect(store.stats.queryPages).toBeGreaterThanOrEqual(2);
  });

  it('translates other failures into StateStoreError naming the operation', async () => {
    await client.send(new DeleteTableCommand({ TableName: table }));

    const err = await store.load('srv').catch((e: unknown) => e);

    expect(err).toBeInstanceOf(StateStoreError);
    expect((err as Error).message).toMatch(
      new RegExp(`DynamoDB Query on table ${table} failed: ResourceNotFoundException`),
    );
  });

  it('lets exactly one of two concurrent cycles publish each event', async () => {
    const api = new StubVb365Api();
    api.repositories.set('r1', { id: 'r1', name: 'Repo 1', isOutOfSync: true });
    const notifier = new RecordingNotifier();
    const at = (minutes: number) => () => new Date(Date.parse('2026-11-28T10:00:00Z') + minutes * 60_000);
    const base = {
      api,
      store,
      notifier,
      policy: DEFAULT_POLICY,
      server: { id: 'srv', name: 'srv', url: 'https://srv:4443' },
    };
    await pollOnce({ ...base, now: at(0), owner: 'first' });
    api.sessions = ['a', 'b', 'c'].map((id) => ({
      id,
      repositoryId: 'r1',
      state: 'Synchronizing',
      progressPercent: 1,
      error: null,
      links: {},
    }));

    const [x, y] = await Promise.all([
      pollOnce({ ...base, now: at(5), owner: 'x' }),
      pollOnce({ ...base, now: at(5), owner: 'y' }),
    ]);
    await pollOnce({ ...base, now: at(10), owner: 'later' });

    expect(notifier.types().sort()).toEqual(['monitor.started', 'sync.started', 'sync.started', 'sync.started']);
    expect(x.eventsPublished + y.eventsPublished).toBe(3);
    // The loser stops at its first lost write: the server record, where the syncs' incidents open, comes first.
    expect(x.conflicts + y.conflicts).toBeGreaterThanOrEqual(1);
  });
});

/** A `sync.failed` of session `id` whose error text is `error`. */
function failedEvent(id: string, sequence: number, error: string): MonitorEvent {
  const sample = sampleEvent('sync.failed', {}, sequence);
  return {
    ...sample,
    eventId: `srv/${id}/${sequence}/sync.failed`,
    session: { ...(sample.session as NonNullable<MonitorEvent['session']>), id, error },
  };
}

async function storedItem(sk: string) {
  const out = await client.send(
    new GetItemCommand({ TableName: table, Key: { pk: { S: 'SERVER#srv' }, sk: { S: sk } } }),
  );
  return out.Item;
}

describe(`DynamoDbStateStore within DynamoDB's limits (${inject('ddbEngine')})`, () => {
  it.skipIf(inject('ddbEngine') !== 'dynamodb-local')(
    'runs on an engine that itself refuses an item over 400 KB and a sort key over 1,024 bytes',
    async () => {
      const put = (sk: string, data: string) =>
        client
          .send(
            new PutItemCommand({
              TableName: table,
              Item: { pk: { S: 'SERVER#srv' }, sk: { S: sk }, data: { S: data } },
            }),
          )
          .then(
            () => 'accepted',
            (e: Error) => e.name,
          );

      const results = [
        await put('fits', 'x'.repeat(409_600 - 'pksksdata'.length - 'SERVER#srv'.length - 'fits'.length)),
        await put('over', 'x'.repeat(409_600)),
        await put('k'.repeat(1_024), 'x'),
        await put('k'.repeat(1_025), 'x'),
      ];

      expect(results).toEqual(['accepted', 'ValidationException', 'accepted', 'ValidationException']);
    },
  );

  it('stores a record and an outbox event that both carry a 300 KB error: the event is shrunk, the record kept', async () => {
    const error = `Object storage said: ${'x'.repeat(300_000)}`;
    const event = failedEvent('s1', 1, error);
    const record = sessionRecord('s1', { state: 'Failed', error });

    await store.write(
      'srv',
      { key: { kind: 'session', id: 's1' }, record, pending: [event], lease: null, expiresAt: null },
      0,
    );
    const [stored] = (await store.load('srv')).sessions;

    expect(stored?.record).toEqual(record);
    expect(stored?.pending.map((e) => e.eventId)).toEqual([event.eventId]);
    expect(stored?.pending[0]?.session?.error?.length).toBeLessThanOrEqual(1_024);
    expect(stored?.pending[0]?.session?.error).toMatch(/^Object storage said: x+…$/);
    expect(stored?.pending[0]).toEqual({
      ...event,
      session: { ...event.session, error: stored?.pending[0]?.session?.error },
    });
  });

  it('shrinks an outbox that grew past 400 KB, keeping every event and its order', async () => {
    const events = Array.from({ length: 120 }, (_, i) => failedEvent('s1', i + 1, `e${i} ${'é'.repeat(4_000)}`));

    await store.write(
      'srv',
      {
        key: { kind: 'session', id: 's1' },
        record: sessionRecord('s1'),
        pending: events,
        lease: null,
        expiresAt: null,
      },
      0,
    );
    const [stored] = (await store.load('srv')).sessions;
    const item = await storedItem('SESSION#s1');

    expect(stored?.pending.map((e) => e.eventId)).toEqual(events.map((e) => e.eventId));
    expect(stored?.pending[7]?.session?.error).toMatch(/^e7 é+…$/);
    expect(itemBytes(item ?? {})).toBeLessThanOrEqual(DYNAMODB_LIMITS.itemBytes);
  });

  it('leaves an outbox that fits as it is', async () => {
    const events = [failedEvent('s1', 1, 'e'.repeat(4_096)), failedEvent('s1', 2, 'f'.repeat(4_096))];

    await store.write(
      'srv',
      {
        key: { kind: 'session', id: 's1' },
        record: sessionRecord('s1'),
        pending: events,
        lease: null,
        expiresAt: null,
      },
      0,
    );

    expect((await store.load('srv')).sessions[0]?.pending).toEqual(events);
  });

  it('refuses, before sending, an item whose record alone is over 400 KB, with a clear error', async () => {
    const write: ItemWrite = {
      key: { kind: 'session', id: 's1' },
      record: sessionRecord('s1', { error: 'x'.repeat(500_000) }),
      pending: [],
      lease: null,
      expiresAt: null,
    };

    const err = await store.write('srv', write, 0).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(StateStoreError);
    expect((err as Error).message).toMatch(
      /^cannot store SESSION#s1 of server srv: the item is \d+ bytes even with its 0 pending event\(s\) shrunk, over DynamoDB's 409600-byte item limit/,
    );
    expect(store.stats.puts).toBe(0);
  });

  it('refuses, before sending, a sort key over 1,024 bytes, with a clear error', async () => {
    const id = 'L'.repeat(2_000);
    const write: ItemWrite = {
      key: { kind: 'session', id },
      record: sessionRecord(id),
      pending: [],
      lease: null,
      expiresAt: null,
    };

    const err = await store.write('srv', write, 0).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(StateStoreError);
    expect((err as Error).message).toMatch(/its sort key is 2008 bytes, over DynamoDB's 1024-byte limit/);
    expect(store.stats.puts).toBe(0);
  });

  it('writes the history entries that fit and reports the one whose key is too long', async () => {
    const entry = (sessionId: string) => ({
      eventId: `srv/${sessionId}/2/sync.failed`,
      sessionId,
      repositoryId: 'r1',
      repositoryName: 'S3',
      outcome: 'failed' as const,
      startedAt: '2026-11-20T00:00:00.000Z',
      finishedAt: '2026-11-27T01:00:00.000Z',
      durationSeconds: 60,
      error: 'boom',
    });

    const err = await store
      .recordHistory('srv', [entry('s1'), entry('L'.repeat(2_000)), entry('s2')], 2_000_000_000)
      .catch((e: unknown) => e);
    const kept = await store.history('srv', '2026-11-01T00:00:00.000Z');

    expect(err).toBeInstanceOf(StateStoreError);
    expect((err as Error).message).toMatch(/^1 history entry of server srv not stored: .*sort key is \d+ bytes/);
    expect(kept.map((e) => e.sessionId).sort()).toEqual(['s1', 's2']);
  });
});

describe(`DynamoDbStateStore for the fleet check (${inject('ddbEngine')})`, () => {
  const entry = (sequence = 0): FleetEntry => ({ configuredAt: '2026-11-28T10:00:00.000Z', sequence });
  const serverWrite = (polledAt?: string): ItemWrite => ({
    key: { kind: 'server' },
    record: { ...INITIAL_SERVER, ...(polledAt ? { polledAt } : {}) },
    pending: [],
    lease: null,
    expiresAt: null,
  });
  /** The client, with every command it sends recorded, and `answer` deciding BatchGetItem calls when given. */
  const recording = (answer?: (command: BatchGetItemCommand, call: number) => Promise<unknown> | undefined) => {
    const sent: { name: string; input: Record<string, unknown> }[] = [];
    const wrapped = {
      send: (command: { constructor: { name: string }; input: Record<string, unknown> }, options?: unknown) => {
        sent.push({ name: command.constructor.name, input: command.input });
        const calls = sent.filter((s) => s.name === 'BatchGetItemCommand').length;
        const answered =
          command instanceof BatchGetItemCommand ? answer?.(command as BatchGetItemCommand, calls) : undefined;
        return answered ?? client.send(command as never, options as never);
      },
    };
    return { sent, store: new DynamoDbStateStore(wrapped as unknown as DynamoDBClient, table) };
  };

  it('keeps fleet entries in their own partition: one Query reads them all back, a cycle never sees them', async () => {
    const lease = { owner: 'check-1', until: '2026-11-28T10:05:00.000Z' };
    await store.write('a', { key: { kind: 'fleet' }, record: entry(), pending: [], lease: null, expiresAt: null }, 0);
    await store.write('b', { key: { kind: 'fleet' }, record: entry(1), pending: [event], lease, expiresAt: null }, 0);
    await store.write('a', serverWrite('2026-11-28T10:00:00.000Z'), 0);
    const queriesBefore = store.stats.queries;

    const fleet = await store.loadFleet();
    const raw = await client.send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: 'FLEET' }, sk: { S: 'SERVER#b' } } }),
    );

    expect(Object.fromEntries(fleet)).toEqual({
      a: { record: entry(), version: 1, pending: [], lease: null },
      b: { record: entry(1), version: 1, pending: [event], lease },
    });
    expect(store.stats.queries - queriesBefore).toBe(1);
    expect(raw.Item?.version).toEqual({ N: '1' });
    expect(await store.load('b')).toEqual({ server: undefined, sessions: [], repositories: [] });
    expect((await store.load('a')).sessions).toEqual([]);
    expect(await store.serverIds()).toEqual(['a']);
    await expect(
      store.write('a', { key: { kind: 'fleet' }, record: entry(), pending: [], lease: null, expiresAt: null }, 0),
    ).rejects.toBeInstanceOf(StateConflictError);
  });

  it('reads 250 servers’ last polls in 3 BatchGetItem calls of at most 100 keys, projecting polledAt alone', async () => {
    const ids = Array.from({ length: 250 }, (_, i) => `srv-${i}`);
    const polledAt = (i: number) => new Date(Date.parse('2026-11-28T10:00:00Z') + i * 1000).toISOString();
    await Promise.all(ids.map((id, i) => store.write(id, serverWrite(polledAt(i)), 0)));
    await store.write('no-poll-yet', serverWrite(), 0);
    const { sent, store: reader } = recording();

    const polled = await reader.lastPolled([...ids, 'no-poll-yet', 'no-record']);
    const raw = await client.send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: 'SERVER#srv-7' }, sk: { S: 'SERVER' } } }),
    );

    const batches = sent.map((s) => (s.input.RequestItems as Record<string, { Keys: unknown[] }>)[table]);
    expect(sent.map((s) => s.name)).toEqual(['BatchGetItemCommand', 'BatchGetItemCommand', 'BatchGetItemCommand']);
    expect(batches.map((b) => b?.Keys.length)).toEqual([100, 100, 52]);
    expect(batches[0]).toMatchObject({ ProjectionExpression: '#pk, #polledAt' });
    expect(polled.size).toBe(250);
    expect(ids.every((id, i) => polled.get(id) === polledAt(i))).toBe(true);
    expect(raw.Item?.polledAt).toEqual({ S: polledAt(7) });
  });

  it('asks again for the keys DynamoDB left unprocessed', async () => {
    const ids = ['a', 'b', 'c', 'd'];
    await Promise.all(ids.map((id) => store.write(id, serverWrite('2026-11-28T10:00:00.000Z'), 0)));
    // The first call is served for one key only; the others come back unprocessed, as under throttling.
    const { sent, store: reader } = recording((command, call) => {
      if (call > 1) return undefined;
      const request = command.input.RequestItems?.[table];
      const [first, ...rest] = request?.Keys ?? [];
      return client
        .send(new BatchGetItemCommand({ RequestItems: { [table]: { ...request, Keys: [first ?? {}] } } }))
        .then((out) => ({ ...out, UnprocessedKeys: { [table]: { ...request, Keys: rest } } }));
    });

    const polled = await reader.lastPolled(ids);

    expect([...polled.keys()].sort()).toEqual(ids);
    expect(sent.map((s) => (s.input.RequestItems as Record<string, { Keys: unknown[] }>)[table]?.Keys.length)).toEqual([
      4, 3,
    ]);
  });

  it('throws rather than leave a server unread when its key stays unprocessed', async () => {
    const { sent, store: reader } = recording((command) =>
      Promise.resolve({ Responses: {}, UnprocessedKeys: command.input.RequestItems }),
    );

    const err = await reader.lastPolled(['a', 'b']).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(StateStoreError);
    expect((err as Error).message).toMatch(/2 server record\(s\) still unprocessed after 6 retries/);
    expect(sent).toHaveLength(7);
  });

  it('lets exactly one of two overlapping fleet checks announce a silent server', async () => {
    const notifier = new RecordingNotifier();
    const servers = [{ id: 'quiet', name: 'Quiet', url: 'https://quiet:4443' }];
    const heartbeat = { pollEveryMinutes: 5, heartbeatIntervals: 3 };
    await store.write('quiet', serverWrite('2026-11-28T10:00:00.000Z'), 0);
    const check = (owner: string, minutes: number, target: FleetStore = store) =>
      fleetCheckOnce({
        store: target,
        notifier,
        servers,
        heartbeat,
        now: () => new Date(Date.parse('2026-11-28T10:00:00Z') + minutes * 60_000),
        owner,
      });
    await check('first', 1);
    // Both checks read the entry before either writes it.
    let arrived = 0;
    let release: () => void = () => undefined;
    const together = new Promise<void>((resolve) => {
      release = resolve;
    });
    const overlapping: FleetStore = {
      write: (...a) => store.write(...a),
      lastPolled: (...a) => store.lastPolled(...a),
      loadFleet: async (...a) => {
        const read = await store.loadFleet(...a);
        arrived += 1;
        if (arrived === 2) release();
        await together;
        return read;
      },
    };

    const [x, y] = await Promise.all([check('x', 20, overlapping), check('y', 20, overlapping)]);
    const later = await check('later', 25);

    expect(notifier.types()).toEqual(['monitor.server_not_polled']);
    expect([x.conflicts + y.conflicts, x.eventsPublished + y.eventsPublished]).toEqual([1, 1]);
    expect(later).toMatchObject({ notPolled: 1, eventsPublished: 0, writes: 0 });
    expect((await store.loadFleet()).get('quiet')).toMatchObject({ pending: [], lease: null });
  });
});
