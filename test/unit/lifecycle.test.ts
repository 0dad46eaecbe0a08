import { describe, expect, it } from 'vitest';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import { type CycleInput, type CycleResult, evaluate } from '../../lambda/domain/lifecycle.js';
import { FETCH_FAILED, type Fetched, sessionsToLookUp } from '../../lambda/domain/observation.js';
import { DEFAULT_POLICY, type Policy } from '../../lambda/domain/policy.js';
import { INITIAL_SERVER, type ServerRecord, type SessionRecord } from '../../lambda/domain/state.js';
import type { RepositoryInfo, ServerCertificate, SyncSession } from '../../lambda/domain/types.js';

const T0 = new Date('2026-11-28T10:00:00Z');
const SERVER = { id: 'vb365-prod', name: 'Contoso VB365', url: 'https://vb365.contoso.local:4443' };
const READY: ServerRecord = { ...INITIAL_SERVER, initialized: true };
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);

function seen(overrides: Partial<SyncSession> = {}): SyncSession {
  return {
    id: 's1',
    repositoryId: 'r1',
    state: 'Synchronizing',
    progressPercent: 10,
    error: null,
    links: {},
    ...overrides,
  };
}

function tracked(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return {
    id: 's1',
    repositoryId: 'r1',
    repositoryName: 'S3 Archive',
    state: 'Synchronizing',
    phase: 'running',
    outcome: null,
    progressPercent: 10,
    error: null,
    firstSeenAt: T0.toISOString(),
    lastProgressAt: T0.toISOString(),
    finishedAt: null,
    missingCycles: 0,
    milestone: 0,
    sequence: 1,
    samples: [[T0.getTime() / 1000, 10]],
    ...overrides,
  };
}

/** A session failed and announced at T0, no reminder sent yet. */
function failed(overrides: Partial<SessionRecord> = {}): SessionRecord {
  return tracked({
    state: 'Failed',
    phase: 'failed',
    error: 'S3 403',
    failedAt: T0.toISOString(),
    lastAlertAt: T0.toISOString(),
    reminders: 0,
    ...overrides,
  });
}

const inSync: Fetched<RepositoryInfo> = { found: true, value: { id: 'r1', name: 'S3 Archive', isOutOfSync: false } };
const outOfSync: Fetched<RepositoryInfo> = { found: true, value: { id: 'r1', name: 'S3 Archive', isOutOfSync: true } };

interface Case {
  readonly now?: Date;
  readonly policy?: Partial<Policy>;
  readonly server?: ServerRecord | undefined;
  readonly sessions?: SessionRecord[];
  readonly listed?: SyncSession[];
  readonly lookedUp?: [string, Fetched<SyncSession>][];
  /** What the repository lookup would return if the rules ask for it. */
  readonly repository?: Fetched<RepositoryInfo>;
}

/** Evaluates like the cycle does: once, then again with the repositories the rules asked for. */
function run(c: Case) {
  const base: CycleInput = {
    now: c.now ?? minutes(5),
    policy: { ...DEFAULT_POLICY, ...c.policy },
    server: SERVER,
    serverRecord: 'server' in c ? c.server : READY,
    sessions: c.sessions ?? [],
    repositoryNames: [{ id: 'r1', name: 'S3 Archive' }],
    observation: {
      reachable: true,
      listed: c.listed ?? [],
      lookedUp: new Map(c.lookedUp ?? []),
      repositories: new Map(),
    },
  };
  const first = evaluate(base);
  if (first.kind === 'decided') return { ...first.result, lookups: [] as string[] };
  const second = first.withRepositories(new Map(first.repositories.map((id) => [id, c.repository ?? inSync])));
  if (second.kind === 'needs') throw new Error(`a second round of lookups: ${second.repositories.join(', ')}`);
  return { ...second.result, lookups: first.repositories };
}

/** Evaluates a cycle that needs no repository lookups. */
function decided(input: CycleInput): CycleResult {
  const decision = evaluate(input);
  if (decision.kind === 'needs') throw new Error(`unexpected lookups: ${decision.repositories.join(', ')}`);
  return decision.result;
}

const types = (events: readonly MonitorEvent[]) => events.map((e) => e.type);
const allEvents = (r: ReturnType<typeof run>) => [...r.serverEvents, ...r.sessions.flatMap((s) => s.events)];

