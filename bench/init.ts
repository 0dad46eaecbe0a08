import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildSync } from 'esbuild';
import { buildLambda, ESBUILD_OPTIONS, HANDLER_FILE, type LambdaName } from '../infra/lambda-code.js';

/*
 * Module init of a Lambda as deployed: the bundle a synth builds (infra/lambda-code.ts), loaded with `import()` as
 * Lambda's runtime loads an ES module handler, in a fresh process per sample, with the environment the template gives
 * the function (NODE_OPTIONS included), its configuration file beside it, and no AWS settings of this machine. Then
 * what the first cycle of a new container loads on first use (the credentials client, for its login), timed apart:
 * init plus that is the cold start. Samples of the variants are interleaved, so the machine's load weighs on each
 * alike; each sample reports wall time and CPU time (user + system).
 */

export interface InitSample {
  readonly wallMs: number;
  readonly cpuMs: number;
  /** Loading the modules of first use after init. */
  readonly thenWallMs: number;
  readonly thenCpuMs: number;
}

export interface InitFigures {
  /** Median wall time of module init (ms). */
  readonly wallMs: number;
  /** Median CPU time of module init (ms): steadier than wall time on a loaded machine. */
  readonly cpuMs: number;
  /** Median wall and CPU time of loading, after init, what the first cycle loads on first use (0 when nothing). */
  readonly thenWallMs: number;
  readonly thenCpuMs: number;
  readonly samples: number;
}

export interface InitSplit {
  readonly node: string;
  /** As deployed: the bundle with the template's NODE_OPTIONS; `then*`: the first login's credentials client. */
  readonly deployed: InitFigures;
  /** The same bundle without NODE_OPTIONS: the difference is what source maps cost at init. */
  readonly withoutSourceMaps: InitFigures;
  /** The AWS SDK clients init loads, bundled alone the same way: the SDK's share. */
  readonly sdkOnly: InitFigures;
  /** Shares of the deployed init (median wall ms): SDK, the rest of the bundle, source maps. */
  readonly split: { readonly sdkMs: number; readonly bundleMs: number; readonly sourceMapsMs: number };
  /** The cold start (median wall ms): init, then the first login's credentials client. */
  readonly coldStartMs: number;
}

const PROBE = `import { pathToFileURL } from 'node:url';
const [file, ...then] = process.argv.slice(2);
const t0 = performance.now();
const c0 = process.cpuUsage();
await import(pathToFileURL(file).href);
const c = process.cpuUsage(c0);
const t1 = performance.now();
for (const f of then) await import(pathToFileURL(f).href);
const c2 = process.cpuUsage(c0);
const ms = (u) => (u.user + u.system) / 1000;
process.stdout.write(JSON.stringify({ wallMs: t1 - t0, cpuMs: ms(c), thenWallMs: performance.now() - t1, thenCpuMs: ms(c2) - ms(c) }));
`;

/** The bundle of `name` as a synth stages it, in `dir` (index.mjs, its chunks, source maps, and `extraFiles`). */
export function stageBundle(name: LambdaName, dir: string, extraFiles: Record<string, string> = {}): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of buildLambda(name)) writeFileSync(join(dir, file), content);
  for (const [file, content] of Object.entries(extraFiles)) writeFileSync(join(dir, file), content);
  return join(dir, HANDLER_FILE);
}

/**
 * The chunk of a staged bundle that holds `module` (a file name without extension, say `ssm-parameters`), as esbuild
 * names a module's chunk when the code imports it on first use.
 */
export function chunkOf(bundleDir: string, module: string): string {
  const chunk = readdirSync(bundleDir).find((f) => f.startsWith(`${module}-`) && f.endsWith('.mjs'));
  if (chunk === undefined) throw new Error(`bench: no chunk of ${module} in ${bundleDir}: was it renamed?`);
  return join(bundleDir, chunk);
}

/** The SDK's share of init: `source` (what init loads of the SDK) built alone with the Lambdas' options. */
export function stageSdkOnly(dir: string, source: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const entry = join(dir, 'entry.ts');
  writeFileSync(entry, source);
  buildSync({ ...ESBUILD_OPTIONS, entryPoints: { index: entry }, outdir: dir });
  return join(dir, HANDLER_FILE);
}

export interface InitVariant {
  readonly file: string;
  /** Loaded after init and timed apart: what the first cycle loads on first use. */
  readonly firstUse?: readonly string[];
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
  const probe = join(probeDir, 'init-probe.mjs');
  writeFileSync(probe, PROBE);
  const runs: Record<string, InitSample[]> = Object.fromEntries(Object.keys(variants).map((k) => [k, []]));
  for (let i = 0; i < samples; i++) {
    for (const [name, v] of Object.entries(variants)) {
      const out = spawnSync(nodeBinary, [probe, v.file, ...(v.firstUse ?? [])], { env: v.env, encoding: 'utf8' });
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
        thenWallMs: round(median(xs.map((x) => x.thenWallMs))),
        thenCpuMs: round(median(xs.map((x) => x.thenCpuMs))),
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
  firstUse: readonly string[],
  sdkFile: string,
  env: Record<string, string>,
  samples: number,
  probeDir: string,
): InitSplit {
  const { NODE_OPTIONS: _, ...bare } = env;
  const m = measureInit(
    nodeBinary,
    {
      deployed: { file: bundleFile, firstUse, env },
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
    coldStartMs: round(deployed.wallMs + deployed.thenWallMs),
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
