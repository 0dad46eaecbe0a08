import { describe, expect, it } from 'vitest';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import type { CycleResult } from '../../lambda/domain/lifecycle.js';
import { namedOrganizations, organizationsToName, withOrganizations } from '../../lambda/domain/organizations.js';
import { INITIAL_SERVER, type RepositoryRecord } from '../../lambda/domain/state.js';

const NOW = '2026-11-28T10:00:00.000Z';
const SERVER = { id: 'srv', name: 'Contoso VB365', url: 'https://vb365.contoso.local:4443' };

function event(type: MonitorEvent['type'], about: Partial<MonitorEvent>): MonitorEvent {
  return {
    schemaVersion: 1,
    eventId: `srv/x/1/${type}`,
    type,
    severity: 'info',
    occurredAt: NOW,
    server: SERVER,
    ...about,
  };
}

const sessionAbout = (repositoryId: string | null) =>
  ({
    session: {
      id: 's1',
      repositoryId,
      repositoryName: null,
      state: 'Synchronizing',
      previousState: null,
      progressPercent: 0,
      error: null,
      firstSeenAt: NOW,
      finishedAt: null,
      durationSeconds: 0,
      completionConfirmed: null,
      milestone: null,
    },
  }) satisfies Partial<MonitorEvent>;

const EVENTS: Record<string, MonitorEvent> = {
  session: event('sync.started', sessionAbout('r1')),
  outOfSync: event('repository.out_of_sync', {
    repository: { id: 'r1', name: 'Repo r1', outOfSyncSince: NOW, outOfSyncSeconds: 0 },
  }),
  blocker: event('repository.blocked', {
    blocker: { id: 'r1', name: 'Repo r1', kind: 'outdated', reason: null, since: NOW, seconds: 0 },
  }),
  firstBackup: event('repository.first_backup_ok', {
    firstBackup: { repositoryId: 'r1', repositoryName: 'Repo r1', syncCompletedAt: NOW, jobs: [], total: 0 },
  }),
  proxy: event('proxy.offline', {
    proxy: {
      id: 'p1',
      name: 'proxy01',
      state: 'offline',
      status: 'Offline',
      maintenanceModeState: null,
      since: NOW,
      seconds: 0,
      repositories: [{ id: 'r1', name: 'Repo r1' }],
      totalRepositories: 1,
    },
  }),
  unknownRepository: event('sync.started', sessionAbout(null)),
  server: event('server.unhealthy', {}),
};

function resultOf(...events: MonitorEvent[]): CycleResult {
  const [session, ...server] = events;
  return {
    server: { ...INITIAL_SERVER, initialized: true },
    serverEvents: server,
    sessions: session === undefined ? [] : [{ record: { id: 's1' } as never, events: [session] }],
    learnedNames: [],
    baseline: false,
  };
}

const cache = (...records: RepositoryRecord[]) => new Map(records.map((r) => [r.id, r]));
const tenant: RepositoryRecord = { id: 'r1', name: 'Repo r1', organizationId: 'o1', organizationName: 'Contoso' };

