import { type ChildProcess, execFile, execFileSync, fork, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import {
  type AttributeValue,
  BatchWriteItemCommand,
  type DynamoDBClient,
  GetItemCommand,
  QueryCommand,
} from '@aws-sdk/client-dynamodb';
import { SNSClient } from '@aws-sdk/client-sns';
import { build } from 'esbuild';
import { DynamoDbStateStore } from '../lambda/adapters/dynamodb-state-store.js';
import { SnsNotifier } from '../lambda/adapters/sns-notifier.js';
import { HttpVb365Api } from '../lambda/adapters/vb365/http-vb365-api.js';
import { resolveConfig } from '../lambda/config-schema.js';
import { fleetCheckOnce } from '../lambda/domain/fleet-check.js';
import { DEFAULT_POLICY } from '../lambda/domain/policy.js';
import { pollOnce } from '../lambda/domain/poll.js';
import { type EmbeddedDynamoDb, ensureTable, localClient, startBestEngine } from '../local/embedded-dynamodb.js';
import { startSecretsStandIn } from '../local/secrets-stand-in.js';
import { startSimulator, type Vb365Simulator } from '../local/simulator/simulator.js';
import { type SnsStandIn, startSnsStandIn } from '../local/sns-stand-in.js';
import {
  assumptionsOf,
  type Cost,
  type CredentialsSetting,
  costOf,
  countTemplates,
  FREE_TIER_NOTES,
  type Measured,
  PRICE_REGION,
  PRICES,
  PRICES_AS_OF,
  type TemplateCounts,
  WORKLOAD,
} from './cost.js';
import { fleetConfig, synthesize } from './templates.js';
import type { Command, CycleReply, WorkerServer } from './worker.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/*
 * npm run bench [-- --quick]: the real cycle code against the simulator with injected latency, for growing session
 * counts and a fleet of servers; compared with a naive per-session design; plus bundle size, module init time, and
 * the cost model (bench/cost.ts) fed with what this run measures (an hour of cycles with the default policy, fleet
 * checks, the poll function's log and EMF output) and the templates synthesized for 1 to 1,000 servers. Results:
 * bench/results.json and Markdown on stdout (copied into the README).
 */

const ROOT = join(import.meta.dirname, '..');
const BUILD = join(ROOT, 'bench', '.build');
const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' } } });
const quick = values.quick === true;
const SIZES = quick ? [1, 10, 100] : [1, 10, 100, 1000, 10_000];
const NAIVE_MAX = quick ? 100 : 1000;
const FLEET = quick ? 10 : 100;
const STEADY_CYCLES = quick ? 3 : 5;
const VB365_LATENCY_MS = 25;
const AWS_LATENCY_MS = 3;
/**
 * Sessions per server in the cost model's measurements: what the model's workload keeps tracked, its syncs a day
 * times the days finished sessions are kept (the partition a cycle reads). The performance rows above go to 10,000.
 */
const COST_SESSIONS = WORKLOAD.syncsPerServerPerDay * (DEFAULT_POLICY.finishedRetentionMs / 86_400_000);
/** Fleet sizes of the fleet check measurement (fixed and per-server parts from the two). */
const FLEET_CHECK_SIZES = quick ? [10, 100] : [100, 1000];
/** Fleet sizes of the cost table; the one before each gives "one more server". */
const COST_SIZES = [1, 10, 100, 1000];

/** esbuild options of the poll Lambda (infra/sync-monitor.ts). */
const LAMBDA_BUILD = {
  bundle: true,
  platform: 'node' as const,
  format: 'cjs' as const,
  target: 'node22',
  minify: true,
  mainFields: ['module', 'main'],
  external: ['@aws-sdk/*'],
  logLevel: 'error' as const,
};

interface Row {
  sessions: number;
  servers: number;
  firstCycleMs: number;
  steadyMs: number;
  vb365PerCycle: number;
  ddbPerCycle: { queries: number; pages: number; writes: number; rcu: number; wcu: number };
  snsPerCycle: number;
  change: { events: number; writes: number; wcu: number; snsCalls: number; ms: number };
  naiveMs: number | null;
  ratio: number | null;
  peakRssMb: number;
}

async function main() {
  mkdirSync(BUILD, { recursive: true });
  const bundle = await lambdaBundle();
  const init = initTime(bundle.file);
  await build({ ...LAMBDA_BUILD, entryPoints: [join(ROOT, 'bench/worker.ts')], outfile: join(BUILD, 'worker.cjs') });

  const engine = await startBestEngine();
  const sns = await startSnsStandIn();
  sns.latencyMs = AWS_LATENCY_MS;
  const rows: Row[] = [];
  let hour: HourFigures;
  let fleetChecks: FleetCheckFigures[];
  let probes: Record<'fleet' | 'perServer', ProbeFigures>;
  try {
    for (const n of SIZES) rows.push(await scenario(engine, sns, n, 1));
    rows.push(await scenario(engine, sns, 10, FLEET));
    hour = await defaultsHour(engine, sns, COST_SESSIONS);
    fleetChecks = await fleetCheckFigures(engine, sns, hour.serverItem, FLEET_CHECK_SIZES);
    probes = {
      fleet: await handlerProbe(engine, sns, 'fleet', join(ROOT, bundle.file)),
      perServer: await handlerProbe(engine, sns, 'perServer', join(ROOT, bundle.file)),
    };
  } finally {
    await sns.close();
    await engine.close();
  }

  const cost = costSection(rows, hour, fleetChecks, probes, init);
  const results = {
    date: new Date().toISOString(),
    machine: `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    dynamodb: engine.engine,
    latency: { vb365Ms: VB365_LATENCY_MS, dynamodbMs: AWS_LATENCY_MS, snsMs: AWS_LATENCY_MS },
    quick,
    bundle,
    init,
    rows,
    cost,
    targets: { ...targets(rows, bundle.bytes, init), ...cost.targets },
  };
  const out = values.out ?? join(ROOT, 'bench', quick ? 'results-quick.json' : 'results.json');
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(markdown(results));
}

async function scenario(
  engine: EmbeddedDynamoDb,
  sns: Awaited<ReturnType<typeof startSnsStandIn>>,
  sessions: number,
  serverCount: number,
): Promise<Row> {
  const table = `bench-${sessions}-${serverCount}-${Date.now()}`;
  const client = localClient(engine.endpoint);
  await ensureTable(client, table);
  client.destroy();
  const sims: Vb365Simulator[] = [];
  for (let s = 0; s < serverCount; s++) {
    const sim = await simulatorWith(sessions);
    sim.inject({ route: '*', fault: { kind: 'latency', ms: VB365_LATENCY_MS }, times: Number.POSITIVE_INFINITY });
    sims.push(sim);
  }
  const servers: WorkerServer[] = sims.map((sim, i) => ({
    id: `server-${i}`,
    url: sim.url,
    ca: sim.pki.caCert,
    username: sim.username,
    password: sim.password,
  }));
  const worker = await startWorker();
  try {
    await worker.call({
      type: 'setup',
      setup: { servers, ddbEndpoint: engine.endpoint, ddbLatencyMs: AWS_LATENCY_MS, snsEndpoint: sns.endpoint, table },
    });
    const requests = () => sims.reduce((n, s) => n + s.totalRequests, 0);
    const snsBefore = sns.requests.length;
    const first = (await worker.call({ type: 'cycle' })) as CycleReply;
    const steady: CycleReply[] = [];
    let vb365 = 0;
    for (let i = 0; i < STEADY_CYCLES; i++) {
      const r0 = requests();
      steady.push((await worker.call({ type: 'cycle' })) as CycleReply);
      vb365 = requests() - r0;
    }
    const snsSteady = sns.requests.length - snsBefore - first.snsCalls;
    // A change: 1 % of the sessions (at least one) of each server fail.
    const failing = Math.max(1, Math.floor(sessions / 100));
    for (const sim of sims)
      sim.apply(
        Array.from({ length: failing }, (_, i) => ({
          op: 'fail' as const,
          session: `s${i}`,
          error: 'Bucket not reachable',
        })),
      );
    const change = (await worker.call({ type: 'cycle' })) as CycleReply;
    let naive: CycleReply | null = null;
    if (serverCount === 1 && sessions <= NAIVE_MAX) {
      naive = (await worker.call({
        type: 'naive',
        sessionIds: Array.from({ length: sessions }, (_, i) => `s${i}`),
      })) as CycleReply;
    }
    const last = steady.at(-1) as CycleReply;
    const steadyMs = median(steady.map((s) => s.wallMs));
    return {
      sessions,
      servers: serverCount,
      firstCycleMs: round(first.wallMs),
      steadyMs: round(steadyMs),
      vb365PerCycle: vb365,
      ddbPerCycle: {
        queries: last.ddb.queries,
        pages: last.ddb.queryPages,
        writes: last.ddb.puts + last.ddb.batchWrites,
        rcu: round(last.ddb.readCapacity),
        wcu: round(last.ddb.writeCapacity),
      },
      snsPerCycle: snsSteady / STEADY_CYCLES,
      change: {
        events: change.events,
        writes: change.ddb.puts,
        wcu: round(change.ddb.writeCapacity),
        snsCalls: change.snsCalls,
        ms: round(change.wallMs),
      },
      naiveMs: naive ? round(naive.wallMs) : null,
      ratio: naive ? round(naive.wallMs / steadyMs) : null,
      peakRssMb: round((naive ?? change).maxRssKb / 1024),
    };
  } finally {
    await worker.call({ type: 'exit' }).catch(() => undefined);
    await Promise.all(sims.map((s) => s.close()));
  }
}

/** A simulated server with `sessions` running syncs (progress 10 %), ten to a repository. */
async function simulatorWith(sessions: number): Promise<Vb365Simulator> {
  const sim = await startSimulator({
    scenario: {
      name: `bench-${sessions}`,
      repositories: Array.from({ length: Math.ceil(sessions / 10) }, (_, i) => ({
        id: `r${i}`,
        name: `Repository ${i}`,
        isOutOfSync: true,
      })),
      steps: [],
    },
  });
  sim.apply(
    Array.from({ length: sessions }, (_, i) => ({
      op: 'start' as const,
      session: `s${i}`,
      repository: `r${Math.floor(i / 10)}`,
      progress: 10,
    })),
  );
  return sim;
}

function startWorker(): Promise<{ call: (cmd: Command) => Promise<unknown>; child: ChildProcess }> {
  const child = fork(join(BUILD, 'worker.cjs'), [], {
    cwd: ROOT,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const call = (cmd: Command) =>
    new Promise<unknown>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`benchmark worker exited (${code}) during ${cmd.type}`));
      child.once('exit', onExit);
      child.once('message', (m: { ok: boolean; result?: unknown; error?: string }) => {
        child.off('exit', onExit);
        if (m.ok) resolve(m.result);
        else reject(new Error(m.error));
      });
      child.send(cmd);
    });
  return Promise.resolve({ call, child });
}

async function lambdaBundle() {
  const file = join(BUILD, 'handler.cjs');
  await build({ ...LAMBDA_BUILD, entryPoints: [join(ROOT, 'lambda/handler.ts')], outfile: file });
  const bytes = execFileSync('wc', ['-c', file]).toString().trim().split(/\s+/)[0];
  const content = (await import('node:fs')).readFileSync(file);
  return { file: 'bench/.build/handler.cjs', bytes: Number(bytes), gzipBytes: gzipSync(content, { level: 9 }).length };
}

/**
 * Module init of the poll Lambda in fresh Node processes (median of 7), as Lambda loads it (`require`), split into
 * the AWS SDK clients it uses (external: the runtime provides them) and our bundle on top of them.
 */
function initTime(bundleFile: string): { totalMs: number; sdkMs: number; ownMs: number } {
  const probe = join(BUILD, 'init-probe.cjs');
  writeFileSync(
    probe,
    `const t0 = performance.now();
require('@aws-sdk/client-dynamodb'); require('@aws-sdk/client-sns'); require('@aws-sdk/client-secrets-manager');
const t1 = performance.now();
require(${JSON.stringify(join(ROOT, bundleFile))});
console.log(JSON.stringify({ sdk: t1 - t0, own: performance.now() - t1 }));
`,
  );
  // The configuration file the deployment puts beside the code.
  const configFile = join(BUILD, 'monitor-config.json');
  writeFileSync(
    configFile,
    JSON.stringify({ servers: [{ id: 'x', url: 'https://x:4443', credentials: { secretName: 'vb365/x' } }] }),
  );
  const env = {
    ...process.env,
    TABLE_NAME: 'state',
    TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:events',
    CONFIG_FILE: configFile,
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  const runs = Array.from(
    { length: 7 },
    () =>
      JSON.parse(spawnSync(process.execPath, [probe], { cwd: ROOT, env }).stdout.toString()) as {
        sdk: number;
        own: number;
      },
  );
  return {
    totalMs: round(median(runs.map((r) => r.sdk + r.own))),
    sdkMs: round(median(runs.map((r) => r.sdk))),
    ownMs: round(median(runs.map((r) => r.own))),
  };
}

/** A client of the local engine that waits `ms` before each request, as the worker's does. */
function slowClient(endpoint: string, ms: number): DynamoDBClient {
  const client = localClient(endpoint);
  (client.middlewareStack as unknown as { add: (mw: unknown, opts: unknown) => void }).add(
    (next: (args: unknown) => Promise<unknown>) => async (args: unknown) => {
      await new Promise((r) => setTimeout(r, ms));
      return next(args);
    },
    { step: 'finalizeRequest', name: 'benchLatency' },
  );
  return client;
}

function notifierAt(sns: SnsStandIn): { notifier: SnsNotifier; client: SNSClient } {
  const client = new SNSClient({
    endpoint: sns.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
  });
  return { notifier: new SnsNotifier(client, 'arn:aws:sns:us-east-1:123456789012:bench'), client };
}

/** Stored size of a DynamoDB item: attribute names and values, as DynamoDB counts them. */
function itemBytes(item: Record<string, AttributeValue>): number {
  const value = (v: AttributeValue): number => {
    if (v.S !== undefined) return Buffer.byteLength(v.S);
    if (v.N !== undefined) return Math.ceil(v.N.replace(/^-|\.|e.*$/gi, '').length / 2) + 1;
    if (v.B !== undefined) return v.B.length;
    if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
    if (v.L !== undefined) return 3 + v.L.reduce((n, x) => n + 1 + value(x), 0);
    if (v.M !== undefined) return 3 + itemBytes(v.M);
    if (v.SS !== undefined) return v.SS.reduce((n, x) => n + Buffer.byteLength(x), 0);
    if (v.NS !== undefined) return v.NS.reduce((n, x) => n + Math.ceil(x.length / 2) + 1, 0);
    return 0;
  };
  return Object.entries(item).reduce((n, [k, v]) => n + Buffer.byteLength(k) + value(v), 0);
}

interface HourFigures {
  pollEveryMinutes: number;
  heartbeatIntervals: number;
  cycles: number;
  /** Mean wall time of the hour's cycles (ms): Lambda bills the sum. */
  meanCycleMs: number;
  vb365PerCycle: number;
  writesPerCycle: number;
  readUnitsPerCycle: number;
  writeUnitsPerCycle: number;
  partitionItems: number;
  partitionBytes: number;
  /** Mean size of a session item (a progress write rewrites one). */
  sessionItemBytes: number;
  serverRecordBytes: number;
  /** The server item as stored after the hour (the fleet check measurement copies it). */
  serverItem: Record<string, AttributeValue>;
}

/**
 * An hour of steady cycles of one server with the shipped defaults: the out-of-sync detector on (a repository
 * listing and a server-record write every 15 minutes) and the heartbeat the fleet check reads (`polledAt`, renewed
 * every few cycles). Nothing else changes, so the hour has no event (events are measured on their own); stall
 * detection is off because the simulator's syncs never move.
 */
async function defaultsHour(engine: EmbeddedDynamoDb, sns: SnsStandIn, sessions: number): Promise<HourFigures> {
  const defaults = resolveConfig(fleetConfig(1, { credentials: 'ssmParameter' }));
  const table = `bench-hour-${Date.now()}`;
  const setup = localClient(engine.endpoint);
  await ensureTable(setup, table);
  const sim = await simulatorWith(sessions);
  sim.inject({ route: '*', fault: { kind: 'latency', ms: VB365_LATENCY_MS }, times: Number.POSITIVE_INFINITY });
  const api = new HttpVb365Api({
    baseUrl: sim.url,
    ca: sim.pki.caCert,
    apiVersion: 'v8',
    credentials: () => ({ username: sim.username, password: sim.password }),
  });
  const client = slowClient(engine.endpoint, AWS_LATENCY_MS);
  const store = new DynamoDbStateStore(client, table);
  const { notifier, client: snsClient } = notifierAt(sns);
  const minutes = defaults.pollEveryMinutes;
  let clock = Date.parse('2026-11-28T08:00:00Z');
  const cycle = async () => {
    clock += minutes * 60_000;
    const started = performance.now();
    await pollOnce({
      api,
      store,
      notifier,
      policy: { ...DEFAULT_POLICY, stallAfterMs: 7 * 86_400_000 },
      server: { id: 'server-0', name: 'server-0', url: sim.url },
      now: () => new Date(clock),
      owner: `hour-${clock}`,
      heartbeat: { pollEveryMinutes: minutes, heartbeatIntervals: defaults.heartbeatIntervals },
    });
    return performance.now() - started;
  };
  try {
    await cycle(); // the baseline
    await cycle();
    const before = { ...store.stats };
    const requests = sim.totalRequests;
    const cycles = 60 / minutes;
    const times: number[] = [];
    for (let i = 0; i < cycles; i++) times.push(await cycle());
    const after = store.stats;
    const items: Record<string, AttributeValue>[] = [];
    let startKey: Record<string, AttributeValue> | undefined;
    do {
      const page = await setup.send(
        new QueryCommand({
          TableName: table,
          KeyConditionExpression: 'pk = :pk',
          ExpressionAttributeValues: { ':pk': { S: 'SERVER#server-0' } },
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    const server = await setup.send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: 'SERVER#server-0' }, sk: { S: 'SERVER' } } }),
    );
    if (!server.Item) throw new Error('bench: no server record after an hour of cycles');
    return {
      pollEveryMinutes: minutes,
      heartbeatIntervals: defaults.heartbeatIntervals,
      cycles,
      meanCycleMs: round(times.reduce((a, b) => a + b, 0) / cycles),
      vb365PerCycle: round((sim.totalRequests - requests) / cycles),
      writesPerCycle: round((after.puts + after.batchWrites - before.puts - before.batchWrites) / cycles),
      readUnitsPerCycle: round((after.readCapacity - before.readCapacity) / cycles),
      writeUnitsPerCycle: round((after.writeCapacity - before.writeCapacity) / cycles),
      partitionItems: items.length,
      partitionBytes: items.reduce((n, i) => n + itemBytes(i), 0),
      sessionItemBytes: Math.round(
        median(items.filter((i) => i.sk?.S?.startsWith('SESSION#')).map((i) => itemBytes(i))),
      ),
      serverRecordBytes: itemBytes(server.Item),
      serverItem: server.Item,
    };
  } finally {
    await api.close();
    await sim.close();
    snsClient.destroy();
    client.destroy();
    setup.destroy();
  }
}

interface FleetCheckFigures {
  servers: number;
  /** Median of three steady checks (ms). */
  ms: number;
  readUnits: number;
  writeUnits: number;
  notPolled: number;
}

/**
 * Steady fleet checks (every server polled recently: nothing to announce, nothing written) for each size, the fleet's
 * server records being copies of `serverItem`. The first check of a size records its new servers; the next three
 * are measured.
 */
async function fleetCheckFigures(
  engine: EmbeddedDynamoDb,
  sns: SnsStandIn,
  serverItem: Record<string, AttributeValue>,
  sizes: readonly number[],
): Promise<FleetCheckFigures[]> {
  const table = `bench-fleet-${Date.now()}`;
  const setup = localClient(engine.endpoint);
  await ensureTable(setup, table);
  const ids = Array.from({ length: Math.max(...sizes) }, (_, i) => `fleet-${i + 1}`);
  for (let i = 0; i < ids.length; i += 25) {
    let requests = ids
      .slice(i, i + 25)
      .map((id) => ({ PutRequest: { Item: { ...serverItem, pk: { S: `SERVER#${id}` } } } }));
    while (requests.length > 0) {
      const out = await setup.send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } }));
      requests = (out.UnprocessedItems?.[table] ?? []) as typeof requests;
    }
  }
  const polledAt = Date.parse(serverItem.polledAt?.S ?? '2026-11-28T08:00:00Z');
  const client = slowClient(engine.endpoint, AWS_LATENCY_MS);
  const store = new DynamoDbStateStore(client, table);
  const { notifier, client: snsClient } = notifierAt(sns);
  const out: FleetCheckFigures[] = [];
  try {
    for (const n of sizes) {
      const deps = {
        store,
        notifier,
        servers: ids.slice(0, n).map((id) => ({ id, name: id, url: `https://${id}.example.net:4443` })),
        heartbeat: { pollEveryMinutes: 5, heartbeatIntervals: 3 },
        now: () => new Date(polledAt + 5 * 60_000),
        owner: `bench-fleet-${n}`,
      };
      await fleetCheckOnce(deps);
      const before = { ...store.stats };
      const times: number[] = [];
      let notPolled = 0;
      for (let i = 0; i < 3; i++) {
        const started = performance.now();
        notPolled = (await fleetCheckOnce(deps)).notPolled;
        times.push(performance.now() - started);
      }
      out.push({
        servers: n,
        ms: round(median(times)),
        readUnits: round((store.stats.readCapacity - before.readCapacity) / 3),
        writeUnits: round((store.stats.writeCapacity - before.writeCapacity) / 3),
        notPolled,
      });
    }
    return out;
  } finally {
    snsClient.destroy();
    client.destroy();
    setup.destroy();
  }
}

