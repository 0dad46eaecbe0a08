import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DynamoDbStateStore } from '../../lambda/adapters/dynamodb-state-store.js';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import { type AckRequest, INITIAL_SERVER, type IncidentEntry, type ServerSnapshot } from '../../lambda/domain/state.js';
import type { IncidentRow, ServerStatus } from '../../local/cli/status.js';
import { startSimulator, type Vb365Simulator } from '../../local/simulator/simulator.js';
import { ensureTable, localClient, openStateDir } from '../../local/stand-ins/embedded-dynamodb.js';
import { BIN, cli, STACK_LINE } from '../support/cli-process.js';

/*
 * `vb365-sync-monitor ack` and the incidents of `status`, as a user runs them: the real command in its own process,
 * against a state directory whose state was written through the real store on the embedded engine (seeded), or by
 * `run` cycles against the simulator (the whole round: incident, ack, incident.acknowledged, status).
 */

/** The table the CLI keeps in a state directory. */
const TABLE = 'vb365-sync-monitor';

let dir: string;
let stateDir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vb365-ack-'));
  stateDir = join(dir, 'state');
});

/** Opens the state directory in this process (no CLI may hold it meanwhile), hands `fn` the real store, closes it. */
async function withStore<T>(fn: (store: DynamoDbStateStore) => Promise<T>): Promise<T> {
  const engine = await openStateDir(stateDir);
  const client = localClient(engine.endpoint);
  try {
    await ensureTable(client, TABLE);
    return await fn(new DynamoDbStateStore(client, TABLE));
  } finally {
    client.destroy();
    await engine.close();
  }
}

/** Writes each server's record with these incidents, and these acknowledgement requests. */
function seed(servers: Record<string, { incidents: readonly IncidentEntry[]; acks?: readonly AckRequest[] }>) {
  return withStore(async (store) => {
    for (const [serverId, { incidents, acks = [] }] of Object.entries(servers)) {
      const record = {
        ...INITIAL_SERVER,
        initialized: true,
        polledAt: new Date().toISOString(),
        incidents: Object.fromEntries(incidents.map((i) => [i.key, i])),
      };
      await store.write(serverId, { key: { kind: 'server' }, record, pending: [], lease: null, expiresAt: null }, 0);
      for (const a of acks) await store.requestAck(serverId, a);
    }
  });
}

const stored = (serverId: string): Promise<ServerSnapshot> => withStore((store) => store.load(serverId));

const ago = (minutes: number) => new Date(Date.now() - minutes * 60_000).toISOString();

function incident(
  serverId: string,
  subject: 'repository' | 'server',
  id: string,
  o: Partial<IncidentEntry> = {},
): IncidentEntry {
  const openedAt = o.openedAt ?? ago(90);
  return {
    key: `${serverId}/${subject}/${id}/${openedAt}`,
    subject,
    openedAt,
    severity: 'critical',
    repository: subject === 'repository' ? { id, name: id } : null,
    latest: { type: subject === 'server' ? 'server.unreachable' : 'sync.failed', eventId: 'e1', occurredAt: ago(30) },
    acknowledged: null,
    escalatedAfterMinutes: null,
    resolvedAt: null,
    problemSince: ago(30),
    ...o,
  };
}

const archive = incident('prod', 'repository', 'r1', { repository: { id: 'r1', name: 'S3 Archive' } });
const down = incident('prod', 'server', 'unreachable', { openedAt: ago(20), escalatedAfterMinutes: 15 });
const wasabi = incident('prod', 'repository', 'r2', {
  repository: { id: 'r2', name: 'Wasabi' },
  severity: 'warning',
  acknowledged: { by: 'ana', reason: 'on it', at: ago(10) },
});
const archiveOnDr = incident('dr', 'repository', 'r9', { repository: { id: 'r9', name: 'S3 Archive' } });
const resolved = incident('prod', 'repository', 'r3', {
  repository: { id: 'r3', name: 'Azure Cold' },
  openedAt: ago(300),
  resolvedAt: ago(120),
});

const at = ['--state-dir'] as const;

