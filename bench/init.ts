import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { buildLambda, ESBUILD_OPTIONS, type LambdaName } from '../infra/lambda-code.js';

/*
 * Module init of a Lambda as deployed: the bundle a synth builds (infra/lambda-code.ts), loaded with `require` in a
 * fresh process per sample, with the environment the template gives the function (NODE_OPTIONS included), its
 * configuration file beside it, and no AWS settings of this machine. Samples of the variants are interleaved, so
 * the machine's load weighs on each alike; each sample reports wall time and CPU time (user + system).
 */

export interface InitSample {
  readonly wallMs: number;
  readonly cpuMs: number;
}

export interface InitFigures {
  /** Median wall time of module init (ms). */
  readonly wallMs: number;
  /** Median CPU time of module init (ms): steadier than wall time on a loaded machine. */
  readonly cpuMs: number;
  readonly samples: number;
}

export interface InitSplit {
  readonly node: string;
  /** As deployed: the bundle with the template's NODE_OPTIONS. */
  readonly deployed: InitFigures;
  /** The same bundle without NODE_OPTIONS: the difference is what source maps cost at init. */
  readonly withoutSourceMaps: InitFigures;
  /** The AWS SDK clients init loads, bundled alone the same way: the SDK's share. */
  readonly sdkOnly: InitFigures;
  /** Shares of the deployed init (median wall ms): SDK, the rest of the bundle, source maps. */
  readonly split: { readonly sdkMs: number; readonly bundleMs: number; readonly sourceMapsMs: number };
}

const PROBE = `const t0 = performance.now();
const c0 = process.cpuUsage();
require(process.argv[2]);
const c = process.cpuUsage(c0);
process.stdout.write(JSON.stringify({ wallMs: performance.now() - t0, cpuMs: (c.user + c.system) / 1000 }));
`;

/** The bundle of `name` as a synth stages it, in `dir` (index.js, its source map, and `extraFiles`). */
export function stageBundle(name: LambdaName, dir: string, extraFiles: Record<string, string> = {}): string {
  mkdirSync(dir, { recursive: true });
  // The code directory is CommonJS (as in Lambda), whatever the project's package.json says.
  writeFileSync(join(dir, 'package.json'), '{"type":"commonjs"}\n');
  for (const [file, content] of buildLambda(name)) writeFileSync(join(dir, file), content);
  for (const [file, content] of Object.entries(extraFiles)) writeFileSync(join(dir, file), content);
  return join(dir, 'index.js');
}

/** The AWS SDK clients the poll function's init loads, built with the Lambdas' options (bundled or not, as they are). */
export function stageSdkOnly(dir: string, clients: readonly string[]): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), '{"type":"commonjs"}\n');
  const entry = join(dir, 'entry.js');
  writeFileSync(entry, clients.map((c) => `require(${JSON.stringify(c)});`).join('\n'));
  // With the SDK external (the runtime's), this loads it from node_modules, as the runtime would.
  buildSync({ ...ESBUILD_OPTIONS, entryPoints: [entry], outfile: join(dir, 'index.js') });
  return join(dir, 'index.js');
}

export interface InitVariant {
  readonly file: string;
  readonly env: Record<string, string>;
}

/** `samples` fresh processes per variant, interleaved; medians per variant. */
export function measureInit(
  nodeBinary: string,
  variants: Record<string, InitVariant>,
  samples: number,
  probeDir: string,
): Record<string, InitFigures> {
  mkdirSync(probeDir, { recursive: true });
  const probe = join(probeDir, 'init-probe.cjs');
  writeFileSync(probe, PROBE);
  const runs: Record<string, InitSample[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let i = 0; i < samples; i++) {
    for (const [name, v] of Object.entries(variants)) {
      const out = spawnSync(nodeBinary, [probe, v.file], { env: v.env, encoding: 'utf8' });
      if (out.status !== 0) {
        throw new Error(
          `bench: init of ${v.file} failed on ${nodeBinary} (${out.status}): ${out.stderr.slice(0, 2000)}`,
        );
      }
      (runs[name] as InitSample[]).push(JSON.parse(out.stdout) as InitSample);
    }
  }
  return Object.fromEntries(
    Object.entries(runs).map(([k, xs]) => [
      k,
      {
        wallMs: round(median(xs.map((x) => x.wallMs))),
        cpuMs: round(median(xs.map((x) => x.cpuMs))),
        samples: xs.length,
      },
    ]),
  );
}

/** Deployed init on `nodeBinary`, and its split into the SDK, the rest of the bundle and source maps. */
export function initSplit(
  nodeBinary: string,
  node: string,
  bundleFile: string,
  sdkFile: string,
  env: Record<string, string>,
  samples: number,
  probeDir: string,
): InitSplit {
  const { NODE_OPTIONS: _, ...bare } = env;
  const m = measureInit(
    nodeBinary,
    {
      deployed: { file: bundleFile, env },
      withoutSourceMaps: { file: bundleFile, env: bare },
      sdkOnly: { file: sdkFile, env: bare },
    },
    samples,
    probeDir,
  );
  const deployed = m.deployed as InitFigures;
  const withoutSourceMaps = m.withoutSourceMaps as InitFigures;
  const sdkOnly = m.sdkOnly as InitFigures;
  return {
    node,
    deployed,
    withoutSourceMaps,
    sdkOnly,
    split: {
      sdkMs: sdkOnly.wallMs,
      bundleMs: round(Math.max(0, withoutSourceMaps.wallMs - sdkOnly.wallMs)),
      sourceMapsMs: round(deployed.wallMs - withoutSourceMaps.wallMs),
    },
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}
