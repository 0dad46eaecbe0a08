import { describe, expect, it } from 'vitest';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import { checkWatches, WATCH_MS, watchCompletions, watchedJobs } from '../../lambda/domain/first-backup.js';
import type { CycleResult } from '../../lambda/domain/lifecycle.js';
import { type FirstBackupWatch, INITIAL_SERVER, type ServerRecord } from '../../lambda/domain/state.js';
import type { JobInfo, JobSessionInfo, Optional } from '../../lambda/domain/types.js';

const COMPLETED = '2026-11-28T10:00:00.000Z';
const OPENED = '2026-11-28T08:00:00.000Z';
const SERVER = { id: 'srv', name: 'Contoso VB365', url: 'https://vb365.contoso.local:4443' };
const hoursAfter = (h: number) => new Date(Date.parse(COMPLETED) + h * 3_600_000).toISOString();
const NOW = new Date(hoursAfter(24));

const WATCH: FirstBackupWatch = { name: 'Repo r1', completedAt: COMPLETED, incidentKey: `srv/repository/r1/${OPENED}` };

function watching(watch: Record<string, FirstBackupWatch> = { r1: WATCH }): CycleResult {
  const server: ServerRecord = { ...INITIAL_SERVER, initialized: true, sequence: 10, firstBackupWatch: watch };
  return { server, serverEvents: [], sessions: [], learnedNames: [], baseline: false };
}

function job(id: string, overrides: Partial<JobInfo> = {}): JobInfo {
  return { id, name: `Job ${id}`, repositoryId: 'r1', isEnabled: true, ...overrides };
}

function run(jobId: string, status: string, endHours: number | null): JobSessionInfo {
  return {
    id: `${jobId}-${status}-${endHours}`,
    jobId,
    status,
    creationTime: null,
    endTime: endHours === null ? null : hoursAfter(endHours),
  };
}

const sessionsOf = (...runs: JobSessionInfo[]): Optional<JobSessionInfo[]> => ({ available: true, value: runs });

function check(jobs: JobInfo[], runs: Record<string, Optional<JobSessionInfo[]>>, now = NOW, result = watching()) {
  return checkWatches(result, { jobs, runs: new Map(Object.entries(runs)) }, now, SERVER);
}

/** `<type>: <job> <status>, …` or `waiting` / `dropped`. */
function outcome(result: CycleResult): string {
  const e = result.serverEvents[0];
  if (e === undefined) return result.server.firstBackupWatch?.r1 ? 'waiting' : 'dropped';
  return `${e.type}: ${e.firstBackup?.jobs.map((j) => `${j.id} ${j.status}`).join(', ')}`;
}

