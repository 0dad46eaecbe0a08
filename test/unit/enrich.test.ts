import { beforeEach, describe, expect, it } from 'vitest';
import { UpstreamUnreachableError } from '../../lambda/domain/errors.js';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import { DEFAULT_POLICY, type Policy } from '../../lambda/domain/policy.js';
import { type CycleSummary, type PollDeps, pollOnce } from '../../lambda/domain/poll.js';
import type { RepositoryInfo, SyncSession } from '../../lambda/domain/types.js';
import { InMemoryStateStore } from '../support/in-memory-state-store.js';
import { RecordingNotifier } from '../support/recording-notifier.js';
import { StubVb365Api } from '../support/stub-vb365-api.js';

/*
 * What a cycle adds to the rules' result (enrich.ts), through pollOnce: the Lambda's schedule (every 5 minutes, so
 * the repository scans run at minutes 0, 15, 30, … of the clock and store nothing of their own).
 */

const SERVER = { id: 'srv', name: 'Contoso VB365', url: 'https://vb365.contoso.local:4443' };
const T0 = Date.parse('2026-11-28T10:00:00Z');
const POLICY: Policy = { ...DEFAULT_POLICY, outOfSyncAfterMs: 30 * 60_000, digest: null, groupThreshold: null };
const DAY_MINUTES = 24 * 60;

let api: StubVb365Api;
let store: InMemoryStateStore;
let notifier: RecordingNotifier;
let clock: number;
let cycles: number;

const iso = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const minutesNow = () => (clock - T0) / 60_000;

function repo(id: string, overrides: Partial<RepositoryInfo> = {}): RepositoryInfo {
  return { id, name: `Repo ${id}`, isOutOfSync: false, ...overrides };
}

function session(id: string, repositoryId: string, overrides: Partial<SyncSession> = {}): SyncSession {
  return { id, repositoryId, state: 'Synchronizing', progressPercent: 0, error: null, links: {}, ...overrides };
}

/** One cycle `minutes` after the previous one. */
async function tick(minutes = 5, overrides: Partial<PollDeps> = {}): Promise<CycleSummary> {
  clock += minutes * 60_000;
  cycles += 1;
  return pollOnce({
    api,
    store,
    notifier,
    policy: POLICY,
    server: SERVER,
    now: () => new Date(clock),
    owner: `cycle-${cycles}`,
    intervalMs: 5 * 60_000,
    ...overrides,
  });
}

/** Cycles every 5 minutes until `minute` (from T0), returning each cycle's problems by minute. */
async function until(minute: number, overrides: Partial<PollDeps> = {}): Promise<string[]> {
  const problems: string[] = [];
  while (minutesNow() < minute) {
    const summary = await tick(5, overrides);
    for (const p of summary.problems) problems.push(`${minutesNow()}: ${p.message}`);
  }
  return problems;
}

const published = (type: MonitorEvent['type']) => notifier.delivered.filter((e) => e.type === type);
const typesAfter = (count: number) => notifier.types().slice(count);

beforeEach(() => {
  api = new StubVb365Api();
  store = new InMemoryStateStore();
  notifier = new RecordingNotifier();
  clock = T0;
  cycles = 0;
  api.repositories.set('r1', repo('r1'));
});

