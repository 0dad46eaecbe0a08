import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, join, relative } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HANDLER_FILE } from '../../infra/lambda-code.js';
import { resolveConfig } from '../../lambda/config-schema.js';
import { CONFIG_FILE_NAME, ENV } from '../../lambda/names.js';

/*
 * The package as a user gets it: `npm pack` (which builds dist/), the tarball installed into an empty folder, and
 * CDK apps there that import it, ESM and CommonJS, synthesized with plain node; the installed command's demo; `init`,
 * then `cdk synth` in the folder it created.
 *
 * Offline: the tarball's dependencies come from the npm cache that `npm ci` of this repository filled. The cache holds
 * the packages' tarballs but not the registry's version lists, so `npm install --offline <tarball>` cannot resolve a
 * version; the folder gets a lockfile instead, written from this repository's lockfile (the tarball and the
 * dependency tree it pins), and `npm ci --offline` installs from it, as a user's `npm install` would with these
 * versions. aws-cdk-lib and constructs (peer dependencies, 40 MB; --legacy-peer-deps keeps npm from installing them)
 * are linked from this repository's node_modules, and so is @types/node for the TypeScript check.
 */

const exec = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
const PEM = readFileSync(join(ROOT, 'infra/examples/certs/contoso-ca.pem'), 'utf8');

/** This environment without any node_modules/.bin on PATH: no esbuild, no cdk, no tsx from this repository. */
const env = {
  ...process.env,
  PATH: (process.env.PATH ?? '')
    .split(delimiter)
    .filter((p) => !p.includes('node_modules'))
    .join(delimiter),
};

function run(command: string, args: readonly string[], cwd: string) {
  return exec(command, args, { cwd, env, maxBuffer: 64 * 1024 * 1024, timeout: 240_000 });
}

interface CfnResource {
  Type: string;
  Properties?: { Code?: { S3Key?: string }; Environment?: { Variables?: Record<string, unknown> } };
}

/** The poll function's code as the cloud assembly in `outdir` holds it for the stack `stackName`: file name → text. */
function pollCode(outdir: string, stackName: string): Map<string, string> {
  const template = JSON.parse(readFileSync(join(outdir, `${stackName}.template.json`), 'utf8')) as {
    Resources: Record<string, CfnResource>;
  };
  const poll = Object.values(template.Resources).filter(
    (r) => r.Type === 'AWS::Lambda::Function' && r.Properties?.Environment?.Variables?.[ENV.topicArn] !== undefined,
  );
  expect(poll).toHaveLength(1);
  const hash = poll[0]?.Properties?.Code?.S3Key?.replace(/\.zip$/, '');
  const asset = join(outdir, `asset.${hash}`);
  return new Map(readdirSync(asset).map((f) => [f, readFileSync(join(asset, f), 'utf8')]));
}

/** Asserts that `code` is, byte for byte, the poll bundle the installed package ships, plus the configuration file. */
function expectShippedPollCode(code: Map<string, string>, app: string): void {
  const shipped = join(app, 'node_modules/vb365-sync-monitor/dist/lambda/poll');
  const files = readdirSync(shipped);
  expect(files).toContain(HANDLER_FILE);
  expect([...code.keys()].sort()).toEqual([...files, CONFIG_FILE_NAME].sort());
  for (const f of files) expect(code.get(f), f).toBe(readFileSync(join(shipped, f), 'utf8'));
}

/**
 * A package.json and lockfile for `dir` that install `tarball` with exactly the dependency tree this repository's
 * lockfile pins for the package's dependencies (the entries that are not development-only).
 */
function writeLockedProject(dir: string, tarball: string): void {
  const own = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as Record<string, unknown>;
  const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean; devOptional?: boolean; link?: boolean }>;
  };
  const spec = `file:${relative(dir, tarball)}`;
  const dependencies = { 'vb365-sync-monitor': spec };
  const packages: Record<string, unknown> = {
    '': { name: 'package-probe', dependencies },
    'node_modules/vb365-sync-monitor': {
      version: own.version,
      resolved: spec,
      license: own.license,
      dependencies: own.dependencies,
      peerDependencies: own.peerDependencies,
      bin: own.bin,
      engines: own.engines,
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path.startsWith('node_modules/') && !entry.dev && !entry.devOptional && !entry.link) packages[path] = entry;
  }
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'package-probe', private: true, dependencies })}\n`,
  );
  writeFileSync(
    join(dir, 'package-lock.json'),
    `${JSON.stringify({ name: 'package-probe', lockfileVersion: 3, requires: true, packages }, null, 2)}\n`,
  );
}

const APP_MJS = `import { App, Stack } from 'aws-cdk-lib';
import { EVENT_TYPES, Vb365SyncMonitor } from 'vb365-sync-monitor';
import eventSchema from 'vb365-sync-monitor/event-schema.json' with { type: 'json' };
import configSchema from 'vb365-sync-monitor/config-schema.json' with { type: 'json' };

