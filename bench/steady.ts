import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startSimulator } from '../local/simulator/simulator.js';
import { ensureTable, localClient, startBestEngine } from '../local/stand-ins/embedded-dynamodb.js';
import { startSnsStandIn } from '../local/stand-ins/sns-stand-in.js';
import { startLatencyProxy, viaProxy } from './latency-proxy.js';
import type { CycleReply } from './worker.js';
import { BUILD, buildWorker, startWorker } from './worker-process.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/*
 * The steady cycle alone, for iterating on its CPU cost: `node --import tsx bench/steady.ts -- --sessions 1000
 * [--cycles 20] [--profile DIR]`. Same worker, bundle options, simulator, engine and fresh connections as
 * `npm run bench` (bench/run.ts); prints the median CPU (user + system ms) of the steady cycles and the load average.
 * With --profile, a V8 CPU profile of the steady cycles only (`.cpuprofile`, for DevTools or speedscope).
 */

const { values } = parseArgs({
  options: {
    sessions: { type: 'string', default: '1000' },
    cycles: { type: 'string', default: '20' },
    profile: { type: 'string' },
  },
});
const SESSIONS = (values.sessions ?? '1000').split(',').map(Number);
const CYCLES = Number(values.cycles);

async function main() {
  mkdirSync(BUILD, { recursive: true });
  // Names kept in a profile.
  await buildWorker({ minify: values.profile === undefined });
  const engine = await startBestEngine();
  const sns = await startSnsStandIn();
  const ddbProxy = await startLatencyProxy(Number(new URL(engine.endpoint).port), 1.5);
  try {
    for (const n of SESSIONS) {
      const table = `steady-${n}-${Date.now()}`;
      const setup = localClient(engine.endpoint);
      await ensureTable(setup, table);
      setup.destroy();
      const repositories = Array.from({ length: Math.ceil(n / 10) }, () => randomUUID());
      const sim = await startSimulator({
        scenario: {
          name: `steady-${n}`,
          repositories: repositories.map((id, i) => ({ id, name: `Repository ${i}`, isOutOfSync: true })),
          steps: [],
        },
      });
      sim.apply(
        Array.from({ length: n }, (_, i) => ({
          op: 'start' as const,
          session: randomUUID(),
          repository: repositories[Math.floor(i / 10)] as string,
          progress: 10,
        })),
      );
      const vb365 = await startLatencyProxy(Number(new URL(sim.url).port), 12.5);
      const { call, child } = startWorker();
      try {
        await call({
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
            ddbEndpoint: viaProxy(engine.endpoint, ddbProxy),
            snsEndpoint: sns.endpoint,
            table,
          },
        });
        await call({ type: 'cycle' });
        const cpu: number[] = [];
        if (values.profile) await call({ type: 'profile', file: '' });
        for (let i = 0; i < CYCLES; i++) {
          // Fresh connections every other cycle, as the bench's steady figure mixes both.
          if (i % 2 === 0) {
            vb365.dropConnections();
            ddbProxy.dropConnections();
          }
          const r = (await call({ type: 'cycle' })) as CycleReply;
          cpu.push(r.cpuMs);
          if (process.env.STEADY_VERBOSE)
            process.stdout.write(
              `${r.cpuMs.toFixed(1)} ${r.wallMs.toFixed(1)} ${JSON.stringify(r.ddb)} ${r.statuses} rss ${Math.round(r.maxRssKb / 1024)} MB\n`,
            );
        }
        if (values.profile) {
          await call({ type: 'profile', file: join(values.profile, `steady-${n}.cpuprofile`) });
        }
        const s = [...cpu].sort((a, b) => a - b);
        const median = s.length % 2 ? s[(s.length - 1) / 2] : ((s[s.length / 2 - 1] ?? 0) + (s[s.length / 2] ?? 0)) / 2;
        process.stdout.write(
          `${n} sessions: steady CPU median ${(median ?? 0).toFixed(1)} ms (min ${s[0]?.toFixed(1)}, max ${s.at(-1)?.toFixed(1)}, ${CYCLES} cycles); load ${loadavg()
            .map((x) => x.toFixed(2))
            .join(' ')}\n`,
        );
      } finally {
        await call({ type: 'exit' }).catch(() => undefined);
        child.kill();
        await vb365.close();
        await sim.close();
      }
    }
  } finally {
    await ddbProxy.close();
    await sns.close();
    await engine.close();
  }
}

await main();