interface ProbeFigures {
  /** What a steady poll cycle writes to its log: bytes and log events (lines), median. */
  pollCycle: { bytes: number; events: number };
  fleetCheck: { bytes: number; events: number };
  /** Distinct custom metrics the steady cycles of one server, and of two, define in their EMF output. */
  customMetrics: { oneServer: number; twoServers: number; names: string[] };
  /** gzip size ÷ size of everything logged. */
  compression: number;
  /** One steady cycle's output, for the record. */
  sample: string;
}

const PROBE = `const { writeFileSync } = require('node:fs');
const { randomUUID } = require('node:crypto');
const [bundle, plan, outFile] = process.argv.slice(2);
let captured = [];
for (const stream of [process.stdout, process.stderr]) {
  stream.write = (chunk, encoding, callback) => {
    captured.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') done();
    return true;
  };
}
const name = 'Cost-MonitorPollFunctionB0A7B8C1-AbCdEfGhIjKl';
(async () => {
  const { handler } = require(bundle);
  const results = [];
  for (const event of JSON.parse(plan)) {
    captured = [];
    let error = null;
    try {
      await handler(event, {
        awsRequestId: randomUUID(),
        functionName: name,
        functionVersion: '$LATEST',
        memoryLimitInMB: '256',
        invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:' + name,
        getRemainingTimeInMillis: () => 60000,
      });
    } catch (err) {
      error = String((err && err.message) || err);
    }
    results.push({ event, error, output: captured.join('') });
  }
  writeFileSync(outFile, JSON.stringify(results));
})().catch((err) => writeFileSync(outFile, JSON.stringify({ fatal: String((err && err.stack) || err) })));
`;

