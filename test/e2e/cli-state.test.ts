import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Vb365Simulator } from '../../local/simulator/simulator.js';
import { ENDPOINT_FILE } from '../../local/stand-ins/embedded-dynamodb.js';
import { BIN, cli, STACK_LINE } from '../support/cli-process.js';

let sim: Vb365Simulator;
let dir: string;
let caFile: string;
let running: ChildProcess | undefined;

beforeEach(async () => {
  sim = await startSimulator({
    scenario: { name: 'state', repositories: [{ id: 'r1', name: 'S3 Archive', isOutOfSync: false }], steps: [] },
  });
  sim.apply([{ op: 'start', session: 'a1b2c3d4-0000-4000-8000-000000000001', repository: 'r1', progress: 30 }]);
  dir = mkdtempSync(join(tmpdir(), 'vb365-state-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, sim.pki.caCert);
});

afterEach(async () => {
  running?.kill('SIGKILL');
  running = undefined;
  await sim.close();
});

const creds = () => ({ VB365_USERNAME: sim.username, VB365_PASSWORD: sim.password });

/** Starts `run --state-dir` in interval mode; resolves once its first cycle is logged. */
async function startRun(stateDir: string): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
  const child = spawn(
    process.execPath,
    [
      BIN,
      'run',
      '--server',
      sim.url,
      '--ca',
      caFile,
      '--state-dir',
      stateDir,
      '--server-id',
      'sim',
      '--interval',
      '600',
    ],
    { env: { ...process.env, ...creds() }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running = child;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let stderr = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (/cycle: \d+ sessions listed/.test(stderr)) resolve();
    });
    void exited.then((code) => reject(new Error(`run exited (${code}) before its first cycle: ${stderr}`)));
  });
  return { child, exited };
}

describe('vb365-sync-monitor status --state-dir while run holds the directory', () => {
  it('reads the state through the running engine, and the directory itself once run has stopped', async () => {
    const stateDir = join(dir, 'state');
    const { child, exited } = await startRun(stateDir);
    const published = JSON.parse(readFileSync(join(stateDir, ENDPOINT_FILE), 'utf8')) as { pid: number };

    const during = await cli(['status', '--state-dir', stateDir]);
    const second = await cli(
      ['run', '--server', sim.url, '--ca', caFile, '--state-dir', stateDir, '--once', '--server-id', 'other'],
      creds(),
    );
    child.kill('SIGTERM');
    const code = await exited;
    running = undefined;
    const after = await cli(['status', '--state-dir', stateDir]);

    expect(published.pid).toBe(child.pid);
    expect(during.code).toBe(0);
    expect(during.stdout).toMatch(/^sim: ok$/m);
    expect(during.stdout).toMatch(/a1b2c3d4\s+S3 Archive\s+Synchronizing\s+30 %/);
    expect(during.stderr).not.toMatch(STACK_LINE);
    // A second run would write through another process's engine, which may stop under it: refused, with the reason.
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`is in use by vb365-sync-monitor run (pid ${child.pid})`);
    expect(code).toBe(0);
    expect(existsSync(join(stateDir, ENDPOINT_FILE))).toBe(false);
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(/a1b2c3d4\s+S3 Archive\s+Synchronizing\s+30 %/);
  });

  it('ignores an endpoint file left by a run that is gone', async () => {
    const stateDir = join(dir, 'stale');
    const first = await cli(
      ['run', '--server', sim.url, '--ca', caFile, '--state-dir', stateDir, '--once', '--server-id', 'sim'],
      creds(),
    );
    // What a run killed with SIGKILL leaves: its file, naming a process that no longer exists and a closed port.
    const gone = spawn(process.execPath, ['-e', '']);
    await new Promise((resolve) => gone.once('exit', resolve));
    writeFileSync(
      join(stateDir, ENDPOINT_FILE),
      JSON.stringify({ pid: gone.pid, endpoint: 'http://127.0.0.1:9', startedAt: new Date().toISOString() }),
    );

    const status = await cli(['status', '--state-dir', stateDir]);

    expect(first.code).toBe(0);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/a1b2c3d4\s+S3 Archive/);
  });

  it('status --exit-code: 4 before any poll, 3 while a sync runs (the reason on stderr), 0 once it completed', async () => {
    const stateDir = join(dir, 'wait');
    const run = () =>
      cli(
        ['run', '--server', sim.url, '--ca', caFile, '--state-dir', stateDir, '--once', '--server-id', 'sim'],
        creds(),
      );
    const check = () => cli(['status', '--state-dir', stateDir, '--exit-code']);
    mkdirSync(stateDir);

    const unknown = await check();
    await run();
    const syncing = await check();
    sim.apply([
      { op: 'state', session: 'a1b2c3d4-0000-4000-8000-000000000001', state: 'None', progress: 100 },
      { op: 'inSync', repository: 'r1' },
    ]);
    await run();
    const clear = await check();

    expect([unknown.code, syncing.code, clear.code]).toEqual([4, 3, 0]);
    expect(syncing.stderr).toContain('vb365-sync-monitor: status: sim: S3 Archive: syncing at 30 %');
    expect(clear.stderr).toBe('');
  });

  it('exits 1 with the reason when another process holds the directory without publishing an endpoint', async () => {
    const held = join(dir, 'held');
    // The LevelDB dynalite keeps there, opened by this process: as any other program holding it would.
    const { Level } = createRequire(createRequire(import.meta.url).resolve('dynalite'))('level') as {
      Level: new (path: string) => { open(): Promise<void>; close(): Promise<void> };
    };
    const db = new Level(held);
    await db.open();
    try {
      const status = await cli(['status', '--state-dir', held]);

      expect(status.code).toBe(1);
      expect(status.stderr).toMatch(/^vb365-sync-monitor: state directory .*held is in use by another process/);
      expect(status.stderr).not.toMatch(STACK_LINE);
    } finally {
      await db.close();
    }
  });

  it('says so, without a stack trace, when the directory does not exist or holds no server', async () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty);

    const missing = await cli(['status', '--state-dir', join(dir, 'nowhere')]);
    const none = await cli(['status', '--state-dir', empty]);

    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/nowhere does not exist: no `run --state-dir .*` has kept state there yet/);
    expect(none).toMatchObject({ code: 0, stdout: 'No server has state in this table yet.\n' });
    expect(missing.stderr + none.stderr).not.toMatch(STACK_LINE);
  });
});
