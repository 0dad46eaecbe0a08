import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { inspect } from 'node:util';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HttpVb365Api, type HttpVb365ApiOptions } from '../../lambda/adapters/vb365/http-vb365-api.js';
import {
  UpstreamAuthError,
  type UpstreamError,
  UpstreamResponseError,
  UpstreamSetupError,
  UpstreamTlsError,
  UpstreamUnreachableError,
  UpstreamUnsupportedError,
} from '../../lambda/domain/errors.js';
import type { ApiVersion } from '../../lambda/domain/types.js';
import { generatePki, type TestPki } from '../../local/simulator/certs.js';
import { startSimulator, type Vb365Simulator } from '../../local/simulator/simulator.js';

const S1 = '6f0c1b5e-3a52-4f43-9d4e-6f0e0a4f6d11';
const S2 = '0b7d9e21-5c4f-4b0a-8e6d-3f2a1c9b8e70';
const R1 = 'a1d5c0e2-9b7f-4e5c-8f3a-2c9b1e7d4a60';
const R2 = 'c3e8f1a4-2d6b-4f9c-a5e7-8b1d0f3c6e92';

let pki: TestPki;
let sim: Vb365Simulator;
const clients: HttpVb365Api[] = [];
/** Simulators with other certificates, started by a test; closed after it. */
const extraSims: Vb365Simulator[] = [];

beforeAll(async () => {
  pki = await generatePki();
});

beforeEach(async () => {
  sim = await startSimulator({ pki });
  sim.load({
    name: 'two sessions',
    repositories: [
      { id: R1, name: 'S3 Immutable (eu-west-1)', isOutOfSync: true },
      { id: R2, name: 'Wasabi Archive', isOutOfSync: true },
    ],
    steps: [
      {
        actions: [
          { op: 'start', session: S1, repository: R1, progress: 40 },
          { op: 'start', session: S2, repository: R2, progress: 5 },
          { op: 'fail', session: S2, error: 'Unable to access object storage: 403 Forbidden' },
        ],
      },
    ],
  });
  sim.step();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(extraSims.splice(0).map((s) => s.close()));
  await sim.close();
});

function client(overrides: Partial<HttpVb365ApiOptions> = {}): HttpVb365Api {
  const c = new HttpVb365Api({
    baseUrl: sim.url,
    credentials: () => ({ username: sim.username, password: sim.password }),
    ca: pki.caCert,
    retryBaseDelayMs: 5,
    retryMaxDelayMs: 20,
    ...overrides,
  });
  clients.push(c);
  return c;
}

async function failure(promise: Promise<unknown>): Promise<UpstreamError> {
  try {
    await promise;
  } catch (err) {
    return err as UpstreamError;
  }
  throw new Error('expected the call to fail');
}

describe('HttpVb365Api — versions', () => {
  it('probes ServiceInstance from v8 down and remembers the newest served version', async () => {
    await sim.close();
    sim = await startSimulator({ pki, versions: ['v5', 'v6'] });
    const api = client();

    expect(await api.apiVersion()).toBe('v6');
    await api.listSessions();
    await api.listSessions();

    expect(sim.counters.serviceInstance).toBe(3);
  });

  it('throws unsupported when no version answers', async () => {
    await sim.close();
    sim = await startSimulator({ pki, versions: [] });

    const err = await failure(client().listSessions());

    expect(err).toBeInstanceOf(UpstreamUnsupportedError);
    expect(err.message).toMatch(/no VB365 REST API version \(v8, v7, v6, v5\) is served/);
  });

  it('throws unsupported when the configured version is not served', async () => {
    await sim.close();
    sim = await startSimulator({ pki, versions: ['v6'] });

    const err = await failure(client({ apiVersion: 'v8' }).listSessions());

    expect(err).toBeInstanceOf(UpstreamUnsupportedError);
    expect(err.message).toContain('v8');
  });

  it('treats a probe answer other than 200/401/403/404 as unreachable, not as a verdict', async () => {
    sim.inject({ route: 'serviceInstance', fault: { kind: 'status', status: 503 }, times: Number.POSITIVE_INFINITY });

    const err = await failure(client({ maxRetries: 1 }).apiVersion());

    expect(err).toBeInstanceOf(UpstreamUnreachableError);
  });
});

describe('HttpVb365Api — shapes of each version', () => {
  it.each(['v5', 'v6', 'v7', 'v8'] as ApiVersion[])('lists and reads sessions on %s', async (version) => {
    const api = client({ apiVersion: version });

    const list = await api.listSessions();
    const one = await api.getSession(S2);

    expect(list.malformed).toEqual([]);
    expect(list.sessions.map((s) => [s.id, s.repositoryId, s.state, s.progressPercent])).toEqual([
      [S1, R1, 'Synchronizing', 40],
      [S2, R2, 'Failed', 5],
    ]);
    expect(list.sessions[0]?.links.self).toBe(`${sim.url}/${version}/RepositorySynchronizeSessions/${S1}`);
    expect(one).toEqual({ found: true, value: expect.objectContaining({ id: S2, state: 'Failed' }) });
    // v5 has no error field; v6+ carry the error text.
    const expectedError = version === 'v5' ? null : 'Unable to access object storage: 403 Forbidden';
    expect(one.found && one.value.error).toBe(expectedError);
  });

  it('returns not-found as a result for a vanished session and an unknown repository', async () => {
    const api = client();
    sim.apply([{ op: 'vanish', session: S1 }]);

    expect(await api.getSession(S1)).toEqual({ found: false });
    expect(await api.getRepository('00000000-0000-0000-0000-000000000000')).toEqual({ found: false });
  });

  it('reads a repository name and its out-of-sync flag', async () => {
    const api = client();
    sim.apply([{ op: 'inSync', repository: R1 }]);

    expect(await api.getRepository(R1)).toEqual({
      found: true,
      value: {
        id: R1,
        name: 'S3 Immutable (eu-west-1)',
        isOutOfSync: false,
        isOutdated: false,
        isOutOfOrder: false,
        outOfOrderReason: null,
        isMigrationLocked: false,
        organizationId: null,
      },
    });
  });

  it('keeps an unknown state verbatim', async () => {
    sim.apply([{ op: 'state', session: S1, state: 'WaitingForProxy' }]);

    const list = await client().listSessions();

    expect(list.sessions.find((s) => s.id === S1)?.state).toBe('WaitingForProxy');
  });

  it('skips a malformed item and keeps the rest of the list', async () => {
    sim.inject({
      route: 'listSessions',
      fault: {
        kind: 'body',
        json: [{ id: S1, state: 'Synchronizing', progressPercent: '7' }, { id: S2, state: ['x'] }, 17],
      },
    });

    const list = await client().listSessions();

    expect(list.sessions.map((s) => s.id)).toEqual([S1]);
    expect(list.malformed.map((m) => m.index)).toEqual([1, 2]);
  });

  it('quotes the server reason of a refusal well-formed: a lone surrogate as U+FFFD, a long reason cut between pairs', async () => {
    const lone = JSON.stringify({ message: 'bad \uD800 request' });
    const pairs = JSON.stringify({ message: '😀'.repeat(200) });
    sim.inject({ route: 'listSessions', fault: { kind: 'status', status: 400, body: lone } });
    sim.inject({ route: 'getSession', fault: { kind: 'status', status: 400, body: pairs } });

    const first = await failure(client().listSessions());
    const second = await failure(client().getSession(S1));

    expect(first.message).toMatch(/answered 400: bad \uFFFD request$/);
    expect(second.message).toMatch(/answered 400: (😀)+…$/);
    expect(second.message).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });

  it('fails a single GET whose body is not a session object', async () => {
    sim.inject({ route: 'getSession', fault: { kind: 'body', json: 'nope' } });

    const err = await failure(client().getSession(S1));

    expect(err).toBeInstanceOf(UpstreamResponseError);
    expect(err.message).toMatch(/malformed session/);
  });
});