/**
 * The poll function's bundle, run as Lambda runs it (module init, then invocations with a context) against the local
 * stand-ins: two servers whose accounts are SSM parameters, a first cycle each, three steady cycles each, then three
 * fleet checks. Everything it prints (logs, EMF) is what CloudWatch Logs ingests; the EMF output names the custom
 * metrics it defines.
 */
async function handlerProbe(
  engine: EmbeddedDynamoDb,
  sns: SnsStandIn,
  metrics: 'fleet' | 'perServer',
  bundleFile: string,
): Promise<ProbeFigures> {
  const table = `bench-probe-${metrics}-${Date.now()}`;
  const setup = localClient(engine.endpoint);
  await ensureTable(setup, table);
  setup.destroy();
  const sim = await simulatorWith(COST_SESSIONS);
  const secrets = await startSecretsStandIn();
  const servers = ['vb365-0001', 'vb365-0002'];
  for (const id of servers) {
    secrets.parameters.set(
      `/vb365-sync-monitor/${id}`,
      JSON.stringify({ username: sim.username, password: sim.password }),
    );
  }
  const configFile = join(BUILD, `probe-config-${metrics}.json`);
  writeFileSync(
    configFile,
    JSON.stringify({
      servers: servers.map((id) => ({
        id,
        url: sim.url,
        caBundle: sim.pki.caCert,
        credentials: { parameterName: `/vb365-sync-monitor/${id}` },
      })),
      metrics,
    }),
  );
  const probe = join(BUILD, 'handler-probe.cjs');
  writeFileSync(probe, PROBE);
  const outFile = join(BUILD, `probe-${metrics}.json`);
  const poll = (id: string) => ({ serverId: id });
  const plan = [
    ...servers.map(poll),
    ...[1, 2, 3].flatMap(() => servers.map(poll)),
    ...[1, 2, 3].map(() => ({ fleetCheck: true })),
  ];
  // Only what the function sees in Lambda: no AWS settings of this machine.
  const env: Record<string, string> = Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => !e[0].startsWith('AWS_') && e[1] !== undefined),
  );
  Object.assign(env, {
    TABLE_NAME: table,
    TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:bench',
    CONFIG_FILE: configFile,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: engine.endpoint,
    AWS_ENDPOINT_URL_SNS: sns.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_ENDPOINT_URL_SSM: secrets.endpoint,
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    POWERTOOLS_SERVICE_NAME: 'vb365-sync-monitor',
    POWERTOOLS_METRICS_NAMESPACE: 'VB365SyncMonitor',
  });
  try {
    await new Promise<void>((resolve, reject) =>
      execFile(process.execPath, [probe, bundleFile, JSON.stringify(plan), outFile], { cwd: ROOT, env }, (err) =>
        err ? reject(err) : resolve(),
      ),
    );
  } finally {
    await sim.close();
    await secrets.close();
  }
  const results = JSON.parse(readFileSync(outFile, 'utf8')) as
    | { fatal: string }
    | { event: { serverId?: string; fleetCheck?: true }; error: string | null; output: string }[];
  if (!Array.isArray(results)) throw new Error(`bench: the poll function did not start: ${results.fatal}`);
  const failed = results.find((r) => r.error !== null);
  if (failed) throw new Error(`bench: the poll function failed on ${JSON.stringify(failed.event)}: ${failed.error}`);
  const lines = (output: string) => output.split('\n').filter((l) => l.trim() !== '');
  const steady = results.slice(servers.length).filter((r) => r.event.serverId !== undefined);
  const checks = results.filter((r) => r.event.fleetCheck === true);
  const size = (rs: typeof results) => ({
    bytes: median(rs.map((r) => Buffer.byteLength(r.output))),
    events: median(rs.map((r) => lines(r.output).length)),
  });
  const metricsOf = (rs: typeof results) => {
    const names = new Set<string>();
    for (const line of rs.flatMap((r) => lines(r.output))) {
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      const aws = json._aws as
        | { CloudWatchMetrics?: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[] }
        | undefined;
      for (const d of aws?.CloudWatchMetrics ?? []) {
        for (const metric of d.Metrics) {
          for (const set of d.Dimensions) {
            names.add(`${d.Namespace}/${metric.Name}{${set.map((k) => `${k}=${String(json[k])}`).join(',')}}`);
          }
        }
      }
    }
    return names;
  };
  const all = results.map((r) => r.output).join('');
  return {
    pollCycle: size(steady),
    fleetCheck: size(checks),
    customMetrics: {
      oneServer: metricsOf(steady.filter((r) => r.event.serverId === servers[0])).size,
      twoServers: metricsOf(steady).size,
      names: [...metricsOf(steady)].sort(),
    },
    compression: round((100 * gzipSync(Buffer.from(all)).length) / Buffer.byteLength(all)) / 100,
    sample: steady[0]?.output ?? '',
  };
}

