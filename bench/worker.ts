import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { DynamoDbStateStore, type StoreStats } from '../lambda/adapters/dynamodb-state-store.js';
import { SnsNotifier } from '../lambda/adapters/sns-notifier.js';
import { HttpVb365Api } from '../lambda/adapters/vb365/http-vb365-api.js';
import { DEFAULT_POLICY } from '../lambda/domain/policy.js';
import { pollOnce } from '../lambda/domain/poll.js';

/*
 * The monitor side of the benchmark, in its own process (so its peak RSS is its own), bundled like the Lambda. The
 * parent sends commands over IPC; each reply carries wall time and the DynamoDB/SNS request counts of this process.
 */

export interface WorkerServer {
  readonly id: string;
  readonly url: string;
  readonly ca: string;
  readonly username: string;
  readonly password: string;
}

export interface WorkerSetup {
  readonly servers: readonly WorkerServer[];
  readonly ddbEndpoint: string;
  readonly ddbLatencyMs: number;
  readonly snsEndpoint: string;
  readonly table: string;
}

export type Command =
  | { readonly type: 'setup'; readonly setup: WorkerSetup }
  | { readonly type: 'cycle' }
  | { readonly type: 'naive'; readonly sessionIds: readonly string[] }
  | { readonly type: 'exit' };

export interface CycleReply {
  readonly wallMs: number;
  readonly ddb: StoreStats & { readonly gets: number };
  readonly snsCalls: number;
  readonly events: number;
  readonly statuses: readonly string[];
  readonly maxRssKb: number;
}

let setup: WorkerSetup;
let apis: HttpVb365Api[] = [];
let store: DynamoDbStateStore;
let ddb: DynamoDBClient;
let sns: SNSClient;
let notifier: SnsNotifier;
let clock = Date.parse('2026-11-28T08:00:00Z');
let gets = 0;

function withLatency<T extends { middlewareStack: { add: (...a: never[]) => void } }>(client: T, ms: number): T {
  (client.middlewareStack as unknown as { add: (mw: unknown, opts: unknown) => void }).add(
    (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
      await new Promise((r) => setTimeout(r, ms));
      return next(args);
    },
    { step: 'finalizeRequest', name: 'benchLatency' },
  );
  return client;
}

async function handle(cmd: Command): Promise<unknown> {
  switch (cmd.type) {
    case 'setup': {
      setup = cmd.setup;
      // Same identity and region as the parent's client that created the table (DynamoDB Local keys on both).
      ddb = withLatency(
        new DynamoDBClient({
          endpoint: setup.ddbEndpoint,
          region: 'us-east-1',
          credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        }),
        setup.ddbLatencyMs,
      );
      store = new DynamoDbStateStore(ddb, setup.table);
      sns = new SNSClient({
        endpoint: setup.snsEndpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      });
      notifier = new SnsNotifier(sns, 'arn:aws:sns:us-east-1:123456789012:bench');
      apis = setup.servers.map(
        (s) =>
          new HttpVb365Api({
            baseUrl: s.url,
            ca: s.ca,
            apiVersion: 'v8',
            credentials: () => ({ username: s.username, password: s.password }),
          }),
      );
      // Warm the connection pools and tokens, as a warm Lambda container has them.
      await Promise.all(apis.map((a) => a.apiVersion()));
      return { ok: true };
    }
    case 'cycle': {
      clock += 5 * 60_000;
      const before = { ...store.stats, gets };
      const callsBefore = notifier.calls;
      const started = performance.now();
      const summaries = await Promise.all(
        setup.servers.map((s, i) =>
          pollOnce({
            api: apis[i] as HttpVb365Api,
            store,
            notifier,
            // The session path alone; the out-of-sync detector adds one repository listing every 15 minutes.
            policy: { ...DEFAULT_POLICY, outOfSyncAfterMs: null },
            server: { id: s.id, name: s.id, url: s.url },
            now: () => new Date(clock),
            owner: `bench-${clock}-${i}`,
            concurrency: 16,
          }),
        ),
      );
      const wallMs = performance.now() - started;
      return reply(
        wallMs,
        before,
        notifier.calls - callsBefore,
        summaries.reduce((n, x) => n + x.eventsPublished, 0),
        summaries.map((x) => x.status),
      );
    }
    case 'naive': {
      // The straightforward design: per session, one GET, one GetItem, one PutItem and one Publish, in sequence.
      const api = apis[0] as HttpVb365Api;
      const before = { ...store.stats, gets };
      let publishes = 0;
      const started = performance.now();
      for (const id of cmd.sessionIds) {
        const session = await api.getSession(id);
        gets += 1;
        await ddb.send(new GetItemCommand({ TableName: setup.table, Key: { pk: { S: 'NAIVE' }, sk: { S: id } } }));
        store.stats.puts += 1;
        await ddb.send(
          new PutItemCommand({
            TableName: setup.table,
            Item: { pk: { S: 'NAIVE' }, sk: { S: id }, data: { S: JSON.stringify(session) } },
          }),
        );
        publishes += 1;
        await sns.send(
          new PublishCommand({
            TopicArn: 'arn:aws:sns:us-east-1:123456789012:bench',
            Message: JSON.stringify(session),
          }),
        );
      }
      return reply(performance.now() - started, before, publishes, 0, ['ok']);
    }
    case 'exit':
      await Promise.all(apis.map((a) => a.close()));
      ddb.destroy();
      sns.destroy();
      return { ok: true };
  }
}

function reply(
  wallMs: number,
  before: typeof store.stats & { gets: number },
  snsCalls: number,
  events: number,
  statuses: string[],
): CycleReply {
  const s = store.stats;
  return {
    wallMs,
    ddb: {
      queries: s.queries - before.queries,
      queryPages: s.queryPages - before.queryPages,
      puts: s.puts - before.puts,
      batchWrites: s.batchWrites - before.batchWrites,
      readCapacity: s.readCapacity - before.readCapacity,
      writeCapacity: s.writeCapacity - before.writeCapacity,
      gets: gets - before.gets,
    },
    snsCalls,
    events,
    statuses,
    maxRssKb: process.resourceUsage().maxRSS,
  };
}

process.on('message', (cmd: Command) => {
  handle(cmd).then(
    (result) => process.send?.({ ok: true, result }),
    (err: unknown) =>
      process.send?.({ ok: false, error: err instanceof Error ? `${err.name}: ${err.message}` : String(err) }),
  );
  if (cmd.type === 'exit') setTimeout(() => process.exit(0), 50);
});