describe('checkWatches', () => {
  it.each<[string, JobInfo[], Record<string, Optional<JobSessionInfo[]>>, string]>([
    [
      'every job succeeded (Warning counts)',
      [job('a'), job('b')],
      { a: sessionsOf(run('a', 'Success', 2)), b: sessionsOf(run('b', 'Warning', 3)) },
      'repository.first_backup_ok: a Success, b Warning',
    ],
    [
      'one failed while another is unknown: failed at once',
      [job('a'), job('b')],
      { a: sessionsOf(), b: sessionsOf(run('b', 'Failed', 1)) },
      'repository.first_backup_failed: b Failed',
    ],
    [
      'a stopped run is a failure, listed first',
      [job('a'), job('b')],
      { a: sessionsOf(run('a', 'Success', 1)), b: sessionsOf(run('b', 'Stopped', 2)) },
      'repository.first_backup_failed: b Stopped, a Success',
    ],
    [
      'one job has not run yet: waits',
      [job('a'), job('b')],
      { a: sessionsOf(run('a', 'Success', 1)), b: sessionsOf() },
      'waiting',
    ],
    [
      'only the first run after the completion counts',
      [job('a')],
      { a: sessionsOf(run('a', 'Success', 5), run('a', 'Failed', 2)) },
      'repository.first_backup_failed: a Failed',
    ],
    [
      'a run that ended before the completion does not count',
      [job('a')],
      { a: sessionsOf(run('a', 'Failed', -1), run('a', 'Success', 1)) },
      'repository.first_backup_ok: a Success',
    ],
    ['a running one (not final) does not count', [job('a')], { a: sessionsOf(run('a', 'Running', 1)) }, 'waiting'],
    [
      'a disabled job is not awaited',
      [job('a'), job('b', { isEnabled: false })],
      { a: sessionsOf(run('a', 'Success', 1)) },
      'repository.first_backup_ok: a Success',
    ],
    [
      'no enabled job targets the repository: the watch ends',
      [job('a', { isEnabled: false }), job('b', { repositoryId: 'r2' })],
      {},
      'dropped',
    ],
    [
      'job sessions unavailable: the job’s last run after the completion',
      [
        job('a', { lastRun: hoursAfter(2), lastStatus: 'Success' }),
        job('b', { lastRun: hoursAfter(3), lastStatus: 'failed' }),
      ],
      { a: { available: false, reason: '404' } },
      'repository.first_backup_failed: b failed, a Success',
    ],
    [
      'job sessions not read and a last run before the completion: waits',
      [job('a', { lastRun: hoursAfter(-2), lastStatus: 'Success' })],
      {},
      'waiting',
    ],
    [
      'job sessions not read and a last run with no final status: waits',
      [job('a', { lastRun: hoursAfter(2), lastStatus: 'Running' })],
      {},
      'waiting',
    ],
  ])('%s', (_label, jobs, runs, expected) => {
    expect(outcome(check(jobs, runs))).toBe(expected);
  });

  it('reports in the resync’s incident, resolved at the completion, with the repository and the runs', () => {
    const result = check([job('a', { kind: 'copy' })], { a: sessionsOf(run('a', 'Success', 2)) });

    expect(result.serverEvents).toEqual([
      {
        schemaVersion: 1,
        eventId: 'srv/server/11/repository.first_backup_ok',
        type: 'repository.first_backup_ok',
        severity: 'info',
        occurredAt: NOW.toISOString(),
        server: SERVER,
        firstBackup: {
          repositoryId: 'r1',
          repositoryName: 'Repo r1',
          syncCompletedAt: COMPLETED,
          jobs: [{ id: 'a', name: 'Job a', kind: 'copy', status: 'Success', endedAt: hoursAfter(2) }],
          total: 1,
        },
        incident: {
          key: `srv/repository/r1/${OPENED}`,
          subject: 'repository',
          openedAt: OPENED,
          status: 'resolved',
          severity: 'info',
          repository: { id: 'r1', name: 'Repo r1' },
          acknowledged: null,
          escalatedAfterMinutes: null,
          durationSeconds: 7200,
          latest: null,
        },
      },
    ]);
    expect(result.server).not.toHaveProperty('firstBackupWatch');
    expect(result.server.sequence).toBe(11);
  });

  it.each<[string, JobSessionInfo[], string]>([
    [
      'a failure VB365 retries, then its retry succeeds',
      [
        { ...run('a', 'Failed', 1), willBeRetried: true },
        { ...run('a', 'Success', 2), id: 'a-retry' },
      ],
      'repository.first_backup_ok: a Success',
    ],
    [
      'a run that began before the completion (it is not a run after it)',
      [
        { ...run('a', 'Failed', 1), creationTime: hoursAfter(-1) },
        { ...run('a', 'Success', 3), id: 'a-next' },
      ],
      'repository.first_backup_ok: a Success',
    ],
  ])('judges by the first run that counts: %s', (_label, sessions, expected) => {
    expect(outcome(check([job('a')], { a: sessionsOf(...sessions) }))).toBe(expected);
  });

  it('reports a failure before the other jobs ran, counting every job the resync blocked', () => {
    const result = check([job('a'), job('b'), job('c')], {
      a: sessionsOf(run('a', 'Failed', 2)),
      b: sessionsOf(),
      c: sessionsOf(),
    });

    expect(result.serverEvents[0]?.type).toBe('repository.first_backup_failed');
    expect(result.serverEvents[0]?.firstBackup).toMatchObject({ jobs: [{ id: 'a', status: 'Failed' }], total: 3 });
  });

  it('carries no incident when the resync had none', () => {
    const result = check(
      [job('a')],
      { a: sessionsOf(run('a', 'Failed', 1)) },
      NOW,
      watching({ r1: { ...WATCH, incidentKey: null } }),
    );

    expect(result.serverEvents[0]).toMatchObject({ type: 'repository.first_backup_failed', severity: 'warning' });
    expect(result.serverEvents[0]).not.toHaveProperty('incident');
  });

  it.each([
    ['waits up to 8 days', WATCH_MS, 'waiting'],
    ['gives up after 8 days, unreported', WATCH_MS + 1, 'dropped'],
  ])('%s', (_label, afterMs, expected) => {
    const now = new Date(Date.parse(COMPLETED) + afterMs);

    expect(outcome(check([job('a')], { a: sessionsOf() }, now))).toBe(expected);
  });

  it('reports only once: the watch it ends is gone from the record', () => {
    const first = check([job('a')], { a: sessionsOf(run('a', 'Success', 1)) });

    const again = checkWatches(
      first,
      { jobs: [job('a')], runs: new Map([['a', sessionsOf(run('a', 'Success', 1))]]) },
      NOW,
      SERVER,
    );

    expect(first.serverEvents).toHaveLength(1);
    expect(again).toBe(first);
  });

  it('keeps the watches still waiting beside the one it reports', () => {
    const result = check(
      [job('a'), job('b', { repositoryId: 'r2' })],
      { a: sessionsOf(run('a', 'Success', 1)), b: sessionsOf() },
      NOW,
      watching({ r1: WATCH, r2: { ...WATCH, name: 'Repo r2' } }),
    );

    expect(result.serverEvents.map((e) => e.firstBackup?.repositoryId)).toEqual(['r1']);
    expect(result.server.firstBackupWatch).toEqual({ r2: { ...WATCH, name: 'Repo r2' } });
  });

  it('changes nothing when nothing is watched', () => {
    const result = watching();
    const idle = { ...result, server: { ...INITIAL_SERVER, initialized: true } };

    expect(checkWatches(idle, { jobs: [job('a')], runs: new Map() }, NOW, SERVER)).toBe(idle);
  });
});