describe('HttpVb365Api — repositories and jobs', () => {
  const many = {
    name: 'many',
    repositories: Array.from({ length: 150 }, (_, i) => ({ id: `r${i}`, name: `Repo ${i}`, isOutOfSync: i % 2 === 0 })),
    jobs: Array.from({ length: 120 }, (_, i) => ({ id: `j${i}`, name: `Job ${i}`, repositoryId: `r${i}` })),
    steps: [],
  };

  it('pages through every repository and job on v8 (offset/limit)', async () => {
    sim.load(many);
    const api = client();

    const repositories = await api.listRepositories();
    const jobs = await api.listJobs();

    expect(repositories).toHaveLength(150);
    expect(repositories[149]).toMatchObject({ id: 'r149', name: 'Repo 149', isOutOfSync: false });
    expect(jobs).toHaveLength(120);
    expect(jobs[0]).toEqual({
      id: 'j0',
      name: 'Job 0',
      repositoryId: 'r0',
      isEnabled: true,
      kind: 'backup',
      nextRun: null,
      lastRun: null,
      lastStatus: 'Success',
    });
    expect(sim.counters.listRepositories).toBe(2);
    expect(sim.counters.listJobs).toBe(2);
  });

  it('reads the plain arrays of v6 in one request', async () => {
    const v6 = await startSimulator({ pki, versions: ['v6'] });
    try {
      v6.load(many);
      const api = client({ baseUrl: v6.url });

      expect(await api.listRepositories()).toHaveLength(150);
      expect(v6.counters.listRepositories).toBe(1);
    } finally {
      await v6.close();
    }
  });

  it('skips a malformed job and keeps the rest', async () => {
    sim.load(many);
    sim.inject({
      route: 'listJobs',
      fault: { kind: 'body', json: [{ id: 'ok', name: 'Fine', repositoryId: 'r1' }, { name: 7 }] },
    });

    expect(await client().listJobs()).toEqual([
      {
        id: 'ok',
        name: 'Fine',
        repositoryId: 'r1',
        isEnabled: true,
        kind: 'backup',
        nextRun: null,
        lastRun: null,
        lastStatus: null,
      },
    ]);
  });
});