describe('withOrganizations', () => {
  it.each<[string, MonitorEvent, { id: string; name: string | null } | undefined]>([
    ['a sync event', EVENTS.session as MonitorEvent, { id: 'o1', name: 'Contoso' }],
    ['an out-of-sync repository', EVENTS.outOfSync as MonitorEvent, { id: 'o1', name: 'Contoso' }],
    ['a blocked repository', EVENTS.blocker as MonitorEvent, { id: 'o1', name: 'Contoso' }],
    ['a first backup', EVENTS.firstBackup as MonitorEvent, { id: 'o1', name: 'Contoso' }],
    ['a proxy event (about several repositories): none', EVENTS.proxy as MonitorEvent, undefined],
    ['a session of an unknown repository: none', EVENTS.unknownRepository as MonitorEvent, undefined],
    ['a server event: none', EVENTS.server as MonitorEvent, undefined],
  ])('%s', (_label, e, expected) => {
    const result = withOrganizations(resultOf(e), cache(tenant));

    expect(result.sessions[0]?.events[0]?.organization).toEqual(expected);
  });

  it.each<[string, RepositoryRecord, { id: string; name: string | null } | undefined]>([
    ['a repository with no organization: none', { id: 'r1', name: 'Repo r1', organizationId: null }, undefined],
    [
      'an organization not named yet: its id, no name',
      { id: 'r1', name: 'Repo r1', organizationId: 'o1' },
      { id: 'o1', name: null },
    ],
  ])('%s', (_label, record, expected) => {
    const result = withOrganizations(resultOf(EVENTS.session as MonitorEvent), cache(record));

    expect(result.sessions[0]?.events[0]?.organization).toEqual(expected);
  });

  it('annotates server events about one repository as well', () => {
    const result = withOrganizations(
      resultOf(EVENTS.session as MonitorEvent, EVENTS.blocker as MonitorEvent, EVENTS.proxy as MonitorEvent),
      cache(tenant),
    );

    expect(result.serverEvents.map((e) => e.organization?.name)).toEqual(['Contoso', undefined]);
  });
});

describe('withOrganizations: what a tenant sees of the server', () => {
  it("keeps the health check's error texts off a tenant's event (the component and status stay), not off others", () => {
    const cause = [
      {
        kind: 'unhealthy' as const,
        entries: [{ name: 'PostgreSQL', status: 'Unhealthy', description: 'pg_hba.conf rejects 10.0.4.7' }],
      },
      { kind: 'upgrade' as const, from: '8.0', to: '8.1', at: '2026-11-28T09:00:00.000Z' },
    ];
    const tenantEvent = { ...(EVENTS.session as MonitorEvent), cause };
    const mspEvent = { ...(EVENTS.unknownRepository as MonitorEvent), cause };

    const result = withOrganizations(resultOf(tenantEvent, mspEvent), cache(tenant));
    const forTenant = result.sessions[0]?.events[0];
    const forMsp = result.serverEvents[0];

    expect(forTenant?.cause).toEqual([
      { kind: 'unhealthy', entries: [{ name: 'PostgreSQL', status: 'Unhealthy', description: null }] },
      cause[1],
    ]);
    expect(forMsp?.cause).toEqual(cause);
  });
});

describe('organizationsToName and namedOrganizations', () => {
  it('asks for the organizations that events name and the cache cannot', () => {
    const repositories = cache(
      { id: 'r1', name: 'Repo r1', organizationId: 'o1' },
      { id: 'r2', name: 'Repo r2', organizationId: 'o2', organizationName: 'Fabrikam' },
      { id: 'r3', name: 'Repo r3', organizationId: 'o3' },
    );
    const r2 = event('repository.blocked', {
      blocker: { id: 'r2', name: null, kind: 'outdated', reason: null, since: NOW, seconds: 0 },
    });
    const proxy = EVENTS.proxy as MonitorEvent;
    const proxyOfR3: MonitorEvent = {
      ...proxy,
      proxy: { ...(proxy.proxy as NonNullable<MonitorEvent['proxy']>), repositories: [{ id: 'r3', name: null }] },
    };

    expect(organizationsToName(resultOf(EVENTS.session as MonitorEvent, r2, proxyOfR3), repositories)).toEqual(['o1']);
    expect(organizationsToName(resultOf(), repositories)).toEqual([]);
  });

  it('names every cached repository whose organization name was missing, and only those', () => {
    const repositories = cache(
      { id: 'r1', name: 'Repo r1', organizationId: 'O1' },
      { id: 'r2', name: 'Repo r2', organizationId: 'o1', organizationName: 'Old name' },
      { id: 'r3', name: 'Repo r3', organizationId: 'o9' },
      { id: 'r4', name: 'Repo r4', organizationId: null },
    );

    expect(namedOrganizations(repositories, [{ id: 'o1', name: 'Contoso' }])).toEqual([
      { id: 'r1', name: 'Repo r1', organizationId: 'O1', organizationName: 'Contoso' },
    ]);
  });
});