describe('watchCompletions and watchedJobs', () => {
  function completed(repositoryId: string | null, incidentKey: string | null): MonitorEvent {
    return {
      schemaVersion: 1,
      eventId: `srv/s-${repositoryId}/3/sync.completed`,
      type: 'sync.completed',
      severity: 'info',
      occurredAt: COMPLETED,
      server: SERVER,
      session: {
        id: `s-${repositoryId}`,
        repositoryId,
        repositoryName: `Repo ${repositoryId}`,
        state: 'None',
        previousState: 'Synchronizing',
        progressPercent: 100,
        error: null,
        firstSeenAt: OPENED,
        finishedAt: COMPLETED,
        durationSeconds: 7200,
        completionConfirmed: true,
        milestone: null,
      },
      ...(incidentKey === null ? {} : { incident: { key: incidentKey } as never }),
    };
  }

  it('starts a watch for every completed sync of a known repository, beside the ones running', () => {
    const base = watching({ r0: WATCH });
    const result = watchCompletions({
      ...base,
      sessions: [
        { record: {} as never, events: [completed('r1', `srv/repository/r1/${OPENED}`)] },
        { record: {} as never, events: [completed(null, null)] },
        { record: {} as never, events: [{ ...completed('r2', null), type: 'sync.stopped' }] },
      ],
    });

    expect(result.server.firstBackupWatch).toEqual({
      r0: WATCH,
      r1: { name: 'Repo r1', completedAt: COMPLETED, incidentKey: `srv/repository/r1/${OPENED}` },
    });
  });

  it('leaves a cycle with no completion as it is', () => {
    const result = watching();

    expect(watchCompletions(result)).toBe(result);
  });

  it('picks the enabled jobs of watched repositories (id in any case), with the completion time', () => {
    const jobs = [
      job('a', { repositoryId: 'R1' }),
      job('b', { isEnabled: false }),
      job('c', { repositoryId: 'r2' }),
      job('d', { repositoryId: null }),
    ];

    expect(watchedJobs({ r1: WATCH }, jobs)).toEqual([{ job: jobs[0], since: COMPLETED }]);
    expect(watchedJobs(undefined, jobs)).toEqual([]);
  });
});
