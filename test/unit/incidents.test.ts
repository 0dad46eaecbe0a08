import { beforeEach, describe, expect, it } from 'vitest';
import { UpstreamAuthError, UpstreamSetupError, UpstreamUnreachableError } from '../../lambda/domain/errors.js';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import { withIncidents } from '../../lambda/domain/incidents.js';
import type { CycleResult } from '../../lambda/domain/lifecycle.js';
import { DEFAULT_POLICY, type Policy } from '../../lambda/domain/policy.js';
import { type PollDeps, pollOnce } from '../../lambda/domain/poll.js';
import { INITIAL_SERVER, type ServerRecord } from '../../lambda/domain/state.js';
import type { SyncSession } from '../../lambda/domain/types.js';
import { InMemoryStateStore } from '../support/in-memory-state-store.js';
import { RecordingNotifier } from '../support/recording-notifier.js';
import { StubVb365Api } from '../support/stub-vb365-api.js';

const SERVER = { id: 'srv', name: 'Contoso VB365', url: 'https://vb365.contoso.local:4443' };
const T0 = Date.parse('2026-11-30T06:00:00Z');

let api: StubVb365Api;
let store: InMemoryStateStore;
let notifier: RecordingNotifier;
let clock: number;
let n: number;
let policy: Policy;

const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();

function session(id: string, overrides: Partial<SyncSession> = {}): SyncSession {
  return {
    id,
    repositoryId: 'repo-w',
    state: 'Synchronizing',
    progressPercent: 0,
    error: null,
    links: {},
    ...overrides,
  };
}

async function tick(minutes = 5, overrides: Partial<PollDeps> = {}) {
  clock += minutes * 60_000;
  n += 1;
  return pollOnce({
    api,
    store,
    notifier,
    policy,
    server: SERVER,
    now: () => new Date(clock),
    owner: `c${n}`,
    ...overrides,
  });
}

/** `type key status` of every published event after the first cycle's summary. */
const trail = () =>
  notifier.delivered
    .filter((e) => e.type !== 'monitor.started')
    .map((e) => `${e.type} ${e.incident?.key ?? '-'} ${e.incident?.status ?? '-'}`);

const incidentsOf = async () => (await store.load('srv')).server?.record.incidents ?? {};

beforeEach(() => {
  api = new StubVb365Api();
  store = new InMemoryStateStore();
  notifier = new RecordingNotifier();
  clock = T0;
  n = 0;
  policy = { ...DEFAULT_POLICY, outOfSyncAfterMs: 30 * 60_000, remindEveryMs: 60 * 60_000, digest: null };
  api.repositories.set('repo-w', { id: 'repo-w', name: 'Wasabi Archive', isOutOfSync: true });
});

