import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import pLimit from 'p-limit';
import type { DynamoDbStateStore, StoreStats } from '../lambda/adapters/dynamodb-state-store.js';
import { SnsNotifier } from '../lambda/adapters/sns-notifier.js';
import type { HttpVb365Api } from '../lambda/adapters/vb365/http-vb365-api.js';
import { DEFAULT_POLICY } from '../lambda/domain/policy.js';
import { pollOnce } from '../lambda/domain/poll.js';
import { pollDepsFor, stateStoreFor, vb365ApiFor } from '../lambda/wiring.js';

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
  /** Endpoints of the stand-ins, through their latency proxies. */
  readonly ddbEndpoint: string;
  readonly snsEndpoint: string;
  readonly table: string;
}

/** The baselines: per session in sequence, per session 16 at a time, and the closest real peer's design. */
export type Baseline = 'naive' | 'naiveConcurrent' | 'peer';

export type Command =
  | { readonly type: 'setup'; readonly setup: WorkerSetup }
  | { readonly type: 'cycle' }
  | { readonly type: 'baseline'; readonly baseline: Baseline; readonly sessionIds: readonly string[] }
  | { readonly type: 'exit' }
  /** Starts a CPU profile (`file` empty), or stops it and writes it to `file` (bench/steady.ts --profile). */
  | { readonly type: 'profile'; readonly file: string };

