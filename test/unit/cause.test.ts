import { describe, expect, it } from 'vitest';
import { needsCause, withCauses } from '../../lambda/domain/cause.js';
import type { CauseFinding } from '../../lambda/domain/contract-repository.js';
import type { IncidentRef, MonitorEvent } from '../../lambda/domain/events.js';
import type { CycleResult } from '../../lambda/domain/lifecycle.js';
import { RECENT_MS } from '../../lambda/domain/scan.js';
import { INITIAL_SERVER, type RepositoryRecord, type ServerRecord } from '../../lambda/domain/state.js';
import type { HealthReport } from '../../lambda/domain/types.js';

const NOW = new Date('2026-11-28T10:00:00Z');
const SERVER = { id: 'srv', name: 'Contoso VB365', url: 'https://vb365.contoso.local:4443' };
const READY: ServerRecord = { ...INITIAL_SERVER, initialized: true };
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();

function incident(overrides: Partial<IncidentRef> = {}): IncidentRef {
  return {
    key: `srv/repository/r1/${NOW.toISOString()}`,
    subject: 'repository',
    openedAt: NOW.toISOString(),
    status: 'open',
    severity: 'info',
    repository: { id: 'r1', name: 'Repo r1' },
    acknowledged: null,
    escalatedAfterMinutes: null,
    durationSeconds: null,
    latest: null,
    ...overrides,
  };
}

function event(type: MonitorEvent['type'], ref: IncidentRef | null = incident()): MonitorEvent {
  return {
    schemaVersion: 1,
    eventId: `srv/s1/1/${type}`,
    type,
    severity: 'info',
    occurredAt: NOW.toISOString(),
    server: SERVER,
    ...(ref === null ? {} : { incident: ref }),
  };
}

function resultOf(server: ServerRecord, events: MonitorEvent[]): CycleResult {
  return {
    server,
    serverEvents: [],
    sessions: events.map((e, i) => ({ record: { id: `s${i}` } as never, events: [e] })),
    learnedNames: [],
    baseline: false,
  };
}

const postgres = { name: 'PostgreSQL', status: 'Unhealthy', description: 'Failed to connect to 127.0.0.1:5432' };
const unhealthyReport: HealthReport = {
  status: 'Unhealthy',
  entries: [postgres, { name: 'NATS', status: 'Healthy', description: null }],
};
const upgrade = { from: '8.0.5.20', to: '8.1.0.305', at: ago(3_600_000) };
const proxies: ServerRecord['proxies'] = {
  p1: {
    name: 'proxy01',
    state: 'maintenance',
    status: 'Online',
    maintenanceModeState: 'Enabled',
    since: ago(600_000),
    alerted: false,
  },
};
const cached = (overrides: Partial<RepositoryRecord> = {}): ReadonlyMap<string, RepositoryRecord> =>
  new Map([['r1', { id: 'r1', name: 'Repo r1', ...overrides }]]);

function causeOf(
  server: ServerRecord,
  repositories: ReadonlyMap<string, RepositoryRecord> = cached(),
  health?: HealthReport,
): readonly CauseFinding[] | undefined {
  const result = withCauses(resultOf(server, [event('sync.started')]), { now: NOW, repositories, health });
  return result.sessions[0]?.events[0]?.cause;
}

