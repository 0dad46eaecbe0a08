import { describe, expect, it } from 'vitest';
import {
  type AckRequest,
  INITIAL_SERVER,
  type IncidentEntry,
  type ServerSnapshot,
  type SessionRecord,
} from '../../lambda/domain/state.js';
import { blockingOf, findIncidents, formatStatus, incidentRowsOf, statusOf } from '../../local/cli/status.js';

const NOW = new Date('2026-11-28T12:00:00Z');
const t = (minutesAgo: number) => new Date(NOW.getTime() - minutesAgo * 60_000);
const sec = (minutesAgo: number) => t(minutesAgo).getTime() / 1000;

function session(
  id: string,
  o: Partial<SessionRecord>,
): { record: SessionRecord; version: number; pending: []; lease: null } {
  return {
    record: {
      id,
      repositoryId: `r-${id}`,
      repositoryName: `Repo ${id}`,
      state: 'Synchronizing',
      phase: 'running',
      outcome: null,
      progressPercent: 40,
      error: null,
      firstSeenAt: t(120).toISOString(),
      lastProgressAt: t(5).toISOString(),
      finishedAt: null,
      missingCycles: 0,
      milestone: 0,
      sequence: 1,
      ...o,
    },
    version: 1,
    pending: [],
    lease: null,
  };
}

const snapshot: ServerSnapshot = {
  server: {
    record: {
      ...INITIAL_SERVER,
      initialized: true,
      failingSince: t(20).toISOString(),
      failure: { kind: 'unreachable', reason: 'connection refused' },
      alerted: 'unreachable',
    },
    version: 3,
    pending: [],
    lease: null,
  },
  sessions: [
    session('done', { phase: 'ended', state: 'None', outcome: 'completed', finishedAt: t(60).toISOString() }),
    session('stuck', {
      phase: 'stalled',
      progressPercent: 12,
      samples: [
        [sec(200), 2],
        [sec(150), 7],
        [sec(100), 12],
      ],
    }),
    session('fast', {
      samples: [
        [sec(60), 20],
        [sec(30), 30],
        [sec(0), 40],
      ],
    }),
  ],
  repositories: [],
};

describe('status', () => {
  it('lists active sessions, running first, with rate and ETA once they can be estimated', () => {
    const s = statusOf('vb365-prod', snapshot, NOW);

    expect(s.health).toBe('unreachable since 2026-11-28 11:40 UTC: connection refused');
    expect(s.sessions.map((r) => [r.session, r.ratePercentPerHour, r.estimatedFinishAt])).toEqual([
      ['fast', 20, '2026-11-28T15:00:00.000Z'],
      ['stuck', 6, null],
    ]);
  });

  it('includes ended sessions with --all', () => {
    expect(statusOf('vb365-prod', snapshot, NOW, true).sessions.map((r) => r.state)).toContain('None (completed)');
  });

  it('prints an aligned table per server', () => {
    const text = formatStatus([statusOf('vb365-prod', snapshot, NOW)], NOW);

    expect(text.split('\n')).toEqual([
      'vb365-prod: unreachable since 2026-11-28 11:40 UTC: connection refused',
      '  SESSION  REPOSITORY  STATE                    PROGRESS  RATE    ETA                           LAST CHANGE  AGE',
      '  fast     Repo fast   Synchronizing            40 %      20 %/h  2026-11-28 15:00 UTC (in 3h)  5m ago       2h',
      '  stuck    Repo stuck  Synchronizing (stalled)  12 %      6 %/h   -                             5m ago       2h',
      '  no open incident',
    ]);
  });
});

function incident(key: string, o: Partial<IncidentEntry> = {}): IncidentEntry {
  const [, subject = 'repository', id = 'r1'] = key.split('/');
  return {
    key,
    subject: subject as IncidentEntry['subject'],
    openedAt: key.split('/').at(-1) as string,
    severity: 'critical',
    repository: subject === 'repository' ? { id, name: `Repo ${id}` } : null,
    latest: { type: 'sync.failed', eventId: `e-${id}`, occurredAt: t(30).toISOString() },
    acknowledged: null,
    escalatedAfterMinutes: null,
    resolvedAt: null,
    problemSince: t(30).toISOString(),
    ...o,
  };
}