const app = new App({ outdir: 'out-esm' });
const stack = new Stack(app, 'EsmMonitor');
new Vb365SyncMonitor(stack, 'Monitor', {
  servers: [
    {
      id: 'vb365-esm',
      url: 'https://vb365-esm.example.net:4443',
      credentials: { secretName: 'vb365/esm' },
      caBundle: ${JSON.stringify(PEM)},
    },
  ],
  notifications: { emails: [{ address: 'ops@example.com' }] },
});
app.synth();
console.log(JSON.stringify({ eventTypes: EVENT_TYPES.length, eventSchema: eventSchema.title, configSchema: configSchema.title }));
`;

const APP_CJS = `const { App, Stack } = require('aws-cdk-lib');
const { MonitorConfigError, Vb365SyncMonitor } = require('vb365-sync-monitor');

const app = new App({ outdir: 'out-cjs' });
const stack = new Stack(app, 'CjsMonitor');
new Vb365SyncMonitor(stack, 'Monitor', {
  servers: [
    {
      id: 'vb365-cjs',
      url: 'https://vb365-cjs.example.net:4443',
      credentials: { secretName: 'vb365/cjs' },
      caBundleFile: 'certs/vb365-cjs.pem',
    },
  ],
  notifications: { emails: [{ address: 'ops@example.com' }] },
});
app.synth();

let problems;
try {
  new Vb365SyncMonitor(new Stack(new App(), 'Broken'), 'Monitor', { servers: [], stackName: 'Broken' });
} catch (err) {
  problems = err instanceof MonitorConfigError ? err.problems : String(err);
}
console.log(JSON.stringify({ problems, eventSchema: require('vb365-sync-monitor/event-schema.json').title }));
`;

/** TypeScript apps against the declarations, ESM (.mts) and CommonJS (.cts). */
const CHECK = `import { App, Stack } from 'aws-cdk-lib';
import { EVENT_TYPES, type MonitorEvent, MonitorConfigError, resolveConfig, Vb365SyncMonitor, type Vb365SyncMonitorProps } from 'vb365-sync-monitor';