describe('evaluate — session rules', () => {
  it.each<[string, Case, string[], Partial<SessionRecord> | undefined]>([
    ['announces a new running session', { listed: [seen()] }, ['sync.started'], { phase: 'running', sequence: 1 }],
    [
      'announces a new failed session once, as failed',
      { listed: [seen({ state: 'Failed', error: 'boom' })] },
      ['sync.failed'],
      { phase: 'failed' },
    ],
    [
      'announces a new session in an unknown state as started',
      { listed: [seen({ state: 'Queued' })] },
      ['sync.started'],
      { phase: 'other' },
    ],
    [
      'records a session already in None at the first cycle silently (old news)',
      { server: undefined, listed: [seen({ state: 'None' })] },
      ['monitor.started'],
      { phase: 'ended', outcome: 'unobserved' },
    ],
    [
      'announces a sync that started and finished between two cycles as completed, once',
      { listed: [seen({ state: 'None', progressPercent: 100 })], repository: inSync },
      ['sync.completed'],
      { phase: 'ended', outcome: 'completed', state: 'None', finishedAt: minutes(5).toISOString(), sequence: 1 },
    ],
    [
      'announces a sync that started and ended between two cycles, repository still out of sync, as stopped',
      { listed: [seen({ state: 'None' })], repository: outOfSync },
      ['sync.stopped'],
      { phase: 'ended', outcome: 'stopped' },
    ],
    [
      'renews it every quarter of a short retention, long before it could expire',
      {
        now: minutes(6 * 60 + 5),
        policy: { finishedRetentionMs: 86_400_000 },
        sessions: [tracked({ phase: 'ended', outcome: 'completed', state: 'None', finishedAt: T0.toISOString() })],
        listed: [seen({ state: 'None' })],
      },
      [],
      { phase: 'ended', listedAt: minutes(6 * 60 + 5).toISOString() },
    ],
    [
      'renews the record of an ended session the server still lists a day after it finished',
      {
        now: minutes(24 * 60 + 5),
        sessions: [tracked({ phase: 'ended', outcome: 'completed', state: 'None', finishedAt: T0.toISOString() })],
        listed: [seen({ state: 'None' })],
      },
      [],
      { phase: 'ended', listedAt: minutes(24 * 60 + 5).toISOString() },
    ],
    ['emits nothing when nothing changed', { sessions: [tracked()], listed: [seen()] }, [], undefined],
    [
      'records progress without an event when no milestone is configured',
      { sessions: [tracked()], listed: [seen({ progressPercent: 55 })] },
      [],
      { progressPercent: 55, lastProgressAt: minutes(5).toISOString() },
    ],
    [
      'announces the highest milestone crossed, once',
      { policy: { milestones: [25, 50, 75] }, sessions: [tracked()], listed: [seen({ progressPercent: 60 })] },
      ['sync.progress'],
      { milestone: 50 },
    ],
    [
      'stalls a session whose progress has not moved for stallAfter',
      { now: minutes(61), sessions: [tracked()], listed: [seen()] },
      ['sync.stalled'],
      { phase: 'stalled' },
    ],
    ['does not stall before stallAfter', { now: minutes(59), sessions: [tracked()], listed: [seen()] }, [], undefined],
    [
      'does not stall twice',
      { now: minutes(200), sessions: [tracked({ phase: 'stalled' })], listed: [seen()] },
      [],
      undefined,
    ],
    [
      'resumes a stalled session whose progress moves',
      { now: minutes(90), sessions: [tracked({ phase: 'stalled' })], listed: [seen({ progressPercent: 11 })] },
      ['sync.resumed'],
      { phase: 'running' },
    ],
    [
      'fails a running session with its error',
      { sessions: [tracked()], listed: [seen({ state: 'Failed', error: 'S3 403' })] },
      ['sync.failed'],
      { phase: 'failed', error: 'S3 403' },
    ],
    [
      'does not fail a failed session again',
      {
        sessions: [failed({ samples: undefined })],
        listed: [seen({ state: 'Failed', error: 'S3 403' })],
      },
      [],
      undefined,
    ],
    [
      'completes a session that goes to None with its repository in sync',
      { sessions: [tracked()], listed: [seen({ state: 'None', progressPercent: 100 })], repository: inSync },
      ['sync.completed'],
      { phase: 'ended', outcome: 'completed', state: 'None', finishedAt: minutes(5).toISOString() },
    ],
    [
      'stops a session that goes to None with its repository still out of sync',
      { sessions: [tracked()], listed: [seen({ state: 'None' })], repository: outOfSync },
      ['sync.stopped'],
      { outcome: 'stopped' },
    ],
    [
      'completes, unconfirmed, when the repository lookup fails',
      { sessions: [tracked()], listed: [seen({ state: 'None' })], repository: FETCH_FAILED },
      ['sync.completed'],
      { outcome: 'completed' },
    ],
    [
      'ends a failed session that goes to None quietly',
      { sessions: [tracked({ state: 'Failed', phase: 'failed' })], listed: [seen({ state: 'None' })] },
      [],
      { phase: 'ended', outcome: 'failed' },
    ],
    [
      'counts a missing session without ending it inside the grace',
      { sessions: [tracked()], lookedUp: [['s1', { found: false }]] },
      [],
      { missingCycles: 1, phase: 'running' },
    ],
    [
      'ends a session missing for vanishGraceCycles',
      { sessions: [tracked({ missingCycles: 1 })], lookedUp: [['s1', { found: false }]], repository: inSync },
      ['sync.completed'],
      { phase: 'ended', state: null, missingCycles: 2 },
    ],
    [
      'keeps a session found by its single GET as present',
      {
        sessions: [tracked({ missingCycles: 1 })],
        lookedUp: [['s1', { found: true, value: seen({ progressPercent: 12 }) }]],
      },
      [],
      { missingCycles: 0, progressPercent: 12 },
    ],
    [
      'changes nothing when the single GET of a missing session fails',
      { sessions: [tracked({ missingCycles: 1 })], lookedUp: [['s1', FETCH_FAILED]] },
      [],
      undefined,
    ],
    [
      'reports an unknown state value verbatim as a state change',
      { sessions: [tracked()], listed: [seen({ state: 'WaitingForProxy' })] },
      ['sync.state_changed'],
      { phase: 'other', state: 'WaitingForProxy' },
    ],
    [
      'reports a failed session retried (Failed -> Synchronizing) as a state change',
      { sessions: [tracked({ state: 'Failed', phase: 'failed' })], listed: [seen()] },
      ['sync.state_changed'],
      { phase: 'running' },
    ],
    [
      'ignores a null state (keeps the last known one)',
      { sessions: [tracked()], listed: [seen({ state: null })] },
      [],
      undefined,
    ],
    [
      'announces a restart of an ended session under the same id',
      {
        sessions: [tracked({ phase: 'ended', outcome: 'stopped', state: null, finishedAt: T0.toISOString() })],
        listed: [seen()],
      },
      ['sync.started'],
      { phase: 'running', outcome: null, finishedAt: null, sequence: 2 },
    ],
    [
      'leaves an ended session alone while it stays listed as None',
      {
        sessions: [tracked({ phase: 'ended', outcome: 'completed', state: 'None', samples: undefined })],
        listed: [seen({ state: 'None' })],
      },
      [],
      undefined,
    ],
  ])('%s', (_name, c, expectedTypes, expectedRecord) => {
    const result = run(c);

    expect(types(allEvents(result))).toEqual(expectedTypes);
    if (expectedRecord === undefined) expect(result.sessions).toEqual([]);
    else expect(result.sessions[0]?.record).toMatchObject(expectedRecord);
  });

  it('fills the event contract of a completion', () => {
    const result = run({
      now: minutes(125),
      sessions: [tracked({ sequence: 3 })],
      listed: [seen({ state: 'None', progressPercent: 100 })],
    });

    expect(result.sessions[0]?.events[0]).toEqual({
      schemaVersion: 1,
      eventId: 'vb365-prod/s1/4/sync.completed',
      type: 'sync.completed',
      severity: 'info',
      occurredAt: '2026-11-28T12:05:00.000Z',
      server: SERVER,
      session: {
        id: 's1',
        repositoryId: 'r1',
        repositoryName: 'S3 Archive',
        state: 'None',
        previousState: 'Synchronizing',
        progressPercent: 100,
        error: null,
        firstSeenAt: '2026-11-28T10:00:00.000Z',
        finishedAt: '2026-11-28T12:05:00.000Z',
        durationSeconds: 7500,
        completionConfirmed: true,
        milestone: null,
      },
    });
  });

  it('asks for the repository only when a name is unknown or an end must be confirmed', () => {
    const steady = run({ sessions: [tracked()], listed: [seen({ progressPercent: 30 })] });
    const unknownRepo = run({ listed: [seen({ id: 's2', repositoryId: 'r9' })] });
    const ending = run({ sessions: [tracked()], listed: [seen({ state: 'None' })] });

    expect([steady.lookups, unknownRepo.lookups, ending.lookups]).toEqual([[], ['r9'], ['r1']]);
    expect(unknownRepo.learnedNames).toEqual([{ id: 'r9', name: 'S3 Archive' }]);
  });

  it('lists tracked, not-ended sessions missing from the list for single GETs', () => {
    const records = [tracked({ id: 'a' }), tracked({ id: 'b' }), tracked({ id: 'c', phase: 'ended' })];

    expect(sessionsToLookUp(records, [seen({ id: 'a' })])).toEqual(['b']);
  });
});