describe('enrich — optional reads', () => {
  it.each<[string, 'listProxies' | 'health' | 'serviceInstance', string]>([
    [
      'listProxies',
      'listProxies',
      'listing the backup proxies is not available on this server (GET listProxies answered 404): proxy monitoring is off; tried again in a day',
    ],
    [
      'health',
      'health',
      'reading the health check is not available on this server (GET health answered 404): the health check (server.unhealthy, and as a likely cause) is off; tried again in a day',
    ],
    [
      'serviceInstance',
      'serviceInstance',
      'reading the product build is not available on this server (GET serviceInstance answered 404): upgrade detection is off; tried again in a day',
    ],
  ])('reports a %s the server lacks once, and tries it again only a day later', async (_label, read, message) => {
    api.unavailable.add(read);

    const first = await tick(0);
    const withinTheDay = await until(DAY_MINUTES - 5);
    const callsWithinTheDay = api.calls[read];
    const nextDay = await until(DAY_MINUTES + 30);

    expect(first.problems).toEqual([{ message }]);
    expect(withinTheDay).toEqual([]);
    expect(callsWithinTheDay).toBe(1);
    expect(nextDay).toEqual([]);
    expect(api.calls[read]).toBe(2); // the scan at 24:00 (the next ones are within a day of it)
  });

  it('treats a failing read as a problem of that cycle only: the cycle publishes the rest, and the next one retries', async () => {
    api.repositories.set('r1', repo('r1', { isOutdated: true }));
    await tick(0);
    api.failing.add('listProxies');
    api.failing.add('health');

    const problems = await until(30);
    api.failing.clear();
    const after = await until(45);

    expect(problems).toEqual([
      '15: listing the backup proxies (retried next cycle): GET listProxies: malformed',
      '15: reading the health check (retried next cycle): GET health: malformed',
      '30: listing the backup proxies (retried next cycle): GET listProxies: malformed',
      '30: reading the health check (retried next cycle): GET health: malformed',
    ]);
    expect(after).toEqual([]);
    expect(notifier.types()).toEqual(['monitor.started', 'repository.blocked']);
    expect(published('repository.blocked')[0]?.occurredAt).toBe(iso(30));
    expect(api.calls.listProxies).toBe(4); // every scan, failing or not
    expect((await store.load(SERVER.id)).server?.record).not.toHaveProperty('unavailable');
  });
});

describe('enrich — a quiet cycle', () => {
  const WEEK_MS = 7 * DAY_MINUTES * 60_000;

  it.each<[string, () => void, number, string[]]>([
    ['nothing wrong', () => {}, 30 * 60_000, ['monitor.started']],
    [
      'a blocker, an offline proxy and an unhealthy server, all announced',
      () => {
        api.repositories.set('r1', repo('r1', { isOutdated: true, proxyId: 'p1' }));
        api.proxies = [{ id: 'p1', name: 'proxy01', status: 'Offline', maintenanceModeState: null, version: null }];
        api.healthReport = { status: 'Unhealthy', entries: [{ name: 'NATS', status: 'Unhealthy', description: null }] };
      },
      30 * 60_000,
      ['monitor.started', 'server.unhealthy', 'repository.blocked', 'proxy.offline'],
    ],
    [
      'a blocker not yet due',
      () => api.repositories.set('r1', repo('r1', { isMigrationLocked: true })),
      WEEK_MS,
      ['monitor.started'],
    ],
    [
      'a server without proxies, health check or build (v6-like)',
      () => {
        api.unavailable.add('listProxies');
        api.unavailable.add('health');
        api.unavailable.add('serviceInstance');
      },
      30 * 60_000,
      ['monitor.started'],
    ],
  ])(
    'writes nothing with the detector on, scans included: %s',
    async (_label, arrange, outOfSyncAfterMs, announced) => {
      const policy = { ...POLICY, outOfSyncAfterMs };
      arrange();
      await tick(0, { policy });
      await until(60, { policy });
      const writes = store.writes;
      const scans = api.calls.listRepositories;

      await until(120, { policy });

      expect(api.calls.listRepositories - scans).toBe(4);
      expect(store.writes - writes).toBe(0);
      expect(notifier.types()).toEqual(announced);
    },
  );
});