/**
 * The cost model fed with this run's measurements and the templates synthesized for 1 to 1,000 servers: the table
 * of the README, item by item, with "one more server" and "one server all-in", at list price and with the Free Tier.
 */
function costSection(
  rows: Row[],
  hour: HourFigures,
  fleetChecks: FleetCheckFigures[],
  probes: Record<'fleet' | 'perServer', ProbeFigures>,
  init: { totalMs: number },
) {
  // What one event adds (writes, time), from the performance rows' change cycle at 100 sessions.
  const at100 = rows.find((r) => r.sessions === 100 && r.servers === 1) as Row;
  const [small, large] = fleetChecks as [FleetCheckFigures, FleetCheckFigures];
  const perServer = (a: number, b: number) => Math.max(0, (b - a) / (large.servers - small.servers));
  const msPerServer = perServer(small.ms, large.ms);
  const readUnitsPerServer = perServer(small.readUnits, large.readUnits);
  const metricsOf = (p: ProbeFigures) => ({
    fixed: 2 * p.customMetrics.oneServer - p.customMetrics.twoServers,
    perServer: p.customMetrics.twoServers - p.customMetrics.oneServer,
  });
  const measured: Measured = {
    sessionsPerServer: COST_SESSIONS,
    pollEveryMinutes: hour.pollEveryMinutes,
    pollCycleMs: hour.meanCycleMs,
    extraMsPerEvent: round(Math.max(0, (at100.change.ms - at100.steadyMs) / at100.change.events)),
    readUnitsPerCycle: hour.readUnitsPerCycle,
    writeUnitsPerCycle: hour.writeUnitsPerCycle,
    writeUnitsPerEvent: at100.change.wcu / at100.change.events,
    writeUnitsPerSessionWrite: Math.ceil(hour.sessionItemBytes / 1024),
    partitionBytes: hour.partitionBytes,
    fleetCheck: {
      fixedMs: round(Math.max(0, small.ms - msPerServer * small.servers)),
      msPerServer: Math.round(msPerServer * 1000) / 1000,
      fixedReadUnits: round(Math.max(0, small.readUnits - readUnitsPerServer * small.servers)),
      readUnitsPerServer: Math.round(readUnitsPerServer * 1000) / 1000,
    },
    log: {
      pollCycleBytes: probes.fleet.pollCycle.bytes,
      pollCycleEvents: probes.fleet.pollCycle.events,
      fleetCheckBytes: probes.fleet.fleetCheck.bytes,
      fleetCheckEvents: probes.fleet.fleetCheck.events,
      compression: probes.fleet.compression,
    },
    initMs: init.totalMs,
    customMetrics: { fleet: metricsOf(probes.fleet), perServer: metricsOf(probes.perServer) },
  };

  // The templates, synthesized for each size and the size before it (the size after it for one server).
  const synthSizes = [...new Set(COST_SIZES.flatMap((n) => (n === 1 ? [1, 2] : [n - 1, n])))];
  const templates = new Map<number, TemplateCounts>();
  const fleetSynth = { servers: 0, ms: 0, templates: 0, maxResources: 0, maxBytes: 0, resources: 0 };
  for (const n of synthSizes) {
    const synth = synthesize(fleetConfig(n, { credentials: 'ssmParameter' }));
    const counts = countTemplates(synth.templates);
    templates.set(n, counts);
    if (n === Math.max(...synthSizes)) {
      Object.assign(fleetSynth, {
        servers: n,
        ms: Math.round(synth.ms),
        templates: counts.templates,
        maxResources: counts.maxResourcesPerTemplate,
        maxBytes: Math.max(...synth.bytes),
        resources: Object.values(counts.resources).reduce((a, b) => a + b, 0),
      });
    }
  }
  const dashboards = countTemplates(
    synthesize(fleetConfig(1, { credentials: 'ssmParameter', dashboard: true })).templates,
  ).dashboards;

  const pollEveryMinutes = hour.pollEveryMinutes;
  const model = (n: number, credentials: CredentialsSetting, freeTier: boolean, metrics: 'fleet' | 'perServer') =>
    costOf({
      servers: n,
      credentials,
      metrics,
      pollEveryMinutes,
      template: templates.get(n) as TemplateCounts,
      measured,
      freeTier,
    });
  const usd = (c: Cost, freeTier: boolean) => (freeTier ? c.usd : c.listUsd);
  const figures = (n: number, credentials: CredentialsSetting, freeTier: boolean, metrics: 'fleet' | 'perServer') => {
    const total = usd(model(n, credentials, freeTier, metrics), freeTier);
    const [a, b] = n === 1 ? [1, 2] : [n - 1, n];
    const oneMore =
      usd(model(b, credentials, freeTier, metrics), freeTier) - usd(model(a, credentials, freeTier, metrics), freeTier);
    return { total: cents(total), perServer: cents(total / n, 4), oneMoreServer: cents(oneMore, 4) };
  };
  const table = COST_SIZES.map((n) => ({
    servers: n,
    list: figures(n, 'ssmParameter', false, 'fleet'),
    firstYear: figures(n, 'ssmParameter', true, 'fleet'),
    sharedSecret: {
      list: figures(n, 'sharedSecret', false, 'fleet'),
      firstYear: figures(n, 'sharedSecret', true, 'fleet'),
    },
    perServerSecret: {
      list: figures(n, 'perServerSecret', false, 'fleet'),
      firstYear: figures(n, 'perServerSecret', true, 'fleet'),
    },
    perServerMetrics: { list: figures(n, 'ssmParameter', false, 'perServer') },
  }));
  const items = Object.fromEntries(
    COST_SIZES.map((n) => {
      const list = model(n, 'ssmParameter', false, 'fleet');
      const free = model(n, 'ssmParameter', true, 'fleet');
      return [
        n,
        {
          basis: list.basis,
          items: list.items.map((i, k) => ({
            id: i.id,
            service: i.service,
            what: i.what,
            quantity: Math.round(i.quantity * 1000) / 1000,
            unit: i.unit,
            listUsd: cents(i.listUsd, 4),
            firstYearUsd: cents(free.items[k]?.usd ?? 0, 4),
          })),
        },
      ];
    }),
  );
  // What one more server adds, item by item, at the largest size (list price): where a miss comes from.
  const largest = Math.max(...COST_SIZES);
  const [before, after] = [
    model(largest - 1, 'ssmParameter', false, 'fleet'),
    model(largest, 'ssmParameter', false, 'fleet'),
  ];
  const oneMoreServerItems = after.items
    .map((i, k) => ({
      id: i.id,
      service: i.service,
      what: i.what,
      usd: cents(i.listUsd - (before.items[k]?.listUsd ?? 0), 5),
    }))
    .filter((i) => i.usd !== 0)
    .sort((x, y) => y.usd - x.usd);
  const all = [...templates.values()];
  const total = (t: TemplateCounts | undefined) => Object.values(t?.resources ?? {}).reduce((a, b) => a + b, 0);
  const maxOneMore = Math.max(...table.map((r) => r.list.oneMoreServer));
  const single = table[0] as (typeof table)[number];
  return {
    pricesAsOf: PRICES_AS_OF,
    region: PRICE_REGION,
    prices: PRICES,
    freeTier: FREE_TIER_NOTES,
    measured,
    measurements: { hour: { ...hour, serverItem: undefined }, fleetChecks, probes },
    assumptions: [
      `measured: a poll cycle of ${COST_SESSIONS} sessions with the default policy (an hour of cycles: ${hour.meanCycleMs} ms mean, ${hour.readUnitsPerCycle} read and ${hour.writeUnitsPerCycle} write units per cycle, ${hour.vb365PerCycle} VB365 requests); an event adds ${measured.writeUnitsPerEvent} write units and ${measured.extraMsPerEvent} ms; a server's partition holds ${hour.partitionBytes} bytes; a fleet check takes ${measured.fleetCheck.fixedMs} ms and ${measured.fleetCheck.fixedReadUnits} read units, plus ${measured.fleetCheck.msPerServer} ms and ${measured.fleetCheck.readUnitsPerServer} read units per server (measured at ${small.servers} and ${large.servers}); a steady cycle logs ${measured.log.pollCycleBytes} bytes in ${measured.log.pollCycleEvents} lines, a fleet check ${measured.log.fleetCheckBytes} bytes; module init ${measured.initMs} ms on this machine; custom metrics from the EMF output: 'fleet' ${measured.customMetrics.fleet.fixed} + ${measured.customMetrics.fleet.perServer} per server, 'perServer' ${measured.customMetrics.perServer.fixed} + ${measured.customMetrics.perServer.perServer} per server`,
      ...assumptionsOf(measured, WORKLOAD),
      `counted from the templates synthesized from infra/monitor-config.ts with 1 to 1,000 servers (SSM parameters; a shared or per-server secret changes only IAM): ${templates.get(1)?.alarms} alarms (${templates.get(1)?.alarmMetrics} metrics), ${templates.get(1)?.kmsKeys} KMS key with rotation, ${templates.get(1)?.topics} topics, ${templates.get(1)?.emailRecipients} email recipient, ${templates.get(1)?.dashboards} dashboards (${dashboards} with dashboard: true), one schedule per server and one fleet check`,
    ],
    templates: Object.fromEntries(
      COST_SIZES.map((n) => {
        const t = templates.get(n) as TemplateCounts;
        return [
          n,
          {
            templates: t.templates,
            maxResourcesPerTemplate: t.maxResourcesPerTemplate,
            alarms: t.alarms,
            alarmMetrics: t.alarmMetrics,
            perServerAlarms: t.perServerAlarms,
            kmsKeys: t.kmsKeys,
            secrets: t.secrets,
            dashboards: t.dashboards,
            schedules: t.pollSchedules.count + t.fleetCheckSchedules.count,
            topics: t.topics,
            emailSubscriptions: t.emailSubscriptions,
          },
        ];
      }),
    ),
    fleetSynth,
    dashboardUsd: dashboards * PRICES.dashboard.usd,
    oneMoreServerItems: { servers: largest, items: oneMoreServerItems },
    table,
    items,
    targets: {
      oneMoreServerAtMost3CentsAMonth: maxOneMore <= 0.03,
      oneServerAllInAtMost2DollarsAMonthInItsFirstYear: single.firstYear.total <= 2,
      defaultEmfDefinesOneCustomMetric: probes.fleet.customMetrics.twoServers === 1,
      noPerServerAlarm: all.every((t) => t.perServerAlarms === 0) && new Set(all.map((t) => t.alarms)).size === 1,
      oneResourcePerServer: synthSizes
        .filter((n) => synthSizes.includes(n + 1))
        .every((n) => total(templates.get(n + 1)) - total(templates.get(n)) === 1),
      fleetSynthWithinCloudFormationLimits: fleetSynth.maxResources <= 500 && fleetSynth.maxBytes <= 1_000_000,
    },
  };
}

