import { describe, expect, it } from 'vitest';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import type { CycleResult } from '../../lambda/domain/lifecycle.js';
import { DEFAULT_POLICY, type Policy } from '../../lambda/domain/policy.js';
import {
  CACHE_RENEW_MS,
  noteAvailability,
  RECENT_MS,
  type ScanReads,
  shouldRead,
  UNAVAILABLE_RETRY_MS,
  withScan,
} from '../../lambda/domain/scan.js';
import { INITIAL_SERVER, type RepositoryRecord, type ServerRecord } from '../../lambda/domain/state.js';
import type { HealthReport, Optional, ProxyInfo, RepositoryInfo } from '../../lambda/domain/types.js';

const T0 = Date.parse('2026-11-28T10:00:00Z');
const SERVER = { id: 'srv', name: 'Contoso VB365', url: 'https://vb365.contoso.local:4443' };
const READY: ServerRecord = { ...INITIAL_SERVER, initialized: true, sequence: 4 };
const POLICY: Policy = { ...DEFAULT_POLICY, outOfSyncAfterMs: 30 * 60_000 };
const at = (minutes: number) => new Date(T0 + minutes * 60_000);
const iso = (minutes: number) => at(minutes).toISOString();

function repo(id: string, overrides: Partial<RepositoryInfo> = {}): RepositoryInfo {
  return { id, name: `Repo ${id}`, isOutOfSync: false, ...overrides };
}

function proxy(id: string, status: string | null, maintenanceModeState: string | null = 'Disabled'): ProxyInfo {
  return { id, name: `${id}.contoso.local`, status, maintenanceModeState, version: null };
}

const available = <T>(value: T): Optional<T> => ({ available: true, value });
const UNAVAILABLE = { available: false, reason: 'GET /v6/Proxies answered 404' } as const;

function resultOf(server: ServerRecord): CycleResult {
  return { server, serverEvents: [], sessions: [], learnedNames: [], baseline: false };
}

function scanOnce(
  server: ServerRecord,
  reads: Partial<ScanReads>,
  minutes: number,
  cache: readonly RepositoryRecord[] = [],
  policy: Policy = POLICY,
) {
  return withScan(
    resultOf(server),
    { repositories: [], ...reads },
    { now: at(minutes), server: SERVER, policy, cache },
  );
}

/** Scans one after another (the record carried over), returning every event as `<minute>: <type> <subject>`. */
function scans(steps: readonly [number, Partial<ScanReads>][], line: (e: MonitorEvent) => string) {
  let server = READY;
  const seen: string[] = [];
  for (const [minutes, reads] of steps) {
    const { result } = scanOnce(server, reads, minutes);
    server = result.server;
    for (const e of result.serverEvents) seen.push(`${minutes}: ${e.type} ${line(e)}`);
  }
  return { seen, server };
}

const blockerLine = (e: MonitorEvent) => `${e.blocker?.id}/${e.blocker?.kind} ${e.blocker?.reason}`;
const proxyLine = (e: MonitorEvent) => `${e.proxy?.id} ${e.proxy?.state} since ${e.proxy?.since}`;