describe('withCauses', () => {
  it.each<
    [string, ServerRecord, ReadonlyMap<string, RepositoryRecord>, HealthReport | undefined, CauseFinding[] | undefined]
  >([
    ['nothing seen: no cause', READY, cached(), undefined, undefined],
    [
      'a health read this cycle that fails: its failing entries',
      READY,
      cached(),
      unhealthyReport,
      [{ kind: 'unhealthy', entries: [postgres] }],
    ],
    [
      'no health read: the outstanding server.unhealthy of the record',
      { ...READY, unhealthy: { status: 'Unhealthy', entries: [postgres], since: ago(60_000) } },
      cached(),
      undefined,
      [{ kind: 'unhealthy', entries: [postgres] }],
    ],
    [
      'a healthy read this cycle outweighs the record',
      { ...READY, unhealthy: { status: 'Unhealthy', entries: [postgres], since: ago(60_000) } },
      cached(),
      { status: 'Healthy', entries: [] },
      undefined,
    ],
    ['an upgrade within a day', { ...READY, upgrade }, cached(), undefined, [{ kind: 'upgrade', ...upgrade }]],
    [
      'an upgrade exactly a day ago',
      { ...READY, upgrade: { ...upgrade, at: ago(RECENT_MS) } },
      cached(),
      undefined,
      [{ kind: 'upgrade', ...upgrade, at: ago(RECENT_MS) }],
    ],
    [
      'an upgrade more than a day ago: none',
      { ...READY, upgrade: { ...upgrade, at: ago(RECENT_MS + 1) } },
      cached(),
      undefined,
      undefined,
    ],
    [
      'the repository’s proxy in the record',
      { ...READY, proxies },
      cached({ proxyId: 'p1' }),
      undefined,
      [{ kind: 'proxy', proxyId: 'p1', proxyName: 'proxy01', state: 'maintenance' }],
    ],
    ['another proxy in the record: none', { ...READY, proxies }, cached({ proxyId: 'p2' }), undefined, undefined],
    [
      'a repository added within a day',
      READY,
      cached({ addedAt: ago(3_600_000) }),
      undefined,
      [{ kind: 'new_repository', addedAt: ago(3_600_000) }],
    ],
    ['a repository added two days ago: none', READY, cached({ addedAt: ago(2 * RECENT_MS) }), undefined, undefined],
    ['a repository not in the cache: nothing of its own', { ...READY, proxies }, new Map(), undefined, undefined],
    [
      'everything at once, in order: health, upgrade, proxy, new repository',
      { ...READY, upgrade, proxies },
      cached({ proxyId: 'p1', addedAt: ago(60_000) }),
      unhealthyReport,
      [
        { kind: 'unhealthy', entries: [postgres] },
        { kind: 'upgrade', ...upgrade },
        { kind: 'proxy', proxyId: 'p1', proxyName: 'proxy01', state: 'maintenance' },
        { kind: 'new_repository', addedAt: ago(60_000) },
      ],
    ],
  ])('%s', (_label, server, repositories, health, expected) => {
    expect(causeOf(server, repositories, health)).toEqual(expected);
  });

  it.each<[string, MonitorEvent]>([
    [
      'a later event of the incident',
      event('sync.failed', incident({ latest: { type: 'sync.started', eventId: 'x', occurredAt: NOW.toISOString() } })),
    ],
    ['an event that opens and ends it at once', event('sync.completed', incident({ status: 'resolved' }))],
    ['a blocker incident', event('repository.blocked', incident({ subject: 'blocker' }))],
    ['an event with no incident', event('sync.progress', null)],
    // A failure's reminder after a later sync of the repository ended its incident: the contract gives it no cause.
    ['a reminder that reopens an incident', event('sync.still_failed')],
  ])('puts no cause on %s', (_label, e) => {
    const result = withCauses(resultOf({ ...READY, upgrade }, [e]), { now: NOW, repositories: cached() });

    expect(result.sessions[0]?.events[0]).toEqual(e);
    expect(needsCause(resultOf(READY, [e]))).toBe(false);
  });

  it('finds the repository\u2019s proxy whatever the letter case of its id', () => {
    expect(causeOf({ ...READY, proxies }, cached({ proxyId: 'P1' }))).toEqual([
      { kind: 'proxy', proxyId: 'P1', proxyName: 'proxy01', state: 'maintenance' },
    ]);
  });

  it('puts the cause on a server event that opens a repository incident (out of sync) too', () => {
    const outOfSync = event('repository.out_of_sync');
    const result = withCauses(
      { ...resultOf({ ...READY, upgrade }, []), serverEvents: [outOfSync] },
      { now: NOW, repositories: cached() },
    );

    expect(result.serverEvents[0]?.cause).toEqual([{ kind: 'upgrade', ...upgrade }]);
    expect(needsCause({ ...resultOf(READY, []), serverEvents: [outOfSync] })).toBe(true);
  });
});
