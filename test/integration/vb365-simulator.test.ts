import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { SCENARIO_IDS, scenarios } from '../../local/simulator/scenarios.js';
import { type Scenario, startSimulator, type Vb365Simulator } from '../../local/simulator/simulator.js';

let sim: Vb365Simulator | undefined;
let agent: Agent | undefined;

afterEach(async () => {
  await agent?.close();
  await sim?.close();
  sim = undefined;
  agent = undefined;
});

const scenario: Scenario = {
  name: 'timeline',
  repositories: [{ id: 'r1', name: 'Repo One', isOutOfSync: false }],
  steps: [
    { at: 0, note: 'sync starts', actions: [{ op: 'start', session: 's1', repository: 'r1', progress: 0 }] },
    { at: 60, note: 'progress 50', actions: [{ op: 'progress', session: 's1', progress: 50 }] },
    { at: 120, note: 'ends as None', actions: [{ op: 'state', session: 's1', state: 'None', progress: 100 }] },
    {
      note: 'vanishes (manual step)',
      actions: [
        { op: 'vanish', session: 's1' },
        { op: 'inSync', repository: 'r1' },
      ],
    },
  ],
};

async function get(path: string, token?: string) {
  if (!sim) throw new Error('no simulator');
  agent ??= new Agent({ connect: { ca: sim.pki.caCert } });
  const res = await request(`${sim.url}${path}`, {
    dispatcher: agent,
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  const text = await res.body.text();
  return { status: res.statusCode, text, headers: res.headers };
}

async function login(version = 'v8') {
  if (!sim) throw new Error('no simulator');
  agent ??= new Agent({ connect: { ca: sim.pki.caCert } });
  const res = await request(`${sim.url}/${version}/token`, {
    method: 'POST',
    dispatcher: agent,
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      username: sim.username,
      password: sim.password,
      disable_antiforgery_token: 'true',
    }).toString(),
  });
  return ((await res.body.json()) as { access_token: string }).access_token;
}