describe('withScan — repository blockers', () => {
  const outdated = repo('r1', { isOutdated: true });
  const invalid = (reason: string | null) => repo('r1', { isOutOfOrder: true, outOfOrderReason: reason });
  const locked = repo('r1', { isMigrationLocked: true });
  const clear = repo('r1');

  it.each<[string, [number, RepositoryInfo[]][], string[]]>([
    [
      'an outdated repository, after the delay',
      [
        [0, [outdated]],
        [29, [outdated]],
        [30, [outdated]],
        [45, [outdated]],
      ],
      ['30: repository.blocked r1/outdated null'],
    ],
    [
      'one that clears before the delay: nothing',
      [
        [0, [locked]],
        [20, [clear]],
        [60, [clear]],
      ],
      [],
    ],
    [
      'an invalid one whose reason changes: again, once',
      [
        [0, [invalid('disk full')]],
        [30, [invalid('disk full')]],
        [45, [invalid('lost index')]],
        [60, [invalid('lost index')]],
      ],
      ['30: repository.blocked r1/out_of_order disk full', '45: repository.blocked r1/out_of_order lost index'],
    ],
    [
      'a reason that changes before the first alert: alerted once, with the new reason',
      [
        [0, [invalid('disk full')]],
        [15, [invalid('lost index')]],
        [30, [invalid('lost index')]],
      ],
      ['30: repository.blocked r1/out_of_order lost index'],
    ],
    [
      'a migration lock that clears',
      [
        [0, [locked]],
        [30, [locked]],
        [50, [clear]],
        [60, [clear]],
      ],
      ['30: repository.blocked r1/migration_locked null', '50: repository.unblocked r1/migration_locked null'],
    ],
    [
      'a blocked repository that is gone',
      [
        [0, [outdated]],
        [30, [outdated]],
        [40, []],
      ],
      ['30: repository.blocked r1/outdated null', '40: repository.unblocked r1/outdated null'],
    ],
    [
      'several blockers of one repository, each on its own',
      [
        [0, [repo('r1', { isOutdated: true, isMigrationLocked: true })]],
        [30, [repo('r1', { isOutdated: true, isMigrationLocked: true })]],
        [35, [outdated]],
      ],
      [
        '30: repository.blocked r1/outdated null',
        '30: repository.blocked r1/migration_locked null',
        '35: repository.unblocked r1/migration_locked null',
      ],
    ],
  ])('%s', (_label, steps, expected) => {
    const { seen } = scans(
      steps.map(([m, repositories]) => [m, { repositories }]),
      blockerLine,
    );

    expect(seen).toEqual(expected);
  });

  it('carries the repository, the start and the duration, numbered from the record sequence', () => {
    const first = scanOnce(READY, { repositories: [invalid('Repository is out of order')] }, 0).result.server;

    const { result } = scanOnce(first, { repositories: [invalid('Repository is out of order')] }, 30);

    expect(result.serverEvents).toEqual([
      {
        schemaVersion: 1,
        eventId: 'srv/server/5/repository.blocked',
        type: 'repository.blocked',
        severity: 'warning',
        occurredAt: iso(30),
        server: SERVER,
        blocker: {
          id: 'r1',
          name: 'Repo r1',
          kind: 'out_of_order',
          reason: 'Repository is out of order',
          since: iso(0),
          seconds: 1800,
        },
      },
    ]);
    expect(result.server.blockers).toEqual({
      'r1/out_of_order': {
        repositoryId: 'r1',
        kind: 'out_of_order',
        name: 'Repo r1',
        reason: 'Repository is out of order',
        since: iso(0),
        alerted: true,
      },
    });
  });

  it('keeps no blockers field once every blocker cleared', () => {
    const { server } = scans(
      [
        [0, { repositories: [outdated] }],
        [30, { repositories: [outdated] }],
        [40, { repositories: [clear] }],
      ],
      blockerLine,
    );

    expect(server).not.toHaveProperty('blockers');
  });
});

describe('withScan — proxies', () => {
  const served = [
    repo('r2', { name: 'Zeta', proxyId: 'P1' }),
    repo('r1', { name: 'Alpha', proxyId: 'p1' }),
    repo('r3', { name: 'Other', proxyId: 'p2' }),
  ];
  const with_ = (...proxies: ProxyInfo[]): Partial<ScanReads> => ({
    repositories: served,
    proxies: available(proxies),
  });

  it.each<[string, [number, Partial<ScanReads>][], string[]]>([
    [
      'offline after the delay, then online',
      [
        [0, with_(proxy('p1', 'Offline'))],
        [29, with_(proxy('p1', 'Offline'))],
        [30, with_(proxy('p1', 'Offline'))],
        [35, with_(proxy('p1', 'Online'))],
      ],
      [`30: proxy.offline p1 offline since ${iso(0)}`, `35: proxy.online p1 offline since ${iso(0)}`],
    ],
    [
      'maintenance (Enabling counts), then offline: again, the outage keeps its start',
      [
        [0, with_(proxy('p1', 'Online', 'Enabling'))],
        [30, with_(proxy('p1', 'Online', 'Enabled'))],
        [40, with_(proxy('p1', 'Offline', 'Enabled'))],
        [45, with_(proxy('p1', 'Offline'))],
      ],
      [`30: proxy.maintenance p1 maintenance since ${iso(0)}`, `40: proxy.offline p1 offline since ${iso(0)}`],
    ],
    [
      'offline for less than the delay: nothing',
      [
        [0, with_(proxy('p1', 'Offline'))],
        [20, with_(proxy('p1', 'Online'))],
        [60, with_()],
      ],
      [],
    ],
    [
      'an alerted proxy that is gone: online',
      [
        [0, with_(proxy('p1', 'offline'))],
        [30, with_(proxy('p1', 'offline'))],
        [35, with_()],
      ],
      [`30: proxy.offline p1 offline since ${iso(0)}`, `35: proxy.online p1 offline since ${iso(0)}`],
    ],
    [
      'a proxy read that is unavailable, or not tried, clears nothing',
      [
        [0, with_(proxy('p1', 'Offline'))],
        [30, with_(proxy('p1', 'Offline'))],
        [35, { repositories: served, proxies: UNAVAILABLE }],
        [40, { repositories: served }],
        [45, with_(proxy('p1', 'Online'))],
      ],
      [`30: proxy.offline p1 offline since ${iso(0)}`, `45: proxy.online p1 offline since ${iso(0)}`],
    ],
  ])('%s', (_label, steps, expected) => {
    expect(scans(steps, proxyLine).seen).toEqual(expected);
  });

  it('names the repositories the proxy serves (its id in any case), by name, with their count', () => {
    const first = scanOnce(READY, with_(proxy('p1', 'Offline', null)), 0).result.server;

    const { result } = scanOnce(first, with_(proxy('p1', 'Offline', null)), 30);

    expect(result.serverEvents.map((e) => e.proxy)).toEqual([
      {
        id: 'p1',
        name: 'p1.contoso.local',
        state: 'offline',
        status: 'Offline',
        maintenanceModeState: null,
        since: iso(0),
        seconds: 1800,
        repositories: [
          { id: 'r1', name: 'Alpha' },
          { id: 'r2', name: 'Zeta' },
        ],
        totalRepositories: 2,
      },
    ]);
    expect(result.serverEvents[0]).toMatchObject({ type: 'proxy.offline', severity: 'warning' });
  });
});