describe('evaluate — first cycle and server health', () => {
  it('records the first cycle silently and summarises it in one monitor.started', () => {
    const result = run({
      server: undefined,
      listed: [
        seen({ id: 'a', progressPercent: 40 }),
        seen({ id: 'b', state: 'Failed', error: 'boom' }),
        seen({ id: 'c', state: 'None' }),
        seen({ id: 'd', state: 'Queued' }),
      ],
    });

    expect(types(allEvents(result))).toEqual(['monitor.started']);
    expect(result.server.initialized).toBe(true);
    expect(result.serverEvents[0]?.summary).toMatchObject({
      running: [{ sessionId: 'a', progressPercent: 40 }],
      failed: [{ sessionId: 'b', error: 'boom' }],
      other: [{ sessionId: 'd', state: 'Queued' }],
    });
    expect(result.sessions.map((s) => [s.record.id, s.record.phase])).toEqual([
      ['a', 'running'],
      ['b', 'failed'],
      ['c', 'ended'],
      ['d', 'other'],
    ]);
  });

  const down = (kind: 'unreachable' | 'auth' | 'unsupported' | 'tls' | 'setup', reason = 'ECONNREFUSED') =>
    ({ reachable: false, kind, reason }) as const;
  const up = (certificate?: ServerCertificate): CycleInput['observation'] => ({
    reachable: true,
    listed: [seen()],
    lookedUp: new Map(),
    repositories: new Map(),
    certificate,
  });

  function health(server: ServerRecord, now: Date, observation: CycleInput['observation']) {
    return decided({
      now,
      policy: DEFAULT_POLICY,
      server: SERVER,
      serverRecord: server,
      sessions: [tracked()],
      repositoryNames: [],
      observation,
    });
  }

  it('waits unreachableAfter before announcing an outage, then announces it once', () => {
    const first = health(READY, minutes(0), down('unreachable'));
    const early = health(first.server, minutes(10), down('unreachable'));
    const due = health(early.server, minutes(15), down('unreachable'));
    const later = health(due.server, minutes(40), down('unreachable'));

    expect([first, early, due, later].map((r) => types(r.serverEvents))).toEqual([[], [], ['server.unreachable'], []]);
    expect(due.serverEvents[0]?.problem).toEqual({
      reason: 'ECONNREFUSED',
      kind: 'unreachable',
      since: minutes(0).toISOString(),
      outageSeconds: null,
    });
  });

  it('never touches sessions while the server is down', () => {
    const result = health(READY, minutes(500), down('unreachable'));

    expect(result.sessions).toEqual([]);
  });

  it('announces refused credentials at once, once, distinct from unreachable', () => {
    const a = health(READY, minutes(0), down('auth', 'invalid_grant'));
    const b = health(a.server, minutes(20), down('auth', 'invalid_grant'));

    expect([types(a.serverEvents), types(b.serverEvents)]).toEqual([['server.auth_failed'], []]);
  });

  it('announces recovery with the outage length after recoverAfterCycles working cycles, only after an alert', () => {
    const out = health(READY, minutes(0), down('unreachable'));
    const alerted = health(out.server, minutes(20), down('unreachable'));
    const once = health(alerted.server, minutes(30), up());
    const back = health(once.server, minutes(35), up());
    const blip = health(out.server, minutes(5), up());

    expect(types(once.serverEvents)).toEqual([]);
    expect(types(back.serverEvents)).toEqual(['server.recovered']);
    expect(back.serverEvents[0]?.problem?.outageSeconds).toBe(2100);
    expect(back.server).toEqual({
      ...READY,
      sequence: 2,
      lastDigestAt: once.server.lastDigestAt,
      aliveAt: once.server.aliveAt,
    });
    expect(types(blip.serverEvents)).toEqual([]);
  });

  it('raises one alert, not a storm, for a server that flaps', () => {
    let server = READY;
    const seenTypes: string[] = [];
    // Down 20 minutes, then alternately up for one cycle and down for one, for five hours.
    for (let m = 0; m <= 300; m += 5) {
      const r = health(server, minutes(m), m < 20 || (m / 5) % 2 === 0 ? down('unreachable') : up());
      server = r.server;
      seenTypes.push(...types(r.serverEvents));
    }
    for (const m of [305, 310]) {
      const r = health(server, minutes(m), up());
      server = r.server;
      seenTypes.push(...types(r.serverEvents));
    }

    expect(seenTypes).toEqual(['server.unreachable', 'server.recovered']);
  });

  it('announces an API version no longer served at once, once, until it works again', () => {
    const a = health(READY, minutes(0), down('unsupported', 'GET /v6/Jobs answered 404'));
    const b = health(a.server, minutes(30), down('unsupported', 'GET /v6/Jobs answered 404'));
    const c = health(b.server, minutes(35), up());
    const d = health(c.server, minutes(40), up());

    expect([a, b, c, d].map((r) => types(r.serverEvents))).toEqual([
      ['server.api_unsupported'],
      [],
      [],
      ['server.recovered'],
    ]);
    expect(a.serverEvents[0]?.severity).toBe('critical');
  });

  it('warns once per certificate that expires within certificateWarning, again for a renewed one', () => {
    const cert = (validTo: string): ServerCertificate => ({
      subject: 'CN=vb365.contoso.local',
      validTo,
      fingerprint256: 'AB:CD',
    });
    const far = health(READY, minutes(0), up(cert('2027-06-01T00:00:00.000Z')));
    const near = health(far.server, minutes(5), up(cert('2026-12-10T09:00:00.000Z')));
    const again = health(near.server, minutes(10), up(cert('2026-12-10T09:00:00.000Z')));
    const renewedButShort = health(again.server, minutes(15), up(cert('2026-12-11T09:00:00.000Z')));

    expect([far, near, again, renewedButShort].map((r) => types(r.serverEvents))).toEqual([
      [],
      ['server.certificate_expiring'],
      [],
      ['server.certificate_expiring'],
    ]);
    expect(near.serverEvents[0]?.certificate).toEqual({ ...cert('2026-12-10T09:00:00.000Z'), daysLeft: 11 });
  });

  it('announces a refused certificate on the first cycle, critical, once, and its recovery', () => {
    const reason = 'TLS: certificate of https://vb365:4443 changed: new SHA-256 AB:CD; update the pin';
    const a = health(READY, minutes(0), down('tls', reason));
    const b = health(a.server, minutes(30), down('tls', reason));
    const c = health(b.server, minutes(35), up());
    const d = health(c.server, minutes(40), up());

    expect([a, b, c, d].map((r) => types(r.serverEvents))).toEqual([
      ['server.tls_failed'],
      [],
      [],
      ['server.recovered'],
    ]);
    expect(a.serverEvents[0]).toMatchObject({ severity: 'critical', problem: { kind: 'tls', reason } });
  });

  it('says once, as information, that the credentials are not set up, and starts monitoring once they are', () => {
    const fresh = health(INITIAL_SERVER, minutes(0), down('setup', 'secret still holds the placeholder'));
    const waiting = health(fresh.server, minutes(60), down('setup', 'secret still holds the placeholder'));
    const filled = health(waiting.server, minutes(65), up());

    expect([fresh, waiting, filled].map((r) => types(r.serverEvents))).toEqual([
      ['server.setup_required'],
      [],
      ['monitor.started'],
    ]);
    expect(fresh.serverEvents[0]?.severity).toBe('info');
    expect(filled.server).toMatchObject({ alerted: null, failingSince: null, failure: null });
  });

  it('numbers server events in sequence', () => {
    const a = health(READY, minutes(0), down('auth'));
    const b = health(a.server, minutes(1), up());
    const c = health(b.server, minutes(2), up());

    expect([...a.serverEvents, ...b.serverEvents, ...c.serverEvents].map((e) => e.eventId)).toEqual([
      'vb365-prod/server/1/server.auth_failed',
      'vb365-prod/server/2/server.recovered',
    ]);
  });
});

