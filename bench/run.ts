import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, relative } from 'node:path';
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
import { buildSync, type Metafile } from 'esbuild';
import { ESBUILD_OPTIONS, HANDLER_FILE, LAMBDA_ENTRIES } from '../infra/lambda-code.js';
import { SnsNotifier } from '../lambda/adapters/sns-notifier.js';
import { resolveConfig } from '../lambda/config-schema.js';
import { scheduleWindowMinutes } from '../lambda/domain/fleet.js';
import { fleetCheckOnce } from '../lambda/domain/fleet-check.js';
import { DEFAULT_POLICY } from '../lambda/domain/policy.js';
import { pollOnce } from '../lambda/domain/poll.js';
import { pollDepsFor, stateStoreFor, vb365ApiFor } from '../lambda/wiring.js';
import { startSimulator, type Vb365Simulator } from '../local/simulator/simulator.js';
import {
  type EmbeddedDynamoDb,
  ensureTable,
  localClient,
  startBestEngine,
} from '../local/stand-ins/embedded-dynamodb.js';
import { startSecretsStandIn } from '../local/stand-ins/secrets-stand-in.js';
import { type SnsStandIn, startSnsStandIn } from '../local/stand-ins/sns-stand-in.js';
import { ensureNode24 } from '../scripts/node24.js';
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
import { chunkOf, initSplit, stageBundle, stageSdkOnly } from './init.js';
import { type LatencyProxy, startLatencyProxy, viaProxy } from './latency-proxy.js';
import { fleetConfig, synthesize } from './templates.js';
import type { Baseline, CycleReply, WorkerServer } from './worker.js';
import { BUILD, buildWorker, ROOT, startWorker } from './worker-process.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/*
 * npm run bench [-- --quick]: the real cycle code against the simulator with injected latency, for growing session
 * counts and a fleet of servers; compared with a naive per-session design; plus bundle size, module init time, and
 * the cost model (bench/cost.ts) fed with what this run measures (an hour of cycles with the default policy, fleet
 * checks, the poll function's log and EMF output) and the templates synthesized for 1 to 1,000 servers. Results:
 * bench/results.json and Markdown on stdout (its performance and cost sections are written into docs/operations.md).
 */

const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' } } });
const quick = values.quick === true;
const SIZES = quick ? [1, 10, 100] : [1, 10, 100, 1000, 10_000];
/** The baselines run up to this size (their target is at 100 sessions). */
const BASELINE_MAX = 100;
/** The fleet run: this many servers of FLEET_SESSIONS sessions each, through the real cycle. */
const FLEET = quick ? 20 : 1000;
const FLEET_SESSIONS = 10;
const STEADY_CYCLES = quick ? 3 : 5;
/** Round trip to a VB365 server: a TCP proxy delays each chunk by half of it in each direction. */
const VB365_LATENCY_MS = 25;
/** Round trip to DynamoDB and SNS (same region). */
const AWS_LATENCY_MS = 3;
/** The CPU share of a 256 MB Lambda function (a full vCPU at 1,769 MB; AWS states no figure below that). */
const CPU_SHARE_256MB = 0.15;
/** The poll function's timeout (infra/sync-monitor.ts: min(120 s, interval − 10 s)) at the default 5 minutes. */
const POLL_TIMEOUT_MS = 120_000;
const INIT_SAMPLES = quick ? 3 : 11;
const NODE24 = ensureNode24();
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
interface BaselineFigures {
  /** Wall time of one steady cycle of the baseline (ms). */
  ms: number;
  /** Baseline ÷ our steady cycle (fresh connections both). */
  ratio: number;
  vb365Requests: number;
  writes: number;
  publishes: number;
}

interface Row {
  sessions: number;
  servers: number;
  firstCycleMs: number;
  /** Median steady cycle, each on fresh connections (as after 5 idle minutes). */
  steadyMs: number;
  /** Median steady cycle on connections kept from the cycle before (for comparison). */
  steadyReusedMs: number;
  /** CPU time (user + system ms) of the first cycle and of a steady one (median), and the wall time each implies at
   * 256 MB's CPU share. */
  cpu: { firstMs: number; steadyMs: number; firstAt256MbMs: number; steadyAt256MbMs: number };
  vb365PerCycle: number;
  /** TCP connections a steady cycle opens to VB365 (fresh: after the idle drop). */
  vb365ConnectionsPerCycle: number;
  /** Steady cycles that listed the repositories (the detector), of STEADY_CYCLES × 2. */
  detectorScans: number;
  ddbPerCycle: { queries: number; pages: number; writes: number; rcu: number; wcu: number };
  /** Writes over all steady cycles, detector cycles included. */
  steadyWrites: number;
  snsPerCycle: number;
  change: { events: number; writes: number; wcu: number; snsCalls: number; ms: number };
  baselines: Partial<Record<Baseline, BaselineFigures>>;
  peakRssMb: number;
}

interface Proxies {
  ddb: LatencyProxy;
  sns: LatencyProxy;
}

async function main() {
  mkdirSync(BUILD, { recursive: true });
  const bundle = lambdaBundle();
  const init = initFigures();
  await buildWorker();

  const engine = await startBestEngine();
  const sns = await startSnsStandIn();
  const proxies: Proxies = {
    ddb: await startLatencyProxy(Number(new URL(engine.endpoint).port), AWS_LATENCY_MS / 2),
    sns: await startLatencyProxy(Number(new URL(sns.endpoint).port), AWS_LATENCY_MS / 2),
  };
  const rows: Row[] = [];
  let fleet: FleetRun;
  let hour: HourFigures;
  let fleetChecks: FleetCheckFigures[];
  let probes: Record<'fleet' | 'perServer', ProbeFigures>;
  try {
    for (const n of SIZES) rows.push(await scenario(engine, sns, proxies, n));
    fleet = await fleetRun(engine, sns, proxies);
    hour = await defaultsHour(engine, sns, COST_SESSIONS);
    fleetChecks = await fleetCheckFigures(engine, sns, hour.serverItem, FLEET_CHECK_SIZES);
    probes = {
      fleet: await handlerProbe(engine, sns, 'fleet', join(ROOT, bundle.file)),
      perServer: await handlerProbe(engine, sns, 'perServer', join(ROOT, bundle.file)),
    };
  } finally {
    await proxies.ddb.close();
    await proxies.sns.close();
    await sns.close();
    await engine.close();
  }

  const cost = costSection(rows, hour, fleetChecks, probes, { wallMs: init.node24.coldStartMs });
  const fleetHour = fleetPerHour(fleet, rows, cost.measured);
  const results = {
    date: new Date().toISOString(),
    machine: `${cpus().length} cores, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
    node: process.version,
    machineNode: machineNodeVersion(),
    loadavg: loadavg().map((x) => Math.round(x * 100) / 100),
    loadavgAtStart: LOAD_AT_START,
    dynamodb: engine.engine,
    latency: {
      model: 'a loopback TCP proxy delays every chunk by half the round trip in each direction (handshakes included)',
      vb365RoundTripMs: VB365_LATENCY_MS,
      dynamodbRoundTripMs: AWS_LATENCY_MS,
      snsRoundTripMs: AWS_LATENCY_MS,
    },
    cpuShareAt256Mb: CPU_SHARE_256MB,
    quick,
    bundle,
    init,
    rows,
    fleet: fleetHour,
    cost,
    targets: { ...targets(rows, bundle.initBytes - bundle.initSdkBytes, init, fleetHour), ...cost.targets },
  };
  const out = values.out ?? join(ROOT, 'bench', quick ? 'results-quick.json' : 'results.json');
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  // The docs' performance and cost sections are this run's, when it is the recorded one (test/unit/readme-figures).
  if (!quick && values.out === undefined) {
    writeReadmeSection('performance', performanceMarkdown(results));
    writeReadmeSection('cost', costMarkdown(results.cost).join('\n'));
  }
  process.stdout.write(markdown(results));
}

/** The document whose performance and cost sections the recorded run writes. */
export const FIGURES_DOC = 'docs/operations.md';

/** The sections of the docs this run writes: between `<!-- bench:NAME:start … -->` and `<!-- bench:NAME:end -->`. */
function writeReadmeSection(name: 'performance' | 'cost', section: string): void {
  const start = `<!-- bench:${name}:start (npm run bench writes this section) -->`;
  const end = `<!-- bench:${name}:end -->`;
  const file = join(ROOT, FIGURES_DOC);
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) throw new Error(`bench: ${FIGURES_DOC} has no ${start} … ${end} markers`);
  writeFileSync(file, `${text.slice(0, a + start.length)}\n\n${section}\n\n${text.slice(b)}`);
  // As `npm run lint` wants it (Markdown tables padded).
  execFileSync(join(ROOT, 'node_modules', '.bin', 'biome'), ['format', '--write', file], { stdio: 'ignore' });
}

/** The machine's own Node, which runs the project's tooling (Node 24 is installed apart: scripts/node24.ts). */
const MACHINE_NODE = process.execPath;

function machineNodeVersion(): string {
  return execFileSync(MACHINE_NODE, ['--version']).toString().trim();
}

const LOAD_AT_START = loadavg().map((x) => Math.round(x * 100) / 100);

async function scenario(engine: EmbeddedDynamoDb, sns: SnsStandIn, proxies: Proxies, sessions: number): Promise<Row> {
  const table = `bench-${sessions}-${Date.now()}`;
  const client = localClient(engine.endpoint);
  await ensureTable(client, table);
  client.destroy();
  const { sim, sessionIds } = await simulatorWith(sessions);
  const vb365 = await startLatencyProxy(Number(new URL(sim.url).port), VB365_LATENCY_MS / 2);
  const drop = () => {
    vb365.dropConnections();
    proxies.ddb.dropConnections();
    proxies.sns.dropConnections();
  };
  const worker = startWorker();
  try {
    await worker.call({
      type: 'setup',
      setup: {
        servers: [
          {
            id: 'server-0',
            url: viaProxy(sim.url, vb365),
            ca: sim.pki.caCert,
            username: sim.username,
            password: sim.password,
          },
        ],
        ddbEndpoint: viaProxy(engine.endpoint, proxies.ddb),
        snsEndpoint: viaProxy(sns.endpoint, proxies.sns),
        table,
      },
    });
    const snsBefore = sns.requests.length;
    drop();
    const first = (await worker.call({ type: 'cycle' })) as CycleReply;
    const fresh: CycleReply[] = [];
    const reused: CycleReply[] = [];
    let vb365Requests = 0;
    let connections = 0;
    let scans = 0;
    for (let i = 0; i < STEADY_CYCLES; i++) {
      drop();
      const r0 = sim.totalRequests;
      const c0 = vb365.connections;
      fresh.push((await worker.call({ type: 'cycle' })) as CycleReply);
      const requests = sim.totalRequests - r0;
      // A cycle that listed the repositories (the detector, each quarter hour) makes one request more.
      if (requests > 1) scans += 1;
      else vb365Requests = requests;
      connections = vb365.connections - c0;
      reused.push((await worker.call({ type: 'cycle' })) as CycleReply);
      if (sim.totalRequests - r0 - requests > 1) scans += 1;
    }
    const steady = [...fresh, ...reused];
    const snsSteady = sns.requests.length - snsBefore - first.snsCalls;
    // A change: 1 % of the sessions (at least one) fail.
    const failing = Math.max(1, Math.floor(sessions / 100));
    sim.apply(
      sessionIds.slice(0, failing).map((id) => ({ op: 'fail' as const, session: id, error: 'Bucket not reachable' })),
    );
    drop();
    const change = (await worker.call({ type: 'cycle' })) as CycleReply;
    const steadyMs = median(fresh.map((s) => s.wallMs));
    const baselines: Row['baselines'] = {};
    if (sessions <= BASELINE_MAX) {
      for (const baseline of ['naive', 'naiveConcurrent', 'peer'] as const) {
        // The peer's steady cycle is its second: the first stores every session.
        if (baseline === 'peer') {
          drop();
          await worker.call({ type: 'baseline', baseline, sessionIds });
        }
        drop();
        const r0 = sim.totalRequests;
        const b = (await worker.call({ type: 'baseline', baseline, sessionIds })) as CycleReply;
        baselines[baseline] = {
          ms: round(b.wallMs),
          ratio: round(b.wallMs / steadyMs),
          vb365Requests: sim.totalRequests - r0,
          writes: b.ddb.puts,
          publishes: b.snsCalls,
        };
      }
    }
    const cpuSteady = median(steady.map((s) => s.cpuMs));
    const last = fresh.at(-1) as CycleReply;
    return {
      sessions,
      servers: 1,
      firstCycleMs: round(first.wallMs),
      steadyMs: round(steadyMs),
      steadyReusedMs: round(median(reused.map((s) => s.wallMs))),
      cpu: {
        firstMs: round(first.cpuMs),
        steadyMs: round(cpuSteady),
        firstAt256MbMs: Math.round(first.cpuMs / CPU_SHARE_256MB),
        steadyAt256MbMs: Math.round(cpuSteady / CPU_SHARE_256MB),
      },
      vb365PerCycle: vb365Requests,
      vb365ConnectionsPerCycle: connections,
      detectorScans: scans,
      ddbPerCycle: {
        queries: last.ddb.queries,
        pages: last.ddb.queryPages,
        writes: last.ddb.puts + last.ddb.batchWrites,
        rcu: round(last.ddb.readCapacity),
        wcu: round(last.ddb.writeCapacity),
      },
      steadyWrites: steady.reduce((n, c) => n + c.ddb.puts + c.ddb.batchWrites, 0),
      snsPerCycle: snsSteady / steady.length,
      change: {
        events: change.events,
        writes: change.ddb.puts,
        wcu: round(change.ddb.writeCapacity),
        snsCalls: change.snsCalls,
        ms: round(change.wallMs),
      },
      baselines,
      peakRssMb: round(change.maxRssKb / 1024),
    };
  } finally {
    await worker.call({ type: 'exit' }).catch(() => undefined);
    await vb365.close();
    await sim.close();
  }
}

interface FleetRun {
  servers: number;
  sessionsPerServer: number;
  /** One steady cycle of every server (fresh connections), the servers 50 at a time in one process. */
  steady: {
    cpuMsPerServer: number;
    wallMsPerServer: number;
    readUnits: number;
    writeUnits: number;
    writes: number;
    snsCalls: number;
    vb365Requests: number;
  };
  first: { cpuMsPerServer: number; writeUnits: number; snsCalls: number };
}

/**
 * The fleet run: FLEET servers of FLEET_SESSIONS sessions each through the real cycle (each server its own client,
 * token and partition; one simulator answers for all), a first cycle and a steady one.
 */
async function fleetRun(engine: EmbeddedDynamoDb, sns: SnsStandIn, proxies: Proxies): Promise<FleetRun> {
  const table = `bench-fleetrun-${Date.now()}`;
  const client = localClient(engine.endpoint);
  await ensureTable(client, table);
  client.destroy();
  const { sim } = await simulatorWith(FLEET_SESSIONS);
  const vb365 = await startLatencyProxy(Number(new URL(sim.url).port), VB365_LATENCY_MS / 2);
  const worker = startWorker();
  try {
    const servers: WorkerServer[] = Array.from({ length: FLEET }, (_, i) => ({
      id: `fleet-${String(i + 1).padStart(4, '0')}`,
      url: viaProxy(sim.url, vb365),
      ca: sim.pki.caCert,
      username: sim.username,
      password: sim.password,
    }));
    await worker.call({
      type: 'setup',
      setup: {
        servers,
        ddbEndpoint: viaProxy(engine.endpoint, proxies.ddb),
        snsEndpoint: viaProxy(sns.endpoint, proxies.sns),
        table,
      },
    });
    const drop = () => {
      vb365.dropConnections();
      proxies.ddb.dropConnections();
      proxies.sns.dropConnections();
    };
    drop();
    const first = (await worker.call({ type: 'cycle' })) as CycleReply;
    drop();
    const r0 = sim.totalRequests;
    const steady = (await worker.call({ type: 'cycle' })) as CycleReply;
    return {
      servers: FLEET,
      sessionsPerServer: FLEET_SESSIONS,
      steady: {
        cpuMsPerServer: round(steady.cpuMs / FLEET),
        wallMsPerServer: round(steady.perServerWallMs),
        readUnits: round(steady.ddb.readCapacity),
        writeUnits: round(steady.ddb.writeCapacity),
        writes: steady.ddb.puts + steady.ddb.batchWrites,
        snsCalls: steady.snsCalls,
        vb365Requests: sim.totalRequests - r0,
      },
      first: {
        cpuMsPerServer: round(first.cpuMs / FLEET),
        writeUnits: round(first.ddb.writeCapacity),
        snsCalls: first.snsCalls,
      },
    };
  } finally {
    await worker.call({ type: 'exit' }).catch(() => undefined);
    await vb365.close();
    await sim.close();
  }
}

/**
 * The fleet run's steady cycle as an hour of the deployment (12 cycles a server), beside what the cost model
 * (fed with the measured hour of one server) makes of the same fleet. Lambda bills a cycle's wall time; at 256 MB
 * it is at least its CPU time ÷ the CPU share.
 */
function fleetPerHour(f: FleetRun, rows: Row[], measured: Measured) {
  const cyclesPerHour = 60 / 5;
  const ten = rows.find((r) => r.sessions === FLEET_SESSIONS) as Row;
  const billedMs = Math.max(ten.steadyMs, f.steady.cpuMsPerServer / CPU_SHARE_256MB);
  const cycles = f.servers * cyclesPerHour;
  return {
    run: f,
    perHour: {
      cycles,
      billedMsPerCycle: round(billedMs),
      lambdaGbSeconds: round((cycles * billedMs * 0.25) / 1000),
      dynamodbReadUnits: Math.round(f.steady.readUnits * cyclesPerHour),
      dynamodbWriteUnits: Math.round(f.steady.writeUnits * cyclesPerHour),
      snsCalls: f.steady.snsCalls * cyclesPerHour,
      vb365Requests: f.steady.vb365Requests * cyclesPerHour,
    },
    costModelPerHour: {
      lambdaGbSeconds: round((cycles * measured.pollCycleMs * 0.25) / 1000),
      dynamodbReadUnits: Math.round(cycles * measured.readUnitsPerCycle),
      dynamodbWriteUnits: Math.round(cycles * measured.writeUnitsPerCycle),
    },
    assumptions: `billed time of a cycle: the larger of the ${FLEET_SESSIONS}-session steady cycle's wall time on fresh connections (${ten.steadyMs} ms) and the fleet run's CPU per server ÷ ${CPU_SHARE_256MB}; the cost model's figures are from its measured hour (${COST_SESSIONS} sessions, heartbeat on)`,
  };
}

/** Session ids as VB365 has them (UUIDs). */
function uuids(n: number): string[] {
  return Array.from({ length: n }, () => randomUUID());
}

/** A simulated server with `sessions` running syncs (progress 10 %), ten to a repository, ids as UUIDs. */
async function simulatorWith(sessions: number): Promise<{ sim: Vb365Simulator; sessionIds: string[] }> {
  const repositories = uuids(Math.ceil(sessions / 10));
  const sessionIds = uuids(sessions);
  const sim = await startSimulator({
    scenario: {
      name: `bench-${sessions}`,
      repositories: repositories.map((id, i) => ({ id, name: `Repository ${i}`, isOutOfSync: true })),
      steps: [],
    },
  });
  sim.apply(
    sessionIds.map((id, i) => ({
      op: 'start' as const,
      session: id,
      repository: repositories[Math.floor(i / 10)] as string,
      progress: 10,
    })),
  );
  return { sim, sessionIds };
}

function lambdaBundle() {
  const dir = join(BUILD, 'lambda');
  const file = stageBundle('poll', dir);
  // The same build again (as infra/lambda-code.ts runs it), for its metafile: which outputs module init loads, and what
  // each holds.
  const { metafile } = buildSync({
    ...ESBUILD_OPTIONS,
    entryPoints: { index: join(ROOT, LAMBDA_ENTRIES.poll) },
    outdir: ROOT,
    // Metafile paths relative to the project, wherever the bench is started from.
    absWorkingDir: ROOT,
    write: false,
    metafile: true,
  });
  const outputs = metafile.outputs;
  const atInit = new Set<string>();
  for (const queue = [HANDLER_FILE]; queue.length > 0; ) {
    const f = queue.pop() as string;
    if (atInit.has(f)) continue;
    atInit.add(f);
    for (const i of outputs[f]?.imports ?? []) if (!i.external && i.kind === 'import-statement') queue.push(i.path);
  }
  const code = Object.keys(outputs).filter((f) => f.endsWith('.mjs'));
  const bytesOf = (files: string[]) => files.reduce((n, f) => n + (outputs[f] as { bytes: number }).bytes, 0);
  // What of the SDK module init loads: its bytes, and its clients (each @aws-sdk/client-*).
  let sdkAtInit = 0;
  const clientsAtInit = new Set<string>();
  for (const f of atInit) {
    for (const [input, { bytesInOutput }] of Object.entries((outputs[f] as Metafile['outputs'][string]).inputs)) {
      if (!/node_modules\/(@aws-sdk|@smithy|@aws-crypto)\//.test(input)) continue;
      sdkAtInit += bytesInOutput;
      const client = /node_modules\/@aws-sdk\/(client-[^/]+)\//.exec(input)?.[1];
      if (client) clientsAtInit.add(`@aws-sdk/${client}`);
    }
  }
  // The staged files, the same bytes (a file missing here would mean the two builds differ).
  const initContent = Buffer.concat([...atInit].map((f) => readFileSync(join(dir, f))));
  return {
    file: relative(ROOT, file),
    /** Every chunk of the function's code (minified). */
    bytes: bytesOf(code),
    files: code.length,
    /** What module init loads: index.mjs and the chunks it imports. */
    initBytes: bytesOf([...atInit]),
    initFiles: atInit.size,
    initGzipBytes: gzipSync(initContent, { level: 9 }).length,
    /** Of that, the AWS SDK (the DynamoDB client and the core every client shares). */
    initSdkBytes: sdkAtInit,
    /** The AWS SDK clients module init loads (the others are chunks loaded on first use). */
    initSdkClients: [...clientsAtInit].sort(),
  };
}

/**
 * Module init of the poll Lambda as deployed (infra/sync-monitor.ts, bench/init.ts): the bundle a synth builds, the
 * template's environment (NODE_OPTIONS included), on this machine's Node and on the runtime's (Node 24), split into
 * the AWS SDK clients, the rest of the bundle and source maps.
 */
function initFigures() {
  const dir = join(BUILD, 'init');
  const bundleFile = stageBundle('poll', join(dir, 'poll'), {
    'monitor-config.json': JSON.stringify({
      servers: [{ id: 'x', url: 'https://x:4443', credentials: { parameterName: '/vb365-sync-monitor/x' } }],
    }),
  });
  // A new container's first login loads the credentials client (SSM here, the template's default).
  const firstUse = [chunkOf(join(dir, 'poll'), 'ssm-parameters')];
  // What init loads of the SDK: the DynamoDB client (and the state store adapter that uses it); the other clients load
  // on first use (lambda/wiring.ts).
  const sdkFile = stageSdkOnly(
    join(dir, 'sdk'),
    [
      `export { DynamoDBClient } from '@aws-sdk/client-dynamodb';`,
      `export { DynamoDbStateStore } from ${JSON.stringify(join(ROOT, 'lambda/adapters/dynamodb-state-store.ts'))};`,
    ].join('\n'),
  );
  const env = { ...templateEnvironment(), CONFIG_FILE: join(dir, 'poll', 'monitor-config.json') };
  return {
    samples: INIT_SAMPLES,
    environment: Object.keys(env).sort(),
    node20: initSplit(MACHINE_NODE, machineNodeVersion(), bundleFile, firstUse, sdkFile, env, INIT_SAMPLES, dir),
    node24: initSplit(
      NODE24,
      execFileSync(NODE24, ['--version']).toString().trim(),
      bundleFile,
      firstUse,
      sdkFile,
      env,
      INIT_SAMPLES,
      dir,
    ),
  };
}

/**
 * The poll function's environment as the synthesized template sets it (references replaced by sample values), plus
 * what Lambda itself sets that the code reads.
 */
function templateEnvironment(): Record<string, string> {
  const { templates } = synthesize(fleetConfig(1, { credentials: 'ssmParameter' }));
  const fn = templates
    .flatMap((t) => Object.values(t.Resources ?? {}))
    .find(
      (r) =>
        r.Type === 'AWS::Lambda::Function' &&
        String((r.Properties as { Description?: string })?.Description).includes(' poll'),
    );
  const vars =
    (fn?.Properties as { Environment?: { Variables?: Record<string, unknown> } } | undefined)?.Environment?.Variables ??
    {};
  const sample: Record<string, string> = {
    TABLE_NAME: 'Cost-MonitorStateTable-ABCDEF',
    TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:Cost-MonitorEvents-ABCDEF',
  };
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    AWS_REGION: 'us-east-1',
    AWS_LAMBDA_FUNCTION_NAME: 'Cost-MonitorPollFunction',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '256',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  for (const [k, v] of Object.entries(vars)) env[k] = typeof v === 'string' ? v : (sample[k] ?? 'x');
  return env;
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
  const { sim } = await simulatorWith(sessions);
  const vb365 = await startLatencyProxy(Number(new URL(sim.url).port), VB365_LATENCY_MS / 2);
  const aws = await startLatencyProxy(Number(new URL(engine.endpoint).port), AWS_LATENCY_MS / 2);
  const api = vb365ApiFor({
    url: viaProxy(sim.url, vb365),
    ca: sim.pki.caCert,
    apiVersion: 'v8',
    credentials: () => ({ username: sim.username, password: sim.password }),
  });
  const client = localClient(viaProxy(engine.endpoint, aws));
  const store = stateStoreFor(table, client);
  const { notifier, client: snsClient } = notifierAt(sns);
  const minutes = defaults.pollEveryMinutes;
  const start = Date.parse('2026-11-28T08:00:00Z');
  // Each cycle at a moment of its schedule's flexible window, as EventBridge Scheduler runs it (a fixed pseudo-random
  // sequence, so runs compare): the heartbeat's renewals follow the gaps between cycles.
  const windowMs = scheduleWindowMinutes(minutes) * 60_000;
  let seed = 12_345;
  let k = 0;
  let clock = start;
  const cycle = async () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
    k += 1;
    const scheduledAt = new Date(start + k * minutes * 60_000);
    clock = scheduledAt.getTime() + Math.floor((seed / 2_147_483_648) * windowMs);
    // Five idle minutes: every connection is gone.
    vb365.dropConnections();
    aws.dropConnections();
    const started = performance.now();
    await pollOnce(
      pollDepsFor(
        { api, store, notifier },
        {
          policy: { ...DEFAULT_POLICY, stallAfterMs: 7 * 86_400_000 },
          server: { id: 'server-0', name: 'server-0', url: sim.url },
          now: () => new Date(clock),
          owner: `hour-${clock}`,
          heartbeat: { pollEveryMinutes: minutes, heartbeatIntervals: defaults.heartbeatIntervals },
          intervalMs: minutes * 60_000,
          scheduledAt,
        },
      ),
    );
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
    await vb365.close();
    await aws.close();
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
  const store = stateStoreFor(table, client);
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

const PROBE = `import { writeFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
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
  const { handler } = await import(pathToFileURL(bundle).href);
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
  const { sim } = await simulatorWith(COST_SESSIONS);
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
  const probe = join(BUILD, 'handler-probe.mjs');
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
 * of docs/operations.md, item by item, with "one more server" and "one server all-in", at list price and with the
 * Free Tier.
 */
function costSection(
  rows: Row[],
  hour: HourFigures,
  fleetChecks: FleetCheckFigures[],
  probes: Record<'fleet' | 'perServer', ProbeFigures>,
  init: { wallMs: number },
) {
  // What one event adds (writes, time), from the performance rows' change cycle at 100 sessions.
  const at100 = rows.find((r) => r.sessions === 100) as Row;
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
    initMs: init.wallMs,
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
      `measured: a poll cycle of ${COST_SESSIONS} sessions with the default policy (an hour of cycles: ${hour.meanCycleMs} ms mean, ${hour.readUnitsPerCycle} read and ${hour.writeUnitsPerCycle} write units per cycle, ${hour.vb365PerCycle} VB365 requests); an event adds ${measured.writeUnitsPerEvent} write units and ${measured.extraMsPerEvent} ms; a server's partition holds ${hour.partitionBytes} bytes; a fleet check takes ${measured.fleetCheck.fixedMs} ms and ${measured.fleetCheck.fixedReadUnits} read units, plus ${measured.fleetCheck.msPerServer} ms and ${measured.fleetCheck.readUnitsPerServer} read units per server (measured at ${small.servers} and ${large.servers}); a steady cycle logs ${measured.log.pollCycleBytes} bytes in ${measured.log.pollCycleEvents} lines, a fleet check ${measured.log.fleetCheckBytes} bytes; a cold start (module init, then the first login's SSM client) ${measured.initMs} ms on this machine; custom metrics from the EMF output: 'fleet' ${measured.customMetrics.fleet.fixed} + ${measured.customMetrics.fleet.perServer} per server, 'perServer' ${measured.customMetrics.perServer.fixed} + ${measured.customMetrics.perServer.perServer} per server`,
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

type InitResults = ReturnType<typeof initFigures>;
type LambdaBundle = ReturnType<typeof lambdaBundle>;
type FleetHour = ReturnType<typeof fleetPerHour>;

function targets(rows: Row[], initOwnBytes: number, init: InitResults, fleet: FleetHour) {
  const at = (n: number) => rows.find((r) => r.sessions === n);
  const at100 = at(100);
  const at1000 = at(1000);
  const at10000 = at(10_000);
  const biggest = rows.at(-1) as Row;
  const ratio = (b: Baseline) => (at100?.baselines[b] ? (at100.baselines[b] as BaselineFigures).ratio >= 20 : null);
  return {
    steadyOneListNoGets: rows.every((r) => r.vb365PerCycle === 1),
    steadyNoWritesNoPublishesDetectorIncluded: rows.every((r) => r.steadyWrites === 0 && r.snsPerCycle === 0),
    detectorScannedEachQuarterHour: rows.every((r) => r.detectorScans >= 1),
    snsCallsEqualCeilEventsOver10: rows.every((r) => r.change.snsCalls === Math.ceil(r.change.events / 10)),
    sequentialNaiveOverOursAtLeast20xAt100: ratio('naive'),
    concurrentNaiveOverOursAtLeast20xAt100: ratio('naiveConcurrent'),
    peerOverOursAtLeast20xAt100: ratio('peer'),
    steadyCpuAt1000AtMost40ms: at1000 ? at1000.cpu.steadyMs <= 40 : null,
    firstCycleAt10000Within256MbTimeout: at10000 ? at10000.cpu.firstAt256MbMs <= POLL_TIMEOUT_MS : null,
    fleetRunQuietCyclesWriteNothing: fleet.run.steady.writes === 0 && fleet.run.steady.snsCalls === 0,
    initCodeWithoutSdkAtMost600KB: initOwnBytes <= 600 * 1024,
    initAtMost150msOnNode24: init.node24.deployed.wallMs <= 150,
    initAtMost150msOnNode20: init.node20.deployed.wallMs <= 150,
    peakRssUnder256MbAtLargestSize: biggest.peakRssMb < 256,
  };
}

/** The performance section of docs/operations.md (between its markers), from the results alone. */
function performanceMarkdown(r: {
  date: string;
  machine: string;
  loadavgAtStart: number[];
  loadavg: number[];
  dynamodb: string;
  bundle: LambdaBundle;
  init: InitResults;
  rows: Row[];
  fleet: FleetHour;
  targets: Record<string, boolean | null>;
}): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const b = (x: Row, k: Baseline) => {
    const f = x.baselines[k];
    return f ? `${n(f.ms)} ms (${f.ratio}×)` : 'n/a';
  };
  const split = (i: InitResults['node20']) =>
    `${i.deployed.wallMs} ms (CPU ${i.deployed.cpuMs} ms): AWS SDK ${i.split.sdkMs} ms + the rest ${i.split.bundleMs} ms + source maps ${i.split.sourceMapsMs} ms; then the first login loads the SSM client in ${i.deployed.thenWallMs} ms (CPU ${i.deployed.thenCpuMs} ms): a cold start of ${i.coldStartMs} ms`;
  const f = r.fleet;
  return [
    `Run of ${r.date.slice(0, 10)} on ${r.machine}; load average ${r.loadavgAtStart.join(' / ')} at the start, ${r.loadavg.join(' / ')} at the end (1 / 5 / 15 min); DynamoDB engine: ${r.dynamodb}. Latency on the wire: a TCP proxy delays every chunk, ${VB365_LATENCY_MS} ms round trip to VB365 and ${AWS_LATENCY_MS} ms to DynamoDB and SNS, handshakes included; each cycle starts on fresh connections (as after 5 idle minutes) unless marked "reused". Session and repository ids are UUIDs; the shipped defaults (out-of-sync detector on, the schedule's interval given). CPU: user + system ms of the cycle; "at 256 MB" divides it by ${CPU_SHARE_256MB}, the CPU share assumed for a 256 MB function (a full vCPU at 1,769 MB).`,
    '',
    '| sessions | first cycle | steady (fresh) | steady (reused) | CPU first / steady | at 256 MB first / steady | VB365 req / connections | DynamoDB queries (pages) / RCU | writes in 10 steady cycles | 1 % fail: events / writes / SNS calls | peak RSS |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...r.rows.map(
      (x) =>
        `| ${n(x.sessions)} | ${n(x.firstCycleMs)} ms | ${x.steadyMs} ms | ${x.steadyReusedMs} ms | ${x.cpu.firstMs} / ${x.cpu.steadyMs} ms | ${n(x.cpu.firstAt256MbMs)} / ${n(x.cpu.steadyAt256MbMs)} ms | ${x.vb365PerCycle} / ${x.vb365ConnectionsPerCycle} | ${x.ddbPerCycle.queries} (${x.ddbPerCycle.pages}) / ${x.ddbPerCycle.rcu} | ${x.steadyWrites} (${x.detectorScans} detector scans) | ${x.change.events} / ${x.change.writes} / ${x.change.snsCalls} | ${x.peakRssMb} MB |`,
    ),
    '',
    'Baselines, one steady cycle each on fresh connections (÷ our steady cycle): sequential naive (per session a GET, a GetItem, a PutItem and a Publish, one after another), concurrent naive (the same, 16 in flight), peer-faithful (a list, then per item a GET and a GetItem; writes and publishes only on change).',
    '',
    '| sessions | ours | sequential naive | concurrent naive (16) | peer-faithful |',
    '|---|---|---|---|---|',
    ...r.rows
      .filter((x) => Object.keys(x.baselines).length > 0)
      .map(
        (x) =>
          `| ${n(x.sessions)} | ${x.steadyMs} ms | ${b(x, 'naive')} | ${b(x, 'naiveConcurrent')} | ${b(x, 'peer')} |`,
      ),
    '',
    ...concurrentNaiveNote(r.rows),
    `Fleet run: ${n(f.run.servers)} servers × ${f.run.sessionsPerServer} sessions through the real cycle (${f.run.steady.cpuMsPerServer} ms CPU per server cycle, steady; ${f.run.first.cpuMsPerServer} ms on the first). An hour of it: ${n(f.perHour.cycles)} cycles, ${n(f.perHour.lambdaGbSeconds)} Lambda GB-s (${f.perHour.billedMsPerCycle} ms billed per cycle), ${n(f.perHour.dynamodbReadUnits)} DynamoDB read units, ${n(f.perHour.dynamodbWriteUnits)} write units, ${n(f.perHour.snsCalls)} SNS calls, ${n(f.perHour.vb365Requests)} VB365 requests. The cost model's figures for the same hour: ${n(f.costModelPerHour.lambdaGbSeconds)} GB-s, ${n(f.costModelPerHour.dynamodbReadUnits)} read units, ${n(f.costModelPerHour.dynamodbWriteUnits)} write units (its hour has the heartbeat on: a polledAt renewal every one or two cycles, as the schedule's window spaces them).`,
    '',
    `Poll Lambda code: ${Math.round(r.bundle.bytes / 1024)} KiB minified in ${r.bundle.files} files, all of it bundled (the AWS SDK clients included, none taken from the runtime), an ES module split into chunks; module init loads ${Math.round(r.bundle.initBytes / 1024)} KiB of it in ${r.bundle.initFiles} files (${Math.round(r.bundle.initGzipBytes / 1024)} KiB gzip), of which the AWS SDK ${Math.round(r.bundle.initSdkBytes / 1024)} KiB and the rest ${Math.round((r.bundle.initBytes - r.bundle.initSdkBytes) / 1024)} KiB; the SSM, Secrets Manager and SNS clients are chunks loaded on first use. Module init as deployed (the code a synth builds, loaded with import() as Lambda loads an ES module handler, the template's environment with NODE_OPTIONS=--enable-source-maps, a fresh process each, median of ${r.init.samples}): on ${r.init.node24.node} (the runtime's Node) ${split(r.init.node24)}; on ${r.init.node20.node} ${split(r.init.node20)}.`,
    '',
    `Targets: ${Object.entries(r.targets)
      .map(([k, v]) => `${k}: ${v === null ? 'not measured' : v ? 'met' : 'MISSED'}`)
      .join('; ')}.`,
  ].join('\n');
}