describe('vb365-sync-monitor ack', () => {
  it('requests the acknowledgement of the incident a repository name (any case) names, once; status shows it', async () => {
    await seed({ prod: { incidents: [archive, down] } });

    const first = await cli(['ack', 's3 archive', '--by', 'ana', '--reason', 'vendor case 42', ...at, stateDir]);
    const again = await cli(['ack', 'S3 Archive', '--by', 'bob', ...at, stateDir]);
    const status = await cli(['status', ...at, stateDir]);
    const json = await cli(['status', ...at, stateDir, '--json']);
    const { acks } = await stored('prod');

    expect(first.code).toBe(0);
    expect(first.stdout).toContain('S3 Archive on prod: acknowledgement requested by ana: vendor case 42');
    expect(first.stdout).toContain(`incident ${archive.key}`);
    expect(first.stdout).toMatch(/next poll cycle of prod applies it: it announces incident\.acknowledged/);
    expect(first.stdout).toContain('reminders and escalation stop');
    expect(first.stdout).toContain('it clears itself when the incident resolves');
    // Already requested: said so, nothing written (the stored request is still ana's).
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(
      /^S3 Archive on prod: acknowledgement already requested by ana at .* UTC: vendor case 42$/m,
    );
    expect(again.stdout).toContain('nothing written');
    expect(acks).toEqual([{ key: archive.key, by: 'ana', reason: 'vendor case 42', at: expect.any(String) }]);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^ {2}INCIDENT\s+STATUS\s+SINCE\s+AGE\s+SEVERITY\s+ACKNOWLEDGED\s+KEY$/m);
    expect(status.stdout).toMatch(
      /^ {2}S3 Archive\s+open\s+\S+ \S+ UTC\s+1h 30m\s+critical\s+ack requested by ana: vendor case 42 \(next cycle\)\s+prod\/repository\/r1\//m,
    );
    expect(status.stdout).toMatch(
      /^ {2}server unreachable\s+open, escalated after 15m\s+.*critical\s+not acknowledged\s+prod\/server\/unreachable\//m,
    );
    const [prod] = JSON.parse(json.stdout) as ServerStatus[];
    expect(prod?.incidents.map((i: IncidentRow) => [i.key, i.acknowledged, i.ackRequested?.by ?? null])).toEqual([
      [archive.key, null, 'ana'],
      [down.key, null, null],
    ]);
    expect(first.stderr + again.stderr + status.stderr).not.toMatch(STACK_LINE);
  });

  it("takes an incident key and, with --json, prints the request; --by defaults to this machine's user", async () => {
    await seed({ prod: { incidents: [archive, down] } });

    const run = await cli(['ack', down.key, '--json', ...at, stateDir]);
    const { acks } = await stored('prod');

    expect(run.code).toBe(0);
    const printed = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(printed).toEqual({
      serverId: 'prod',
      key: down.key,
      by: userInfo().username,
      reason: null,
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      written: true,
    });
    expect(acks).toEqual([{ key: down.key, by: userInfo().username, reason: null, at: printed.at }]);
  });

  it('refuses a name that several open incidents share, listing their keys; --server or the key picks one', async () => {
    await seed({ prod: { incidents: [archive] }, dr: { incidents: [archiveOnDr] } });

    const ambiguous = await cli(['ack', 'S3 Archive', '--by', 'ana', ...at, stateDir]);
    const nothing = [(await stored('prod')).acks, (await stored('dr')).acks];
    const onDr = await cli(['ack', 'S3 Archive', '--server', 'dr', '--by', 'ana', ...at, stateDir]);

    expect(ambiguous.code).toBe(1);
    expect(ambiguous.stderr).toMatch(
      /^vb365-sync-monitor: ack: "S3 Archive" names 2 open incidents: name one by its key$/m,
    );
    expect(ambiguous.stderr).toContain(`S3 Archive on prod, open since`);
    expect(ambiguous.stderr).toContain(`: ${archive.key}\n`);
    expect(ambiguous.stderr).toContain(`: ${archiveOnDr.key}\n`);
    expect(ambiguous.stdout).toBe('');
    expect(nothing).toEqual([undefined, undefined]);
    expect(onDr.code).toBe(0);
    expect((await stored('dr')).acks?.map((a) => a.key)).toEqual([archiveOnDr.key]);
    expect(ambiguous.stderr).not.toMatch(STACK_LINE);
  });

  it('lists the open incidents when the argument names none, and says when none is open', async () => {
    await seed({ prod: { incidents: [archive, resolved] }, quiet: { incidents: [] } });

    const unknown = await cli(['ack', 'Wasabi', '--by', 'ana', ...at, stateDir]);
    const gone = await cli(['ack', 'Azure Cold', '--by', 'ana', ...at, stateDir]);
    const none = await cli(['ack', 'quiet', '--server', 'quiet', '--by', 'ana', ...at, stateDir]);
    const plain = await cli(['status', ...at, stateDir]);
    const all = await cli(['status', ...at, stateDir, '--all']);

    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^vb365-sync-monitor: ack: "Wasabi" names no open incident: name a repository/m);
    expect(unknown.stderr).toContain(`S3 Archive on prod, open since`);
    expect(unknown.stderr).toContain(archive.key);
    // A resolved incident is nothing to acknowledge.
    expect(gone.code).toBe(1);
    expect(gone.stderr).not.toContain(resolved.key);
    expect(none).toMatchObject({ code: 1, stdout: '' });
    expect(none.stderr).toBe('vb365-sync-monitor: ack: no open incident on quiet: nothing to acknowledge\n');
    expect((await stored('prod')).acks).toBeUndefined();
    // status: resolved incidents (kept a day) only with --all.
    expect(plain.stdout).toContain('quiet: ok\n  no sync session running\n  no open incident\n');
    expect(plain.stdout).toContain(archive.key);
    expect(plain.stdout).not.toContain(resolved.key);
    expect(all.stdout).toMatch(
      /^ {2}Azure Cold\s+resolved \S+ \S+ UTC\s+\S+ \S+ UTC\s+3h\s+critical\s+not acknowledged\s+prod\/repository\/r3\//m,
    );
  });

  it('does not request an acknowledged incident again, unless with a new reason', async () => {
    await seed({ prod: { incidents: [wasabi] } });

    const same = await cli(['ack', 'wasabi', '--by', 'bob', ...at, stateDir]);
    const unchanged = (await stored('prod')).acks;
    const json = await cli(['ack', 'r2', '--by', 'bob', '--reason', 'on it', '--json', ...at, stateDir]);
    const renewed = await cli(['ack', 'r2', '--by', 'bob', '--reason', 'vendor case 7', ...at, stateDir]);
    const status = await cli(['status', ...at, stateDir]);

    expect(same.code).toBe(0);
    expect(same.stdout).toMatch(/^Wasabi on prod: already acknowledged by ana at .* UTC: on it$/m);
    expect(unchanged).toBeUndefined();
    expect(JSON.parse(json.stdout)).toEqual({
      serverId: 'prod',
      key: wasabi.key,
      by: 'ana',
      reason: 'on it',
      at: wasabi.acknowledged?.at,
      written: false,
    });
    expect(renewed.code).toBe(0);
    expect(renewed.stdout).toContain('Wasabi on prod: acknowledgement requested by bob: vendor case 7');
    expect((await stored('prod')).acks?.map((a) => [a.by, a.reason])).toEqual([['bob', 'vendor case 7']]);
    expect(status.stdout).toMatch(/Wasabi\s+open .* by ana: on it; ack requested by bob: vendor case 7 \(next cycle\)/);
  });
});