describe('enrich — likely cause', () => {
  const postgres = { name: 'PostgreSQL', status: 'Unhealthy', description: 'Failed to connect to 127.0.0.1:5432' };

  it('names the unhealthy database, the upgrade and the proxy on a sync that starts after them', async () => {
    api.repositories.set('r1', repo('r1', { proxyId: 'p1' }));
    api.proxies = [{ id: 'p1', name: 'proxy01', status: 'Online', maintenanceModeState: 'Enabled', version: null }];
    await tick(0);
    api.build = '8.1.1.100';
    api.healthReport = {
      status: 'Unhealthy',
      entries: [postgres, { name: 'NATS', status: 'Healthy', description: null }],
    };
    await until(15);
    const healthReads = api.calls.health;
    api.sessions = [session('s1', 'r1')];

    await tick(); // 10:20, no scan

    expect(typesAfter(0)).toEqual(['monitor.started', 'server.unhealthy', 'sync.started']);
    expect(published('sync.started')[0]?.cause).toEqual([
      { kind: 'unhealthy', entries: [postgres] },
      { kind: 'upgrade', from: '8.1.0.305', to: '8.1.1.100', at: iso(15) },
      { kind: 'proxy', proxyId: 'p1', proxyName: 'proxy01', state: 'maintenance' },
    ]);
    expect(api.calls.health - healthReads).toBe(1); // read again for the cause, outside a scan
  });

  it('puts no cause on later events of the incident, nor on a sync that starts with nothing seen', async () => {
    await tick(0);
    api.sessions = [session('s1', 'r1')];
    await tick();
    api.sessions = [session('s1', 'r1', { state: 'Failed', error: 'S3 403' })];
    api.build = '8.1.1.100';
    await until(15);

    expect(typesAfter(1)).toEqual(['sync.started', 'sync.failed']);
    expect(notifier.delivered.filter((e) => e.cause !== undefined)).toEqual([]);
  });

  it('names a repository added since the cache was filled, when its first sync starts at a scan', async () => {
    await until(10);
    api.repositories.set('r9', repo('r9'));
    api.sessions = [session('s9', 'r9')];

    await tick(); // 10:15, a scan

    expect(published('sync.started').map((e) => e.cause)).toEqual([[{ kind: 'new_repository', addedAt: iso(15) }]]);
  });

  it('names a repository added since the cache was filled when its first sync starts between scans (looked up)', async () => {
    await until(10);
    api.repositories.set('r9', repo('r9'));
    api.sessions = [session('s9', 'r9')];

    await tick(3); // 10:13, no scan: the rules look the repository up

    expect(published('sync.started').map((e) => e.cause)).toEqual([[{ kind: 'new_repository', addedAt: iso(13) }]]);
    expect((await store.load('srv')).repositories.find((r) => r.id === 'r9')).toMatchObject({ addedAt: iso(13) });
  });
});

describe('enrich — tenants and storm control', () => {
  it('groups a storm of several tenants as one, each member named after its tenant', async () => {
    for (const [id, org] of [
      ['r1', 'o1'],
      ['r2', 'o1'],
      ['r3', 'o2'],
      ['r4', 'o2'],
      ['r5', null],
    ] as const)
      api.repositories.set(id, repo(id, { organizationId: org }));
    api.organizations = [
      { id: 'o1', name: 'Contoso' },
      { id: 'o2', name: 'Fabrikam' },
    ];
    const policy = { ...POLICY, groupThreshold: 2 };
    await tick(0, { policy });
    api.sessions = ['r1', 'r2', 'r3', 'r4', 'r5'].map((r) => session(`s-${r}`, r));

    await tick(5, { policy });
    await tick(5, { policy });

    const groups = published('monitor.grouped');
    expect(groups.map((g) => [g.group?.type, g.group?.total, g.organization])).toEqual([
      ['sync.started', 5, undefined],
    ]);
    const started = published('sync.started');
    expect(started.map((e) => [e.session?.repositoryId, e.organization?.name, e.groupedIn !== undefined])).toEqual([
      ['r1', 'Contoso', true],
      ['r2', 'Contoso', true],
      ['r3', 'Fabrikam', true],
      ['r4', 'Fabrikam', true],
      ['r5', undefined, true],
    ]);
    expect(api.calls.listOrganizations).toBe(1); // the names are cached with the repositories
  });
});