describe('Vb365Simulator', () => {
  it('applies timeline steps when their time has come, and manual steps only on step()', async () => {
    let now = 1_000_000;
    sim = await startSimulator({ scenario, now: () => now });

    sim.applyDue();
    const afterStart = sim.sessions.get('s1')?.state;
    now += 61_000;
    sim.applyDue();
    const progress = sim.sessions.get('s1')?.progressPercent;
    now += 600_000;
    sim.applyDue();
    const ended = sim.sessions.get('s1')?.state;
    const remaining = sim.remainingSteps;
    sim.step();

    expect([afterStart, progress, ended, remaining]).toEqual(['Synchronizing', 50, 'None', 1]);
    expect(sim.sessions.has('s1')).toBe(false);
    expect(sim.repositories.get('r1')?.isOutOfSync).toBe(false);
    expect(sim.applied).toEqual(['sync starts', 'progress 50', 'ends as None', 'vanishes (manual step)']);
  });

  it('counts requests per route', async () => {
    sim = await startSimulator({ scenario });
    const token = await login();

    await get('/v8/RepositorySynchronizeSessions', token);
    await get('/v8/RepositorySynchronizeSessions', token);
    await get('/v8/RepositorySynchronizeSessions/s1', token);
    await get('/v8/BackupRepositories/r1', token);
    await get('/v8/ServiceInstance');

    expect(sim.counters).toMatchObject({
      token: 1,
      listSessions: 2,
      getSession: 1,
      getRepository: 1,
      serviceInstance: 1,
    });
    expect(sim.totalRequests).toBe(6);
  });

  it('serves a fault on the nth call of a route, the given number of times', async () => {
    sim = await startSimulator({ scenario });
    const token = await login();
    sim.inject({ route: 'listSessions', skip: 1, times: 2, fault: { kind: 'status', status: 503, retryAfter: 7 } });

    const statuses: number[] = [];
    let retryAfter: unknown;
    for (let i = 0; i < 4; i++) {
      const res = await get('/v8/RepositorySynchronizeSessions', token);
      statuses.push(res.status);
      retryAfter ??= res.headers['retry-after'];
    }

    expect(statuses).toEqual([200, 503, 503, 200]);
    expect(retryAfter).toBe('7');
  });

  it('answers 401 without a valid token, and for an expired one', async () => {
    let now = Date.now();
    sim = await startSimulator({ scenario, now: () => now, tokenLifetimeSeconds: 60 });
    const token = await login();

    const before = await get('/v8/RepositorySynchronizeSessions', token);
    now += 61_000;
    const after = await get('/v8/RepositorySynchronizeSessions', token);
    const none = await get('/v8/RepositorySynchronizeSessions');

    expect([before.status, after.status, none.status]).toEqual([200, 401, 401]);
  });

  it('answers 404 for versions it does not serve, with the v8 error shape on v8', async () => {
    sim = await startSimulator({ scenario, versions: ['v6', 'v8'] });
    const token = await login();

    const v5 = await get('/v5/ServiceInstance');
    const v6 = await get('/v6/ServiceInstance');
    const missing = await get('/v8/RepositorySynchronizeSessions/nope', token);

    expect([v5.status, v6.status]).toEqual([404, 401]);
    expect(JSON.parse(missing.text)).toMatchObject({ errorCode: 'ResourceNotFound' });
  });

  it('pages the v8 repository list with offset and limit', async () => {
    sim = await startSimulator({
      scenario: {
        name: 'many repos',
        repositories: Array.from({ length: 5 }, (_, i) => ({ id: `r${i}`, name: `Repo ${i}`, isOutOfSync: false })),
        steps: [],
      },
    });
    const token = await login();

    const page = JSON.parse((await get('/v8/BackupRepositories?offset=2&limit=2', token)).text);
    const v7 = JSON.parse((await get('/v7/BackupRepositories', await login('v7'))).text);

    expect(page.results.map((r: { id: string }) => r.id)).toEqual(['r2', 'r3']);
    expect(v7).toHaveLength(5);
  });

  it('sends v5 progress as a string with absolute links and no error field', async () => {
    sim = await startSimulator({ scenario });
    sim.step();
    const token = await login('v5');

    const [item] = JSON.parse((await get('/v5/RepositorySynchronizeSessions', token)).text);

    expect(item).toEqual({
      id: 's1',
      repositoryId: 'r1',
      state: 'Synchronizing',
      progressPercent: '0',
      _links: {
        self: { href: `${sim.url}/v5/RepositorySynchronizeSessions/s1` },
        repository: { href: `${sim.url}/v5/backuprepositories/r1` },
      },
    });
  });

  it('serves each optional endpoint only in the versions that have it', async () => {
    sim = await startSimulator({ scenario, versions: ['v5', 'v6', 'v7', 'v8'] });
    const tokens = { v5: await login('v5'), v6: await login('v6'), v7: await login('v7'), v8: await login('v8') };

    const status = async (path: string, token?: string) => (await get(path, token)).status;

    expect({
      health: [await status('/v7/Health'), await status('/v8/Health')],
      copyJobs: [await status('/v5/CopyJobs', tokens.v5), await status('/v6/CopyJobs', tokens.v6)],
      jobSessions: [await status('/v5/JobSessions', tokens.v5), await status('/v6/JobSessions', tokens.v6)],
      proxies: [await status('/v5/Proxies', tokens.v5), await status('/v8/Proxies', tokens.v8)],
      organizations: [await status('/v7/Organizations', tokens.v7), await status('/v8/Organizations')],
    }).toEqual({
      health: [404, 200],
      copyJobs: [404, 200],
      jobSessions: [404, 200],
      proxies: [200, 200],
      organizations: [200, 401],
    });
  });

  it('answers Health without a token, 503 with the same shape when Unhealthy', async () => {
    sim = await startSimulator({ scenario });
    sim.apply([
      {
        op: 'health',
        status: 'Unhealthy',
        entries: [
          { name: 'PostgreSQL', status: 'Unhealthy', description: 'connection refused' },
          { name: 'NATS', status: 'Healthy' },
        ],
      },
    ]);

    const res = await get('/v8/Health');

    expect(res.status).toBe(503);
    expect(JSON.parse(res.text)).toEqual({
      status: 'Unhealthy',
      entries: {
        PostgreSQL: { status: 'Unhealthy', description: 'connection refused' },
        NATS: { status: 'Healthy', description: null },
      },
    });
    expect(sim.withAuthorization.health).toBe(0);
  });

  it('sends the v8 fields on v8 only: repository flags, proxy maintenance and build, zoned times', async () => {
    sim = await startSimulator({ scenario });
    sim.apply([
      { op: 'repository', id: 'r1', isOutOfOrder: true, outOfOrderReason: 'Bucket not found', proxyId: 'p1' },
      { op: 'proxy', id: 'p1', name: 'proxy-01', status: 'Offline', maintenanceModeState: 'Enabled' },
      { op: 'job', id: 'j1', name: 'Nightly', repositoryId: 'r1', nextRun: '2026-11-30T10:00:00Z' },
    ]);

    const v8 = {
      repo: JSON.parse((await get('/v8/BackupRepositories/r1', await login('v8'))).text),
      proxy: JSON.parse((await get('/v8/Proxies', await login('v8'))).text).results[0],
      job: JSON.parse((await get('/v8/Jobs', await login('v8'))).text).results[0],
    };
    const v7 = {
      repo: JSON.parse((await get('/v7/BackupRepositories/r1', await login('v7'))).text),
      proxy: JSON.parse((await get('/v7/Proxies', await login('v7'))).text)[0],
      job: JSON.parse((await get('/v7/Jobs', await login('v7'))).text)[0],
    };

    expect(v8.repo).toMatchObject({ isOutOfOrder: true, outOfOrderReason: 'Bucket not found', proxyId: 'p1' });
    expect(v8.proxy).toMatchObject({ hostName: 'proxy-01', status: 'Offline', maintenanceModeState: 'Enabled' });
    expect(v8.job.nextRun).toBe('2026-11-30T10:00:00.000Z');
    expect(v7.repo).toMatchObject({ proxyId: 'p1' });
    expect(v7.repo).not.toHaveProperty('isOutOfOrder');
    expect(v7.proxy).not.toHaveProperty('maintenanceModeState');
    expect(v7.job.nextRun).toBe('2026-11-30T10:00:00');
  });

  it('records job runs: a session per run, the job taking its last run and status; reports the build it is told', async () => {
    const now = Date.parse('2026-11-30T10:00:00Z');
    sim = await startSimulator({ scenario, now: () => now });
    sim.apply([
      { op: 'job', id: 'j1', name: 'Nightly', repositoryId: 'r1', nextRunIn: 3600 },
      { op: 'jobRun', job: 'j1', session: 'js1', status: 'Running' },
      { op: 'jobRun', job: 'j1', session: 'js1', status: 'Warning', endTime: '2026-11-30T10:05:00Z' },
      { op: 'build', version: '8.2.0.120' },
    ]);
    const token = await login();

    const sessions = JSON.parse((await get('/v8/JobSessions?jobId=j1', token)).text);
    const instance = JSON.parse((await get('/v8/ServiceInstance', token)).text);

    expect(sessions.results).toEqual([
      expect.objectContaining({
        id: 'js1',
        jobId: 'j1',
        status: 'Warning',
        creationTime: '2026-11-30T10:00:00.000Z',
        endTime: '2026-11-30T10:05:00.000Z',
      }),
    ]);
    expect(sim.jobs[0]).toMatchObject({
      lastRun: '2026-11-30T10:00:00.000Z',
      lastStatus: 'Warning',
      nextRun: '2026-11-30T11:00:00.000Z',
    });
    expect(instance.version).toBe('8.2.0.120');
  });

  it('plays every named scenario to its end', async () => {
    sim = await startSimulator();
    const ends: Record<string, string[]> = {};

    for (const [name, named] of Object.entries(scenarios)) {
      sim.load(named);
      while (sim.step() !== undefined);
      ends[name] = [...sim.applied];
    }

    expect(Object.keys(ends)).toEqual([
      'demo',
      'upgrade',
      'database-fault',
      'proxy-offline',
      'first-backup',
      'first-backup-fails',
      'tenants',
    ]);
    for (const [name, notes] of Object.entries(ends)) expect(notes.length, name).toBe(scenarios[name]?.steps.length);
  });

  it.each([
    [
      'upgrade',
      (s: Vb365Simulator) => [
        s.build,
        [...s.repositories.values()].some((r) => r.isOutdated),
        s.proxies.get(SCENARIO_IDS.proxyA)?.version,
      ],
      ['8.2.0.120', true, '8.1.0.305'],
      ['8.2.0.120', false, '8.2.0.120'],
    ],
    [
      'database-fault',
      (s: Vb365Simulator) => [s.health.status, [...s.repositories.values()].filter((r) => r.isOutOfSync).length],
      ['Unhealthy', 3],
      ['Healthy', 0],
    ],
    ['proxy-offline', (s: Vb365Simulator) => [s.proxies.get(SCENARIO_IDS.proxyA)?.status], ['Offline'], ['Online']],
    [
      'first-backup',
      (s: Vb365Simulator) => [s.repositories.get(SCENARIO_IDS.repoEu)?.isOutOfSync, s.jobSessions.at(-1)?.status],
      [false, 'Failed'],
      [false, 'Success'],
    ],
    [
      'tenants',
      (s: Vb365Simulator) => [s.organizations.size, s.repositories.get(SCENARIO_IDS.repoFabrikam)?.organizationId],
      [2, SCENARIO_IDS.orgFabrikam],
      [2, SCENARIO_IDS.orgFabrikam],
    ],
  ])('plays %s: after its second step, and at its end', async (name, observe, afterSecond, atEnd) => {
    sim = await startSimulator();
    const named = scenarios[name] as Scenario;
    sim.load(named);

    sim.step();
    sim.step();
    const second = observe(sim);
    while (sim.step() !== undefined);

    expect(second).toEqual(afterSecond);
    expect(observe(sim)).toEqual(atEnd);
  });
});
