import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { DynamoDbStateStore } from '../../lambda/adapters/dynamodb-state-store.js';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import { EVENT_TYPES } from '../../lambda/domain/events.js';
import { INITIAL_SERVER } from '../../lambda/domain/state.js';
import { sampleVariants } from '../../local/cli/sample-events.js';
import { startSimulator, type Vb365Simulator } from '../../local/simulator/simulator.js';
import { ensureTable, localClient } from '../../local/stand-ins/embedded-dynamodb.js';
import { cli, type CliRun as Run } from '../support/cli-process.js';

let sim: Vb365Simulator;
let dir: string;
let caFile: string;

beforeEach(async () => {
  sim = await startSimulator({
    scenario: {
      name: 'e2e',
      repositories: [
        { id: 'r1', name: 'S3 Archive', isOutOfSync: false },
        { id: 'r2', name: 'Wasabi', isOutOfSync: false },
      ],
      steps: [],
    },
  });
  dir = mkdtempSync(join(tmpdir(), 'vb365-e2e-'));
  caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, sim.pki.caCert);
});

afterEach(async () => {
  await sim.close();
});

const creds = () => ({ VB365_USERNAME: sim.username, VB365_PASSWORD: sim.password });

/** One `run --once --json` cycle with state kept in the test's directory. */
async function cycle(extra: string[] = []): Promise<{ run: Run; events: MonitorEvent[] }> {
  const run = await cli(
    [
      'run',
      '--server',
      sim.url,
      '--ca',
      caFile,
      '--once',
      '--json',
      '--state-dir',
      join(dir, 'state'),
      '--server-id',
      'sim',
      '--name',
      'Sim',
      ...extra,
    ],
    creds(),
  );
  const lines = run.stdout.split('\n').filter((l) => l !== '');
  // --json: stdout is exactly one event JSON per line and nothing else.
  const events = lines.map((l) => JSON.parse(l) as MonitorEvent);
  return { run, events };
}

const brief = (events: MonitorEvent[]) => events.map((e) => `${e.type}${e.session ? `:${e.session.id}` : ''}`);