describe('vb365-sync-monitor ack with run', () => {
  let sim: Vb365Simulator;
  let caFile: string;
  let running: ChildProcess | undefined;
  const SESSION = 'a1b2c3d4-0000-4000-8000-000000000001';
  const RESTART = 'a1b2c3d4-0000-4000-8000-000000000002';

  beforeEach(async () => {
    sim = await startSimulator({
      scenario: { name: 'ack', repositories: [{ id: 'r1', name: 'S3 Archive', isOutOfSync: false }], steps: [] },
    });
    caFile = join(dir, 'ca.pem');
    writeFileSync(caFile, sim.pki.caCert);
  });

  afterEach(async () => {
    running?.kill('SIGKILL');
    running = undefined;
    await sim.close();
  });

  const runArgs = () => ['run', '--server', sim.url, '--ca', caFile, '--state-dir', stateDir, '--server-id', 'sim'];
  const creds = () => ({ VB365_USERNAME: sim.username, VB365_PASSWORD: sim.password });

  /** One `run --once --json` cycle: its events. */
  async function cycle(): Promise<MonitorEvent[]> {
    const run = await cli([...runArgs(), '--once', '--json'], creds());
    expect(run.code, run.stderr).toBe(0);
    return run.stdout
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as MonitorEvent);
  }

  it('a failed sync opens an incident; ack; the next cycle announces incident.acknowledged; a restart keeps it; completion resolves it', async () => {
    await cycle(); // monitor.started
    sim.apply([{ op: 'start', session: SESSION, repository: 'r1', progress: 10 }]);
    const started = await cycle();
    sim.apply([{ op: 'fail', session: SESSION, error: 'Unable to access object storage: (403) Forbidden.' }]);
    const failed = await cycle();

    const ack = await cli(['ack', 'S3 Archive', '--by', 'ana', '--reason', 'vendor case 42', ...at, stateDir]);
    const acknowledged = await cycle();
    const status = await cli(['status', ...at, stateDir]);
    // A restart under a new session id stays in the incident; then it completes and the repository is in sync.
    sim.apply([
      { op: 'vanish', session: SESSION },
      { op: 'start', session: RESTART, repository: 'r1', progress: 50 },
    ]);
    const restarted = await cycle();
    sim.apply([
      { op: 'state', session: RESTART, state: 'None', progress: 100 },
      { op: 'inSync', repository: 'r1' },
    ]);
    const completed = await cycle();
    const after = await cli(['status', ...at, stateDir, '--all']);

    const key = started.find((e) => e.type === 'sync.started')?.incident?.key;
    expect(key).toMatch(/^sim\/repository\/r1\//);
    expect(failed.find((e) => e.type === 'sync.failed')?.incident).toMatchObject({ key, status: 'open' });
    expect(ack.code).toBe(0);
    expect(ack.stdout).toContain(`incident ${key}`);
    const announced = acknowledged.filter((e) => e.type === 'incident.acknowledged');
    expect(announced).toHaveLength(1);
    expect(announced[0]?.incident).toMatchObject({
      key,
      status: 'open',
      severity: 'critical',
      acknowledged: { by: 'ana', reason: 'vendor case 42' },
    });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(
      /^ {2}S3 Archive\s+open\s+.*critical\s+by ana: vendor case 42\s+sim\/repository\/r1\//m,
    );
    expect(status.stdout).not.toContain('ack requested');
    // The request stays stored for a day; applied once, it is not announced again.
    expect(restarted.filter((e) => e.type === 'incident.acknowledged')).toEqual([]);
    expect(restarted.find((e) => e.type === 'sync.started')?.incident).toMatchObject({
      key,
      status: 'open',
      acknowledged: { by: 'ana' },
    });
    expect(completed.find((e) => e.type === 'sync.completed')?.incident).toMatchObject({
      key,
      status: 'resolved',
      acknowledged: { by: 'ana' },
    });
    expect(after.stdout).toContain('  no open incident');
    expect(after.stdout).toMatch(/^ {2}S3 Archive\s+resolved .*by ana: vendor case 42\s+sim\/repository\/r1\//m);
  });

  it('writes the request through the engine of a run that holds the state directory', async () => {
    await cycle();
    sim.apply([{ op: 'start', session: SESSION, repository: 'r1', progress: 10 }]);
    await cycle();
    const child = spawn(process.execPath, [BIN, ...runArgs(), '--interval', '600'], {
      env: { ...process.env, ...creds() },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    running = child;
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        if (/cycle: \d+ sessions listed/.test(stderr)) resolve();
      });
      void exited.then((code) => reject(new Error(`run exited (${code}) before its first cycle: ${stderr}`)));
    });

    const ack = await cli(['ack', 'S3 Archive', '--by', 'ana', ...at, stateDir]);
    const status = await cli(['status', ...at, stateDir, '--json']);
    child.kill('SIGTERM');
    await exited;
    running = undefined;

    expect(ack.code).toBe(0);
    expect(ack.stderr).toBe('');
    const [sim1] = JSON.parse(status.stdout) as ServerStatus[];
    expect(sim1?.incidents[0]?.ackRequested).toMatchObject({ by: 'ana', reason: null });
    expect((await stored('sim')).acks?.map((a) => a.by)).toEqual(['ana']);
  });
});
