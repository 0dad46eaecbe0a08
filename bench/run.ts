import { type ChildProcess, execFileSync, fork, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { type EmbeddedDynamoDb, ensureTable, localClient, startBestEngine } from '../local/embedded-dynamodb.js';
import { startSimulator, type Vb365Simulator } from '../local/simulator/simulator.js';
import { startSnsStandIn } from '../local/sns-stand-in.js';
import type { Command, CycleReply, WorkerServer } from './worker.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/*
 * npm run bench [-- --quick]: the real cycle code against the simulator with injected latency, for growing session
 * counts and a fleet of servers; compared with a naive per-session design; plus bundle size, module init time and a
 * cost model. Results: bench/results.json and a Markdown table on stdout (copied into the README).
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
  change: { events: number; writes: number; snsCalls: number; ms: number };
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
  try {
    for (const n of SIZES) rows.push(await scenario(engine, sns, n, 1));
    rows.push(await scenario(engine, sns, 10, FLEET));
  } finally {
    await sns.close();
    await engine.close();
  }

  const steady100 = rows.find((r) => r.sessions === 100 && r.servers === 1) as Row;
  const cost = costModel(steady100, bundle.bytes);
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
    targets: targets(rows, bundle.bytes, init),
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
      change: { events: change.events, writes: change.ddb.puts, snsCalls: change.snsCalls, ms: round(change.wallMs) },
      naiveMs: naive ? round(naive.wallMs) : null,
      ratio: naive ? round(naive.wallMs / steadyMs) : null,
      peakRssMb: round((naive ?? change).maxRssKb / 1024),
    };
  } finally {
    await worker.call({ type: 'exit' }).catch(() => undefined);
    await Promise.all(sims.map((s) => s.close()));
  }
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

/** Dollars per server per month at a 5-minute interval, from measured figures and us-east-1 list prices. */
function costModel(row: Row, bundleBytes: number) {
  const cycles = (30.4 * 24 * 60) / 5;
  const price = {
    lambdaGbSecond: 0.0000133334,
    lambdaRequest: 0.2 / 1e6,
    schedulerInvocation: 1 / 1e6,
    dynamoRru: 0.125 / 1e6,
    dynamoWru: 0.625 / 1e6,
    secret: 0.4,
    metric: 0.3,
    alarm: 0.1,
    logsGb: 0.5,
  };
  // Measured steady cycle plus Lambda's own overhead (≈ 20 ms), billed per ms.
  const durationS = (row.steadyMs + 20) / 1000;
  const lambda = cycles * (durationS * 0.25 * price.lambdaGbSecond + price.lambdaRequest);
  const dynamo = cycles * (row.ddbPerCycle.rcu * price.dynamoRru + row.ddbPerCycle.wcu * price.dynamoWru);
  const scheduler = cycles * price.schedulerInvocation;
  const logs = ((cycles * 600) / 2 ** 30) * price.logsGb;
  const items = {
    lambda,
    scheduler,
    dynamo,
    secret: price.secret,
    metrics: 6 * price.metric,
    heartbeatAlarm: price.alarm,
    logs,
  };
  const total = Object.values(items).reduce((a, b) => a + b, 0);
  return {
    assumptions: `5-minute interval (${Math.round(cycles)} cycles/month), 256 MB arm64, steady cycle of ${row.sessions} sessions measured at ${row.steadyMs} ms, bundle ${Math.round(bundleBytes / 1024)} KiB`,
    perServerMonthUsd: Object.fromEntries(Object.entries(items).map(([k, v]) => [k, Math.round(v * 10_000) / 10_000])),
    totalPerServerMonthUsd: Math.round(total * 100) / 100,
  };
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
  cost: ReturnType<typeof costModel>;
  targets: ReturnType<typeof targets>;
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
    `Cost per server per month (${r.cost.assumptions}): $${r.cost.totalPerServerMonthUsd} — ${Object.entries(
      r.cost.perServerMonthUsd,
    )
      .map(([k, v]) => `${k} $${v}`)
      .join(', ')}.`,
    '',
    `Targets: ${Object.entries(r.targets)
      .map(([k, v]) => `${k}: ${v === null ? 'not measured' : v ? 'met' : 'MISSED'}`)
      .join('; ')}.`,
    '',
  ];
  return lines.join('\n');
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