describe('HttpVb365Api — optional reads', () => {
  const P1 = 'b1f0c3d2-1111-4a5b-8c6d-000000000001';
  const O1 = 'c2e1d4f3-2222-4b6c-9d7e-000000000001';
  const J1 = 'd3f2e5a4-3333-4c7d-8e9f-000000000001';
  const world = {
    name: 'optional reads',
    build: '8.1.0.305',
    repositories: [
      {
        id: R1,
        name: 'S3 Immutable (eu-west-1)',
        isOutOfSync: false,
        isOutOfOrder: true,
        outOfOrderReason: 'Bucket not found',
        proxyId: P1,
        organizationId: O1,
      },
    ],
    proxies: Array.from({ length: 120 }, (_, i) => ({
      id: i === 0 ? P1 : `p${i}`,
      name: `proxy-${i}.corp.example`,
      status: i === 0 ? 'Offline' : 'Online',
      ...(i === 0 ? { maintenanceModeState: 'Enabled', version: '8.1.0.305' } : {}),
    })),
    organizations: Array.from({ length: 110 }, (_, i) => ({ id: i === 0 ? O1 : `o${i}`, name: `Tenant ${i}` })),
    jobs: [
      {
        id: J1,
        name: 'Nightly',
        repositoryId: R1,
        nextRun: '2026-12-01T02:00:00Z',
        lastRun: '2026-11-30T02:00:00Z',
        lastStatus: 'Warning',
      },
      ...Array.from({ length: 105 }, (_, i) => ({
        id: `c${i}`,
        name: `Copy ${i}`,
        kind: 'copy' as const,
        repositoryId: R2,
        nextRun: i === 0 ? '2026-12-01T03:00:00Z' : null,
        lastStatus: 'Success',
      })),
    ],
    // Runs of J1 listed newest first (the order is the server's business), plus an older one and another job's.
    jobSessions: [
      ...Array.from({ length: 130 }, (_, i) => ({
        id: `js${i}`,
        jobId: J1,
        status: i === 0 ? 'Failed' : 'Success',
        creationTime: new Date(Date.parse('2026-11-30T12:00:00Z') - i * 60_000).toISOString(),
        endTime: new Date(Date.parse('2026-11-30T12:00:30Z') - i * 60_000).toISOString(),
      })),
      {
        id: 'old',
        jobId: J1,
        status: 'Failed',
        creationTime: '2026-11-01T00:00:00Z',
        endTime: '2026-11-01T00:05:00Z',
      },
      { id: 'other', jobId: 'another-job', status: 'Success', creationTime: '2026-11-30T11:00:00Z', endTime: null },
    ],
    steps: [],
  };

  async function served(versions: ApiVersion[]): Promise<Vb365Simulator> {
    const other = await startSimulator({ pki, versions });
    extraSims.push(other);
    other.load(world);
    return other;
  }

  it('reads proxies, organizations and copy jobs on v8, page by page', async () => {
    sim.load(world);
    const api = client();

    const proxies = await api.listProxies();
    const organizations = await api.listOrganizations();
    const copyJobs = await api.listCopyJobs();

    expect(proxies.available && proxies.value).toHaveLength(120);
    expect(proxies.available && proxies.value[0]).toEqual({
      id: P1,
      name: 'proxy-0.corp.example',
      status: 'Offline',
      maintenanceModeState: 'Enabled',
      version: '8.1.0.305',
    });
    expect(organizations.available && organizations.value.slice(0, 2)).toEqual([
      { id: O1, name: 'Tenant 0' },
      { id: 'o1', name: 'Tenant 1' },
    ]);
    expect(organizations.available && organizations.value).toHaveLength(110);
    expect(copyJobs.available && copyJobs.value).toHaveLength(105);
    expect(copyJobs.available && copyJobs.value[0]).toEqual({
      id: 'c0',
      name: 'Copy 0',
      repositoryId: R2,
      isEnabled: true,
      kind: 'copy',
      nextRun: '2026-12-01T03:00:00.000Z',
      lastRun: null,
      lastStatus: 'Success',
    });
    expect([sim.counters.listProxies, sim.counters.listOrganizations, sim.counters.listCopyJobs]).toEqual([2, 2, 2]);
  });

  it.each(['v6', 'v7'] as ApiVersion[])(
    'reads the plain arrays of %s in one request each, without v8 fields',
    async (version) => {
      const old = await served([version]);
      const api = client({ baseUrl: old.url });

      const proxies = await api.listProxies();
      const organizations = await api.listOrganizations();
      const copyJobs = await api.listCopyJobs();
      const jobs = await api.listJobs();
      const repository = await api.getRepository(R1);

      expect(proxies.available && proxies.value[0]).toEqual({
        id: P1,
        name: 'proxy-0.corp.example',
        status: 'Offline',
        maintenanceModeState: null,
        version: null,
      });
      expect(organizations.available && organizations.value).toHaveLength(110);
      expect(copyJobs.available && copyJobs.value).toHaveLength(105);
      // v5–v7 send times without a zone (in the simulator): read as UTC.
      expect(jobs[0]).toMatchObject({ nextRun: '2026-12-01T02:00:00.000Z', lastRun: '2026-11-30T02:00:00.000Z' });
      expect(repository).toEqual({
        found: true,
        value: { id: R1, name: 'S3 Immutable (eu-west-1)', isOutOfSync: false, proxyId: P1 },
      });
      expect([old.counters.listProxies, old.counters.listOrganizations, old.counters.listCopyJobs]).toEqual([1, 1, 1]);
    },
  );

  it('reads the repository blocker fields and the organization on v8', async () => {
    sim.load(world);

    const [listed] = await client().listRepositories();

    expect(listed).toEqual({
      id: R1,
      name: 'S3 Immutable (eu-west-1)',
      isOutOfSync: false,
      isOutdated: false,
      isOutOfOrder: true,
      outOfOrderReason: 'Bucket not found',
      isMigrationLocked: false,
      proxyId: P1,
      organizationId: O1,
    });
  });

  it('reads the product build from ServiceInstance, and its change after an upgrade', async () => {
    sim.load(world);
    const api = client();

    const before = await api.serviceInstance();
    sim.apply([{ op: 'build', version: '8.2.0.120' }]);
    const after = await api.serviceInstance();

    expect([before, after]).toEqual([
      { available: true, value: { version: '8.1.0.305' } },
      { available: true, value: { version: '8.2.0.120' } },
    ]);
  });

  it.each(['v8', 'v7'] as ApiVersion[])(
    'lists the runs of one job that ended since a time on %s, oldest first, across pages',
    async (version) => {
      const server = version === 'v8' ? sim : await served([version]);
      server.load(world);
      const api = client({ baseUrl: server.url });

      const runs = await api.listJobSessions(J1, '2026-11-30T10:00:00+00:00');

      const value = runs.available ? runs.value : [];
      expect(value).toHaveLength(121);
      expect(value[0]).toEqual({
        id: 'js120',
        jobId: J1,
        status: 'Success',
        creationTime: '2026-11-30T10:00:00.000Z',
        endTime: '2026-11-30T10:00:30.000Z',
        willBeRetried: false,
      });
      expect(value.at(-1)).toMatchObject({ id: 'js0', status: 'Failed' });
      expect(server.counters.listJobSessions).toBe(2);
      expect(Object.fromEntries(server.lastQuery.listJobSessions ?? [])).toMatchObject({
        jobId: J1,
        endTimeLowerBound: '2026-11-30T10:00:00.000Z',
      });
    },
  );

  it('answers the endpoints a version lacks as unavailable without a request', async () => {
    const v6 = await served(['v6']);
    const v5 = await served(['v5']);
    const onV6 = client({ baseUrl: v6.url });
    const onV5 = client({ baseUrl: v5.url });

    const results = {
      healthV6: await onV6.health(),
      runsV6: await onV6.listJobSessions(J1, '2026-11-30T00:00:00Z'),
      copyJobsV5: await onV5.listCopyJobs(),
      healthV7: await client({ apiVersion: 'v7' }).health(),
    };

    expect(results).toEqual({
      healthV6: { available: false, reason: 'API v6 has no /Health (v8 and later)' },
      runsV6: { available: false, reason: 'API v6 has no /JobSessions (v7 and later)' },
      copyJobsV5: { available: false, reason: 'API v5 has no /CopyJobs (v6 and later)' },
      healthV7: { available: false, reason: 'API v7 has no /Health (v8 and later)' },
    });
    expect([v6.counters.health, v6.counters.listJobSessions, v5.counters.listCopyJobs, sim.counters.health]).toEqual([
      0, 0, 0, 0,
    ]);
  });

  it.each([
    ['listProxies', (api: HttpVb365Api) => api.listProxies(), 'GET /v8/Proxies'],
    ['listCopyJobs', (api: HttpVb365Api) => api.listCopyJobs(), 'GET /v8/CopyJobs'],
    ['listOrganizations', (api: HttpVb365Api) => api.listOrganizations(), 'GET /v8/Organizations'],
    ['listJobSessions', (api: HttpVb365Api) => api.listJobSessions(J1, '2026-11-30T00:00:00Z'), 'GET /v8/JobSessions'],
    ['serviceInstance', (api: HttpVb365Api) => api.serviceInstance(), 'GET /v8/ServiceInstance'],
    ['health', (api: HttpVb365Api) => api.health(), 'GET /v8/Health'],
  ] as const)(
    'answers %s unavailable on 403, 404 and 405, naming the request and nothing else',
    async (route, read, request) => {
      const api = client({ apiVersion: 'v8' });
      await api.login();
      const echo = JSON.stringify({ message: `denied for ${sim.password} ${sim.issuedTokens().join(' ')}` });
      for (const status of [403, 404, 405]) sim.inject({ route, fault: { kind: 'status', status, body: echo } });

      const answers = [await read(api), await read(api), await read(api)];

      expect(answers).toEqual([403, 404, 405].map((s) => ({ available: false, reason: `${request} answered ${s}` })));
      for (const secret of [sim.password, ...sim.issuedTokens()]) expect(JSON.stringify(answers)).not.toContain(secret);
    },
  );

  it('throws unreachable when an optional read keeps answering 500, after its retries', async () => {
    sim.load(world);
    const api = client({ maxRetries: 2 });
    await api.apiVersion();
    sim.inject({ route: 'listProxies', fault: { kind: 'status', status: 500 }, times: Number.POSITIVE_INFINITY });

    const err = await failure(api.listProxies());

    expect(err).toBeInstanceOf(UpstreamUnreachableError);
    expect(err.status).toBe(500);
    expect(sim.counters.listProxies).toBe(3);
  });

  it('throws a response error when an optional list is not a list', async () => {
    sim.inject({ route: 'listOrganizations', fault: { kind: 'body', json: { unexpected: true } } });

    const err = await failure(client().listOrganizations());

    expect(err).toBeInstanceOf(UpstreamResponseError);
  });

  it('skips malformed items of optional lists and keeps the rest', async () => {
    sim.inject({
      route: 'listProxies',
      fault: { kind: 'body', json: [{ id: P1, hostName: 'ok', status: 7 }, { id: 7 }, { hostName: 'no id' }, null] },
    });
    sim.inject({
      route: 'listJobSessions',
      fault: {
        kind: 'body',
        json: {
          offset: 0,
          limit: 100,
          results: [
            { id: 'a', jobId: J1, status: 'Success', endTime: '2026-11-30T10:00:00' },
            { id: ['x'], status: 'Success', endTime: '2026-11-30T10:00:00Z' },
            { id: 'b', jobId: J1, status: 'Success', endTime: 'yesterday' },
          ],
        },
      },
    });
    const api = client();

    const proxies = await api.listProxies();
    const runs = await api.listJobSessions(J1, '2026-11-30T00:00:00Z');

    expect(proxies).toEqual({
      available: true,
      value: [{ id: P1, name: 'ok', status: null, maintenanceModeState: null, version: null }],
    });
    // `b` has no usable end time: not a run that ended since the bound.
    expect(runs.available && runs.value.map((r) => [r.id, r.endTime])).toEqual([['a', '2026-11-30T10:00:00.000Z']]);
  });

  it('reads Health without a token, in the server order', async () => {
    const api = client();
    await api.listSessions();

    const health = await api.health();

    expect(health).toEqual({
      available: true,
      value: {
        status: 'Healthy',
        entries: [
          { name: 'PostgreSQL', status: 'Healthy', description: null },
          { name: 'NATS', status: 'Healthy', description: null },
        ],
      },
    });
    expect([sim.counters.health, sim.withAuthorization.health]).toEqual([1, 0]);
  });

  it('reads an Unhealthy report from a 503 at once, without retrying it', async () => {
    sim.apply([
      {
        op: 'health',
        status: 'Unhealthy',
        entries: [
          { name: 'PostgreSQL', status: 'Unhealthy', description: 'Failed to connect to 127.0.0.1:5432' },
          { name: 'NATS', status: 'Healthy' },
        ],
      },
    ]);

    const health = await client({ apiVersion: 'v8' }).health();

    expect(health).toEqual({
      available: true,
      value: {
        status: 'Unhealthy',
        entries: [
          { name: 'PostgreSQL', status: 'Unhealthy', description: 'Failed to connect to 127.0.0.1:5432' },
          { name: 'NATS', status: 'Healthy', description: null },
        ],
      },
    });
    expect(sim.counters.health).toBe(1);
  });

  it('throws unreachable on a Health 503 that is not a health report', async () => {
    sim.inject({ route: 'health', fault: { kind: 'status', status: 503 } });

    const err = await failure(client({ apiVersion: 'v8' }).health());

    expect(err).toBeInstanceOf(UpstreamUnreachableError);
    expect(err.status).toBe(503);
  });

  it('refuses an endedAfter that is not a date-time, before any request', async () => {
    const api = client({ apiVersion: 'v8' });

    await expect(api.listJobSessions(J1, 'last tuesday')).rejects.toThrow(TypeError);
    expect(sim.totalRequests).toBe(0);
  });
});