function withIncidents(entries: readonly IncidentEntry[], acks?: readonly AckRequest[]): ServerSnapshot {
  const server = snapshot.server as NonNullable<ServerSnapshot['server']>;
  return {
    ...snapshot,
    server: { ...server, record: { ...server.record, incidents: Object.fromEntries(entries.map((e) => [e.key, e])) } },
    ...(acks ? { acks } : {}),
  };
}

const OPENED = t(90).toISOString();
const archive = incident(`prod/repository/r1/${OPENED}`, { repository: { id: 'r1', name: 'S3 Archive' } });
const archiveOnDr = incident(`dr/repository/r9/${OPENED}`, { repository: { id: 'r9', name: 's3 archive' } });
const wasabi = incident(`prod/repository/r2/${t(40).toISOString()}`, {
  repository: { id: 'r2', name: 'Wasabi' },
  severity: 'warning',
  acknowledged: { by: 'ana', reason: 'on it', at: t(10).toISOString() },
});
const down = incident(`prod/server/unreachable/${t(20).toISOString()}`);
const resolved = incident(`prod/repository/r3/${t(300).toISOString()}`, { resolvedAt: t(180).toISOString() });

describe('status: what blocks backups (--exit-code)', () => {
  const clear = (
    record: Partial<
      ServerSnapshot['server'] extends infer E ? (E extends { record: infer R } ? R : never) : never
    > = {},
  ) =>
    ({
      server: { record: { ...INITIAL_SERVER, initialized: true, ...record }, version: 1, pending: [], lease: null },
      sessions: [],
      repositories: [],
    }) as ServerSnapshot;
  const since = t(30).toISOString();

  it.each<[string, ServerSnapshot, { kind: string; what: string }[]]>([
    ['nothing', clear(), []],
    [
      'a server never polled',
      { server: undefined, sessions: [], repositories: [] },
      [{ kind: 'unknown', what: 'never polled' }],
    ],
    [
      'a server that cannot be used',
      clear({ failingSince: since, failure: { kind: 'auth', reason: 'login refused' } }),
      [{ kind: 'unknown', what: 'cannot be used since 2026-11-28 11:30 UTC: login refused' }],
    ],
    [
      'a sync running, one stalled, one failed, one ended',
      {
        ...clear(),
        sessions: [
          session('a', {}),
          session('b', { phase: 'stalled', progressPercent: 12 }),
          session('c', { phase: 'failed', state: 'Failed', error: 'S3 403' }),
          session('d', { phase: 'ended', outcome: 'completed' }),
        ],
      },
      [
        { kind: 'syncing', what: 'Repo a: syncing at 40 %' },
        { kind: 'syncing', what: 'Repo b: sync stalled at 12 %' },
        { kind: 'failed', what: 'Repo c: sync failed (S3 403)' },
      ],
    ],
    [
      'a repository out of sync, one Out of Date, one Invalid, a proxy offline, the health check failing',
      clear({
        outOfSync: { r1: { since, name: 'Wasabi', alerted: false } },
        blockers: {
          'r2/outdated': {
            repositoryId: 'r2',
            kind: 'outdated',
            name: 'Archive-EU',
            reason: null,
            since,
            alerted: true,
          },
          'r3/out_of_order': {
            repositoryId: 'r3',
            kind: 'out_of_order',
            name: null,
            reason: 'bucket missing',
            since,
            alerted: false,
          },
        },
        proxies: {
          p1: {
            name: 'proxy02',
            state: 'offline',
            status: 'Offline',
            maintenanceModeState: null,
            since,
            alerted: true,
          },
        },
        unhealthy: {
          status: 'Unhealthy',
          entries: [{ name: 'PostgreSQL', status: 'Unhealthy', description: 'down' }],
          since,
        },
      }),
      [
        { kind: 'out_of_sync', what: 'Wasabi: out of sync since 2026-11-28 11:30 UTC' },
        { kind: 'blocked', what: 'Archive-EU: Out of Date (upgrade it) since 2026-11-28 11:30 UTC' },
        { kind: 'blocked', what: 'r3: Invalid (bucket missing) since 2026-11-28 11:30 UTC' },
        { kind: 'proxy', what: 'proxy proxy02: offline since 2026-11-28 11:30 UTC' },
        { kind: 'unhealthy', what: 'health check Unhealthy (PostgreSQL) since 2026-11-28 11:30 UTC' },
      ],
    ],
  ])('lists %s', (_what, snap, expected) => {
    expect(blockingOf(snap)).toEqual(expected);
  });

  it('does not vouch for a deployed server not polled for over an hour (its schedule stopped, or its polls fail)', () => {
    const polled = (minutesAgo: number) => clear({ polledAt: t(minutesAgo).toISOString() });

    expect(blockingOf(polled(30), NOW)).toEqual([]);
    expect(blockingOf(polled(90), NOW)).toEqual([
      { kind: 'unknown', what: 'not polled since 2026-11-28 10:30 UTC: what is stored may be stale' },
    ]);
  });

  it('shows repository-level blockers under the sessions, and a running sync\u2019s forecast from previous syncs', () => {
    const snap = {
      ...clear({
        blockers: {
          'r2/outdated': {
            repositoryId: 'r2',
            kind: 'outdated' as const,
            name: 'Archive-EU',
            reason: null,
            since,
            alerted: true,
          },
        },
      }),
      sessions: [session('a', {})],
    };
    const history = [90, 120, 150].map((minutes, i) => ({
      eventId: `e${i}`,
      sessionId: `old${i}`,
      repositoryId: 'r-a',
      repositoryName: 'Repo a',
      outcome: 'completed' as const,
      startedAt: t(10_000 + i * 1_000).toISOString(),
      finishedAt: t(9_000 + i * 1_000).toISOString(),
      durationSeconds: minutes * 60,
      error: null,
    }));

    const status = statusOf('prod', snap, NOW, false, history);
    const text = formatStatus([status], NOW);

    expect(status.sessions[0]?.forecast).toMatchObject({
      count: 3,
      minSeconds: 5400,
      medianSeconds: 7200,
      maxSeconds: 9000,
    });
    expect(text).toContain('a forecast: previous 3 sync(s) of Repo a took 1h 30m–2h 30m, median 2h');
    expect(text).toContain('  Archive-EU: Out of Date (upgrade it) since 2026-11-28 11:30 UTC');
  });
});