const props: Vb365SyncMonitorProps = {
  servers: [{ id: 'a', url: 'https://a.example.net:4443', credentials: { secretName: 'a' } }],
  notifications: { emails: [{ address: 'ops@example.com', eventTypes: ['sync.failed'] }] },
};
const monitor = new Vb365SyncMonitor(new Stack(new App(), 'S'), 'Monitor', props);
export const topicArn: string = monitor.topic.topicArn;
export const type: MonitorEvent['type'] = EVENT_TYPES[0];
export const servers: number = resolveConfig(props).servers.length;
export const problems: readonly string[] = new MonitorConfigError([]).problems;
// @ts-expect-error the stack's name belongs to the stack, not to the props
export const wrong: Vb365SyncMonitorProps = { stackName: 'S', servers: [] };
// @ts-expect-error an event type the contract does not have
export const unknownType: Vb365SyncMonitorProps = { servers: [], notifications: { emails: [{ address: 'a@b.c', eventTypes: ['sync.exploded'] }] } };
`;

describe('the package, installed from its tarball in an empty folder (offline)', () => {
  let dir: string;
  let app: string;
  let packed: { filename: string; size: number; unpackedSize: number; files: { path: string }[] };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vb365-package-'));
    app = join(dir, 'app');
    mkdirSync(app);
    const started = performance.now();
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dir], ROOT);
    // The build (prepack) may print before the JSON.
    packed = (JSON.parse(stdout.slice(stdout.search(/^\[$/m))) as (typeof packed)[])[0] as typeof packed;
    const packedMs = performance.now() - started;
    writeLockedProject(app, join(dir, packed.filename));
    await run('npm', ['ci', '--offline', '--no-audit', '--no-fund', '--legacy-peer-deps'], app);
    for (const name of ['aws-cdk-lib', 'constructs', '@types/node']) {
      mkdirSync(join(app, 'node_modules', name, '..'), { recursive: true });
      symlinkSync(join(ROOT, 'node_modules', name), join(app, 'node_modules', name), 'dir');
    }
    console.log(
      `package: ${packed.filename}, ${(packed.size / 1024 / 1024).toFixed(2)} MB packed, ${(packed.unpackedSize / 1024 / 1024).toFixed(2)} MB unpacked, ${packed.files.length} files; npm pack ${(packedMs / 1000).toFixed(1)} s, offline install ${((performance.now() - started - packedMs) / 1000).toFixed(1)} s`,
    );
  }, 300_000);

  // Tens of thousands of files (links are removed, not followed): on a busy machine, seconds.
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 120_000);

  it('packs what a user needs and nothing else: the built dist/, the command, the schemas, README, LICENSE, CHANGELOG', () => {
    const files = packed.files.map((f) => f.path);

    for (const path of files) {
      expect(path).toMatch(
        /^(dist\/.+|local\/cli\/bin\.mjs|config\.schema\.json|README\.md|LICENSE|CHANGELOG\.md|package\.json)$/,
      );
    }
    expect(files).toEqual(
      expect.arrayContaining([
        'dist/index.js',
        'dist/index.cjs',
        'dist/cli.js',
        'local/cli/bin.mjs',
        'dist/types/infra/index.d.ts',
        'dist/types-cjs/infra/index.d.ts',
        `dist/lambda/poll/${HANDLER_FILE}`,
        `dist/lambda/poll/${HANDLER_FILE}.map`,
        `dist/lambda/deliverer/${HANDLER_FILE}`,
        `dist/lambda/deliverer/${HANDLER_FILE}.map`,
        'dist/event-v1.schema.json',
        'config.schema.json',
        'LICENSE',
        'CHANGELOG.md',
        'README.md',
      ]),
    );
  });

  it('installs without esbuild within reach of the package', () => {
    const fromPackage = createRequire(join(app, 'node_modules/vb365-sync-monitor/package.json'));

    expect(() => fromPackage.resolve('esbuild')).toThrow(/Cannot find module/);
    expect(() => fromPackage.resolve('aws-cdk-lib')).not.toThrow();
  });

  it('synthesizes an ESM app (a CA bundle as PEM text) with the prebuilt poll code and the configuration file', async () => {
    writeFileSync(join(app, 'app.mjs'), APP_MJS);

    const { stdout } = await run(process.execPath, ['app.mjs'], app);

    expect(JSON.parse(stdout)).toEqual({
      eventTypes: expect.any(Number),
      eventSchema: 'vb365-sync-monitor event, contract v1',
      configSchema: 'vb365-sync-monitor configuration',
    });
    const code = pollCode(join(app, 'out-esm'), 'EsmMonitor');
    // Byte for byte the bundle the package ships: nothing was built at synth.
    expectShippedPollCode(code, app);
    const config = resolveConfig(JSON.parse(code.get(CONFIG_FILE_NAME) as string));
    expect(config.servers).toEqual([
      expect.objectContaining({ id: 'vb365-esm', credentials: { secretName: 'vb365/esm' }, caBundle: PEM }),
    ]);
  });

  it('synthesizes a CommonJS app (a CA bundle file, relative to the app) and refuses bad props by MonitorConfigError', async () => {
    writeFileSync(join(app, 'app.cjs'), APP_CJS);
    mkdirSync(join(app, 'certs'), { recursive: true });
    writeFileSync(join(app, 'certs/vb365-cjs.pem'), PEM);

    const { stdout } = await run(process.execPath, ['app.cjs'], app);

    const out = JSON.parse(stdout) as { problems: string[]; eventSchema: string };
    expect(out.eventSchema).toBe('vb365-sync-monitor event, contract v1');
    expect(out.problems).toEqual([
      expect.stringMatching(/^stackName: "Broken" — name the stack instead/),
      expect.stringMatching(/^servers: \[\] — list at least one VB365 server/),
    ]);
    const code = pollCode(join(app, 'out-cjs'), 'CjsMonitor');
    expectShippedPollCode(code, app);
    expect(resolveConfig(JSON.parse(code.get(CONFIG_FILE_NAME) as string)).servers[0]?.caBundle).toBe(PEM);
  });

  it('type-checks TypeScript apps against its declarations, ESM and CommonJS', async () => {
    writeFileSync(join(app, 'check.mts'), CHECK);
    writeFileSync(join(app, 'check.cts'), CHECK);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'node16',
          moduleResolution: 'node16',
          target: 'es2022',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files: ['check.mts', 'check.cts'],
      }),
    );

    const result = await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', '.'], app).catch(
      (err: { stdout: string }) => err,
    );

    expect(result.stdout).toBe('');
  });

  it('runs `npx vb365-sync-monitor demo --fast` from the installed package', async () => {
    const { stdout } = await run('npx', ['--offline', 'vb365-sync-monitor', 'demo', '--fast'], app);

    expect(stdout).toMatch(/\d+ cycles; VB365 requests: /);
  });

  it('`init` creates a CDK app in a fresh folder, and `cdk synth` synthesizes it with the installed package', async () => {
    const fresh = join(dir, 'fresh');

    const { stdout } = await run('npx', ['--offline', 'vb365-sync-monitor', 'init', fresh], app);

    expect(stdout).toMatch(/cdk (synth|deploy)/);
    expect(readdirSync(fresh)).toEqual(expect.arrayContaining(['.gitignore', 'app.mjs', 'cdk.json', 'package.json']));
    // What `npm install` gives the new app: the package from the tarball, aws-cdk-lib and constructs.
    symlinkSync(join(app, 'node_modules'), join(fresh, 'node_modules'), 'dir');
    const cdk = join(ROOT, 'node_modules/aws-cdk/bin/cdk');
    expect(existsSync(cdk)).toBe(true);
    await run(process.execPath, [cdk, 'synth', '-q'], fresh);

    const stacks = readdirSync(join(fresh, 'cdk.out')).filter((f) => /^[^.]+\.template\.json$/.test(f));
    expect(stacks).toHaveLength(1);
    const code = pollCode(join(fresh, 'cdk.out'), (stacks[0] as string).replace('.template.json', ''));
    expectShippedPollCode(code, app);
    expect(resolveConfig(JSON.parse(code.get(CONFIG_FILE_NAME) as string)).servers.length).toBeGreaterThan(0);
  });
});