describe('HttpVb365Api — tokens', () => {
  it('logs in once with disable_antiforgery_token and reuses the token across calls', async () => {
    const api = client({ apiVersion: 'v8' });

    await Promise.all([api.listSessions(), api.getSession(S1), api.getRepository(R1), api.getSession(S2)]);
    await api.listSessions();

    // The v8 simulator refuses tokens requested without disable_antiforgery_token=true, so success proves it was sent.
    expect(sim.grants).toEqual(['password']);
  });

  it('refuses API calls made with a token requested without disable_antiforgery_token on v7+', async () => {
    const login = await fetchToken(false);
    const v6 = await rawGet('/v6/RepositorySynchronizeSessions', login);
    const v8 = await rawGet('/v8/RepositorySynchronizeSessions', login);

    expect([v6, v8]).toEqual([200, 401]);
  });

  it('refreshes with the refresh token before expires_in runs out', async () => {
    let now = Date.now();
    await sim.close();
    sim = await startSimulator({ pki, tokenLifetimeSeconds: 600, now: () => now });
    const api = client({ now: () => now, tokenRefreshMarginMs: 60_000 });

    await api.listSessions();
    now += 530_000; // 70 s left: inside the 60 s margin? no — still valid, no refresh
    await api.listSessions();
    now += 20_000; // 50 s left: refresh now
    await api.listSessions();

    expect(sim.grants).toEqual(['password', 'refresh_token']);
  });

  it('on a 401 refreshes once and retries', async () => {
    const api = client();
    await api.listSessions();
    sim.revokeTokens();

    await api.listSessions();

    expect(sim.grants).toEqual(['password', 'refresh_token']);
  });

  it('logs in again when the refresh token is refused too', async () => {
    const api = client();
    await api.listSessions();
    sim.revokeTokens({ refresh: true });

    await api.listSessions();

    expect(sim.grants).toEqual(['password', 'refresh_token', 'password']);
  });

  it('after refresh and re-login still get 401, fails with an authentication error', async () => {
    const api = client();
    await api.apiVersion();
    sim.inject({ route: 'listSessions', fault: { kind: 'unauthorized' }, times: Number.POSITIVE_INFINITY });

    const err = await failure(api.listSessions());

    expect(err).toBeInstanceOf(UpstreamAuthError);
    expect(err.kind).toBe('auth');
    expect(sim.counters.listSessions).toBe(3);
    expect(sim.grants).toEqual(['password', 'refresh_token', 'password']);
  });

  it('fails with an authentication error, without retrying, when the password is refused', async () => {
    const configured = sim.password;
    sim.password = 'changed-by-admin';

    const err = await failure(
      client({ credentials: () => ({ username: sim.username, password: configured }) }).listSessions(),
    );

    expect(err).toBeInstanceOf(UpstreamAuthError);
    expect(err.message).toContain('invalid_grant');
    expect(sim.counters.token).toBe(1);
  });

  it('fails with the UpstreamError the credentials callback throws, unchanged (a secret not set up yet)', async () => {
    const notSetUp = new UpstreamSetupError(
      'secret vb365/prod still holds its placeholder: fill in username and password',
    );

    const err = await failure(
      client({
        credentials: () => {
          throw notSetUp;
        },
      }).listSessions(),
    );

    expect(err).toBe(notSetUp);
    expect(err.kind).toBe('setup');
    expect(sim.counters.token).toBe(0);
  });

  it('fails with an authentication error when the credentials callback throws anything else', async () => {
    const err = await failure(
      client({
        credentials: async () => {
          throw new Error('secret vb365/prod must be JSON with non-empty "username" and "password" strings');
        },
      }).listSessions(),
    );

    expect(err).toBeInstanceOf(UpstreamAuthError);
    expect(err.message).toMatch(/^credentials unavailable: secret vb365\/prod must be JSON/);
  });

  it.each([
    ['a 503', { kind: 'status', status: 503 } as const],
    ['a 500', { kind: 'status', status: 500 } as const],
    ['a connection reset', { kind: 'reset' } as const],
  ])('reports %s on the token endpoint as unreachable, never as authentication', async (_label, fault) => {
    sim.inject({ route: 'token', fault, times: Number.POSITIVE_INFINITY });

    const err = await failure(client().listSessions());

    expect(err).toBeInstanceOf(UpstreamUnreachableError);
    expect(err.kind).toBe('unreachable');
  });
});

