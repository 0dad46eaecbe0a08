import { beforeEach, describe, expect, it } from 'vitest';
import { StateItemTooLargeError, UpstreamAuthError, UpstreamUnreachableError } from '../../lambda/domain/errors.js';
import { DEFAULT_POLICY } from '../../lambda/domain/policy.js';
import { type PollDeps, pollOnce } from '../../lambda/domain/poll.js';
import type { SyncSession } from '../../lambda/domain/types.js';
import { InMemoryStateStore } from '../support/in-memory-state-store.js';
import { RecordingNotifier } from '../support/recording-notifier.js';
import { StubVb365Api } from '../support/stub-vb365-api.js';

const SERVER = { id: 'srv', name: 'Contoso VB365', url: 'https://vb365.contoso.local:4443' };
const T0 = Date.parse('2026-11-28T10:00:00Z');

let api: StubVb365Api;
let store: InMemoryStateStore;
let notifier: RecordingNotifier;
let clock: number;
let cycle: number;

function session(id: string, overrides: Partial<SyncSession> = {}): SyncSession {
  return {
    id,
    repositoryId: `repo-${id}`,
    state: 'Synchronizing',
    progressPercent: 0,
    error: null,
    links: {},
    ...overrides,
  };
}

function deps(overrides: Partial<PollDeps> = {}): PollDeps {
  cycle += 1;
  return {
    api,
    store,
    notifier,
    // The out-of-sync detector has its own tests below; these repositories are out of sync on purpose.
    policy: { ...DEFAULT_POLICY, outOfSyncAfterMs: null },
    server: SERVER,
    now: () => new Date(clock),
    owner: `cycle-${cycle}`,
    ...overrides,
  };
}

/** One cycle, `minutes` after the previous one. */
async function tick(minutes = 5, overrides: Partial<PollDeps> = {}) {
  clock += minutes * 60_000;
  return pollOnce(deps(overrides));
}

beforeEach(() => {
  api = new StubVb365Api();
  store = new InMemoryStateStore();
  notifier = new RecordingNotifier();
  clock = T0;
  cycle = 0;
  for (const id of ['a', 'b', 'c'])
    api.repositories.set(`repo-${id}`, { id: `repo-${id}`, name: `Repo ${id.toUpperCase()}`, isOutOfSync: true });
});