describe('status: incidents', () => {
  it('lists open incidents oldest first, with what, age, severity, acknowledgement and escalation', () => {
    const rows = incidentRowsOf(withIncidents([wasabi, down, archive, resolved]), NOW);

    expect(rows.map((r) => [r.what, r.status, r.ageSeconds, r.severity, r.acknowledged?.by ?? null])).toEqual([
      ['S3 Archive', 'open', 5400, 'critical', null],
      ['Wasabi', 'open', 2400, 'warning', 'ana'],
      ['server unreachable', 'open', 1200, 'critical', null],
    ]);
  });

  it('includes incidents resolved within the kept day with --all, aged by their duration', () => {
    const rows = incidentRowsOf(withIncidents([archive, resolved]), NOW, true);

    expect(rows.map((r) => [r.key, r.status, r.resolvedAt, r.ageSeconds])).toEqual([
      [archive.key, 'open', null, 5400],
      [resolved.key, 'resolved', t(180).toISOString(), 7200],
    ]);
  });

  it('shows an acknowledgement request no cycle has applied yet, and not one already applied', () => {
    const requested: AckRequest = { key: archive.key, by: 'bob', reason: 'restarting', at: t(1).toISOString() };
    // Applied: the incident's acknowledgement carries the request's time (the request item lives on for a day).
    const applied: AckRequest = { key: wasabi.key, by: 'ana', reason: 'on it', at: t(10).toISOString() };

    const rows = incidentRowsOf(withIncidents([archive, wasabi], [requested, applied]), NOW);

    expect(rows.map((r) => r.ackRequested)).toEqual([requested, null]);
  });

  it('shows a new reason for an acknowledged incident as requested until a cycle applies it', () => {
    const again: AckRequest = { key: wasabi.key, by: 'ana', reason: 'vendor case 123', at: t(2).toISOString() };

    const [row] = incidentRowsOf(withIncidents([wasabi], [again]), NOW);

    expect(row?.acknowledged?.reason).toBe('on it');
    expect(row?.ackRequested).toEqual(again);
  });

  it('prints an incident table after the sessions, the key last', () => {
    const escalated = { ...down, escalatedAfterMinutes: 15 };
    const requested: AckRequest = { key: archive.key, by: 'bob', reason: null, at: t(1).toISOString() };
    const status = statusOf('prod', withIncidents([archive, wasabi, escalated], [requested]), NOW);

    const text = formatStatus([status], NOW).split('\n');

    expect(text.slice(4)).toEqual([
      '  INCIDENT            STATUS                     SINCE                 AGE     SEVERITY  ACKNOWLEDGED                       KEY',
      `  S3 Archive          open                       2026-11-28 10:30 UTC  1h 30m  critical  ack requested by bob (next cycle)  ${archive.key}`,
      `  Wasabi              open                       2026-11-28 11:20 UTC  40m     warning   by ana: on it                      ${wasabi.key}`,
      `  server unreachable  open, escalated after 15m  2026-11-28 11:40 UTC  20m     critical  not acknowledged                   ${down.key}`,
    ]);
    expect(status.incidents).toHaveLength(3);
  });

  it('says so when no incident is open, and shows the resolved ones with --all', () => {
    const text = formatStatus([statusOf('prod', withIncidents([resolved]), NOW, true)], NOW).split('\n');

    expect(text).toContain('  no open incident');
    expect(text.at(-1)).toMatch(/^ {2}Repo r3\s+resolved 2026-11-28 09:00 UTC\s+2026-11-28 07:00 UTC\s+2h\s+critical/);
  });
});