describe('incidents through the poll cycle', () => {
  it('keeps one key for a sync that starts, stalls, fails, restarts under a new id and completes; the next one is new', async () => {
    await tick(0); // nothing running
    api.sessions = [session('s1', { progressPercent: 10 })];
    await tick(); // 06:05 sync.started: the incident opens at the session's first sight
    await tick(65); // 07:10 sync.stalled
    api.sessions = [session('s1', { state: 'Failed', progressPercent: 10, error: 'S3 403' })];
    await tick(); // sync.failed
    api.sessions = [session('s2', { progressPercent: 0 })];
    await tick(); // sync.started of the restart (s1 gone: ends quietly, it failed)
    api.repositories.set('repo-w', { id: 'repo-w', name: 'Wasabi Archive', isOutOfSync: false });
    api.sessions = [session('s2', { state: 'None', progressPercent: 100 })];
    await tick(); // sync.completed: resolved
    await tick(15); // the detector sees it in sync: nothing to say (it never announced it out of sync)
    api.repositories.set('repo-w', { id: 'repo-w', name: 'Wasabi Archive', isOutOfSync: true });
    api.sessions = [session('s3')];
    await tick(); // a new sync: a new incident

    const key = `srv/repository/repo-w/${at(5)}`;
    expect(trail()).toEqual([
      `sync.started ${key} open`,
      `sync.stalled ${key} open`,
      `sync.failed ${key} open`,
      `sync.started ${key} open`,
      `sync.completed ${key} resolved`,
      `sync.started srv/repository/repo-w/${at(105)} open`,
    ]);
    const completed = notifier.delivered.find((e) => e.type === 'sync.completed');
    expect(completed?.incident).toMatchObject({
      openedAt: at(5),
      severity: 'critical',
      durationSeconds: (85 - 5) * 60,
      repository: { id: 'repo-w', name: 'Wasabi Archive' },
      latest: { type: 'sync.started' },
    });
  });

  it('joins the out-of-sync alert, the sync that fixes it and the late in-sync to one incident opened when it went out of sync', async () => {
    await tick(0); // repo-w out of sync, nothing syncing: the detector starts counting
    await tick(35); // repository.out_of_sync (since 06:00)
    api.sessions = [session('s1')];
    await tick(); // sync.started joins it
    api.repositories.set('repo-w', { id: 'repo-w', name: 'Wasabi Archive', isOutOfSync: false });
    api.sessions = [session('s1', { state: 'None', progressPercent: 100 })];
    await tick(); // sync.completed resolves it
    await tick(15); // repository.in_sync, a cycle later: joins the incident it ends

    const key = `srv/repository/repo-w/${at(0)}`;
    expect(trail()).toEqual([
      `repository.out_of_sync ${key} open`,
      `sync.started ${key} open`,
      `sync.completed ${key} resolved`,
      `repository.in_sync ${key} resolved`,
    ]);
  });

  it('keeps one server incident per outage, named after its first cause; the recovery resolves it', async () => {
    api.repositories.set('repo-w', { id: 'repo-w', name: 'Wasabi Archive', isOutOfSync: false });
    await tick(0);
    api.down = new UpstreamUnreachableError('cannot reach https://vb365.contoso.local:4443: ECONNREFUSED');
    await tick(); // failing since 06:05
    await tick(15); // server.unreachable
    api.down = new UpstreamAuthError('POST /v8/token refused: invalid_grant');
    await tick(); // server.auth_failed: another cause, another incident
    api.down = undefined;
    await tick();
    await tick(); // server.recovered

    // A refused login while it was unreachable is the same outage: one PagerDuty alert, one thread, resolved once.
    const key = `srv/server/unreachable/${at(5)}`;
    expect(trail()).toEqual([
      `server.unreachable ${key} open`,
      `server.auth_failed ${key} open`,
      `server.recovered ${key} resolved`,
    ]);
    expect(Object.values(await incidentsOf()).map((i) => [i.key, i.resolvedAt, i.severity])).toEqual([
      [key, at(35), 'critical'],
    ]);
  });

  it('escalates an open problem once per threshold, counted from its first warning, and never an info-only sync', async () => {
    policy = { ...policy, escalateAfterMinutes: [30, 120], remindEveryMs: null };
    await tick(0);
    api.sessions = [session('s1', { progressPercent: 10 })];
    await tick(); // 06:05 sync.started (info): not escalated however long it runs
    await tick(50); // 06:55: still info, 50 minutes open
    await tick(15); // 07:10 sync.stalled (warning): the problem starts now
    await tick(25); // 07:35: 25 minutes
    await tick(5); // 07:40: 30 minutes → escalated at 30
    await tick(5);
    await tick(85); // 09:10: 120 minutes → escalated at 120
    await tick(60);

    const escalations = notifier.delivered.filter((e) => e.type === 'incident.escalated');
    expect(escalations.map((e) => [e.occurredAt, e.incident?.escalatedAfterMinutes])).toEqual([
      [at(100), 30],
      [at(190), 120],
    ]);
    expect(escalations[0]?.incident).toMatchObject({
      key: `srv/repository/repo-w/${at(5)}`,
      status: 'open',
      severity: 'warning',
      latest: { type: 'sync.stalled', occurredAt: at(70) },
    });
    // Every later event of the incident says how far it was escalated (the escalation channels' filter).
    api.sessions = [session('s1', { state: 'Failed', progressPercent: 10, error: 'S3 403' })];
    await tick();
    expect(notifier.delivered.at(-1)).toMatchObject({
      type: 'sync.failed',
      incident: { escalatedAfterMinutes: 120, severity: 'critical' },
    });
  });

  it('does not escalate a stall that resumed; a new warning starts the count again', async () => {
    policy = { ...policy, escalateAfterMinutes: [30], remindEveryMs: null };
    await tick(0);
    api.sessions = [session('s1', { progressPercent: 10 })];
    await tick(); // 06:05 sync.started
    await tick(65); // 07:10 sync.stalled
    api.sessions = [session('s1', { progressPercent: 20 })];
    await tick(10); // 07:20 sync.resumed: no problem any more
    for (let minutes = 0; minutes < 60; minutes += 10) {
      api.sessions = [session('s1', { progressPercent: 30 + minutes })];
      await tick(10); // moving: 07:30 … 08:20
    }
    const beforeNewStall = notifier.delivered.filter((e) => e.type === 'incident.escalated').length;
    await tick(65); // 09:25 stalled again (no progress since 08:20)
    await tick(30); // 09:55: 30 minutes into the new stall

    expect(beforeNewStall).toBe(0);
    expect(notifier.delivered.filter((e) => e.type === 'incident.escalated').map((e) => e.occurredAt)).toEqual([
      at(235),
    ]);
  });

  it('defers escalation during quiet hours (a warning waits for the morning) but never holds an acknowledgement', async () => {
    policy = {
      ...policy,
      escalateAfterMinutes: [30],
      remindEveryMs: null,
      quietHours: { timeZone: 'UTC', start: '07:30', end: '09:00' },
    };
    await tick(0);
    api.sessions = [session('s1', { progressPercent: 10 })];
    await tick(); // 06:05
    await tick(65); // 07:10 sync.stalled (warning), before quiet hours
    await tick(30); // 07:40: 30 minutes, but quiet hours hold warnings: no escalation yet
    const key = `srv/repository/repo-w/${at(5)}`;
    await store.requestAck('srv', { key: 'srv/none', by: 'x', reason: null, at: at(100) });
    await tick(30); // 08:10, still quiet
    const quiet = trail();
    await tick(55); // 09:05: the window ended: the escalation comes now
    await store.requestAck('srv', { key, by: 'ana', reason: 'looking', at: at(186) });
    // Quiet hours again from 07:30 the next day is far; an acknowledgement inside a window is tested next.
    policy = { ...policy, quietHours: { timeZone: 'UTC', start: '09:00', end: '23:00' } };
    await tick(5); // 09:10, inside the new window: the acknowledgement goes out anyway

    expect(quiet).toEqual([`sync.started ${key} open`, `sync.stalled ${key} open`]);
    expect(trail().slice(2)).toEqual([`incident.escalated ${key} open`, `incident.acknowledged ${key} open`]);
  });

  it('ends the incident of a server that waited for its credentials once they are stored', async () => {
    await tick(0);
    api.down = new UpstreamSetupError('secret vb365/srv still holds the placeholder');
    await tick(); // server.setup_required
    api.down = undefined;
    await tick(); // set up: monitoring starts, no recovery message

    expect(trail()).toEqual([`server.setup_required srv/server/setup/${at(5)} open`]);
    expect(Object.values(await incidentsOf()).filter((i) => i.resolvedAt === null)).toEqual([]);
  });

  it('lets a late in-sync end the incident it reported, not one a new sync opened meanwhile', async () => {
    await tick(0);
    await tick(35); // 06:35 repository.out_of_sync (since 06:00)
    api.sessions = [session('s1')];
    await tick(); // 06:40 sync.started joins it
    api.repositories.set('repo-w', { id: 'repo-w', name: 'Wasabi Archive', isOutOfSync: false });
    api.sessions = [session('s1', { state: 'None', progressPercent: 100 })];
    await tick(); // 06:45 sync.completed resolves it; the detector does not scan this cycle
    api.sessions = [session('s1', { state: 'None', progressPercent: 100 }), session('s2')];
    await tick(1); // 06:46 a new sync: a new incident
    await tick(14); // 07:00 the detector: repository.in_sync, late

    expect(trail()).toEqual([
      `repository.out_of_sync srv/repository/repo-w/${at(0)} open`,
      `sync.started srv/repository/repo-w/${at(0)} open`,
      `sync.completed srv/repository/repo-w/${at(0)} resolved`,
      `sync.started srv/repository/repo-w/${at(46)} open`,
      `repository.in_sync srv/repository/repo-w/${at(0)} resolved`,
    ]);
    expect(Object.values(await incidentsOf()).find((i) => i.key.endsWith(at(46)))?.resolvedAt).toBeNull();
  });

  it('applies an acknowledgement once: announced, reminders and escalation stop, and it ends with the incident', async () => {
    policy = { ...policy, escalateAfterMinutes: [60] };
    await tick(0);
    api.sessions = [session('s1', { state: 'Failed', progressPercent: 40, error: 'S3 403' })];
    await tick(); // 06:05 discovered failed: sync.failed
    const key = `srv/repository/repo-w/${at(5)}`;
    await store.requestAck('srv', { key, by: 'ana', reason: 'bucket policy fix underway', at: at(7) });
    await store.requestAck('srv', {
      key: 'srv/repository/other/2026-11-30T00:00:00.000Z',
      by: 'bo',
      reason: null,
      at: at(7),
    });
    await tick(); // incident.acknowledged
    await tick(); // the request is still stored (a day): not announced twice
    await tick(60); // a reminder would be due (hourly), and escalation at 60: neither comes
    await tick(60);
    api.repositories.set('repo-w', { id: 'repo-w', name: 'Wasabi Archive', isOutOfSync: false });
    api.sessions = [session('s2', { state: 'None', progressPercent: 100 })];
    await tick(); // a restart that completes at once: resolved, still acknowledged

    expect(trail()).toEqual([
      `sync.failed ${key} open`,
      `incident.acknowledged ${key} open`,
      `sync.completed ${key} resolved`,
    ]);
    const ack = notifier.delivered.find((e) => e.type === 'incident.acknowledged');
    expect(ack).toMatchObject({
      severity: 'info',
      incident: {
        acknowledged: { by: 'ana', reason: 'bucket policy fix underway', at: at(7) },
        severity: 'critical',
        latest: { type: 'sync.failed' },
      },
    });
    expect(notifier.delivered.at(-1)?.incident?.acknowledged?.by).toBe('ana');
  });

  it('writes nothing in quiet cycles while an incident is open', async () => {
    await tick(0);
    api.sessions = [session('s1', { progressPercent: 10 })];
    await tick();
    const writes = store.writes;
    const quiet = [await tick(1), await tick(1), await tick(1)];

    expect(quiet.map((s) => s.writes)).toEqual([0, 0, 0]);
    expect(store.writes).toBe(writes);
  });

  it('stamps the configured runbook on events of that type, incident or not', async () => {
    policy = {
      ...policy,
      runbooks: {
        'sync.started': 'https://wiki.example.com/vb365/sync',
        'monitor.started': 'https://wiki.example.com/vb365/start',
      },
    };
    await tick(0);
    api.sessions = [session('s1')];
    await tick();

    expect(notifier.delivered.map((e) => [e.type, e.runbookUrl])).toEqual([
      ['monitor.started', 'https://wiki.example.com/vb365/start'],
      ['sync.started', 'https://wiki.example.com/vb365/sync'],
    ]);
  });
});