describe('withScan — proxy.online', () => {
  it('says what the proxy was (its state, since when) and what the server says of it now (its status)', () => {
    const reads = (p: ProxyInfo): Partial<ScanReads> => ({ proxies: available([p]) });
    let server = READY;
    for (const [minutes, p] of [
      [0, proxy('p1', 'Offline', 'Disabled')],
      [30, proxy('p1', 'Offline', 'Disabled')],
    ] as const)
      server = scanOnce(server, reads(p), minutes).result.server;

    const back = scanOnce(server, reads(proxy('p1', 'Online', 'Disabled')), 45).result.serverEvents[0];

    expect(back?.type).toBe('proxy.online');
    expect(back?.proxy).toMatchObject({
      state: 'offline',
      status: 'Online',
      maintenanceModeState: 'Disabled',
      since: iso(0),
      seconds: 45 * 60,
    });
  });
});

describe('withScan — health check', () => {
  const unhealthy: HealthReport = {
    status: 'Unhealthy',
    entries: [
      { name: 'PostgreSQL', status: 'Unhealthy', description: 'Failed to connect to 127.0.0.1:5432' },
      { name: 'NATS', status: 'Healthy', description: null },
    ],
  };
  const healthy: HealthReport = {
    status: 'Healthy',
    entries: [{ name: 'PostgreSQL', status: 'Healthy', description: null }],
  };

  it('reports an unhealthy server at once and once, and healthy again with what failed and for how long', () => {
    const { seen, server } = scans(
      [
        [0, { health: available(unhealthy) }],
        [5, { health: available(unhealthy) }],
        [10, { health: { available: false, reason: 'v7 has no /Health' } }],
        [15, {}],
        [20, { health: available(healthy) }],
        [25, { health: available(healthy) }],
      ],
      (e) => JSON.stringify(e.health),
    );

    const failing = [{ name: 'PostgreSQL', status: 'Unhealthy', description: 'Failed to connect to 127.0.0.1:5432' }];
    expect(seen).toEqual([
      `0: server.unhealthy ${JSON.stringify({ status: 'Unhealthy', entries: failing, since: iso(0), seconds: 0 })}`,
      `20: server.healthy ${JSON.stringify({ status: 'Healthy', entries: failing, since: iso(0), seconds: 1200 })}`,
    ]);
    expect(server).not.toHaveProperty('unhealthy');
  });

  it('keeps the unhealthy state in the record while it lasts', () => {
    const { result } = scanOnce(READY, { health: available(unhealthy) }, 0);

    expect(result.server.unhealthy).toEqual({
      status: 'Unhealthy',
      entries: [unhealthy.entries[0]],
      since: iso(0),
    });
    expect(result.serverEvents[0]).toMatchObject({ type: 'server.unhealthy', severity: 'critical' });
  });
});