export interface CycleReply {
  readonly wallMs: number;
  /** CPU time of this process during the cycle (user + system, ms). */
  readonly cpuMs: number;
  /** Mean wall time of one server's cycle (the servers of a fleet run concurrently). */
  readonly perServerWallMs: number;
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
let profiler: Session | undefined;
const post = (method: string, params?: object) =>
  new Promise<unknown>((resolve, reject) =>
    profiler?.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
  );
/** The schedule's interval, as the Lambda passes it (the detector scans on the clock, storing nothing). */
const INTERVAL_MS = 5 * 60_000;
/** Concurrent server cycles of a fleet run in this one process (Lambda runs each in its own container). */
/**
 * Servers polled at once in the fleet run. Each cycle sends up to 16 requests at a time itself; more servers at once
 * than this storm the local DynamoDB engine behind the latency proxy until it resets connections (the figures are per
 * server cycle, so this bounds only the run's length).
 */
const FLEET_CONCURRENCY = 20;

async function handle(cmd: Command): Promise<unknown> {
  switch (cmd.type) {
    case 'setup': {
      setup = cmd.setup;
      // Same identity and region as the parent's client that created the table (DynamoDB Local keys on both).
      ddb = new DynamoDBClient({
        endpoint: setup.ddbEndpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
        // A connection the local engine reset is retried, as the SDK retries against AWS (calls are counted above it).
        maxAttempts: 5,
      });
      store = stateStoreFor(setup.table, ddb);
      sns = new SNSClient({
        endpoint: setup.snsEndpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
      });
      notifier = new SnsNotifier(sns, 'arn:aws:sns:us-east-1:123456789012:bench');
      apis = setup.servers.map((s) =>
        vb365ApiFor({
          url: s.url,
          ca: s.ca,
          apiVersion: 'v8',
          credentials: () => ({ username: s.username, password: s.password }),
        }),
      );
      // Tokens and API versions, as a warm Lambda container has them (its connections are the parent's business).
      const warm = pLimit(FLEET_CONCURRENCY);
      await Promise.all(apis.map((a) => warm(() => a.apiVersion())));
      return { ok: true };
    }
    case 'cycle': {
      clock += 5 * 60_000;
      const before = { ...store.stats, gets };
      const callsBefore = notifier.calls;
      const limit = pLimit(FLEET_CONCURRENCY);
      let serverMs = 0;
      const cpu0 = process.cpuUsage();
      const started = performance.now();
      const summaries = await Promise.all(
        setup.servers.map((s, i) =>
          limit(async () => {
            const t0 = performance.now();
            const summary = await pollOnce(
              pollDepsFor(
                { api: apis[i] as HttpVb365Api, store, notifier },
                {
                  // The shipped defaults: the out-of-sync detector on (a repository listing each quarter hour), with
                  // the schedule's interval as the Lambda passes it. No heartbeat: that is the fleet check's (see
                  // README).
                  policy: DEFAULT_POLICY,
                  intervalMs: INTERVAL_MS,
                  server: { id: s.id, name: s.id, url: s.url },
                  now: () => new Date(clock),
                  owner: `bench-${clock}-${i}`,
                  concurrency: 16,
                },
              ),
            );
            serverMs += performance.now() - t0;
            return summary;
          }),
        ),
      );
      const wallMs = performance.now() - started;
      const cpu = process.cpuUsage(cpu0);
      return reply(
        wallMs,
        (cpu.user + cpu.system) / 1000,
        serverMs / setup.servers.length,
        before,
        notifier.calls - callsBefore,
        summaries.reduce((n, x) => n + x.eventsPublished, 0),
        summaries.map((x) => x.status),
      );
    }
    case 'baseline': {
      const api = apis[0] as HttpVb365Api;
      const before = { ...store.stats, gets };
      const topic = 'arn:aws:sns:us-east-1:123456789012:bench';
      let publishes = 0;
      const key = (id: string) => ({ pk: { S: `BASELINE#${cmd.baseline}` }, sk: { S: id } });
      const cpu0 = process.cpuUsage();
      const started = performance.now();
      if (cmd.baseline === 'peer') {
        // The closest real peer: list, then per listed item one GET and one GetItem; write and publish only what
        // changed.
        const listed = await api.listSessions();
        const limit = pLimit(1);
        await Promise.all(
          listed.sessions.map((s) =>
            limit(async () => {
              const session = await api.getSession(s.id);
              gets += 1;
              const data = JSON.stringify(session);
              const stored = await ddb.send(new GetItemCommand({ TableName: setup.table, Key: key(s.id) }));
              if (stored.Item?.data?.S === data) return;
              store.stats.puts += 1;
              await ddb.send(new PutItemCommand({ TableName: setup.table, Item: { ...key(s.id), data: { S: data } } }));
              publishes += 1;
              await sns.send(new PublishCommand({ TopicArn: topic, Message: data }));
            }),
          ),
        );
      } else {
        // The straightforward design: per session, one GET, one GetItem, one PutItem and one Publish; in sequence, or
        // 16 sessions at a time.
        const limit = pLimit(cmd.baseline === 'naive' ? 1 : 16);
        await Promise.all(
          cmd.sessionIds.map((id) =>
            limit(async () => {
              const session = await api.getSession(id);
              gets += 1;
              await ddb.send(new GetItemCommand({ TableName: setup.table, Key: key(id) }));
              store.stats.puts += 1;
              const data = JSON.stringify(session);
              await ddb.send(new PutItemCommand({ TableName: setup.table, Item: { ...key(id), data: { S: data } } }));
              publishes += 1;
              await sns.send(new PublishCommand({ TopicArn: topic, Message: data }));
            }),
          ),
        );
      }
      const cpu = process.cpuUsage(cpu0);
      const wallMs = performance.now() - started;
      return reply(wallMs, (cpu.user + cpu.system) / 1000, wallMs, before, publishes, 0, ['ok']);
    }
    case 'profile': {
      profiler ??= new Session();
      if (cmd.file === '') {
        profiler.connect();
        await post('Profiler.enable');
        await post('Profiler.setSamplingInterval', { interval: 100 });
        await post('Profiler.start');
      } else {
        const { profile } = (await post('Profiler.stop')) as { profile: unknown };
        writeFileSync(cmd.file, JSON.stringify(profile));
        profiler.disconnect();
      }
      return { ok: true };
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
  cpuMs: number,
  perServerWallMs: number,
  before: typeof store.stats & { gets: number },
  snsCalls: number,
  events: number,
  statuses: string[],
): CycleReply {
  const s = store.stats;
  return {
    wallMs,
    cpuMs,
    perServerWallMs,
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