describe('withIncidents', () => {
  const event = (type: MonitorEvent['type'], o: Partial<MonitorEvent> = {}): MonitorEvent => ({
    schemaVersion: 1,
    eventId: `srv/x/1/${type}`,
    type,
    severity: type === 'sync.failed' ? 'critical' : 'info',
    occurredAt: at(60),
    server: SERVER,
    ...o,
  });
  const result = (server: ServerRecord, serverEvents: MonitorEvent[]): CycleResult => ({
    server,
    serverEvents,
    sessions: [],
    learnedNames: [],
    baseline: false,
  });
  const input = { now: new Date(at(60)), server: SERVER, policy: DEFAULT_POLICY };

  it.each<[string, MonitorEvent]>([
    ['monitor.started', event('monitor.started')],
    ['digest.weekly', event('digest.weekly')],
    ['monitor.held_summary', event('monitor.held_summary')],
  ])('leaves %s without an incident and the server record unchanged', (_label, e) => {
    const out = withIncidents(result(INITIAL_SERVER, [e]), input);

    expect(out.serverEvents[0]?.incident).toBeUndefined();
    expect(out.server).toBe(INITIAL_SERVER);
  });

  it('keys a certificate warning by the certificate, without tracking it (nothing to acknowledge or escalate)', () => {
    const e = event('server.certificate_expiring', {
      severity: 'warning',
      certificate: { subject: 'CN=vb365', validTo: '2026-12-10T00:00:00.000Z', fingerprint256: 'AB', daysLeft: 9 },
    });
    const out = withIncidents(result(INITIAL_SERVER, [e]), {
      ...input,
      policy: { ...DEFAULT_POLICY, escalateAfterMinutes: [1] },
    });

    expect(out.serverEvents[0]?.incident).toMatchObject({
      key: 'srv/certificate/2026-12-10T00:00:00.000Z',
      subject: 'certificate',
      status: 'open',
    });
    expect(out.server.incidents).toBeUndefined();
  });

  /** A record with `open` open incidents, and resolved ones: `old` 33 hours ago, `warnings` and `news` (info) now. */
  const stored = (counts: { open: number; old: number; warnings: number; news: number }) => {
    const kinds = [
      ...Array<[string | null, 'info' | 'warning']>(counts.old).fill([at(-2000), 'warning']),
      ...Array<[string | null, 'info' | 'warning']>(counts.warnings).fill([at(0), 'warning']),
      ...Array<[string | null, 'info' | 'warning']>(counts.news).fill([at(0), 'info']),
      ...Array<[string | null, 'info' | 'warning']>(counts.open).fill([null, 'warning']),
    ];
    return Object.fromEntries(
      kinds.map(([resolvedAt, severity], i) => {
        const key = `srv/session/s${i}/${at(-3000 + i)}`;
        const entry = {
          key,
          subject: 'session' as const,
          openedAt: at(-3000 + i),
          severity,
          repository: { id: null, name: null },
          latest: null,
          acknowledged: null,
          escalatedAfterMinutes: null,
          resolvedAt,
          problemSince: null,
        };
        return [key, entry];
      }),
    );
  };
  const failed = event('sync.failed', {
    session: {
      id: 'new',
      repositoryId: null,
      repositoryName: null,
      state: 'Failed',
      previousState: 'Synchronizing',
      progressPercent: 1,
      error: 'x',
      firstSeenAt: at(0),
      finishedAt: null,
      durationSeconds: 3600,
      completionConfirmed: null,
      milestone: null,
    },
  });

  it.each([
    [
      'few open: resolved warnings of the last day stay, older ones and mere news go',
      { open: 20, old: 30, warnings: 10, news: 10 },
      21,
      10,
    ],
    ['more than 200 open: every open one stays, no resolved one', { open: 210, old: 5, warnings: 10, news: 0 }, 211, 0],
  ])('keeps incidents within 200 (%s)', (_label, counts, open, resolved) => {
    const out = withIncidents(result({ ...INITIAL_SERVER, incidents: stored(counts) }, [failed]), input);
    const kept = Object.values(out.server.incidents ?? {});

    expect(kept.filter((i) => i.resolvedAt === null)).toHaveLength(open);
    expect(kept.filter((i) => i.resolvedAt !== null)).toHaveLength(resolved);
    expect(kept.every((i) => i.resolvedAt === null || (i.resolvedAt === at(0) && i.severity === 'warning'))).toBe(true);
    expect(out.server.incidents?.[`srv/session/new/${at(0)}`]).toMatchObject({ severity: 'critical' });
  });
});