describe('pollOnce', () => {
  it('records the first cycle and publishes one monitor.started; then a steady cycle writes and publishes nothing', async () => {
    api.sessions = [session('a', { progressPercent: 30 }), session('b', { state: 'Failed', error: 'boom' })];

    const first = await tick(0);
    const writesAfterFirst = store.writes;
    const steady = await tick();

    expect(notifier.types()).toEqual(['monitor.started']);
    expect(first).toMatchObject({ status: 'ok', sessionsListed: 2, eventsPublished: 1, eventsPending: 0 });
    expect(steady).toMatchObject({ writes: 0, eventsPublished: 0, apiLookups: { sessions: 0, repositories: 0 } });
    expect(store.writes).toBe(writesAfterFirst);
    expect(api.calls.getRepository).toBe(2); // names, once each
  });

  it('announces a session through its whole life exactly once each step', async () => {
    await tick(0);
    api.sessions = [session('a')];
    await tick();
    api.sessions = [session('a', { progressPercent: 40 })];
    await tick();
    await tick(70); // no progress for 70 min
    api.sessions = [session('a', { progressPercent: 90 })];
    await tick();
    api.sessions = [session('a', { state: 'None', progressPercent: 100 })];
    api.repositories.set('repo-a', { id: 'repo-a', name: 'Repo A', isOutOfSync: false });
    await tick();
    await tick();

    expect(notifier.types()).toEqual([
      'monitor.started',
      'sync.started',
      'sync.stalled',
      'sync.resumed',
      'sync.completed',
    ]);
    expect(notifier.delivered.at(-1)?.session).toMatchObject({ repositoryName: 'Repo A', completionConfirmed: true });
  });

  it('keeps an event the notifier refused in the outbox and publishes it next cycle', async () => {
    await tick(0);
    api.sessions = [session('a')];
    notifier.refuseTypes.add('sync.started');
    const refused = await tick();
    notifier.refuseTypes.clear();
    const retried = await tick();
    await tick();

    expect(refused).toMatchObject({ eventsCommitted: 1, eventsPublished: 0, eventsPending: 1 });
    expect(retried).toMatchObject({ eventsCommitted: 0, eventsPublished: 1, eventsPending: 0 });
    expect(notifier.types()).toEqual(['monitor.started', 'sync.started']);
  });

  it('fails the cycle when publishing throws, without losing the events', async () => {
    await tick(0);
    api.sessions = [session('a')];
    notifier.throwOnPublish = new Error('SNS down');

    await expect(tick()).rejects.toThrow('SNS down');
    notifier.throwOnPublish = undefined;
    await tick();

    expect(notifier.types()).toEqual(['monitor.started', 'sync.started']);
  });

  it('after a crash between publish and acknowledgement, republishes only once the lease has expired', async () => {
    await tick(0);
    api.sessions = [session('a')];
    store.failNextWrites = [];
    // The commit succeeds, the publish succeeds, the acknowledgement never happens (the process died).
    const crashingStore = Object.create(store) as InMemoryStateStore;
    crashingStore.write = async (...args) => {
      if (notifier.delivered.length > 1) throw new Error('process killed');
      return store.write(...args);
    };
    await expect(tick(5, { store: crashingStore })).rejects.toThrow('process killed');
    const whileLeased = await tick(1);
    const afterLease = await tick(5);

    expect(whileLeased.eventsPublished).toBe(0);
    expect(afterLease.eventsPublished).toBe(1);
    expect(notifier.types()).toEqual(['monitor.started', 'sync.started', 'sync.started']); // the one crash-window duplicate
    expect(new Set(notifier.delivered.map((e) => e.eventId)).size).toBe(2);
  });

  it('lets only one of two overlapping cycles publish an event', async () => {
    await tick(0);
    api.sessions = [session('a'), session('b')];
    clock += 5 * 60_000;

    const results = await Promise.all([pollOnce(deps()), pollOnce(deps())]);

    expect(notifier.types().sort()).toEqual(['monitor.started', 'sync.started', 'sync.started']);
    // The loser's first write (the server record, where the two syncs' incidents open) conflicts; it writes no session.
    expect(results.map((r) => r.conflicts).sort()).toEqual([0, 1]);
  });

  it('records an unreachable server without touching sessions, alerts after 15 minutes, and recovers', async () => {
    api.sessions = [session('a')];
    await tick(0);
    api.down = new UpstreamUnreachableError('cannot reach https://vb365:4443: ECONNREFUSED');
    api.sessions = [];
    const down = await tick(); // failing since here
    const alertsAfter: [number, string[]][] = [];
    for (const minutes of [5, 5, 4, 1, 5]) {
      await tick(minutes);
      alertsAfter.push([(clock - T0) / 60_000 - 5, notifier.types().slice(1)]);
    }
    api.down = undefined;
    api.sessions = [session('a')];
    await tick();
    await tick(); // recoverAfterCycles: 2

    expect(down).toMatchObject({ status: 'unreachable', reason: expect.stringContaining('ECONNREFUSED') });
    expect(alertsAfter).toEqual([
      [5, []],
      [10, []],
      [14, []],
      [15, ['server.unreachable']],
      [20, ['server.unreachable']],
    ]);
    expect(notifier.types()).toEqual(['monitor.started', 'server.unreachable', 'server.recovered']);
    expect(store.items.get('srv|session|a')?.version).toBe(1); // never touched during the outage
  });

  it('announces a sync shorter than one interval once, and keeps its record while the server lists it', async () => {
    api.repositories.set('repo-q', { id: 'repo-q', name: 'Quick', isOutOfSync: false });
    await tick(0);
    api.sessions = [session('q', { state: 'None', progressPercent: 100 })];
    await tick();
    for (let day = 0; day < 40; day++) {
      store.expire(clock); // DynamoDB's TTL
      await tick(24 * 60);
    }

    expect(notifier.types().filter((t) => t !== 'digest.weekly')).toEqual(['monitor.started', 'sync.completed']);
    expect(notifier.delivered[1]?.session).toMatchObject({
      state: 'None',
      previousState: null,
      completionConfirmed: true,
    });
    const stored = store.items.get('srv|session|q')?.write;
    // 30 days after it was last seen listed, not after it finished 40 days ago.
    expect(stored?.expiresAt).toBe(Math.floor((clock + 30 * 86_400_000) / 1000));
  });

  it('announces a failure once though the session, ended, is listed as failed for 40 days past its TTL', async () => {
    await tick(0);
    api.sessions = [session('f')];
    await tick();
    api.sessions = [session('f', { state: 'Failed', error: 'S3 403' })];
    await tick();
    api.sessions = [];
    await tick();
    await tick(); // vanished for two cycles: ended (its failure was announced)
    api.sessions = [session('f', { state: 'Failed', error: 'S3 403' })];
    for (let day = 0; day < 40; day++) {
      store.expire(clock);
      await tick(24 * 60);
    }

    expect(notifier.types().filter((t) => t === 'sync.failed')).toEqual(['sync.failed']);
    expect(store.items.has('srv|session|f')).toBe(true);
  });

  it('after a gap near the retention starts a new baseline: what it finds is summarised, not announced', async () => {
    api.repositories.set('repo-o', { id: 'repo-o', name: 'Old', isOutOfSync: false });
    api.sessions = [session('o', { state: 'None', progressPercent: 100 })];
    await tick(0);
    api.down = new UpstreamAuthError('POST /v8/token (password grant) refused: invalid_grant');
    for (let day = 0; day < 40; day++) {
      store.expire(clock); // the record of 'o' expires during the outage
      await tick(24 * 60);
    }
    api.down = undefined;
    await tick();
    await tick();

    expect(notifier.types().filter((t) => t !== 'digest.weekly')).toEqual([
      'monitor.started',
      'server.auth_failed',
      'monitor.started',
      'server.recovered',
    ]);
  });

  it('stores a baseline before it ends it: an old session is never announced after a cycle that failed halfway', async () => {
    api.repositories.set('repo-old', { id: 'repo-old', name: 'Old', isOutOfSync: false });
    api.sessions = [session('old', { state: 'None', progressPercent: 100 }), session('a')];
    // The second write fails: the server record, written alongside, would otherwise have ended the baseline.
    store.failNextWrites = [
      undefined,
      Object.assign(new Error('ProvisionedThroughputExceededException'), { name: 'Throttled' }),
    ];

    await expect(tick(0)).rejects.toThrow('ProvisionedThroughputExceededException');
    await tick();
    await tick();

    expect(notifier.types()).toEqual(['monitor.started']);
    expect(notifier.delivered[0]?.summary?.totals).toEqual({ running: 1, failed: 0, other: 0 });
  });

  it('does not start a new baseline after an outage well within the retention, and announces what ended in it', async () => {
    api.repositories.set('repo-a', { id: 'repo-a', name: 'A', isOutOfSync: false });
    api.sessions = [session('a')];
    await tick(0);
    api.down = new UpstreamAuthError('POST /v8/token (password grant) refused: invalid_grant');
    for (let day = 0; day < 20; day++) await tick(24 * 60);
    api.down = undefined;
    api.sessions = [session('a', { state: 'None', progressPercent: 100 })];
    await tick();
    await tick();

    expect(notifier.types().filter((t) => t !== 'digest.weekly')).toEqual([
      'monitor.started',
      'server.auth_failed',
      'sync.completed',
      'server.recovered',
    ]);
  });

  it('in a baseline after a long gap, commits the group of a storm before the events it stands for', async () => {
    const ids = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'];
    api.sessions = ids.map((id) => session(id));
    await tick(0);
    api.down = new UpstreamAuthError('POST /v8/token (password grant) refused: invalid_grant');
    for (let day = 0; day < 29; day++) await tick(24 * 60);
    api.down = undefined;
    api.sessions = ids.map((id) => session(id, { state: 'Failed', error: 'S3 403' }));
    store.failNextWrites = [Object.assign(new Error('InternalServerError'), { name: 'InternalServerError' })];

    await expect(tick()).rejects.toThrow('InternalServerError');
    await tick();

    const forPeople = notifier.delivered.filter((e) => e.groupedIn === undefined).map((e) => e.type);
    expect(forPeople.filter((t) => t !== 'digest.weekly')).toEqual([
      'monitor.started',
      'server.auth_failed',
      'monitor.started',
      'monitor.grouped',
    ]);
    expect(notifier.delivered.filter((e) => e.type === 'sync.failed')).toHaveLength(12);
  });

  it('ends a baseline although one of its items cannot be stored (that item is reported)', async () => {
    api.sessions = [session('a'), session('b')];
    store.failNextWrites = [new StateItemTooLargeError('cannot store SESSION#a: the item is 512000 bytes')];

    const first = await tick(0);
    api.sessions = [session('b'), session('c')];
    await tick();

    expect(first.problems).toEqual([{ sessionId: 'a', message: expect.stringContaining('512000 bytes') }]);
    expect(notifier.types()).toEqual(['monitor.started', 'sync.started']);
  });

  it('commits a group before the events it stands for: a failed server write holds them all for the next cycle', async () => {
    await tick(0);
    api.sessions = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l'].map((id) => session(id));
    store.failNextWrites = [Object.assign(new Error('InternalServerError'), { name: 'InternalServerError' })];

    await expect(tick()).rejects.toThrow('InternalServerError');
    const afterFailure = notifier.types();
    await tick();

    expect(afterFailure).toEqual(['monitor.started']);
    const forPeople = notifier.delivered.filter((e) => e.groupedIn === undefined).map((e) => e.type);
    expect(forPeople).toEqual(['monitor.started', 'monitor.grouped']);
    expect(notifier.delivered.filter((e) => e.type === 'sync.started')).toHaveLength(12);
  });

  it('lists at most 25 problems of a cycle, then says how many more, and counts them all', async () => {
    await tick(0);
    api.sessions = Array.from({ length: 40 }, (_, i) => session(`s${i}`));
    await tick();
    api.sessions = [];
    for (let i = 0; i < 40; i++) {
      api.hiddenFromList.add(`s${i}`);
      api.brokenSessions.add(`s${i}`);
    }
    api.sessions = Array.from({ length: 40 }, (_, i) => session(`s${i}`));

    const summary = await tick();

    expect(summary.problems).toHaveLength(26);
    expect(summary.problems.at(-1)).toEqual({ message: 'and 15 more problem(s) of the same cycle, not listed' });
    expect(summary.isolatedProblems).toBe(40);
  });

  it('confines an item the store cannot hold to that item: the others are committed and published', async () => {
    await tick(0);
    api.sessions = [session('a'), session('b')];
    const write = store.write.bind(store);
    store.write = async (serverId, item, expected) => {
      if (item.key.kind === 'session' && item.key.id === 'a') {
        throw new StateItemTooLargeError('cannot store SESSION#a: the item is 512000 bytes');
      }
      return write(serverId, item, expected);
    };

    const summary = await tick();

    expect(notifier.types()).toEqual(['monitor.started', 'sync.started']);
    expect(summary.problems).toEqual([{ sessionId: 'a', message: expect.stringContaining('512000 bytes') }]);
  });

  it('publishes what it committed when caching repository names fails, and reports it', async () => {
    await tick(0);
    api.sessions = [session('a')];
    store.failRepositoryNames = new Error('ProvisionedThroughputExceededException');

    const summary = await tick();

    expect(notifier.types()).toEqual(['monitor.started', 'sync.started']);
    expect(summary.problems).toEqual([
      {
        message: expect.stringContaining('caching 1 repository name(s): Error: ProvisionedThroughputExceededException'),
      },
    ]);
  });

  it('reports refused credentials at once and only once', async () => {
    await tick(0);
    api.down = new UpstreamAuthError('POST /v8/token (password grant) refused: invalid_grant');
    const summary = await tick();
    await tick();

    expect(summary.status).toBe('auth');
    expect(notifier.types()).toEqual(['monitor.started', 'server.auth_failed']);
  });

  it('confines a failed single GET to its session', async () => {
    api.sessions = [session('a'), session('b')];
    await tick(0);
    api.hiddenFromList.add('a');
    api.brokenSessions.add('a');
    api.sessions = [session('a'), session('b', { state: 'Failed', error: 'S3 403' })];

    const summary = await tick();

    expect(summary.problems).toEqual([{ sessionId: 'a', message: 'GET session a: malformed' }]);
    expect(notifier.types()).toEqual(['monitor.started', 'sync.failed']);
  });

  it('does not declare a session ended while it is found by its single GET (list lag)', async () => {
    api.sessions = [session('a')];
    await tick(0);
    api.hiddenFromList.add('a');
    await tick();
    await tick();
    await tick();

    expect(notifier.types()).toEqual(['monitor.started']);
    expect(api.calls.getSession).toBe(3);
  });

  it('throws when the store fails, after publishing what it did commit', async () => {
    await tick(0);
    api.sessions = [session('a'), session('b')];
    store.failNextWrites = [Object.assign(new Error('ProvisionedThroughputExceededException'), { name: 'Throttled' })];

    await expect(tick()).rejects.toThrow('ProvisionedThroughputExceededException');
    await tick();

    expect(notifier.types().sort()).toEqual(['monitor.started', 'sync.started', 'sync.started']);
  });
});