describe('enrich — when the health check is read', () => {
  it('on a v8-like server: at each scan, and between scans only when an incident opens', async () => {
    const reads: number[] = [];
    const note = () => reads.push(api.calls.health);
    await tick(0); // scan
    note();
    await tick(); // nothing happens
    note();
    api.sessions = [session('s1', 'r1')];
    await tick(); // sync.started: its cause
    note();
    await tick(); // 10:15, a scan
    note();
    api.sessions = [session('s1', 'r1', { progressPercent: 30 })];
    await tick(); // the same sync moves: no new incident
    note();

    expect(reads).toEqual([1, 1, 2, 3, 3]);
  });

  it('on a server without it: tried once, then not before a day, whatever needs it', async () => {
    api.unavailable.add('health');
    await tick(0);
    api.sessions = [session('s1', 'r1')];
    const problems = await until(60);
    const withinTheDay = api.calls.health;
    api.sessions = [];
    await until(DAY_MINUTES);

    expect(withinTheDay).toBe(1);
    expect(problems).toEqual([]);
    expect(published('sync.started')).toHaveLength(1);
    expect(api.calls.health).toBe(2);
  });
});

describe('enrich — the first backup after a resync', () => {
  const completeResync = async () => {
    api.repositories.set('r1', repo('r1', { isOutOfSync: true }));
    api.jobs = [
      { id: 'j1', name: 'Mailboxes daily', repositoryId: 'r1', isEnabled: true, nextRun: iso(60 * 14) },
      { id: 'j2', name: 'Old', repositoryId: 'r1', isEnabled: false },
    ];
    await tick(0);
    api.sessions = [session('s1', 'r1')];
    await tick(); // 10:05 sync.started
    api.sessions = [session('s1', 'r1', { state: 'None', progressPercent: 100 })];
    api.repositories.set('r1', repo('r1', { isOutOfSync: false }));
    await tick(); // 10:10 sync.completed
  };

  it('reports the first job run after the completion once, in the resync’s incident', async () => {
    await completeResync();
    await until(30); // two scans: the job has not run
    api.jobSessions.set('j1', [
      { id: 'js0', jobId: 'j1', status: 'Failed', creationTime: iso(-120), endTime: iso(-60) },
      { id: 'js1', jobId: 'j1', status: 'Warning', creationTime: iso(35), endTime: iso(40) },
    ]);

    await until(120);

    const [ok] = published('repository.first_backup_ok');
    const [completed] = published('sync.completed');
    expect(typesAfter(1)).toEqual(['sync.started', 'sync.completed', 'repository.first_backup_ok']);
    expect(ok?.occurredAt).toBe(iso(45));
    expect(ok?.firstBackup).toEqual({
      repositoryId: 'r1',
      repositoryName: 'Repo r1',
      syncCompletedAt: iso(10),
      jobs: [{ id: 'j1', name: 'Mailboxes daily', kind: 'backup', status: 'Warning', endedAt: iso(40) }],
      total: 1,
    });
    expect(ok?.incident).toMatchObject({ key: completed?.incident?.key, status: 'resolved', durationSeconds: 300 });
    expect((await store.load(SERVER.id)).server?.record).not.toHaveProperty('firstBackupWatch');
  });

  it('judges by the job’s last run on a server without job sessions', async () => {
    api.unavailable.add('listJobSessions');
    await completeResync();
    api.jobs = api.jobs.map((j) => (j.id === 'j1' ? { ...j, lastRun: iso(20), lastStatus: 'Failed' } : j));

    const problems = await until(60);

    expect(typesAfter(1)).toEqual(['sync.started', 'sync.completed', 'repository.first_backup_failed']);
    expect(published('repository.first_backup_failed')[0]?.firstBackup?.jobs).toEqual([
      { id: 'j1', name: 'Mailboxes daily', kind: 'backup', status: 'Failed', endedAt: iso(20) },
    ]);
    expect(problems).toEqual([
      '15: listing job sessions is not available on this server (GET listJobSessions answered 404): job sessions for the first backup after a resync (each job’s last run is used instead) is off; tried again in a day',
    ]);
  });

  it('waits for the next scan when the job sessions read fails, rather than judge by the last run', async () => {
    await completeResync();
    // The first run after the completion failed; a second one succeeded since.
    api.jobSessions.set('j1', [
      { id: 'js1', jobId: 'j1', status: 'Failed', creationTime: iso(11), endTime: iso(12) },
      { id: 'js2', jobId: 'j1', status: 'Success', creationTime: iso(13), endTime: iso(14) },
    ]);
    api.jobs = api.jobs.map((j) => (j.id === 'j1' ? { ...j, lastRun: iso(14), lastStatus: 'Success' } : j));
    api.failing.add('listJobSessions');
    const failing = await until(15);
    api.failing.clear();

    await until(30);

    expect(failing).toEqual(['15: listing job sessions (retried next cycle): GET listJobSessions: malformed']);
    expect(typesAfter(1)).toEqual(['sync.started', 'sync.completed', 'repository.first_backup_failed']);
    expect(published('repository.first_backup_failed')[0]?.occurredAt).toBe(iso(30));
  });
});

