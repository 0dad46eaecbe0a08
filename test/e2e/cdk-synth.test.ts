import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
const OUT = join(ROOT, 'cdk.out');

describe('npx cdk synth (offline, real CLI, local esbuild)', () => {
  it('synthesizes the shipped configuration, cdk-nag clean, and bundles a poll Lambda that loads', async () => {
    const { stderr } = await run('npx', ['cdk', 'synth', '-q'], { cwd: ROOT, timeout: 120_000 });

    expect(stderr).not.toMatch(/AwsSolutions-|Docker/);
    const template = JSON.parse(readFileSync(join(OUT, 'Vb365SyncMonitor.template.json'), 'utf8'));
    expect(
      Object.values(template.Resources).filter((r) => (r as { Type: string }).Type === 'AWS::Scheduler::Schedule'),
    ).toHaveLength(1);

    // The bundle must load outside esbuild, with the AWS SDK resolved as the Lambda runtime provides it.
    const asset = readdirSync(OUT)
      .filter((d) => d.startsWith('asset.'))
      .map((d) => join(OUT, d, 'index.js'))
      .find((f) => {
        try {
          return statSync(f).isFile();
        } catch {
          return false;
        }
      });
    expect(asset).toBeDefined();
    // Lambda loads the asset directory as is (no "type": "module" above it): copy it where CommonJS applies, with the
    // AWS SDK still resolvable from this project's node_modules as the runtime provides it.
    const probeDir = join(OUT, 'lambda-probe');
    mkdirSync(probeDir, { recursive: true });
    copyFileSync(asset as string, join(probeDir, 'index.js'));
    writeFileSync(join(probeDir, 'package.json'), '{"type":"commonjs"}\n');
    const probe = join(probeDir, 'probe.js');
    writeFileSync(probe, `console.log(typeof require('./index.js').handler);\n`);
    const loaded = await run(process.execPath, [probe], {
      cwd: ROOT,
      env: {
        ...process.env,
        TABLE_NAME: 'state',
        TOPIC_ARN: 'arn:aws:sns:eu-west-1:123456789012:events',
        SERVERS: JSON.stringify([{ id: 'x', url: 'https://x:4443', credentialsSecret: 'vb365/x' }]),
        AWS_REGION: 'eu-west-1',
      },
    });
    expect(loaded.stdout.trim()).toBe('function');
  }, 180_000);

  it('stops with every problem of a broken configuration, naming field, value and fix', async () => {
    const broken = join(OUT, 'broken-config.ts');
    writeFileSync(
      broken,
      `export default { servers: [{ id: 'a b', url: 'http://vb365:4443', credentials: {} }], pollEveryMinutes: 0 };\n`,
    );

    const err = (await run('npx', ['cdk', 'synth', '-q', '-c', `config=${broken}`], {
      cwd: ROOT,
      timeout: 120_000,
    }).catch((e: unknown) => e)) as { code: number; stderr: string };

    expect(err.code).not.toBe(0);
    expect(err.stderr).toMatch(/invalid monitor configuration \(4 problems\)/);
    expect(err.stderr).toMatch(/servers\[0\]\.url: "http:\/\/vb365:4443" — use https:\/\//);
    expect(err.stderr).toMatch(/pollEveryMinutes: 0 — use a whole number from 1 to 60/);
  }, 180_000);
});