describe('HttpVb365Api — retries, timeouts and limits', () => {
  it('retries a GET after 503s and connection resets, then succeeds', async () => {
    const api = client();
    await api.apiVersion();
    sim.inject({ route: 'listSessions', fault: { kind: 'status', status: 503 } });
    sim.inject({ route: 'listSessions', fault: { kind: 'reset' } });

    const list = await api.listSessions();

    expect(list.sessions).toHaveLength(2);
    expect(sim.counters.listSessions).toBe(3);
  });

  it('gives up after maxRetries on a persistent 5xx and reports unreachable with the status', async () => {
    const api = client({ maxRetries: 2 });
    await api.apiVersion();
    sim.inject({ route: 'listSessions', fault: { kind: 'status', status: 502 }, times: Number.POSITIVE_INFINITY });

    const err = await failure(api.listSessions());

    expect(err).toBeInstanceOf(UpstreamUnreachableError);
    expect(err.status).toBe(502);
    expect(sim.counters.listSessions).toBe(3);
  });

  it('waits as long as Retry-After says on a 429', async () => {
    const api = client({ random: () => 0 });
    await api.apiVersion();
    sim.inject({ route: 'listSessions', fault: { kind: 'status', status: 429, retryAfter: 1 } });
    const started = performance.now();

    await api.listSessions();

    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
    expect(sim.counters.listSessions).toBe(2);
  });

  it('does not wait for a Retry-After beyond its limit: unreachable now, the next cycle retries', async () => {
    const api = client({ maxRetryAfterMs: 5_000 });
    await api.apiVersion();
    sim.inject({ route: 'listSessions', fault: { kind: 'status', status: 429, retryAfter: 120 } });

    const err = await failure(api.listSessions());

    expect(err).toBeInstanceOf(UpstreamUnreachableError);
    expect(err.status).toBe(429);
    expect(sim.counters.listSessions).toBe(1);
  });

  it('does not retry a POST (token) on 5xx', async () => {
    sim.inject({ route: 'token', fault: { kind: 'status', status: 503 }, times: Number.POSITIVE_INFINITY });

    await failure(client().listSessions());

    expect(sim.counters.token).toBe(1);
  });

  it.each([
    ['malformed JSON', { kind: 'malformed' } as const, /not valid JSON/],
    ['truncated JSON', { kind: 'truncated' } as const, /not valid JSON/],
    [
      'an oversized body with Content-Length',
      { kind: 'oversized', bytes: 64 * 1024 } as const,
      /exceeds the 32768-byte limit/,
    ],
    [
      'an oversized chunked body',
      { kind: 'oversized', bytes: 64 * 1024, declareLength: false } as const,
      /exceeds the 32768-byte limit/,
    ],
  ])('fails with a response error on %s, without retrying', async (_label, fault, message) => {
    const api = client({ maxResponseBytes: 32 * 1024 });
    await api.apiVersion();
    sim.inject({ route: 'listSessions', fault });

    const err = await failure(api.listSessions());

    expect(err).toBeInstanceOf(UpstreamResponseError);
    expect(err.message).toMatch(message);
    expect(sim.counters.listSessions).toBe(1);
  });

  it('reads a slow body that stays within the body timeout', async () => {
    const api = client({ bodyTimeoutMs: 2_000 });
    await api.apiVersion();
    sim.inject({ route: 'listSessions', fault: { kind: 'slowBody', chunkDelayMs: 50, chunks: 4 } });

    expect((await api.listSessions()).sessions).toHaveLength(2);
  });

  // undici checks header and body timeouts on a ~1 s timer wheel, so these two use timeouts well above it.
  it('fails as unreachable when the body stalls past the body timeout', async () => {
    const api = client({ bodyTimeoutMs: 500 });
    await api.apiVersion();
    sim.inject({ route: 'listSessions', fault: { kind: 'slowBody', chunkDelayMs: 2_500, chunks: 2 } });

    const err = await failure(api.listSessions());

    expect(err).toBeInstanceOf(UpstreamUnreachableError);
  });

  it('retries after a headers timeout and succeeds', async () => {
    const api = client({ headersTimeoutMs: 500 });
    await api.apiVersion();
    sim.inject({ route: 'listSessions', fault: { kind: 'latency', ms: 2_500 } });

    expect((await api.listSessions()).sessions).toHaveLength(2);
    expect(sim.counters.listSessions).toBe(2);
  });

  it('stops at the call deadline, retries included', async () => {
    const api = client({ headersTimeoutMs: 5_000, callDeadlineMs: 300 });
    await api.apiVersion();
    sim.inject({ route: 'listSessions', fault: { kind: 'latency', ms: 2_000 }, times: Number.POSITIVE_INFINITY });

    const err = await failure(api.listSessions());

    expect(err).toBeInstanceOf(UpstreamUnreachableError);
    expect(err.message).toMatch(/within 300 ms/);
  });

  it('stops when the caller aborts', async () => {
    const api = client();
    await api.apiVersion();
    sim.inject({ route: 'listSessions', fault: { kind: 'latency', ms: 2_000 } });

    const err = await failure(api.listSessions({ signal: AbortSignal.timeout(100) }));

    expect(err).toBeInstanceOf(UpstreamUnreachableError);
    expect(err.message).toMatch(/aborted by the caller/);
  });

  it('reports a closed port as unreachable', async () => {
    const port = sim.port;
    await sim.close();
    sim = await startSimulator({ pki });

    const err = await failure(client({ baseUrl: `https://127.0.0.1:${port}`, maxRetries: 1 }).listSessions());

    expect(err).toBeInstanceOf(UpstreamUnreachableError);
    expect(err.message).toMatch(/ECONNREFUSED/);
  });
});