describe('vb365-sync-monitor run (end to end)', () => {
  it('follows a session from start to completion, once each, and a rerun with no change emits nothing', async () => {
    const first = await cycle();
    sim.apply([{ op: 'start', session: 's1', repository: 'r1', progress: 5 }]);
    const started = await cycle();
    sim.apply([{ op: 'progress', session: 's1', progress: 60 }]);
    const progressed = await cycle(['--milestones', '50']);
    const again = await cycle(['--milestones', '50']);
    sim.apply([
      { op: 'state', session: 's1', state: 'None', progress: 100 },
      { op: 'inSync', repository: 'r1' },
    ]);
    const done = await cycle();
    const after = await cycle();

    expect([first, started, progressed, again, done, after].map((c) => c.run.code)).toEqual([0, 0, 0, 0, 0, 0]);
    expect([first, started, progressed, again, done, after].map((c) => brief(c.events))).toEqual([
      ['monitor.started'],
      ['sync.started:s1'],
      ['sync.progress:s1'],
      [],
      ['sync.completed:s1'],
      [],
    ]);
    expect(done.events[0]?.session).toMatchObject({
      repositoryName: 'S3 Archive',
      completionConfirmed: true,
      progressPercent: 100,
    });
    expect(first.run.stderr).toMatch(/cycle: 0 sessions listed/);
  });

  it('reports failure and a stopped sync, and never ends a session during an outage', async () => {
    sim.apply([
      { op: 'start', session: 's1', repository: 'r1', progress: 10 },
      { op: 'start', session: 's2', repository: 'r2', progress: 10 },
    ]);
    const first = await cycle();
    sim.apply([
      { op: 'service', running: false },
      { op: 'vanish', session: 's1' },
      { op: 'fail', session: 's2', error: 'Bucket not found' },
    ]);
    const down1 = await cycle(['--unreachable-after', '1s']);
    const down2 = await cycle(['--unreachable-after', '1s']);
    sim.apply([{ op: 'service', running: true }]);
    const back1 = await cycle();
    const back2 = await cycle();

    expect(brief(first.events)).toEqual(['monitor.started']);
    expect([down1.run.code, down2.run.code]).toEqual([1, 1]);
    expect(down2.run.stderr).toMatch(/cannot reach https:\/\/127\.0\.0\.1:\d+: connection closed by the server/);
    expect(brief([...down1.events, ...down2.events])).toEqual(['server.unreachable']);
    // Sessions are followed again at once; the recovery is announced after two working cycles in a row.
    expect(brief(back1.events)).toEqual(['sync.failed:s2']);
    expect(brief(back2.events)).toEqual(['server.recovered', 'sync.stopped:s1']);
    expect(back1.events[0]?.session?.error).toBe('Bucket not found');
  });

  it('status: shows the sessions in the state, with rate and ETA, as a table and as JSON', async () => {
    sim.apply([
      { op: 'start', session: 'a1b2c3d4-0000-4000-8000-000000000001', repository: 'r1', progress: 10 },
      { op: 'start', session: 'a1b2c3d4-0000-4000-8000-000000000002', repository: 'r2', progress: 5 },
      { op: 'fail', session: 'a1b2c3d4-0000-4000-8000-000000000002', error: 'Bucket not found' },
    ]);
    await cycle();

    const table = await cli(['status', '--state-dir', join(dir, 'state')]);
    const json = await cli(['status', '--state-dir', join(dir, 'state'), '--json']);
    const usage = await cli(['status']);

    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^sim: ok$/m);
    expect(table.stdout).toMatch(/SESSION\s+REPOSITORY\s+STATE\s+PROGRESS\s+RATE\s+ETA\s+LAST CHANGE\s+AGE/);
    expect(table.stdout).toMatch(/a1b2c3d4\s+S3 Archive\s+Synchronizing\s+10 %\s+estimating…/);
    expect(table.stdout).toMatch(/a1b2c3d4\s+Wasabi\s+Failed/);
    expect(table.stdout).toContain('error: Bucket not found');
    expect(JSON.parse(json.stdout)).toEqual([
      expect.objectContaining({
        serverId: 'sim',
        health: 'ok',
        sessions: [
          expect.objectContaining({ repository: 'S3 Archive', progressPercent: 10, ratePercentPerHour: null }),
          expect.objectContaining({ repository: 'Wasabi', phase: 'failed', error: 'Bucket not found' }),
        ],
      }),
    ]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/give --table NAME \(AWS\) or --state-dir DIR/);
  });

  it('status --table: reads a real DynamoDB table, every server in it', async () => {
    const table = `status-${process.pid}`;
    const ddb = localClient(inject('ddbEndpoint'));
    await ensureTable(ddb, table);
    const store = new DynamoDbStateStore(ddb, table);
    const record = { ...INITIAL_SERVER, initialized: true };
    for (const id of ['vb365-a', 'vb365-b'])
      await store.write(id, { key: { kind: 'server' }, record, pending: [], lease: null, expiresAt: null }, 0);
    ddb.destroy();

    const run = await cli(['status', '--table', table, '--json'], {
      AWS_ENDPOINT_URL_DYNAMODB: inject('ddbEndpoint'),
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    });

    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([
      { serverId: 'vb365-a', health: 'ok', held: 0, pending: 0, sessions: [], incidents: [], blocking: [] },
      { serverId: 'vb365-b', health: 'ok', held: 0, pending: 0, sessions: [], incidents: [], blocking: [] },
    ]);
  });

  it('exits 1 with a one-line reason when the credentials are refused', async () => {
    const run = await cli(['run', '--server', sim.url, '--ca', caFile, '--once'], {
      VB365_USERNAME: sim.username,
      VB365_PASSWORD: 'wrong-password',
    });

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/vb365-sync-monitor: POST \/v8\/token \(password grant\) refused: invalid_grant/);
    expect(run.stderr).not.toContain('wrong-password');
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it('exits 1 with a TLS reason when the certificate is not trusted', async () => {
    const run = await cli(['run', '--server', sim.url, '--once'], creds());

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /TLS: certificate of https:\/\/127\.0\.0\.1:\d+ refused \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/,
    );
  });

  it.each([
    [['run', '--server', 'http://vb365:4443', '--once'], /--server http:\/\/vb365:4443 must use https:\/\//],
    [['run', '--once'], /--server is required/],
    [['run', '--server', 'https://vb365:4443', '--stall-after', 'soon'], /--stall-after soon is not a duration/],
    [['run', '--server', 'https://vb365:4443', '--ca', '/nonexistent/ca.pem'], /--ca: cannot read CA bundle file/],
    [['run', '--server', 'https://vb365:4443', '--bogus'], /Unknown option '--bogus'/],
    [['frobnicate'], /unknown command "frobnicate"/],
  ])('exits 2 on a usage error: %j', async (args, message) => {
    const run = await cli(args, creds());

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });

  it.each(['pa/ss', 'p#ss', 'p?ss', 'p@ss'])(
    'exits 2 on a --server with a password holding %j, never showing the password or the user name',
    async (password) => {
      const run = await cli(['run', '--server', `https://admin:${password}@vb:4443`, '--once'], creds());

      expect(run.code).toBe(2);
      expect(run.stderr).toMatch(/^vb365-sync-monitor: --server "?https:\/\/\*\*\*@vb:4443"? /);
      for (let i = 0; i + 4 <= password.length; i++) expect(run.stderr).not.toContain(password.slice(i, i + 4));
      expect(run.stderr).not.toContain('admin');
    },
  );

  it('run --config: takes the server (URL, CA text, name) and the policy from a deployment configuration', async () => {
    const config = join(dir, 'fleet.json');
    writeFileSync(
      config,
      JSON.stringify({
        credentials: { sharedSecretName: 'vb365/fleet' },
        servers: [
          { id: 'other', url: 'https://other.example.local:4443' },
          { id: 'sim', name: 'Sim from the file', url: sim.url, caBundle: sim.pki.caCert },
        ],
        policy: { milestones: [75] },
      }),
    );
    sim.apply([{ op: 'start', session: 's1', repository: 'r1', progress: 60 }]);
    const state = ['--state-dir', join(dir, 'state')];

    const first = await cli(['run', '--config', config, '--server-id', 'sim', '--once', '--json', ...state], creds());
    sim.apply([{ op: 'progress', session: 's1', progress: 80 }]);
    const second = await cli(['run', '--config', config, '--server-id', 'sim', '--once', '--json', ...state], creds());
    const ambiguous = await cli(['run', '--config', config, '--once'], creds());

    expect([first.code, second.code]).toEqual([0, 0]);
    const events = [first, second].map((r) =>
      r.stdout
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as MonitorEvent),
    );
    expect(events.map(brief)).toEqual([['monitor.started'], ['sync.progress:s1']]);
    expect(events[0]?.[0]?.server).toMatchObject({ id: 'sim', name: 'Sim from the file' });
    expect(ambiguous).toMatchObject({ code: 2 });
    expect(ambiguous.stderr).toContain('--server-id is required: the configuration lists 2 servers (other, sim)');
  });

  it('check-config: says what a valid configuration holds, and lists every problem of a broken one (exit 1)', async () => {
    const good = join(dir, 'good.json');
    const bad = join(dir, 'bad.json');
    writeFileSync(
      good,
      JSON.stringify({
        servers: [
          { id: 'a', url: 'https://a:4443', credentials: { parameterName: '/vb365/a' }, pinSha256: 'ab'.repeat(32) },
        ],
      }),
    );
    writeFileSync(
      bad,
      JSON.stringify({
        servers: [{ id: 'a', url: 'https://admin:S3cret-Pw@a:4443', credentials: { parameterName: '/vb365/a' } }],
        policy: { stalAfterMinutes: 60 },
        pollEveryMinutes: 0,
      }),
    );

    const ok = await cli(['check-config', good]);
    const broken = await cli(['check-config', bad]);

    expect(ok).toMatchObject({ code: 0 });
    expect(ok.stdout).toContain('1 server: 0 with a CA bundle, 1 pinned');
    expect(ok.stdout).toContain('credentials: 1 by parameterName');
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain('invalid monitor configuration (3 problems)');
    expect(broken.stderr).toContain('policy.stalAfterMinutes: unknown key — did you mean stallAfterMinutes?');
    expect(broken.stderr).toContain('pollEveryMinutes: 0 — use a whole number from 1 to 60');
    expect(broken.stderr).toContain('servers[0].url: "https://***@a:4443" — remove "user:password@"');
    expect(broken.stderr).not.toContain('S3cret');
  });

  it('exits 2 when the credentials are missing', async () => {
    const run = await cli(['run', '--server', sim.url, '--once'], {
      VB365_USERNAME: undefined,
      VB365_PASSWORD: undefined,
    });

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/VB365_USERNAME and VB365_PASSWORD must be set/);
  });
});