describe('ack: which open incident an argument names', () => {
  const servers = [
    { serverId: 'prod', snapshot: withIncidents([archive, wasabi, down, resolved]) },
    { serverId: 'dr', snapshot: withIncidents([archiveOnDr]) },
  ];
  const keysOf = (target: string, among = servers) => findIncidents(target, among).matches.map((m) => m.incident.key);

  it('takes an exact incident key', () => {
    expect(keysOf(archive.key)).toEqual([archive.key]);
  });

  it('takes a repository name, case-insensitive, or id', () => {
    expect(keysOf('WASABI')).toEqual([wasabi.key]);
    expect(keysOf('r2')).toEqual([wasabi.key]);
  });

  it('takes a part of a repository name when no name, id, key or server is the argument', () => {
    expect(keysOf('wasa')).toEqual([wasabi.key]);
    expect(keysOf('archive')).toEqual([archive.key, archiveOnDr.key]);
    // An exact name wins over names that contain it.
    const both = withIncidents([
      wasabi,
      incident(`prod/repository/r7/${OPENED}`, { repository: { id: 'r7', name: 'Wasabi EU' } }),
    ]);
    expect(keysOf('wasabi', [{ serverId: 'prod', snapshot: both }])).toEqual([wasabi.key]);
  });

  it('finds every open incident of a name shared across servers (the caller asks for a key)', () => {
    expect(keysOf('S3 Archive')).toEqual([archive.key, archiveOnDr.key]);
    expect(keysOf('S3 Archive', servers.slice(0, 1))).toEqual([archive.key]);
  });

  it("takes a server id for that server's own incident, not its repositories'", () => {
    expect(keysOf('PROD')).toEqual([down.key]);
    expect(keysOf('dr')).toEqual([]);
  });

  it('never takes a server id as a part of a repository name', () => {
    const named = withIncidents([
      incident(`vbo/repository/r9/${OPENED}`, { repository: { id: 'r9', name: 'vbo-archive' } }),
    ]);
    const among = [
      { serverId: 'vbo', snapshot: withIncidents([]) },
      { serverId: 'prod', snapshot: named },
    ];

    expect(keysOf('vbo', among)).toEqual([]);
    expect(keysOf('vbo-arch', among)).toEqual([`vbo/repository/r9/${OPENED}`]);
  });

  it('ignores resolved incidents and lists the open ones for the message', () => {
    const found = findIncidents('Repo r3', servers);

    expect(found.matches).toEqual([]);
    expect(found.open.map((o) => `${o.serverId} ${o.incident.key}`)).toEqual([
      `prod ${archive.key}`,
      `prod ${wasabi.key}`,
      `prod ${down.key}`,
      `dr ${archiveOnDr.key}`,
    ]);
  });

  it('carries the acknowledgement request waiting for the incident', () => {
    const requested: AckRequest = { key: archive.key, by: 'bob', reason: null, at: t(1).toISOString() };

    const [match] = findIncidents('r1', [
      { serverId: 'prod', snapshot: withIncidents([archive], [requested]) },
    ]).matches;

    expect(match?.ackRequested).toEqual(requested);
  });
});