describe('evaluate — rate and estimated finish', () => {
  it('says "estimating" at the start, then carries the rate and the finish once progress moved over time', () => {
    let record: SessionRecord | undefined;
    const seenEvents: MonitorEvent[] = [];
    const progress = [0, 10, 20, 30, 40, 50];
    for (const [k, p] of progress.entries()) {
      const r = run({
        now: minutes(k * 30),
        policy: { milestones: [50] },
        sessions: record ? [record] : [],
        listed: [seen({ progressPercent: p })],
      });
      record = r.sessions[0]?.record ?? record;
      seenEvents.push(...allEvents(r));
    }

    expect(types(seenEvents)).toEqual(['sync.started', 'sync.progress']);
    expect(seenEvents[0]?.estimate).toEqual({ ratePercentPerHour: null, estimatedFinishAt: null, samples: 1 });
    expect(seenEvents[1]?.estimate).toEqual({
      ratePercentPerHour: 20,
      estimatedFinishAt: minutes(150 + 150).toISOString(),
      samples: 6,
    });
  });

  it('forgets the samples once the session has ended', () => {
    const r = run({
      sessions: [tracked()],
      listed: [seen({ state: 'None', progressPercent: 100 })],
      repository: inSync,
    });

    expect(r.sessions[0]?.record).not.toHaveProperty('samples');
    expect(r.sessions[0]?.events[0]).not.toHaveProperty('estimate');
  });
});