describe('vb365-sync-monitor demo', () => {
  it('plays the whole scenario and prints each notification in order', async () => {
    const run = await cli(['demo', '--fast']);

    const subjects = run.stdout
      .split('\n')
      .filter((l) => l.startsWith('=== '))
      .map((l) => l.replace(/^=== \S+\s+/, ''));
    expect(run.code).toBe(0);
    expect(subjects).toEqual([
      '[VB365] Monitoring started on Demo VB365: 0 syncing, 0 failed',
      '[VB365] S3 Immutable (eu-west-1) sync started on Demo VB365',
      '[VB365] Wasabi Archive sync started on Demo VB365',
      '[VB365] Azure Blob (West Europe) sync started on Demo VB365',
      '[VB365] MinIO On-Prem sync started on Demo VB365',
      '[VB365] Demo VB365 unreachable',
      '[VB365] Wasabi Archive sync stalled at 12% on Demo VB365',
      '[VB365] MinIO On-Prem sync stopped, still out of sync, on Demo VB365',
      '[VB365] Demo VB365 reachable again',
      '[VB365] Wasabi Archive sync failed on Demo VB365',
      '[VB365] Azure Blob (West Europe) sync completed on Demo VB365',
      '[VB365] MinIO On-Prem out of sync, nothing syncing it, on Demo VB365',
      '[VB365] S3 Immutable (eu-west-1) sync completed on Demo VB365',
      '[VB365] Demo VB365 unhealthy: PostgreSQL',
      '[VB365] S3 Immutable (eu-west-1) out of sync, nothing syncing it, on Demo VB365',
      '[VB365] Azure Blob (West Europe) out of sync, nothing syncing it, on Demo VB365',
      '[VB365] Demo VB365 healthy again',
      '[VB365] S3 Immutable (eu-west-1) sync started on Demo VB365',
      '[VB365] Azure Blob (West Europe) sync started on Demo VB365',
      '[VB365] S3 Immutable (eu-west-1) sync completed on Demo VB365',
      '[VB365] Azure Blob (West Europe) sync completed on Demo VB365',
      '[VB365] S3 Immutable (eu-west-1): first backups after the resync succeeded on Demo VB365',
      '[VB365] Azure Blob (West Europe): first backup after the resync failed on Demo VB365',
    ]);
    // The database fault: its cause on the repositories it put out of sync, and the resync's forecast and missed run.
    expect(run.stdout).toContain('    Likely cause: PostgreSQL Unhealthy (Failed to connect to 127.0.0.1:5432');
    expect(run.stdout).toContain('    Forecast:     the previous sync took 2h 40m, expect about 15:00 UTC');
    expect(run.stdout).toContain(
      '    Blocks:       1 job; 1 misses its next run before the ETA 15:00 UTC: Exchange Online daily (backup, 12:30)',
    );
    expect(run.stdout).toMatch(/Sessions at the end of the demo:/);
  });
});