describe('enrich — the first backup of a repository only copy jobs target', () => {
  it('keeps the watch while the copy jobs cannot be listed, and reports once they can', async () => {
    api.repositories.set('r1', repo('r1', { isOutOfSync: true }));
    api.copyJobs = [{ id: 'c1', name: 'Copy to archive', repositoryId: 'r1', isEnabled: true }];
    api.jobSessions.set('c1', [{ id: 'cs1', jobId: 'c1', status: 'Success', creationTime: iso(20), endTime: iso(25) }]);
    await tick(0);
    api.sessions = [session('s1', 'r1')];
    await tick(); // 10:05 sync.started
    api.sessions = [session('s1', 'r1', { state: 'None', progressPercent: 100 })];
    api.repositories.set('r1', repo('r1', { isOutOfSync: false }));
    await tick(); // 10:10 sync.completed
    api.failing.add('listCopyJobs');
    await until(30); // the 10:15 and 10:30 scans cannot list the copy jobs
    const whileFailing = published('repository.first_backup_ok').length;
    api.failing.clear();

    await until(45);

    expect(whileFailing).toBe(0);
    expect(published('repository.first_backup_ok').map((e) => e.firstBackup?.jobs.map((j) => j.id))).toEqual([['c1']]);
  });
});

describe('enrich — an upgrade that blocks every repository', () => {
  it('keeps no incident per blocked repository in the server record: 1,000 blockers stay well under 400 KB', async () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `7a1b2c3d-4e5f-4a6b-8c7d-${String(i).padStart(12, '0')}`);
    for (const id of ids) api.repositories.set(id, repo(id, { name: `Tenant repository ${id}`, isOutdated: true }));

    await until(45); // scans at 10:00 and 10:15 note them; the one at 10:30 announces them
    const record = (await store.load('srv')).server?.record;
    const blocked = published('repository.blocked');
    for (const id of ids) api.repositories.set(id, repo(id, { isOutdated: false }));
    await until(60);
    const unblocked = published('repository.unblocked');

    expect(blocked).toHaveLength(1000);
    expect(Object.keys(record?.incidents ?? {})).toEqual([]);
    expect(Buffer.byteLength(JSON.stringify(record))).toBeLessThan(300_000);
    // Each blocker's events still share one key, derived from its start, and the clearing resolves it.
    expect(unblocked[0]?.incident).toMatchObject({ key: blocked[0]?.incident?.key, status: 'resolved' });
    expect(blocked[0]?.incident?.status).toBe('open');
  });
});

describe('enrich — tenants while the server cannot be read', () => {
  it('escalates a tenant\u2019s incident with its organization during an outage', async () => {
    api.repositories.set('r1', repo('r1', { organizationId: 'o1' }));
    api.organizations = [{ id: 'o1', name: 'Contoso' }];
    const policy = { ...POLICY, escalateAfterMinutes: [60] };
    await tick(0, { policy });
    api.sessions = [session('s1', 'r1', { state: 'Failed', error: 'S3 403' })];
    await tick(5, { policy }); // sync.failed: the incident opens, its repository's organization named and cached
    api.down = new UpstreamUnreachableError('cannot reach https://vb365.contoso.local:4443: connection refused');

    for (let i = 0; i < 14; i++) await tick(5, { policy });

    expect(published('incident.escalated').map((e) => e.organization)).toEqual([{ id: 'o1', name: 'Contoso' }]);
  });
});
