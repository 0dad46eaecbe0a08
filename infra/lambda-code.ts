import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AssetHashType, aws_lambda as lambda, Stack } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { BuildOptions } from 'esbuild';

/*
 * The code of the Lambdas: the handler bundle plus files beside it (the poll function's configuration file), staged
 * in a directory named by the hash of its content, which becomes the function's asset. The installed package ships
 * the bundles prebuilt (dist/lambda/<name>/, beside the compiled construct): a synth there needs no esbuild, no Docker
 * and no network. In this repository they are built from source with esbuild, with the same options.
 */

/**
 * The project root: source map paths are relative to it, so a bundle is the same on every machine. In the package's
 * compiled construct (dist/index.js), the package root.
 */
const ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The Lambdas, by name: the source entry of each, relative to the project root. */
export const LAMBDA_ENTRIES = {
  poll: 'lambda/handler.ts',
  deliverer: 'lambda/deliverer.ts',
} as const;
export type LambdaName = keyof typeof LAMBDA_ENTRIES;

/** Where the package keeps the prebuilt bundle of `name`: beside the compiled construct (dist/lambda/<name>/). */
export function prebuiltDir(name: LambdaName): string {
  return fileURLToPath(new URL(`./lambda/${name}/`, import.meta.url));
}

/** The file of a Lambda bundle that exports the handler (`index.handler`; an ES module, as its extension says). */
export const HANDLER_FILE = 'index.mjs';

/**
 * esbuild settings of the Lambdas (the package build and the benchmark build with the same). The bundle is
 * self-contained: the AWS SDK clients are bundled, not taken from the runtime, so esbuild keeps only the commands the
 * code sends, and every client shares one copy of the SDK's core. It is an ES module split into chunks: module init
 * loads the handler's static graph (the DynamoDB client, the VB365 client, the domain); what a cycle needs only
 * sometimes (the SSM or Secrets Manager client at a login, the SNS client at a publish, the credential providers
 * other than the environment's) is a chunk loaded on first use. npm run bench measures the choice (docs/operations.md).
 */
export const ESBUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  splitting: true,
  outExtension: { '.js': '.mjs' },
  // Flat: the chunks sit beside index.mjs, so a function's code is one directory.
  chunkNames: '[name]-[hash]',
  target: 'node22',
  minify: true,
  sourcemap: true,
  // With NODE_OPTIONS=--enable-source-maps, Node reads and parses the map at init: stack traces need its mappings and
  // file names, not the embedded sources (a quarter of the size; init on Node 20 about 35 ms CPU less).
  sourcesContent: false,
  mainFields: ['module', 'main'],
  // CommonJS packages in the bundle (undici, parts of Powertools) call require() for Node's modules.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  logLevel: 'error',
} as const satisfies BuildOptions;

/** Files of a function's code, by name. */
export type CodeFiles = ReadonlyMap<string, string | Uint8Array>;

/** What runs when the stack is synthesized without bundling (`cdk synth` of another stack, tests): never deployed. */
const PLACEHOLDER: CodeFiles = new Map([
  [HANDLER_FILE, 'export const handler = async () => { throw new Error("synthesized without bundling"); };\n'],
]);

const bundles = new Map<LambdaName, CodeFiles>();

/**
 * `index.mjs` (exporting the handler), its chunks and their source maps: the package's prebuilt bundle when there is
 * one, else built from source once per process.
 */
export function bundleOf(name: LambdaName): CodeFiles {
  const cached = bundles.get(name);
  if (cached) return cached;
  const prebuilt = prebuiltDir(name);
  const files: CodeFiles = existsSync(join(prebuilt, HANDLER_FILE))
    ? new Map(readdirSync(prebuilt).map((file) => [file, readFileSync(join(prebuilt, file))]))
    : buildLambda(name);
  bundles.set(name, files);
  return files;
}

/** Builds the bundle of `name` from source with esbuild (a development dependency: only this repository has it). */
export function buildLambda(name: LambdaName): CodeFiles {
  const entry = join(ROOT, LAMBDA_ENTRIES[name]);
  if (!existsSync(entry)) {
    throw new Error(
      `vb365-sync-monitor: the prebuilt code of the ${name} Lambda is missing (${prebuiltDir(name)}): reinstall the package`,
    );
  }
  // Loaded only here, so the compiled construct never needs esbuild.
  const { buildSync } = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
  const result = buildSync({
    ...ESBUILD_OPTIONS,
    entryPoints: { [HANDLER_FILE.replace(/\.mjs$/, '')]: entry },
    outdir: ROOT,
    write: false,
  });
  return new Map(result.outputFiles.map((f) => [basename(f.path), f.contents]));
}

/**
 * The code of a function in `scope`'s stack: the bundle of the Lambda `name` (a placeholder when the stack is
 * synthesized without bundling) with `extraFiles` beside it.
 */
export function lambdaCode(scope: IConstruct, name: LambdaName, extraFiles: Record<string, string> = {}): lambda.Code {
  const files = new Map([
    ...(Stack.of(scope).bundlingRequired ? bundleOf(name) : PLACEHOLDER),
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
