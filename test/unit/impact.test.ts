import { describe, expect, it } from 'vitest';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import { withImpact } from '../../lambda/domain/impact.js';
import type { CycleResult } from '../../lambda/domain/lifecycle.js';
import { INITIAL_SERVER } from '../../lambda/domain/state.js';
import type { JobInfo } from '../../lambda/domain/types.js';

const NOW = new Date('2026-11-28T10:00:00Z');
const SERVER = { id: 'srv', name: 'Contoso VB365', url: 'https://vb365.contoso.local:4443' };
const inMinutes = (n: number) => new Date(NOW.getTime() + n * 60_000).toISOString();

function syncEvent(type: MonitorEvent['type'], repositoryId: string, extra: Partial<MonitorEvent> = {}): MonitorEvent {
  return {
    schemaVersion: 1,
    eventId: `srv/s-${repositoryId}/1/${type}`,
    type,
    severity: 'info',
    occurredAt: NOW.toISOString(),
    server: SERVER,
    session: {
      id: `s-${repositoryId}`,
      repositoryId,
      repositoryName: `Repo ${repositoryId}`,
      state: 'Synchronizing',
      previousState: null,
      progressPercent: 0,
      error: null,
      firstSeenAt: NOW.toISOString(),
      finishedAt: null,
      durationSeconds: 0,
      completionConfirmed: null,
      milestone: null,
    },
    ...extra,
  };
}

function serverEvent(type: MonitorEvent['type'], extra: Partial<MonitorEvent>): MonitorEvent {
  return {
    schemaVersion: 1,
    eventId: `srv/server/1/${type}`,
    type,
    severity: 'warning',
    occurredAt: NOW.toISOString(),
    server: SERVER,
    ...extra,
  };
}

function resultOf(sessionEvents: MonitorEvent[], serverEvents: MonitorEvent[] = []): CycleResult {
  return {
    server: { ...INITIAL_SERVER, initialized: true },
    serverEvents,
    sessions: sessionEvents.map((e) => ({ record: { id: e.session?.id } as never, events: [e] })),
    learnedNames: [],
    baseline: false,
  };
}

function job(id: string, overrides: Partial<JobInfo> = {}): JobInfo {
  return { id, name: `Job ${id}`, repositoryId: 'r1', isEnabled: true, nextRun: inMinutes(60), ...overrides };
}

const only = (result: CycleResult) => [...result.serverEvents, ...result.sessions.flatMap((s) => s.events)][0];
const runs = (result: CycleResult) =>
  only(result)?.impact?.jobs.map((j) => `${j.id} ${j.missesNextRun ? 'misses' : 'runs'}`);

