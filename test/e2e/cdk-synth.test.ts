import { execFile } from 'node:child_process';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { HANDLER_FILE } from '../../infra/lambda-code.js';
import { resolveConfig } from '../../lambda/config-schema.js';
import { CONFIG_FILE_NAME, ENV } from '../../lambda/names.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '../..');
const OUT = join(ROOT, 'cdk.out');

interface Template {
  Resources: Record<
    string,
    {
      Type: string;
      Properties?: { Environment?: { Variables?: Record<string, unknown> } } & Record<string, unknown>;
      Metadata?: Record<string, string>;
    }
  >;
}

describe('npx cdk synth (offline, real CLI, local esbuild)', () => {
  it('synthesizes the shipped configuration, cdk-nag clean, and bundles a poll Lambda that loads with its configuration file', async () => {
    const { stderr } = await run('npx', ['cdk', 'synth', '-q'], { cwd: ROOT, timeout: 120_000 });

    expect(stderr).not.toMatch(/AwsSolutions-|Docker/);
    // The parent template and the nested stacks of the schedules.
    const templates = readdirSync(OUT)
      .filter((f) => /^Vb365SyncMonitor.*\.template\.json$/.test(f))
      .map((f) => JSON.parse(readFileSync(join(OUT, f), 'utf8')) as Template);
    const resources = templates.flatMap((t) => Object.values(t.Resources));
    expect(
      resources
        .filter((r) => r.Type === 'AWS::Scheduler::Schedule')
        .map((r) => (r.Properties as { Target: { Input: string } }).Target.Input)
        .sort(),
    ).toEqual(['{"fleetCheck":true}', '{"serverId":"vb365-prod","scheduledTime":"<aws.scheduler.scheduled-time>"}']);

    // The poll function's code as Lambda gets it: the bundle and the configuration file beside it.
    const parent = JSON.parse(readFileSync(join(OUT, 'Vb365SyncMonitor.template.json'), 'utf8')) as Template;
    const poll = Object.values(parent.Resources).find(
      (r) => r.Type === 'AWS::Lambda::Function' && r.Properties?.Environment?.Variables?.[ENV.topicArn] !== undefined,
    );
    const asset = join(OUT, poll?.Metadata?.['aws:asset:path'] ?? 'missing');
    // The handler module, the chunks it loads at init or on first use, their source maps, and the configuration.
    const files = readdirSync(asset);
    expect(files).toContain(HANDLER_FILE);
    expect(files).toContain(CONFIG_FILE_NAME);
    expect(files.filter((f) => !/\.mjs(\.map)?$/.test(f))).toEqual([CONFIG_FILE_NAME]);
    expect(files.filter((f) => f.endsWith('.mjs')).every((f) => files.includes(`${f}.map`))).toBe(true);
    const config = resolveConfig(JSON.parse(readFileSync(join(asset, CONFIG_FILE_NAME), 'utf8')));
    expect(config.servers.map((s) => s.id)).toEqual(['vb365-prod']);

    // Lambda loads the asset directory as is, from its own directory: copy it outside this project, where no
    // node_modules can stand in for a package the bundle lacks.
    const probeDir = join(tmpdir(), `vb365-lambda-probe-${process.pid}`);
    rmSync(probeDir, { recursive: true, force: true });
    cpSync(asset, probeDir, { recursive: true });
    writeFileSync(join(probeDir, 'probe.mjs'), `console.log(typeof (await import('./${HANDLER_FILE}')).handler);\n`);
    const load = () =>
      run(process.execPath, ['probe.mjs'], {
        cwd: probeDir,
        env: {
          PATH: process.env.PATH,
          [ENV.tableName]: 'state',
          [ENV.topicArn]: 'arn:aws:sns:eu-west-1:123456789012:events',
          AWS_REGION: 'eu-west-1',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        },
      });
    expect((await load()).stdout.trim()).toBe('function');

    // Without the file beside it, the same bundle refuses to start, naming the file.
    rmSync(join(probeDir, CONFIG_FILE_NAME));
    const failed = (await load().catch((e: unknown) => e)) as { code: number; stderr: string };
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain(`${CONFIG_FILE_NAME}: cannot be read`);
    rmSync(probeDir, { recursive: true, force: true });
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