function cents(usd: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(usd * f) / f;
}

function targets(rows: Row[], bundleBytes: number, init: { totalMs: number }) {
  const single = rows.filter((r) => r.servers === 1);
  const at1000 = single.find((r) => r.sessions === 1000);
  const at100 = single.find((r) => r.sessions === 100);
  const biggest = single.at(-1) as Row;
  return {
    steadyOneListNoGets: single.every((r) => r.vb365PerCycle === 1),
    steadyNoWritesNoPublishes: single.every((r) => r.ddbPerCycle.writes === 0 && r.snsPerCycle === 0),
    // Each server's cycle publishes its own events: ceil(events / 10) calls per server.
    snsCallsEqualCeilEventsOver10: rows.every(
      (r) => r.change.snsCalls === r.servers * Math.ceil(r.change.events / r.servers / 10),
    ),
    cycleAt1000WithinFiveRoundTripsPlus200ms: at1000 ? at1000.steadyMs <= 5 * VB365_LATENCY_MS + 200 : null,
    naiveOverOursAtLeast20xAt100: at100?.ratio != null ? at100.ratio >= 20 : null,
    bundleAtMost600KB: bundleBytes <= 600 * 1024,
    initAtMost150ms: init.totalMs <= 150,
    peakRssUnder256MbAtLargestSize: biggest.peakRssMb < 256,
  };
}