describe('pollOnce — out-of-sync repositories and what they block', () => {
  const detector = { policy: { ...DEFAULT_POLICY, outOfSyncAfterMs: 30 * 60_000 } };

  it('warns once about a repository out of sync with nothing syncing it, naming its jobs, and says when it clears', async () => {
    api.repositories.clear();
    api.repositories.set('repo-x', { id: 'repo-x', name: 'Wasabi Archive', isOutOfSync: true });
    api.repositories.set('repo-y', { id: 'repo-y', name: 'Busy', isOutOfSync: true });
    api.sessions = [session('y', { repositoryId: 'repo-y' })];
    api.jobs = [
      { id: 'j1', name: 'Mailboxes daily', repositoryId: 'REPO-X', isEnabled: true },
      { id: 'j2', name: 'Teams weekly', repositoryId: 'repo-x', isEnabled: false },
      { id: 'j3', name: 'Other', repositoryId: 'repo-y', isEnabled: true },
    ];
    await tick(0, detector);
    await tick(15, detector);
    await tick(15, detector); // 30 minutes out of sync
    await tick(15, detector);
    api.repositories.set('repo-x', { id: 'repo-x', name: 'Wasabi Archive', isOutOfSync: false });
    await tick(15, detector);

    expect(notifier.types().filter((t) => !t.startsWith('sync.'))).toEqual([
      'monitor.started',
      'repository.out_of_sync',
      'repository.in_sync',
    ]);
    const warning = notifier.delivered[1];
    expect(warning).toMatchObject({
      severity: 'warning',
      repository: {
        id: 'repo-x',
        name: 'Wasabi Archive',
        outOfSyncSince: new Date(T0).toISOString(),
        outOfSyncSeconds: 1800,
      },
      impact: {
        total: 2,
        jobs: [
          { id: 'j1', name: 'Mailboxes daily', isEnabled: true },
          { id: 'j2', name: 'Teams weekly', isEnabled: false },
        ],
      },
    });
    expect(notifier.delivered[2]).not.toHaveProperty('impact');
  });

  it('lists the repositories at most every 15 minutes, and the jobs only when an event needs them', async () => {
    api.repositories.clear();
    await tick(0, detector);
    await tick(5, detector);
    await tick(5, detector);
    await tick(5, detector);

    expect(api.calls.listRepositories).toBe(2);
    expect(api.calls.listJobs).toBe(0);
  });

  it('writes nothing in a quiet cycle once the schedule is known, detector scans included', async () => {
    // A sync that runs all hour without moving, short of a stall.
    const policy = { ...detector.policy, stallAfterMs: 7 * 86_400_000 };
    const scheduled = { policy, intervalMs: 5 * 60_000 };
    api.repositories.clear();
    api.repositories.set('repo-x', { id: 'repo-x', name: 'Wasabi Archive', isOutOfSync: false });
    api.sessions = [session('a', { repositoryId: 'repo-x' })];
    await tick(0, scheduled);
    await tick(5, scheduled);
    const writesBefore = store.writes;
    const scansBefore = api.calls.listRepositories;

    for (let i = 0; i < 12; i++) await tick(5, scheduled); // an hour

    expect(api.calls.listRepositories - scansBefore).toBe(4);
    expect(store.writes - writesBefore).toBe(0);
    expect(notifier.types()).toEqual(['monitor.started']);
  });

  // Cycles scheduled 4 minutes past a quarter hour, every 5 minutes; the schedule's flexible window starts every
  // other one 1.9 minutes late. Judged by the time a cycle ran, the slots of 10:15 and 10:45 get no scan and those of
  // 10:30 and 11:00 two.
  it.each([
    ['by the scheduled time: exactly one scan per slot', true, ['10:00', '10:15', '10:30', '10:45', '11:00']],
    ['by the time it ran (no scheduled time): slots missed', false, ['10:00', '10:30', '10:30', '11:00', '11:00']],
  ])('lists the repositories each 15-minute slot %s', async (_label, withScheduledTime, slots) => {
    const policy = { ...detector.policy, stallAfterMs: 7 * 86_400_000 };
    api.repositories.clear();
    api.repositories.set('repo-x', { id: 'repo-x', name: 'Wasabi Archive', isOutOfSync: false });
    api.sessions = [session('a', { repositoryId: 'repo-x' })];
    const start = Date.parse('2026-11-28T10:04:00Z');
    const scanned: string[] = [];

    for (let k = 0; k <= 12; k++) {
      const scheduled = start + k * 5 * 60_000;
      clock = scheduled + (k % 2 === 1 ? 1.9 * 60_000 : 0);
      const before = api.calls.listRepositories;
      await pollOnce(
        deps({ policy, intervalMs: 5 * 60_000, ...(withScheduledTime ? { scheduledAt: new Date(scheduled) } : {}) }),
      );
      const quarter = new Date(Math.floor(clock / 900_000) * 900_000).toISOString().slice(11, 16);
      if (api.calls.listRepositories > before) scanned.push(quarter);
    }

    expect(scanned).toEqual(slots);
  });

  it('still warns about a repository out of sync when its scans store nothing', async () => {
    const scheduled = { ...detector, intervalMs: 5 * 60_000 };
    api.repositories.clear();
    api.repositories.set('repo-x', { id: 'repo-x', name: 'Wasabi Archive', isOutOfSync: true });
    await tick(0, scheduled);

    for (let i = 0; i < 8; i++) await tick(5, scheduled);

    expect(notifier.types()).toEqual(['monitor.started', 'repository.out_of_sync']);
    expect((await store.load(SERVER.id)).server?.record).not.toHaveProperty('repositoriesScannedAt');
  });

  it('names the jobs a failure blocks, and keeps the event when the jobs cannot be listed', async () => {
    api.sessions = [session('a')];
    api.jobs = [{ id: 'j1', name: 'Mailboxes daily', repositoryId: 'repo-a', isEnabled: true }];
    await tick(0);
    api.sessions = [session('a', { state: 'Failed', error: 'S3 403' })];
    await tick();

    api.jobsDown = true;
    api.sessions = [session('a', { state: 'Failed', error: 'S3 403' }), session('b')];
    await tick();
    api.sessions = [session('a', { state: 'Failed', error: 'S3 403' }), session('b', { state: 'Failed' })];
    const summary = await tick();

    expect(notifier.delivered.filter((e) => e.type === 'sync.failed')).toEqual([
      expect.objectContaining({
        impact: {
          total: 1,
          jobs: [
            { id: 'j1', name: 'Mailboxes daily', isEnabled: true, kind: 'backup', nextRun: null, missesNextRun: false },
          ],
          blockedUntil: null,
          missedRuns: 0,
        },
      }),
      expect.not.objectContaining({ impact: expect.anything() }),
    ]);
    expect(summary.problems).toEqual([{ message: 'listing the backup jobs (impact): GET /v8/Jobs: malformed' }]);
  });
});

