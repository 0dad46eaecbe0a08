import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, aws_lambda as lambda, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import { type BuildOptions, buildSync } from 'esbuild';

/*
 * The code of the Lambdas: the handler bundle plus files beside it (the poll function's configuration file), staged
 * in a directory named by the hash of its content, which becomes the function's asset.
 */

/** The project root: source map paths are relative to it, so a bundle is the same on every machine. */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** esbuild settings of the Lambdas (the benchmark builds with the same). */
export const ESBUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  // CommonJS: the AWS SDK (from the runtime) then loads through its single-file CJS build, which initialises about
  // 140 ms faster than its ESM build (npm run bench measures it).
  format: 'cjs',
  target: 'node22',
  minify: true,
  sourcemap: true,
  mainFields: ['module', 'main'],
  external: ['@aws-sdk/*'],
  logLevel: 'error',
} as const satisfies BuildOptions;

/** Files of a function's code, by name. */
export type CodeFiles = ReadonlyMap<string, string | Uint8Array>;

/** What runs when the stack is synthesized without bundling (`cdk synth` of another stack, tests): never deployed. */
const PLACEHOLDER: CodeFiles = new Map([
  ['index.js', 'exports.handler=async()=>{throw new Error("synthesized without bundling")};\n'],
]);

const bundles = new Map<string, CodeFiles>();

/**
 * `index.js` (exporting the handler) and its source map, built from `entry` once per process. This is the seam where
 * prebuilt bundles shipped with the package can replace the build.
 */
export function bundleOf(entry: string): CodeFiles {
  const cached = bundles.get(entry);
  if (cached) return cached;
  const result = buildSync({ ...ESBUILD_OPTIONS, entryPoints: [entry], outfile: join(ROOT, 'index.js'), write: false });
  const files: CodeFiles = new Map(result.outputFiles.map((f) => [basename(f.path), f.contents]));
  bundles.set(entry, files);
  return files;
}

/**
 * The code of a function in `scope`'s stack: the bundle of `entry` (a placeholder when the stack is synthesized
 * without bundling) with `extraFiles` beside it.
 */
export function lambdaCode(scope: IConstruct, entry: string, extraFiles: Record<string, string> = {}): lambda.Code {
  const files = new Map([
    ...(Stack.of(scope).bundlingRequired ? bundleOf(entry) : PLACEHOLDER),
    ...Object.entries(extraFiles),
  ]);
  const { dir, hash } = stage(files);
  return lambda.Code.fromAsset(dir, { assetHash: hash, assetHashType: AssetHashType.CUSTOM });
}

/**
 * Writes `files` to a directory under the system's temporary directory named by the hash of their names and
 * contents: the same code is staged once, however often it is synthesized. The directory appears complete or not
 * at all (written aside, then renamed), so concurrent synths share it safely.
 */
function stage(files: CodeFiles): { dir: string; hash: string } {
  const h = createHash('sha256');
  for (const [name, content] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    h.update(`${name}\0${bytes.length}\0`).update(bytes);
  }
  const hash = h.digest('hex');
  const dir = join(tmpdir(), 'vb365-sync-monitor-code', hash.slice(0, 32));
  if (existsSync(dir)) return { dir, hash };
  const aside = `${dir}.${process.pid}.${Date.now()}`;
  for (const [name, content] of files) {
    mkdirSync(dirname(join(aside, name)), { recursive: true });
    writeFileSync(join(aside, name), content);
  }
  try {
    renameSync(aside, dir);
  } catch (err) {
    // Another synth staged the same code first.
    rmSync(aside, { recursive: true, force: true });
    if (!existsSync(dir)) throw err;
  }
  return { dir, hash };
}