function markdown(r: {
  machine: string;
  dynamodb: string;
  bundle: { bytes: number; gzipBytes: number };
  init: { totalMs: number; sdkMs: number; ownMs: number };
  rows: Row[];
  cost: ReturnType<typeof costSection>;
  targets: Record<string, boolean | null>;
}): string {
  const lines = [
    `Machine: ${r.machine}; DynamoDB engine: ${r.dynamodb}; injected latency ${VB365_LATENCY_MS} ms per VB365 request, ${AWS_LATENCY_MS} ms per DynamoDB and SNS request.`,
    '',
    '| sessions × servers | first cycle | steady cycle (median) | VB365 req/cycle | DynamoDB queries (pages) / writes / RCU | SNS calls | 1 % fail: events / writes / SNS calls | naive | naive ÷ ours | peak RSS |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...r.rows.map(
      (x) =>
        `| ${x.sessions} × ${x.servers} | ${x.firstCycleMs} ms | ${x.steadyMs} ms | ${x.vb365PerCycle} | ${x.ddbPerCycle.queries} (${x.ddbPerCycle.pages}) / ${x.ddbPerCycle.writes} / ${x.ddbPerCycle.rcu} | ${x.snsPerCycle} | ${x.change.events} / ${x.change.writes} / ${x.change.snsCalls} | ${x.naiveMs === null ? 'n/a' : `${x.naiveMs} ms`} | ${x.ratio === null ? 'n/a' : `${x.ratio}×`} | ${x.peakRssMb} MB |`,
    ),
    '',
    `Poll Lambda bundle: ${Math.round(r.bundle.bytes / 1024)} KiB minified (${Math.round(r.bundle.gzipBytes / 1024)} KiB gzip), AWS SDK external; module init ${r.init.totalMs} ms (median of 7 fresh processes): AWS SDK clients ${r.init.sdkMs} ms + this bundle ${r.init.ownMs} ms.`,
    '',
    ...costMarkdown(r.cost),
    '',
    `Targets: ${Object.entries(r.targets)
      .map(([k, v]) => `${k}: ${v === null ? 'not measured' : v ? 'met' : 'MISSED'}`)
      .join('; ')}.`,
    '',
  ];
  return lines.join('\n');
}

