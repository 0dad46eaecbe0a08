import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
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
});