describe('HttpVb365Api — TLS', () => {
  /** A simulator presenting `certs`, started for one test and closed after it. */
  async function serving(certs: TestPki): Promise<Vb365Simulator> {
    const local = await startSimulator({ pki: certs });
    extraSims.push(local);
    return local;
  }

  it('refuses a server whose CA it was not given, naming the CA bundle and the pin as fixes', async () => {
    const err = await failure(client({ ca: undefined }).listSessions());

    expect(err).toBeInstanceOf(UpstreamTlsError);
    expect(err.kind).toBe('tls');
    expect(err.message).toBe(
      `TLS: certificate of ${sim.url} refused (UNABLE_TO_VERIFY_LEAF_SIGNATURE): it is issued by "vb365-simulator test CA", a CA that is not trusted here; give the issuing CA's certificate as the CA bundle (caBundleFile; CLI: --ca), or pin it: set pinSha256 (CLI: --pin) to SHA-256 ${pki.serverFingerprint256}`,
    );
  });

  it('refuses a server certificate signed by another CA', async () => {
    const other = await generatePki({ caName: 'Another CA' });

    const err = await failure(client({ ca: other.caCert }).listSessions());

    expect(err).toBeInstanceOf(UpstreamTlsError);
    expect(err.message).toContain(`pin it: set pinSha256 (CLI: --pin) to SHA-256 ${pki.serverFingerprint256}`);
  });

  it('refuses a self-signed certificate it was given neither as CA nor as pin, with its fingerprint', async () => {
    const selfSigned = await generatePki({ selfSigned: true });
    const local = await serving(selfSigned);

    const err = await failure(client({ baseUrl: local.url, ca: undefined }).listSessions());

    expect(err).toBeInstanceOf(UpstreamTlsError);
    expect(err.message).toMatch(
      /refused \(DEPTH_ZERO_SELF_SIGNED_CERT\): it is self-signed; give the certificate itself/,
    );
    expect(err.message).toContain(selfSigned.serverFingerprint256);
    expect(local.totalRequests).toBe(0);
  });

  it('on a self-signed certificate that does not name the host (VB365 reached by IP), offers only the pin, saying why', async () => {
    const windowsHost = await generatePki({ selfSigned: true, hosts: ['vb365-prod.corp.example'] });
    const local = await serving(windowsHost);

    const err = await failure(client({ baseUrl: local.url, ca: undefined }).listSessions());
    const withCaBundle = await failure(client({ baseUrl: local.url, ca: windowsHost.serverCert }).apiVersion());
    const withPin = client({
      baseUrl: local.url,
      ca: undefined,
      pinSha256: err.message.match(/SHA-256 ([0-9A-F:]+)$/)?.[1],
    });

    expect(err).toBeInstanceOf(UpstreamTlsError);
    expect(err.message).toBe(
      `TLS: certificate of ${local.url} refused (DEPTH_ZERO_SELF_SIGNED_CERT): it is self-signed, and it names DNS:vb365-prod.corp.example, not 127.0.0.1 (the host in the URL), so a CA bundle would not help (the host-name check would fail next); pin it: set pinSha256 (CLI: --pin) to SHA-256 ${windowsHost.serverFingerprint256}`,
    );
    expect(err.message).not.toMatch(/caBundleFile|--ca/);
    expect(withCaBundle.message).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
    expect(await withPin.apiVersion()).toBe('v8');
  });

  it('on a certificate of an unknown CA that does not name the host, offers only the pin', async () => {
    const ipOnly = await generatePki({ hosts: ['127.0.0.1'] });
    const local = await serving(ipOnly);
    const byName = local.url.replace('127.0.0.1', 'localhost');

    const err = await failure(client({ baseUrl: byName, ca: undefined }).listSessions());

    expect(err).toBeInstanceOf(UpstreamTlsError);
    expect(err.message).toBe(
      `TLS: certificate of ${byName} refused (UNABLE_TO_VERIFY_LEAF_SIGNATURE): it is issued by "vb365-simulator test CA", a CA that is not trusted here, and it names IP Address:127.0.0.1, not localhost (the host in the URL), so a CA bundle would not help (the host-name check would fail next); pin it: set pinSha256 (CLI: --pin) to SHA-256 ${ipOnly.serverFingerprint256}`,
    );
  });

  it('on a self-signed certificate that names the host it is reached by, offers the CA bundle or the pin', async () => {
    const named = await generatePki({ selfSigned: true, hosts: ['localhost'] });
    const local = await serving(named);
    const byName = local.url.replace('127.0.0.1', 'localhost');

    const err = await failure(client({ baseUrl: byName, ca: undefined }).listSessions());
    const withCaBundle = client({ baseUrl: byName, ca: named.serverCert });

    expect(err.message).toBe(
      `TLS: certificate of ${byName} refused (DEPTH_ZERO_SELF_SIGNED_CERT): it is self-signed; give the certificate itself as the CA bundle (caBundleFile; CLI: --ca), or pin it: set pinSha256 (CLI: --pin) to SHA-256 ${named.serverFingerprint256}`,
    );
    expect(await withCaBundle.apiVersion()).toBe('v8');
  });

  it('trusts a self-signed certificate given as the CA bundle', async () => {
    const selfSigned = await generatePki({ selfSigned: true });
    const local = await serving(selfSigned);

    const list = await client({ baseUrl: local.url, ca: selfSigned.serverCert }).listSessions();

    expect(list.malformed).toEqual([]);
  });

  it('accepts the pinned certificate, even under another host name', async () => {
    // The certificate names only the Windows host; the monitor reaches it by IP address.
    const windowsHost = await generatePki({ commonName: 'VB365-PROD', hosts: ['vb365-prod.corp.example'] });
    const local = await serving(windowsHost);
    const unpinned = await failure(client({ baseUrl: local.url, ca: windowsHost.caCert }).apiVersion());

    const api = client({ baseUrl: local.url, ca: windowsHost.caCert, pinSha256: windowsHost.serverFingerprint256 });

    expect(unpinned.message).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID/);
    expect(new URL(local.url).hostname).toBe('127.0.0.1');
    expect(await api.apiVersion()).toBe('v8');
  });

  it('on a host-name mismatch gives the pin with the certificate fingerprint as the fix, not the CA bundle', async () => {
    const windowsHost = await generatePki({ commonName: 'VB365-PROD', hosts: ['vb365-prod.corp.example'] });
    const local = await serving(windowsHost);

    const err = await failure(client({ baseUrl: local.url, ca: windowsHost.caCert }).listSessions());

    expect(err).toBeInstanceOf(UpstreamTlsError);
    expect(err.message).toBe(
      `TLS: certificate of ${local.url} refused (ERR_TLS_CERT_ALTNAME_INVALID): it does not name 127.0.0.1 (it names DNS:vb365-prod.corp.example); to trust it at this address, pin it: set pinSha256 (CLI: --pin) to SHA-256 ${windowsHost.serverFingerprint256} (or use a URL with a name it holds)`,
    );
    expect(local.totalRequests).toBe(0);
  });

  it('refuses a certificate that is not the pinned one, giving its new fingerprint', async () => {
    const err = await failure(client({ pinSha256: 'ab'.repeat(32) }).listSessions());

    expect(err).toBeInstanceOf(UpstreamTlsError);
    expect(err.kind).toBe('tls');
    expect(err.message).toBe(
      `TLS: certificate of ${sim.url} changed: now SHA-256 ${pki.serverFingerprint256}; if it was renewed on purpose, set pinSha256 (CLI: --pin) to it, otherwise find out what answers at 127.0.0.1`,
    );
  });

  it('with a CA bundle and a pin still verifies the chain against the CA', async () => {
    const other = await generatePki({ caName: 'Another CA' });

    const err = await failure(client({ ca: other.caCert, pinSha256: pki.serverFingerprint256 }).listSessions());

    expect(err).toBeInstanceOf(UpstreamTlsError);
    expect(err.message).toMatch(
      /refused \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\): .*or remove the CA bundle to trust the pinned certificate alone$/,
    );
  });

  it.each([
    ['colons, upper case', (fp: string) => fp],
    ['plain hex, lower case', (fp: string) => fp.replace(/:/g, '').toLowerCase()],
  ])('trusts a self-signed certificate by its pin alone (%s)', async (_label, format) => {
    const selfSigned = await generatePki({ selfSigned: true });
    const local = await serving(selfSigned);
    const api = client({ baseUrl: local.url, ca: undefined, pinSha256: format(selfSigned.serverFingerprint256) });

    const list = await api.listSessions();

    expect(list.malformed).toEqual([]);
    expect(api.certificate()?.fingerprint256).toBe(selfSigned.serverFingerprint256);
  });

  it('trusts a certificate of an unknown CA by its pin alone, under another host name too', async () => {
    const windowsHost = await generatePki({ hosts: ['vb365-prod.corp.example'] });
    const local = await serving(windowsHost);

    const api = client({ baseUrl: local.url, ca: undefined, pinSha256: windowsHost.serverFingerprint256 });

    expect(await api.apiVersion()).toBe('v8');
  });

  it('with a pin alone refuses every other certificate before sending a byte', async () => {
    const selfSigned = await generatePki({ selfSigned: true });
    const local = await serving(selfSigned);

    const err = await failure(
      client({ baseUrl: local.url, ca: undefined, pinSha256: pki.serverFingerprint256 }).listSessions(),
    );

    expect(err).toBeInstanceOf(UpstreamTlsError);
    expect(err.message).toContain(`changed: now SHA-256 ${selfSigned.serverFingerprint256}`);
    expect(local.totalRequests).toBe(0);
    expect(local.grants).toEqual([]);
  });

  it('with a pin alone writes not one byte to a server whose certificate is not the pinned one', async () => {
    // A raw TLS listener sees every byte, even an incomplete request; it answers 404 to whatever arrives.
    const selfSigned = await generatePki({ selfSigned: true });
    let bytes = 0;
    const raw = createTlsServer({ key: selfSigned.serverKey, cert: selfSigned.serverCert }, (socket) => {
      socket.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        socket.write('HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n');
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => raw.listen(0, '127.0.0.1', () => r()));
    const baseUrl = `https://127.0.0.1:${(raw.address() as AddressInfo).port}`;

    try {
      const refused = await failure(
        client({ baseUrl, ca: undefined, pinSha256: pki.serverFingerprint256 }).apiVersion(),
      );
      const bytesWhenRefused = bytes;
      const control = await failure(
        client({ baseUrl, ca: undefined, pinSha256: selfSigned.serverFingerprint256 }).apiVersion(),
      );

      expect(refused).toBeInstanceOf(UpstreamTlsError);
      expect(bytesWhenRefused).toBe(0);
      expect(control).toBeInstanceOf(UpstreamUnsupportedError);
      expect(bytes).toBeGreaterThan(0);
    } finally {
      await Promise.all(clients.splice(0).map((c) => c.close()));
      await new Promise<void>((r) => raw.close(() => r()));
    }
  });

  it('with a pin alone refuses the pinned certificate once it has expired, saying when', async () => {
    const expired = await generatePki({
      selfSigned: true,
      notBefore: new Date(Date.now() - 10 * 86_400_000),
      validDays: 1,
    });
    const local = await serving(expired);
    const validTo = new Date(new X509Certificate(expired.serverCert).validTo).toISOString();

    const err = await failure(
      client({ baseUrl: local.url, ca: undefined, pinSha256: expired.serverFingerprint256 }).listSessions(),
    );

    expect(err).toBeInstanceOf(UpstreamTlsError);
    expect(err.message).toMatch(
      new RegExp(`refused \\(CERT_HAS_EXPIRED\\): it expired on ${validTo.replace(/\./g, '\\.')}; renew it`),
    );
    expect(local.totalRequests).toBe(0);
  });

  it('refuses an expired certificate and a certificate not valid yet, saying when', async () => {
    const expired = await generatePki({ notBefore: new Date(Date.now() - 10 * 86_400_000), validDays: 1 });
    const future = await generatePki({ notBefore: new Date(Date.now() + 86_400_000) });
    const old = await serving(expired);
    const early = await serving(future);

    const errOld = await failure(client({ baseUrl: old.url, ca: expired.caCert }).listSessions());
    const errEarly = await failure(client({ baseUrl: early.url, ca: future.caCert }).listSessions());

    expect(errOld).toBeInstanceOf(UpstreamTlsError);
    expect(errOld.message).toContain(
      `(CERT_HAS_EXPIRED): it expired on ${new Date(new X509Certificate(expired.serverCert).validTo).toISOString()}`,
    );
    expect(errEarly).toBeInstanceOf(UpstreamTlsError);
    expect(errEarly.message).toContain(
      `(CERT_NOT_YET_VALID): it is not valid before ${new Date(new X509Certificate(future.serverCert).validFrom).toISOString()}`,
    );
  });

  describe('with NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment', () => {
    let saved: string | undefined;
    beforeEach(() => {
      saved = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    });
    afterEach(() => {
      if (saved === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      else process.env.NODE_TLS_REJECT_UNAUTHORIZED = saved;
    });

    it.each<[string, () => Promise<Partial<HttpVb365ApiOptions>>]>([
      ['an unknown CA', async () => ({ ca: undefined })],
      ['another CA', async () => ({ ca: (await generatePki({ caName: 'Another CA' })).caCert })],
      ['a wrong pin with the CA', async () => ({ pinSha256: 'ab'.repeat(32) })],
      ['a wrong pin alone', async () => ({ ca: undefined, pinSha256: 'ab'.repeat(32) })],
    ])('still refuses %s, and no request (let alone a credential) reaches the server', async (_label, options) => {
      const err = await failure(client(await options()).listSessions());

      expect(err).toBeInstanceOf(UpstreamTlsError);
      expect(sim.totalRequests).toBe(0);
      expect(sim.grants).toEqual([]);
    });
  });

  it('rejects a plain-http URL at construction, unless it is a loopback address explicitly allowed', () => {
    expect(() => client({ baseUrl: `http://127.0.0.1:${sim.port}` })).toThrow(/must use https/);
    expect(() => client({ baseUrl: 'http://vb365.example:4443', allowHttpLoopback: true })).toThrow(/must use https/);
    expect(() => client({ baseUrl: `http://127.0.0.1:${sim.port}`, allowHttpLoopback: true })).not.toThrow();
  });

  it.each(['pa/ss', 'p#ss', 'p?ss', 'p@ss', '1234/x'])(
    'refuses a URL with a password holding %j at construction, never showing the password or the user name',
    (password) => {
      const url = `https://admin:${password}@vb:4443`;
      let message = '';
      try {
        client({ baseUrl: url });
      } catch (err) {
        message = (err as Error).message;
      }

      expect(message).toMatch(/^VB365 server URL "?https:\/\/\*\*\*@vb:4443"? /);
      for (let i = 0; i + 4 <= password.length; i++) expect(message).not.toContain(password.slice(i, i + 4));
      expect(message).not.toContain('admin');
    },
  );

  it('refuses a pin that is not a SHA-256 fingerprint at construction', () => {
    expect(() => client({ pinSha256: 'ab'.repeat(20) })).toThrow(/SHA-256 fingerprint: 64 hex digits/);
  });

  it('reports the server certificate it verified (for the expiry warning), none before a connection', async () => {
    const shortLived = await generatePki({ validDays: 5 });
    const local = await serving(shortLived);
    const api = client({ baseUrl: local.url, ca: shortLived.caCert });
    const before = api.certificate();
    await api.apiVersion();
    const cert = api.certificate();

    expect(before).toBeUndefined();
    expect(cert?.fingerprint256).toBe(shortLived.serverFingerprint256);
    expect(Date.parse(cert?.validTo ?? '') - Date.now()).toBeGreaterThan(4 * 86_400_000);
    expect(Date.parse(cert?.validTo ?? '') - Date.now()).toBeLessThan(5 * 86_400_000);
    expect(cert?.subject).toMatch(/^CN=/);
  });

  it('records no certificate that failed verification', async () => {
    const api = client({ pinSha256: 'ab'.repeat(32) });
    await failure(api.listSessions());

    expect(api.certificate()).toBeUndefined();
  });
});