describe('vb365-sync-monitor test-notification', () => {
  it('prints every channel rendering of every event type, machine formats as valid JSON', async () => {
    const run = await cli(['test-notification']);

    const sections = run.stdout.split(/^=== /m).filter((s) => s.trim() !== '');
    expect(run.code).toBe(0);
    expect(sections).toHaveLength(5 * (EVENT_TYPES.length + sampleVariants().length));
    for (const section of sections) {
      const [head, ...body] = section.split('\n');
      if (!head?.startsWith('email')) expect(() => JSON.parse(body.join('\n'))).not.toThrow();
    }
    expect(run.stdout).toContain(
      '=== email · sync.failed\nSubject: [VB365] S3 Immutable (eu-west-1) sync failed on Contoso VB365',
    );
  });

  it('prints a new type and its variants by --type: a blocked repository, Out of Date, Invalid, locked', async () => {
    const run = await cli(['test-notification', '--channel', 'email', '--type', 'repository.blocked']);

    const heads = run.stdout.split('\n').filter((l) => l.startsWith('=== '));
    expect(run.code).toBe(0);
    expect(heads).toEqual([
      '=== email · repository.blocked',
      '=== email · repository.blocked (Invalid repository)',
      '=== email · repository.blocked (repository locked by a migration)',
    ]);
    expect(run.stdout).toContain(
      'Subject: [VB365] Repository Archive-EU blocked: Out of Date (since 09:12 UTC) on Contoso VB365',
    );
    expect(run.stdout).toContain(
      'Blocks:       3 jobs; 2 miss their next run before it ends: Daily Exchange (backup, 12:00), Copy to Archive (copy, 13:00)',
    );
  });

  it('publishes one clearly marked test event through a topic', async () => {
    const { startSnsStandIn } = await import('../../local/stand-ins/sns-stand-in.js');
    const sns = await startSnsStandIn();
    try {
      const run = await cli(
        ['test-notification', '--type', 'sync.failed', '--topic-arn', 'arn:aws:sns:us-east-1:123456789012:events'],
        {
          AWS_ENDPOINT_URL_SNS: sns.endpoint,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'local',
          AWS_SECRET_ACCESS_KEY: 'local',
        },
      );

      expect(run.code).toBe(0);
      const [event] = sns.defaults<MonitorEvent>();
      expect(sns.received).toHaveLength(1);
      expect(event).toMatchObject({ type: 'sync.failed', server: { name: 'Contoso VB365 (TEST NOTIFICATION)' } });
      expect(event?.eventId).toMatch(/^test\//);
      expect(sns.received[0]?.subject).toBe(
        '[VB365] S3 Immutable (eu-west-1) sync failed on Contoso VB365 (TEST NOTIFICATION)',
      );
    } finally {
      await sns.close();
    }
  });
});