describe('withImpact', () => {
  it.each<[string, JobInfo, boolean]>([
    ['an enabled job with a run ahead misses it', job('j'), true],
    ['a disabled job misses nothing', job('j', { isEnabled: false }), false],
    ['a job with no next run misses nothing', job('j', { nextRun: null }), false],
    ['a job whose next run is long past misses nothing', job('j', { nextRun: inMinutes(-2) }), false],
    ['a job whose run is due this minute misses it', job('j', { nextRun: inMinutes(-1) }), true],
    [
      'a job far ahead still misses it (nothing says when it ends)',
      job('j', { nextRun: inMinutes(60 * 24 * 7) }),
      true,
    ],
  ])('a failure: %s', (_label, j, misses) => {
    const result = withImpact(resultOf([syncEvent('sync.failed', 'r1')]), [j], NOW);

    expect(only(result)?.impact).toEqual({
      jobs: [
        {
          id: 'j',
          name: 'Job j',
          isEnabled: j.isEnabled,
          kind: 'backup',
          nextRun: j.nextRun ?? null,
          missesNextRun: misses,
        },
      ],
      total: 1,
      blockedUntil: null,
      missedRuns: misses ? 1 : 0,
    });
  });

  it.each<[string, Partial<MonitorEvent>, string | null, string[]]>([
    [
      'the live estimate',
      { estimate: { ratePercentPerHour: 50, estimatedFinishAt: inMinutes(90), samples: 3 } },
      inMinutes(90),
      ['j60 misses', 'j120 runs'],
    ],
    [
      'the forecast while the estimate has none',
      {
        estimate: { ratePercentPerHour: null, estimatedFinishAt: null, samples: 1 },
        forecast: { count: 3, minSeconds: 60, medianSeconds: 600, maxSeconds: 9000, expectedFinishAt: inMinutes(30) },
      },
      inMinutes(30),
      ['j60 runs', 'j120 runs'],
    ],
    ['nothing: every run ahead is at risk', {}, null, ['j60 misses', 'j120 misses']],
  ])('a sync that starts: blocked until %s', (_label, extra, blockedUntil, expected) => {
    const jobs = [job('j120', { nextRun: inMinutes(120) }), job('j60', { nextRun: inMinutes(60) })];

    const result = withImpact(resultOf([syncEvent('sync.started', 'r1', extra)]), jobs, NOW);

    expect(only(result)?.impact?.blockedUntil).toBe(blockedUntil);
    expect(runs(result)).toEqual(expected);
  });

  it('lists missed runs first, then enabled jobs, then by next run (none last) and name; counts over all jobs', () => {
    const jobs = [
      job('disabled', { isEnabled: false, nextRun: inMinutes(5) }),
      job('none', { nextRun: null }),
      job('late', { nextRun: inMinutes(300) }),
      job('soonB', { name: 'B', nextRun: inMinutes(30) }),
      job('soonA', { name: 'A', nextRun: inMinutes(30) }),
      job('other', { repositoryId: 'r2' }),
      job('nullRepo', { repositoryId: null }),
    ];

    const result = withImpact(
      resultOf([
        syncEvent('sync.started', 'r1', {
          estimate: { ratePercentPerHour: 10, estimatedFinishAt: inMinutes(120), samples: 2 },
        }),
      ]),
      jobs,
      NOW,
    );

    expect(runs(result)).toEqual(['soonA misses', 'soonB misses', 'late runs', 'none runs', 'disabled runs']);
    expect(only(result)?.impact).toMatchObject({ total: 5, missedRuns: 2, blockedUntil: inMinutes(120) });
  });

  it('keeps the first 25 jobs and counts every one', () => {
    const jobs = Array.from({ length: 30 }, (_, i) => job(`j${String(i).padStart(2, '0')}`));

    const impact = only(withImpact(resultOf([syncEvent('sync.stalled', 'r1')]), jobs, NOW))?.impact;

    expect(impact?.jobs).toHaveLength(25);
    expect(impact?.jobs.at(-1)?.id).toBe('j24');
    expect(impact).toMatchObject({ total: 30, missedRuns: 30 });
  });

  it('names backup copy jobs as such, and matches the repository id in any case', () => {
    const jobs = [job('copy', { kind: 'copy', repositoryId: 'R1' }), job('backup', { kind: 'backup' })];

    const result = withImpact(resultOf([syncEvent('sync.stopped', 'r1')]), jobs, NOW);

    expect(only(result)?.impact?.jobs.map((j) => [j.id, j.kind])).toEqual([
      ['backup', 'backup'],
      ['copy', 'copy'],
    ]);
  });

  it.each<[string, MonitorEvent, string[]]>([
    [
      'an out-of-sync repository',
      serverEvent('repository.out_of_sync', {
        repository: { id: 'r2', name: 'Repo r2', outOfSyncSince: NOW.toISOString(), outOfSyncSeconds: 0 },
      }),
      ['jr2'],
    ],
    [
      'a blocked repository',
      serverEvent('repository.blocked', {
        blocker: { id: 'r1', name: 'Repo r1', kind: 'outdated', reason: null, since: NOW.toISOString(), seconds: 0 },
      }),
      ['jr1'],
    ],
    [
      'a proxy: the repositories it lists',
      serverEvent('proxy.offline', {
        proxy: {
          id: 'p1',
          name: 'proxy01',
          state: 'offline',
          status: 'Offline',
          maintenanceModeState: null,
          since: NOW.toISOString(),
          seconds: 0,
          repositories: [
            { id: 'r1', name: 'Repo r1' },
            { id: 'r3', name: 'Repo r3' },
          ],
          totalRepositories: 2,
        },
      }),
      ['jr1', 'jr3'],
    ],
  ])('%s: the jobs targeting it', (_label, event, expected) => {
    const jobs = ['r1', 'r2', 'r3', 'r4'].map((r) => job(`j${r}`, { repositoryId: r }));

    const result = withImpact(resultOf([], [event]), jobs, NOW);

    expect(only(result)?.impact?.jobs.map((j) => j.id)).toEqual(expected);
    expect(only(result)?.impact?.blockedUntil).toBeNull();
  });

  it('counts every repository a proxy serves, as the scan listed them, not only the 25 its event lists', () => {
    const served = Array.from({ length: 40 }, (_, i) => `r${i}`);
    const event = serverEvent('proxy.offline', {
      proxy: {
        id: 'p1',
        name: 'proxy01',
        state: 'offline',
        status: 'Offline',
        maintenanceModeState: null,
        since: NOW.toISOString(),
        seconds: 0,
        repositories: served.slice(0, 25).map((id) => ({ id, name: null })),
        totalRepositories: 40,
      },
    });
    const listed = [
      ...served.map((id) => ({ id, name: id, isOutOfSync: false, proxyId: 'P1' })),
      { id: 'other', name: 'other', isOutOfSync: false, proxyId: 'p2' },
    ];
    const jobs = [...served, 'other'].map((r) => job(`j-${r}`, { repositoryId: r }));

    const result = withImpact(resultOf([], [event]), jobs, NOW, listed);

    expect(only(result)?.impact?.total).toBe(40);
  });

  it.each<MonitorEvent['type']>(['sync.completed', 'sync.progress', 'sync.resumed', 'repository.in_sync'])(
    'leaves %s alone',
    (type) => {
      const result = withImpact(resultOf([syncEvent(type, 'r1')]), [job('j')], NOW);

      expect(only(result)).not.toHaveProperty('impact');
    },
  );

  it('gives a problem no job targets an empty impact', () => {
    const result = withImpact(resultOf([syncEvent('sync.failed', 'r9')]), [job('j')], NOW);

    expect(only(result)?.impact).toEqual({ jobs: [], total: 0, blockedUntil: null, missedRuns: 0 });
  });
});