describe('HttpVb365Api — secrets', () => {
  it('never shows the password or a token in any error, message, stack or cause', async () => {
    const errors: unknown[] = [];
    const collect = async (p: Promise<unknown>) => errors.push(await failure(p));
    const api = client({ maxRetries: 0 });
    await api.listSessions();
    // The server echoes the password back in an error description.
    sim.revokeTokens({ refresh: true });
    sim.inject({
      route: 'token',
      times: Number.POSITIVE_INFINITY,
      fault: {
        kind: 'status',
        status: 400,
        body: JSON.stringify({ error: 'invalid_grant', error_description: `bad password ${sim.password}` }),
      },
    });
    await collect(api.listSessions());
    sim.clearFaults();
    // A token endpoint that fails in a way that echoes the client's own access and refresh tokens.
    sim.inject({
      route: 'token',
      fault: { kind: 'status', status: 500, body: JSON.stringify({ message: sim.issuedTokens().join(' ') }) },
    });
    await collect(api.listSessions());
    sim.inject({ route: 'listSessions', fault: { kind: 'unauthorized' }, times: Number.POSITIVE_INFINITY });
    await collect(client().listSessions());
    sim.clearFaults();
    sim.inject({ route: 'listSessions', fault: { kind: 'reset' }, times: Number.POSITIVE_INFINITY });
    await collect(api.listSessions());
    sim.password = 'Wrong-But-Long-Password';
    await collect(client({ credentials: () => ({ username: 'x', password: 'Sim-Password-0123' }) }).listSessions());

    const secrets = [sim.password, 'Sim-Password-0123', ...sim.issuedTokens()];
    expect(errors).toHaveLength(5);
    for (const err of errors) {
      const rendered = [
        inspect(err, { depth: 20, showHidden: true }),
        JSON.stringify(err),
        String((err as Error).stack),
        JSON.stringify(serializeChain(err)),
      ].join('\n');
      for (const secret of secrets) expect(rendered).not.toContain(secret);
    }
    expect(errors.map((e) => (e as Error).name)).toEqual([
      'UpstreamAuthError',
      'UpstreamUnreachableError',
      'UpstreamAuthError',
      'UpstreamUnreachableError',
      'UpstreamAuthError',
    ]);
  });
});

function serializeChain(err: unknown): unknown[] {
  const out: unknown[] = [];
  let e: unknown = err;
  while (e instanceof Error) {
    out.push({ ...e, message: e.message, stack: e.stack, name: e.name });
    e = e.cause;
  }
  return out;
}

async function fetchToken(antiforgery: boolean): Promise<string> {
  const { request, Agent } = await import('undici');
  const dispatcher = new Agent({ connect: { ca: pki.caCert } });
  const params: Record<string, string> = { grant_type: 'password', username: sim.username, password: sim.password };
  if (antiforgery) params.disable_antiforgery_token = 'true';
  const res = await request(`${sim.url}/v8/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(params).toString(),
    dispatcher,
  });
  const json = (await res.body.json()) as { access_token: string };
  await dispatcher.close();
  return json.access_token;
}

async function rawGet(path: string, token: string): Promise<number> {
  const { request, Agent } = await import('undici');
  const dispatcher = new Agent({ connect: { ca: pki.caCert } });
  const res = await request(`${sim.url}${path}`, { headers: { authorization: `Bearer ${token}` }, dispatcher });
  await res.body.dump();
  await dispatcher.close();
  return res.statusCode;
}
