import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cli, STACK_LINE } from '../support/cli-process.js';

const ROOT = join(import.meta.dirname, '../..');
const own = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  devDependencies: Record<string, string>;
};

describe('vb365-sync-monitor init', () => {
  it('creates a CDK app pinned to this package and its CDK, and prints the next steps for bash and PowerShell', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'vb365-init-'));

    const run = await cli(['init', 'my-monitor'], {}, { cwd });

    const dir = join(cwd, 'my-monitor');
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(run.code).toBe(0);
    expect(pkg).toEqual({
      name: 'my-monitor',
      private: true,
      type: 'module',
      description: expect.any(String),
      scripts: { synth: 'cdk synth', deploy: 'cdk deploy', diff: 'cdk diff' },
      dependencies: {
        'aws-cdk-lib': own.devDependencies['aws-cdk-lib'],
        constructs: own.devDependencies.constructs,
        'vb365-sync-monitor': own.version,
      },
      devDependencies: { 'aws-cdk': own.devDependencies['aws-cdk'] },
    });
    expect(JSON.parse(readFileSync(join(dir, 'cdk.json'), 'utf8'))).toEqual({
      app: 'node app.mjs',
      notices: false,
      context: { 'cli-telemetry': false },
    });
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toBe('node_modules/\ncdk.out/\n');
    const app = readFileSync(join(dir, 'app.mjs'), 'utf8');
    expect(app).toMatch(/^\/\/ @ts-check\n/);
    expect(app).toContain("import { addMonitorOutputs, Vb365SyncMonitor } from 'vb365-sync-monitor';");
    expect(app).toContain("'monitor.started',");
    expect(app).toContain('config.schema.json');
    expect(run.stdout).toContain('  cd my-monitor\n  npm install\n');
    expect(run.stdout).toContain("PowerShell:  $env:VB365_USERNAME = 'CONTOSO\\svc-vb365-monitor'");
    expect(run.stdout).toContain(
      `bash:        aws ssm put-parameter --type SecureString --name /vb365/prod --value '{"username":"CONTOSO\\\\svc-vb365-monitor","password":"…"}'`,
    );
    expect(run.stdout).toContain('npx cdk bootstrap');
    expect(run.stdout).toContain('npx vb365-sync-monitor test-notification --topic-arn <TopicArn output>');
  });

  it('refuses to overwrite: names the files that exist, writes none of the others', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vb365-init-'));
    writeFileSync(join(dir, 'package.json'), '{"name":"mine"}\n');
    writeFileSync(join(dir, 'cdk.json'), '{}\n');

    const run = await cli(['init'], {}, { cwd: dir });

    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'vb365-sync-monitor: init: package.json, cdk.json exist already: nothing written (init never overwrites; use an empty directory)\n',
    );
    expect(readFileSync(join(dir, 'package.json'), 'utf8')).toBe('{"name":"mine"}\n');
    expect(() => readFileSync(join(dir, 'app.mjs'))).toThrow(/ENOENT/);
  });

  it("the app it creates synthesizes with the construct, the configuration's outputs included", async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'vb365-init-'));
    const init = await cli(['init', 'app'], {}, { cwd });
    const dir = join(cwd, 'app');
    // The package as the app imports it: here its source (the package test installs the packed tarball instead).
    const modules = join(dir, 'node_modules');
    mkdirSync(join(modules, 'vb365-sync-monitor'), { recursive: true });
    writeFileSync(
      join(modules, 'vb365-sync-monitor', 'package.json'),
      JSON.stringify({ name: 'vb365-sync-monitor', type: 'module', exports: './index.mjs' }),
    );
    writeFileSync(
      join(modules, 'vb365-sync-monitor', 'index.mjs'),
      `export * from ${JSON.stringify(pathToFileURL(join(ROOT, 'infra/index.ts')).href)};\n`,
    );
    for (const name of ['aws-cdk-lib', 'constructs'])
      symlinkSync(join(ROOT, 'node_modules', name), join(modules, name));
    const out = join(dir, 'cdk.out');

    const synth = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', import.meta.resolve('tsx'), 'app.mjs'],
        { cwd: dir, env: { ...process.env, CDK_OUTDIR: out }, timeout: 120_000 },
        (err, _stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stderr }),
      );
    });

    expect(init.code).toBe(0);
    expect(synth.stderr).not.toMatch(STACK_LINE);
    expect(synth.code).toBe(0);
    const template = JSON.parse(readFileSync(join(out, 'Vb365SyncMonitor.template.json'), 'utf8')) as {
      Outputs: Record<string, unknown>;
      Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
    };
    expect(Object.keys(template.Outputs)).toEqual(
      expect.arrayContaining(['TopicArn', 'AlarmsTopicArn', 'TableName', 'PollFunctionName']),
    );
    const filters = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::SNS::Subscription' && r.Properties?.FilterPolicy)
      .map((r) => JSON.stringify(r.Properties?.FilterPolicy));
    expect(filters).toHaveLength(1);
    expect(filters[0]).toContain('monitor.started');
  });
});