/**
 * Why the concurrent naive baseline stays under 20× ours at 100 sessions (a target the run reports): both pay the same
 * fixed start, and 16 requests in flight make its per-session work only a few round trips long. Our cycle cannot go
 * below its floor, whatever its code: on fresh connections, a TCP connect, a TLS 1.3 handshake and the list to VB365
 * (a round trip each), then a connect and the Query to DynamoDB. Empty when the target is met or not measured.
 */
function concurrentNaiveNote(rows: Row[]): string[] {
  const at100 = rows.find((x) => x.sessions === 100);
  const naive = at100?.baselines.naiveConcurrent;
  if (!at100 || !naive || naive.ratio >= 20) return [];
  const floorMs = 3 * VB365_LATENCY_MS + 2 * AWS_LATENCY_MS;
  const rounds = Math.ceil(100 / 16);
  return [
    `Why the concurrent naive baseline is ${naive.ratio}× ours at 100 sessions, not 20×: the ratio is bounded by the latency on the wire, not by our code. Our steady cycle cannot be shorter than its floor: on fresh connections a TCP connect, a TLS handshake and the list (three ${VB365_LATENCY_MS} ms round trips to VB365) and a connect and the Query to DynamoDB (two of ${AWS_LATENCY_MS} ms), ${floorMs} ms; it took ${at100.steadyMs} ms. With 16 sessions in flight the baseline's 100 GETs, GetItems, PutItems and Publishes are ${rounds} rounds of four round trips, ${n(naive.ms)} ms here: even a cycle of exactly ${floorMs} ms would make it ${Math.round((naive.ms / floorMs) * 10) / 10}×. 20× would take a cycle of ${Math.round(naive.ms / 20)} ms, less than the handshakes alone. The baselines that do not overlap their round trips: sequential naive ${at100.baselines.naive?.ratio ?? 'n/a'}×, peer-faithful ${at100.baselines.peer?.ratio ?? 'n/a'}×.`,
    '',
  ];
}

function n(x: number): string {
  return x.toLocaleString('en-US');
}

function markdown(r: Parameters<typeof performanceMarkdown>[0] & { cost: ReturnType<typeof costSection> }): string {
  return [performanceMarkdown(r), '', ...costMarkdown(r.cost), ''].join('\n');
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