describe('withScan — the product build', () => {
  const build = (version: string | null): Partial<ScanReads> => ({ build: available({ version }) });

  it.each<[string, ServerRecord, Partial<ScanReads>, Partial<ServerRecord>]>([
    ['the first build seen is no upgrade', READY, build('8.1.0.305'), { build: '8.1.0.305' }],
    [
      'a changed build is an upgrade, and unavailable reads are tried again',
      { ...READY, build: '8.0.5.20', unavailable: { proxies: { reason: '404', at: iso(-60) } } },
      build('8.1.0.305'),
      { build: '8.1.0.305', upgrade: { from: '8.0.5.20', to: '8.1.0.305', at: iso(0) } },
    ],
    [
      'the same build keeps the unavailable reads',
      { ...READY, build: '8.1.0.305', unavailable: { proxies: { reason: '404', at: iso(-60) } } },
      build('8.1.0.305'),
      { build: '8.1.0.305', unavailable: { proxies: { reason: '404', at: iso(-60) } } },
    ],
    ['a build not said changes nothing', { ...READY, build: '8.1.0.305' }, build(null), { build: '8.1.0.305' }],
    [
      'an unavailable build read changes nothing',
      { ...READY, build: '8.1.0.305' },
      { build: { available: false, reason: '403' } },
      { build: '8.1.0.305' },
    ],
  ])('%s', (_label, server, reads, expected) => {
    const { result } = scanOnce(server, reads, 0);

    const { build: b, upgrade, unavailable } = result.server;
    expect({ build: b, upgrade, unavailable }).toEqual({ upgrade: undefined, unavailable: undefined, ...expected });
    expect(result.serverEvents).toEqual([]);
  });

  it.each([
    ['kept a day', RECENT_MS, true],
    ['dropped after a day', RECENT_MS + 1, false],
  ])('an upgrade is %s', (_label, afterMs, kept) => {
    const upgrade = { from: '8.0.5.20', to: '8.1.0.305', at: iso(0) };
    const server: ServerRecord = { ...READY, build: '8.1.0.305', upgrade };

    const { result } = scanOnce(server, build('8.1.0.305'), afterMs / 60_000);

    expect(result.server.upgrade).toEqual(kept ? upgrade : undefined);
  });
});

describe('withScan — the repository cache', () => {
  const known: ServerRecord = { ...READY, repositoriesKnown: true };

  it('fills the cache silently on the first scan (nothing is new) and says the cache is known', () => {
    const { result, learned } = scanOnce(
      READY,
      { repositories: [repo('r1', { proxyId: 'p1', organizationId: 'o1' }), repo('r2')] },
      0,
    );

    expect(learned).toEqual([
      { id: 'r1', name: 'Repo r1', proxyId: 'p1', organizationId: 'o1', seenAt: iso(0) },
      { id: 'r2', name: 'Repo r2', proxyId: null, organizationId: null, seenAt: iso(0) },
    ]);
    expect(result.server.repositoriesKnown).toBe(true);
  });

  it.each<[string, RepositoryRecord[], RepositoryInfo, number, RepositoryRecord[]]>([
    [
      'a known, recently stored repository: nothing',
      [{ id: 'r1', name: 'Repo r1', proxyId: null, organizationId: null, seenAt: iso(0) }],
      repo('r1'),
      60,
      [],
    ],
    [
      'a repository missing from the cache is new',
      [],
      repo('r9'),
      60,
      [{ id: 'r9', name: 'Repo r9', proxyId: null, organizationId: null, addedAt: iso(60), seenAt: iso(60) }],
    ],
    [
      'a repository only a session lookup cached (no scan stored it) is new',
      [{ id: 'r9', name: 'Repo r9' }],
      repo('r9', { proxyId: 'p1' }),
      60,
      [{ id: 'r9', name: 'Repo r9', proxyId: 'p1', organizationId: null, addedAt: iso(60), seenAt: iso(60) }],
    ],
    [
      'an entry stored long ago is renewed (keeping when it was added)',
      [{ id: 'r1', name: 'Repo r1', proxyId: null, organizationId: null, addedAt: iso(0), seenAt: iso(0) }],
      repo('r1'),
      CACHE_RENEW_MS / 60_000,
      [
        {
          id: 'r1',
          name: 'Repo r1',
          proxyId: null,
          organizationId: null,
          addedAt: iso(0),
          seenAt: iso(CACHE_RENEW_MS / 60_000),
        },
      ],
    ],
    [
      'an entry not yet due for renewal stays',
      [{ id: 'r1', name: 'Repo r1', proxyId: null, organizationId: null, seenAt: iso(0) }],
      repo('r1'),
      CACHE_RENEW_MS / 60_000 - 1,
      [],
    ],
    [
      'a renamed repository, moved to another proxy, keeps its organization name',
      [{ id: 'r1', name: 'Old', proxyId: 'p1', organizationId: 'o1', organizationName: 'Contoso', seenAt: iso(0) }],
      repo('r1', { name: 'New', proxyId: 'p2', organizationId: 'o1' }),
      60,
      [{ id: 'r1', name: 'New', proxyId: 'p2', organizationId: 'o1', organizationName: 'Contoso', seenAt: iso(60) }],
    ],
    [
      'a repository moved to another organization loses the old name',
      [{ id: 'r1', name: 'Repo r1', proxyId: null, organizationId: 'o1', organizationName: 'Contoso', seenAt: iso(0) }],
      repo('r1', { organizationId: 'o2' }),
      60,
      [{ id: 'r1', name: 'Repo r1', proxyId: null, organizationId: 'o2', seenAt: iso(60) }],
    ],
  ])('%s', (_label, cache, listed, minutes, expected) => {
    // Two more repositories the scans stored a moment ago: the cache is filled, as on a server monitored for a while.
    const others = ['k1', 'k2'].map((id) => ({ id, name: `Repo ${id}`, proxyId: null, organizationId: null }));
    const stored = others.map((r) => ({ ...r, seenAt: iso(minutes - 1) }));
    const { learned } = scanOnce(known, { repositories: [listed, ...others.map((r) => repo(r.id))] }, minutes, [
      ...cache,
      ...stored,
    ]);

    expect(learned).toEqual(expected);
  });
});