describe('evaluate — reminders for sessions still failed', () => {
  const listed = [seen({ state: 'Failed', error: 'S3 403' })];
  const hours = (n: number) => minutes(n * 60);

  it.each<[string, Case, string[]]>([
    ['none before remindEvery', { now: hours(23), sessions: [failed()], listed }, []],
    ['the first after remindEvery', { now: hours(24), sessions: [failed()], listed }, ['sync.still_failed']],
    [
      'none once maxReminders were sent',
      { now: hours(200), sessions: [failed({ reminders: 3, lastAlertAt: hours(72).toISOString() })], listed },
      [],
    ],
    [
      'none when reminders are off',
      { now: hours(48), policy: { remindEveryMs: null }, sessions: [failed()], listed },
      [],
    ],
    [
      'none for a session that has left Failed',
      { now: hours(48), sessions: [failed()], listed: [seen({ state: 'None' })] },
      [],
    ],
  ])('%s', (_name, c, expected) => {
    expect(types(allEvents(run(c)))).toEqual(expected);
  });

  it('numbers reminders, counts from the last one, and says when the failure began', () => {
    const first = run({ now: hours(24), sessions: [failed()], listed });
    const record = first.sessions[0]?.record as SessionRecord;
    const early = run({ now: hours(47), sessions: [record], listed });
    const second = run({ now: hours(48), sessions: [record], listed });

    expect(first.sessions[0]?.events[0]?.reminder).toEqual({ count: 1, of: 3, failedSince: T0.toISOString() });
    expect(record).toMatchObject({ reminders: 1, lastAlertAt: hours(24).toISOString(), failedAt: T0.toISOString() });
    expect(types(allEvents(early))).toEqual([]);
    expect(second.sessions[0]?.events[0]?.reminder).toMatchObject({ count: 2 });
  });

  it('starts counting at a new failure and forgets it when the session runs again', () => {
    const failedNow = run({ now: hours(1), sessions: [tracked()], listed });
    const rerun = run({ now: hours(2), sessions: [failed()], listed: [seen({ state: 'Synchronizing' })] });

    expect(failedNow.sessions[0]?.record).toMatchObject({
      failedAt: hours(1).toISOString(),
      lastAlertAt: hours(1).toISOString(),
      reminders: 0,
    });
    expect(rerun.sessions[0]?.record).not.toHaveProperty('lastAlertAt');
    expect(rerun.sessions[0]?.record).not.toHaveProperty('reminders');
  });
});