/** The cost section: the table of totals, the items, what it rests on. */
function costMarkdown(c: ReturnType<typeof costSection>): string[] {
  const n = (x: number) => x.toLocaleString('en-US');
  const items = c.items[1]?.items ?? [];
  const column = (size: number, id: string, key: 'listUsd' | 'firstYearUsd') =>
    c.items[size]?.items.find((i) => i.id === id)?.[key] ?? 0;
  const totals = (size: number, key: 'listUsd' | 'firstYearUsd') =>
    (c.items[size]?.items ?? []).reduce((a, i) => a + i[key], 0);
  return [
    `Cost a month, from ${c.region} list prices (${c.pricesAsOf}), the templates synthesized for each size and this run's measurements; defaults: metrics 'fleet', no dashboard, credentials in SSM parameters. "One more server": what the next server adds; "first year": with the AWS Free Tier.`,
    '',
    '| servers | list price | per server | one more server | first year | one more server | shared secret instead | a secret per server instead (list / first year) |',
    '|---|---|---|---|---|---|---|---|',
    ...c.table.map(
      (row) =>
        `| ${n(row.servers)} | ${money(row.list.total)} | ${money(row.list.perServer)} | ${money(row.list.oneMoreServer)} | ${money(row.firstYear.total)} | ${money(row.firstYear.oneMoreServer)} | ${money(row.sharedSecret.list.total)} | ${money(row.perServerSecret.list.total)} / ${money(row.perServerSecret.firstYear.total)} |`,
    ),
    '',
    `One more server at ${n(c.oneMoreServerItems.servers)} (list price): ${c.oneMoreServerItems.items
      .filter((i) => Math.abs(i.usd) >= 0.00005)
      .map((i) => `${i.service} ${i.what.replace(/ \(.*\)$/, '')} ${money(i.usd)}`)
      .join(', ')}.`,
    '',
    `Item by item (list price; last column: one server in its first year). Options: with metrics 'perServer' one more server costs ${money(c.table[c.table.length - 1]?.perServerMetrics.list.oneMoreServer ?? 0)}; dashboard: true adds ${money(c.dashboardUsd)} (free up to three dashboards in the account).`,
    '',
    `| item | ${c.table.map((row) => `${n(row.servers)} server${row.servers === 1 ? '' : 's'}`).join(' | ')} | 1 server, first year |`,
    `|---|${c.table.map(() => '---|').join('')}---|`,
    ...items.map(
      (i) =>
        `| ${i.service}: ${i.what} | ${c.table.map((row) => money(column(row.servers, i.id, 'listUsd'))).join(' | ')} | ${money(column(1, i.id, 'firstYearUsd'))} |`,
    ),
    `| **total** | ${c.table.map((row) => `**${money(totals(row.servers, 'listUsd'))}**`).join(' | ')} | **${money(totals(1, 'firstYearUsd'))}** |`,
    '',
    `Free Tier allowances applied (a month): ${c.freeTier.join('; ')}.`,
    '',
    'Assumptions:',
    ...c.assumptions.map((a) => `- ${a}.`),
    '',
    `Fleet synth: ${n(c.fleetSynth.servers)} servers in ${c.fleetSynth.templates} templates (the stack and its nested stacks), at most ${c.fleetSynth.maxResources} resources and ${Math.round(c.fleetSynth.maxBytes / 1024)} KiB per template, ${n(c.fleetSynth.resources)} resources in all, synthesized in ${(c.fleetSynth.ms / 1000).toFixed(1)} s.`,
  ];
}

function money(usd: number): string {
  const a = Math.abs(usd);
  if (a === 0) return '$0';
  return `$${usd.toFixed(a >= 1 ? 2 : a >= 0.01 ? 3 : 4)}`;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

await main();