describe('pollOnce — history and the weekly digest', () => {
  it('records each finished sync and sends one digest when Monday 08:00 UTC has passed', async () => {
    api.sessions = [session('a'), session('b')];
    await tick(0); // Saturday 10:00: the digest clock starts
    api.sessions = [
      session('a', { state: 'None', progressPercent: 100 }),
      session('b', { state: 'Failed', error: 'S3 403' }),
    ];
    api.repositories.set('repo-a', { id: 'repo-a', name: 'Repo A', isOutOfSync: false });
    await tick();
    await tick(24 * 60); // Sunday
    const beforeMonday = notifier.types().length;
    await tick(24 * 60); // Monday 10:10
    await tick(5);

    expect([...store.historyEntries.values()].map((e) => [e.sessionId, e.outcome])).toEqual([
      ['a', 'completed'],
      ['b', 'failed'],
    ]);
    const digests = notifier.delivered.filter((e) => e.type === 'digest.weekly');
    expect(digests).toHaveLength(1);
    expect(notifier.types().slice(beforeMonday)).toContain('digest.weekly');
    expect(digests[0]?.digest).toMatchObject({
      syncs: { total: 2, completed: 1, stopped: 0, failed: 1 },
      problems: [{ repositoryName: 'Repo B', outcome: 'failed', error: 'S3 403' }],
    });
  });

  it('keeps in the history a sync that finished during quiet hours, though its message was held', async () => {
    const quiet = { policy: { ...DEFAULT_POLICY, quietHours: { timeZone: 'UTC', start: '10:00', end: '12:00' } } };
    api.sessions = [session('a')];
    await tick(0, quiet);
    api.sessions = [session('a', { state: 'None', progressPercent: 100 })];
    api.repositories.set('repo-a', { id: 'repo-a', name: 'Repo A', isOutOfSync: false });
    await tick(5, quiet);

    expect(notifier.types()).not.toContain('sync.completed');
    expect([...store.historyEntries.values()].map((e) => e.outcome)).toEqual(['completed']);
  });
});