it('takes no repository for a new one while most of the list is missing from the cache (its write failed)', () => {
  const known: ServerRecord = { ...READY, repositoriesKnown: true };
  const { learned } = scanOnce(known, { repositories: [repo('r1'), repo('r2'), repo('r3')] }, 60, [
    { id: 'r1', name: 'Repo r1', proxyId: null, organizationId: null, seenAt: iso(0) },
  ]);

  expect(learned.map((r) => [r.id, r.addedAt])).toEqual([
    ['r2', undefined],
    ['r3', undefined],
  ]);
});

describe('shouldRead and noteAvailability', () => {
  const off = (minutes: number) => ({ reason: 'GET /v7/Health answered 404', at: iso(minutes) });

  it.each<[string, ServerRecord | undefined, number, boolean]>([
    ['a new server', undefined, 0, true],
    ['a read never found unavailable', READY, 0, true],
    [
      'within a day of finding it unavailable',
      { ...READY, unavailable: { health: off(0) } },
      UNAVAILABLE_RETRY_MS / 60_000 - 1,
      false,
    ],
    ['a day after', { ...READY, unavailable: { health: off(0) } }, UNAVAILABLE_RETRY_MS / 60_000, true],
    ['another read unavailable', { ...READY, unavailable: { proxies: off(0) } }, 1, true],
  ])('shouldRead: %s', (_label, server, minutes, expected) => {
    expect(shouldRead(server, 'health', at(minutes))).toBe(expected);
  });

  it('reports a read found unavailable once, renews its time when tried again, and forgets it once it answers', () => {
    const first = noteAvailability(
      READY,
      { health: { available: false, reason: '404' }, proxies: available([]) },
      at(0),
    );
    const again = noteAvailability(first.server, { health: { available: false, reason: '405' } }, at(1440));
    const back = noteAvailability(again.server, { health: available({ status: 'Healthy', entries: [] }) }, at(2880));

    expect(first.newlyUnavailable).toEqual([{ read: 'health', reason: '404' }]);
    expect(first.server.unavailable).toEqual({ health: { reason: '404', at: iso(0) } });
    expect(again.newlyUnavailable).toEqual([]);
    expect(again.server.unavailable).toEqual({ health: { reason: '405', at: iso(1440) } });
    expect(back.newlyUnavailable).toEqual([]);
    expect(back.server).not.toHaveProperty('unavailable');
  });

  it('leaves a read not tried this cycle as it was', () => {
    const server: ServerRecord = { ...READY, unavailable: { organizations: off(0) } };

    const noted = noteAvailability(server, { proxies: available([]) }, at(5));

    expect(noted).toEqual({ server, newlyUnavailable: [] });
  });
});
