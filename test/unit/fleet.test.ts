import { describe, expect, it } from 'vitest';
import { UpstreamUnreachableError } from '../../lambda/domain/errors.js';
import type { MonitorEvent, ServerRef } from '../../lambda/domain/events.js';
import {
  cadenceOf,
  checkFleet,
  type FleetInput,
  type Heartbeat,
  polledAtRenewalMs,
  scheduleWindowMinutes,
  withPolledAt,
} from '../../lambda/domain/fleet.js';
import { fleetCheckOnce } from '../../lambda/domain/fleet-check.js';
import { DEFAULT_POLICY } from '../../lambda/domain/policy.js';
import { pollOnce } from '../../lambda/domain/poll.js';
import type { FleetStore } from '../../lambda/domain/ports.js';
import { type FleetEntry, INITIAL_SERVER, type ServerRecord } from '../../lambda/domain/state.js';
import { InMemoryStateStore } from '../support/in-memory-state-store.js';
import { RecordingNotifier } from '../support/recording-notifier.js';
import { StubVb365Api } from '../support/stub-vb365-api.js';

const T0 = Date.parse('2026-11-28T10:00:00Z');
const MIN = 60_000;
const HB: Heartbeat = { pollEveryMinutes: 5, heartbeatIntervals: 3 };
const A: ServerRef = { id: 'a', name: 'Contoso VB365', url: 'https://a.contoso.local:4443' };
const B: ServerRef = { id: 'b', name: 'Fabrikam VB365', url: 'https://b.fabrikam.local:4443' };

const at = (minutes: number) => new Date(T0 + minutes * MIN).toISOString();

describe('scheduleWindowMinutes: how late in its interval a server’s cycle may run', () => {
  it.each([
    // pollEveryMinutes, window (minutes)
    [1, 0],
    [2, 1],
    [5, 2],
    [10, 5],
    [15, 7],
    [60, 30],
  ])('every %i min: %i min', (pollEveryMinutes, minutes) => {
    expect(scheduleWindowMinutes(pollEveryMinutes)).toBe(minutes);
  });
});

describe('polledAtRenewalMs: how old polledAt may get before a cycle renews it', () => {
  it.each([
    // heartbeatIntervals, pollEveryMinutes, renewal (minutes): (N − 1.5) intervals less the schedule's window
    [1, 5, 0],
    [2, 5, 0.5],
    [3, 5, 5.5],
    [4, 10, 20],
    [2, 10, 0],
    [100, 1, 98.5],
  ])('heartbeatIntervals %i every %i min: %s min', (heartbeatIntervals, pollEveryMinutes, minutes) => {
    expect(polledAtRenewalMs({ pollEveryMinutes, heartbeatIntervals })).toBe(minutes * MIN);
  });

  // Each cycle runs at a random moment of the schedule's window after its time, give or take 5 % of an interval (the
  // scheduler's own jitter), and takes 30 s to write. A fixed pseudo-random sequence keeps the test repeatable.
  function* delays(windowMs: number, intervalMs: number) {
    let x = 12_345;
    for (;;) {
      x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
      const u = x / 2_147_483_648;
      x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
      yield u * windowMs + (x / 2_147_483_648 - 0.5) * 0.1 * intervalMs;
    }
  }
  it.each([
    // heartbeatIntervals, pollEveryMinutes, quiet cycles between two writes on average: [at least, at most]
    [1, 5, [1, 1]],
    [2, 5, [1, 1]],
    [3, 5, [1.5, 2]],
    [4, 5, [2, 3]],
    [6, 5, [4, 5]],
    [3, 10, [1, 2]],
    [3, 1, [1.5, 2]],
    [3, 60, [1, 2]],
  ] as const)(
    'heartbeatIntervals %i every %i min: a quiet cycle writes every %j cycles, and a check never finds a polled server silent',
    (heartbeatIntervals, pollEveryMinutes, [least, most]) => {
      const hb = { pollEveryMinutes, heartbeatIntervals };
      const intervalMs = pollEveryMinutes * MIN;
      const late = delays(scheduleWindowMinutes(pollEveryMinutes) * MIN, intervalMs);
      let record: ServerRecord = { ...INITIAL_SERVER, initialized: true };
      const writes: number[] = [];
      let oldestSeen = 0;
      for (let k = 0; k < 500; k++) {
        const start = T0 + k * intervalMs + (late.next().value as number);
        const next = withPolledAt(record, new Date(start), hb, false);
        const written = start + 30_000;
        // Just before this cycle's write lands, a check sees the stored time at its oldest.
        if (record.polledAt !== undefined) oldestSeen = Math.max(oldestSeen, written - Date.parse(record.polledAt));
        if (next !== record) writes.push(k);
        record = next;
      }
      const gaps = writes.slice(1).map((k, i) => k - (writes[i] ?? 0));
      const mean = 500 / writes.length;

      if (heartbeatIntervals >= 2) expect(oldestSeen).toBeLessThan(heartbeatIntervals * intervalMs);
      expect(mean).toBeGreaterThanOrEqual(least);
      expect(mean).toBeLessThanOrEqual(most);
      expect(Math.max(...gaps)).toBeLessThanOrEqual(Math.max(1, heartbeatIntervals - 1));
    },
  );
});

describe('withPolledAt', () => {
  const record = (polledAt?: string): ServerRecord => ({ ...INITIAL_SERVER, ...(polledAt ? { polledAt } : {}) });
  it.each([
    ['no polledAt yet (first cycle, or a record of an older version)', undefined, false, true],
    ['written anyway: free', at(-1), true, true],
    ['younger than the renewal', at(-5), false, false],
    ['as old as the renewal (5.5 min)', new Date(T0 - 5.5 * MIN).toISOString(), false, true],
    ['older', at(-60), false, true],
    ['from the future (clock skew)', at(10), false, false],
  ])('%s', (_label, polledAt, writtenAnyway, renewed) => {
    const before = record(polledAt);

    const after = withPolledAt(before, new Date(T0), HB, writtenAnyway);

    if (renewed) expect(after).toEqual({ ...before, polledAt: at(0) });
    else expect(after).toBe(before);
  });
});

describe('checkFleet', () => {
  const entry = (overrides: Partial<FleetEntry> = {}): FleetEntry => ({
    configuredAt: at(-60),
    sequence: 0,
    ...overrides,
  });
  const input = (
    entries: Record<string, FleetEntry>,
    polledAt: Record<string, string>,
    servers: ServerRef[] = [A],
  ): FleetInput => ({
    now: new Date(T0),
    heartbeat: HB,
    servers,
    entries: new Map(Object.entries(entries)),
    polledAt: new Map(Object.entries(polledAt)),
  });

  it.each([
    [
      'a server never seen: an entry, nothing announced',
      {},
      {},
      [{ configuredAt: at(0), sequence: 0, cadence: '5x3' }],
      [],
    ],
    ['configured 10 min ago, not polled yet (a fresh deployment)', { a: entry({ configuredAt: at(-10) }) }, {}, [], []],
    ['configured exactly 3 intervals ago, not polled', { a: entry({ configuredAt: at(-15) }) }, {}, [], []],
    ['polled 14 min ago', { a: entry() }, { a: at(-14) }, [], []],
    ['polled exactly 3 intervals ago: not more than 3', { a: entry() }, { a: at(-15) }, [], []],
    [
      'polled 3 intervals and a second ago',
      { a: entry() },
      { a: new Date(T0 - 15 * MIN - 1000).toISOString() },
      [
        {
          configuredAt: at(-60),
          sequence: 1,
          notPolled: {
            since: new Date(T0 - 15 * MIN - 1000).toISOString(),
            lastPolledAt: new Date(T0 - 15 * MIN - 1000).toISOString(),
          },
        },
      ],
      [
        [
          'monitor.server_not_polled',
          { seconds: 901, intervals: 3, lastPolledAt: new Date(T0 - 15 * MIN - 1000).toISOString() },
        ],
      ],
    ],
    [
      'configured 16 min ago, never polled',
      { a: entry({ configuredAt: at(-16) }) },
      {},
      [{ configuredAt: at(-16), sequence: 1, notPolled: { since: at(-16), lastPolledAt: null } }],
      [['monitor.server_not_polled', { since: at(-16), lastPolledAt: null, seconds: 960, intervals: 3 }]],
    ],
    [
      'configured again 10 min ago: its poll from before does not count',
      { a: entry({ configuredAt: at(-10), sequence: 4 }) },
      { a: at(-300) },
      [],
      [],
    ],
    [
      'configured again 20 min ago, polled only before',
      { a: entry({ configuredAt: at(-20), sequence: 4 }) },
      { a: at(-300) },
      [{ configuredAt: at(-20), sequence: 5, notPolled: { since: at(-20), lastPolledAt: null } }],
      [['monitor.server_not_polled', { since: at(-20), lastPolledAt: null, seconds: 1200, intervals: 4 }]],
    ],
    [
      'announced, still not polled: nothing more',
      { a: entry({ sequence: 1, notPolled: { since: at(-40), lastPolledAt: at(-40) } }) },
      { a: at(-40) },
      [],
      [],
    ],
    [
      'announced, polled again',
      { a: entry({ sequence: 1, notPolled: { since: at(-40), lastPolledAt: at(-40) } }) },
      { a: at(-2) },
      [{ configuredAt: at(-60), sequence: 2 }],
      [
        [
          'monitor.server_polled_again',
          { since: at(-40), lastPolledAt: at(-40), polledAgainAt: at(-2), seconds: 38 * 60, intervals: 7 },
        ],
      ],
    ],
    [
      'announced before its first poll, then polled',
      { a: entry({ sequence: 1, notPolled: { since: at(-60), lastPolledAt: null } }) },
      { a: at(-1) },
      [{ configuredAt: at(-60), sequence: 2 }],
      [['monitor.server_polled_again', { since: at(-60), lastPolledAt: null, polledAgainAt: at(-1), seconds: 3540 }]],
    ],
    [
      'removed from the configuration: marked, its alert dropped, nothing announced',
      { a: entry(), b: entry({ sequence: 3, notPolled: { since: at(-40), lastPolledAt: null } }) },
      { a: at(-1) },
      [{ configuredAt: at(-60), sequence: 3, removedAt: at(0) }],
      [],
    ],
    [
      'configured again after its removal: counted as new, its sequence kept',
      { a: entry({ sequence: 7, removedAt: at(-600) }) },
      { a: at(-700) },
      [{ configuredAt: at(0), sequence: 7, cadence: '5x3' }],
      [],
    ],
  ] as const)('%s', (_label, entries, polledAt, changed, events) => {
    const result = checkFleet(input(entries as Record<string, FleetEntry>, polledAt as Record<string, string>));

    expect(result.changes.map((c) => c.entry)).toEqual(changed);
    expect(result.changes.flatMap((c) => c.events)).toEqual(
      events.map(([type, polling]) => expect.objectContaining({ type, polling: expect.objectContaining(polling) })),
    );
  });

  it.each([
    ['a faster poll (60 -> 5 minutes)', { pollEveryMinutes: 60, heartbeatIntervals: 3 }],
    ['a lower threshold (6 -> 3 intervals)', { pollEveryMinutes: 5, heartbeatIntervals: 6 }],
  ])('restarts the grace after %s, instead of announcing polls of the old rhythm as silence', (_label, old) => {
    // Polled 90 minutes ago under the old rhythm: healthy then, more than 3 intervals of 5 minutes now.
    const stored = entry({ configuredAt: at(-600), cadence: cadenceOf(old) });

    const first = checkFleet(input({ a: stored }, { a: at(-90) }));
    const later = checkFleet({
      ...input({ a: first.changes[0]?.entry as FleetEntry }, { a: at(-90) }),
      now: new Date(T0 + 16 * 60_000),
    });

    expect(first.changes).toEqual([
      { serverId: 'a', entry: { ...stored, configuredAt: at(0), cadence: '5x3' }, events: [] },
    ]);
    expect(first.notPolled).toEqual([]);
    // Still silent more than 3 intervals after the new rhythm began: announced then.
    expect(later.changes.flatMap((c) => c.events.map((e) => e.type))).toEqual(['monitor.server_not_polled']);
  });

  it('does not announce a server in an active maintenance window, and does once the window is over', () => {
    const windows = [{ start: at(-30), end: at(30), servers: ['a'] }];
    const during = checkFleet({ ...input({ a: entry() }, { a: at(-40) }), maintenanceWindows: windows });
    const other = checkFleet({
      ...input({ a: entry() }, { a: at(-40) }),
      maintenanceWindows: [{ start: at(-30), end: at(30), servers: ['b'] }],
    });
    const after = checkFleet({
      ...input({ a: entry() }, { a: at(-40) }),
      now: new Date(T0 + 31 * 60_000),
      maintenanceWindows: windows,
    });

    expect(during.changes).toEqual([]);
    expect(other.changes.flatMap((c) => c.events.map((e) => e.type))).toEqual(['monitor.server_not_polled']);
    expect(after.changes.flatMap((c) => c.events.map((e) => e.type))).toEqual(['monitor.server_not_polled']);
  });

  it('emits complete, deterministic events: id per server and sequence, severity of the type, the server, the rhythm', () => {
    const { changes } = checkFleet(input({ a: entry({ sequence: 2 }) }, { a: at(-20) }));

    expect(changes[0]?.events).toEqual([
      {
        schemaVersion: 1,
        eventId: 'a/fleet/3/monitor.server_not_polled',
        type: 'monitor.server_not_polled',
        severity: 'critical',
        occurredAt: at(0),
        server: A,
        polling: {
          since: at(-20),
          lastPolledAt: at(-20),
          polledAgainAt: null,
          seconds: 1200,
          intervals: 4,
          pollEveryMinutes: 5,
          heartbeatIntervals: 3,
        },
        incident: {
          key: `a/polling/${at(-20)}`,
          subject: 'polling',
          openedAt: at(-20),
          status: 'open',
          severity: 'critical',
          repository: null,
          acknowledged: null,
          escalatedAfterMinutes: null,
          durationSeconds: null,
          latest: null,
        },
      },
    ]);
    expect(checkFleet(input({ a: entry({ sequence: 2 }) }, { a: at(-20) })).changes).toEqual(changes);
  });

  it('says nothing the second time it sees the same thing, and lists the servers not polled', () => {
    const first = checkFleet(input({ a: entry(), b: entry() }, { a: at(-30), b: at(-1) }, [A, B]));
    const entries = Object.fromEntries(first.changes.map((c) => [c.serverId, c.entry]));

    const second = checkFleet(input({ b: entry(), ...entries }, { a: at(-30), b: at(-1) }, [A, B]));

    expect(first.changes.flatMap((c) => c.events.map((e) => e.eventId))).toEqual([
      'a/fleet/1/monitor.server_not_polled',
    ]);
    expect(second.changes).toEqual([]);
    expect([first.notPolled, second.notPolled]).toEqual([['a'], ['a']]);
  });
});

describe('fleetCheckOnce with real poll cycles', () => {
  /** Two servers polled every 5 minutes by real cycles (heartbeat on), checked every 5 minutes. */
  function world() {
    const store = new InMemoryStateStore();
    const notifier = new RecordingNotifier();
    const apis = new Map([A, B].map((s) => [s.id, new StubVb365Api()]));
    let clock = T0;
    const silent = new Set<string>();
    const poll = (server: ServerRef) =>
      pollOnce({
        api: apis.get(server.id) as StubVb365Api,
        store,
        notifier,
        policy: { ...DEFAULT_POLICY, outOfSyncAfterMs: null, digest: null },
        server,
        now: () => new Date(clock),
        owner: `poll-${clock}`,
        heartbeat: HB,
      });
    const check = (owner = `check-${clock}`) =>
      fleetCheckOnce({ store, notifier, servers: [A, B], heartbeat: HB, now: () => new Date(clock), owner });
    /** Five minutes: each server not silenced is polled, then the fleet check runs. */
    const interval = async () => {
      clock += 5 * MIN;
      for (const s of [A, B]) if (!silent.has(s.id)) await poll(s);
      return check();
    };
    return { store, notifier, apis, silent, interval, check, poll, advance: (ms: number) => (clock += ms) };
  }
  const fleetEvents = (notifier: RecordingNotifier) =>
    notifier.delivered.filter((e) => e.type.startsWith('monitor.server_')).map((e) => `${e.server.id} ${e.type}`);

  it('announces a server no longer polled once, and once when it is polled again; a fresh deployment is quiet', async () => {
    const w = world();
    const summaries = [];
    for (let i = 0; i < 6; i++) summaries.push(await w.interval());
    const quiet = fleetEvents(w.notifier);
    w.silent.add('b');
    for (let i = 0; i < 8; i++) summaries.push(await w.interval());
    const whileSilent = fleetEvents(w.notifier);
    w.silent.delete('b');
    for (let i = 0; i < 4; i++) summaries.push(await w.interval());

    expect(quiet).toEqual([]);
    expect(whileSilent).toEqual(['b monitor.server_not_polled']);
    expect(fleetEvents(w.notifier)).toEqual(['b monitor.server_not_polled', 'b monitor.server_polled_again']);
    const [alert, recovery] = w.notifier.delivered.filter(
      (e) => e.server.id === 'b' && e.type.startsWith('monitor.server_'),
    );
    // Polled last at 10:30, recorded last at 10:25 (every other cycle): announced at 10:45, 4 intervals after it.
    expect(alert?.polling).toMatchObject({ lastPolledAt: at(25), intervals: 4, polledAgainAt: null });
    expect(alert?.occurredAt).toBe(at(45));
    expect(recovery?.polling).toMatchObject({ since: alert?.polling?.since, polledAgainAt: expect.any(String) });
    // One incident: the announcement opens it, the poll that ends the gap resolves it.
    expect(alert?.incident).toMatchObject({ key: `b/polling/${alert?.polling?.since}`, status: 'open' });
    expect(recovery?.incident).toMatchObject({ key: alert?.incident?.key, status: 'resolved', severity: 'critical' });
    expect(summaries.map((s) => s.notPolled).join('')).toMatch(/^0+1+0+$/);
  });

  it('counts an unreachable server as polled: the fleet check watches the monitor, not the server', async () => {
    const w = world();
    (w.apis.get('a') as StubVb365Api).down = new UpstreamUnreachableError('connection refused');
    for (let i = 0; i < 12; i++) await w.interval();

    expect(fleetEvents(w.notifier)).toEqual([]);
    expect(w.notifier.types()).toContain('server.unreachable');
  });

  it('costs a quiet cycle one write every heartbeatIntervals − 1 cycles', async () => {
    const w = world();
    await w.interval();
    const before = w.store.writes;
    // Only server `a` is polled, 12 quiet cycles; no fleet check in between.
    for (let i = 0; i < 12; i++) {
      w.advance(5 * MIN);
      await w.poll(A);
    }

    expect(w.store.writes - before).toBe(6);
  });

  it('publishes an event that failed to go out at the next check, once', async () => {
    const w = world();
    for (let i = 0; i < 3; i++) await w.interval();
    w.silent.add('a');
    w.notifier.refuseTypes.add('monitor.server_not_polled');
    for (let i = 0; i < 4; i++) await w.interval();
    const refused = fleetEvents(w.notifier);
    w.notifier.refuseTypes.clear();
    const retried = await w.interval();
    await w.interval();

    expect(refused).toEqual([]);
    expect(retried).toMatchObject({ eventsPublished: 1, eventsPending: 0 });
    expect(fleetEvents(w.notifier)).toEqual(['a monitor.server_not_polled']);
  });

  it('lets two overlapping checks announce a server once', async () => {
    const w = world();
    await w.interval();
    w.advance(30 * MIN);
    await w.poll(B);
    // Both checks read before either writes.
    const both = barrier(w.store, 2);

    const [one, two] = await Promise.all([
      fleetCheckOnce({
        store: both,
        notifier: w.notifier,
        servers: [A, B],
        heartbeat: HB,
        now: () => new Date(T0 + 35 * MIN),
        owner: 'one',
      }),
      fleetCheckOnce({
        store: both,
        notifier: w.notifier,
        servers: [A, B],
        heartbeat: HB,
        now: () => new Date(T0 + 35 * MIN),
        owner: 'two',
      }),
    ]);

    expect(fleetEvents(w.notifier)).toEqual(['a monitor.server_not_polled']);
    expect([one.conflicts + two.conflicts, one.eventsPublished + two.eventsPublished]).toEqual([1, 1]);
  });

  it('leaves an entry alone while another check, still running, publishes its events', async () => {
    const w = world();
    await w.interval();
    await w.store.write(
      'a',
      {
        key: { kind: 'fleet' },
        record: { configuredAt: at(0), sequence: 1, notPolled: { since: at(0), lastPolledAt: null } },
        pending: [{ eventId: 'a/fleet/1/monitor.server_not_polled' } as MonitorEvent],
        lease: { owner: 'other', until: at(60) },
        expiresAt: null,
      },
      1,
    );

    const summary = await w.check('mine');

    expect(summary).toMatchObject({ busy: 1, eventsPublished: 0 });
    expect(fleetEvents(w.notifier)).toEqual([]);
  });
});

/** The store, with `loadFleet` held until `n` callers have asked for it (overlapping checks read the same state). */
function barrier(store: InMemoryStateStore, n: number): FleetStore {
  let waiting = 0;
  let release: () => void = () => undefined;
  const all = new Promise<void>((resolve) => {
    release = resolve;
  });
  return {
    write: (serverId, item, expected) => store.write(serverId, item, expected),
    lastPolled: (ids) => store.lastPolled(ids),
    loadFleet: async () => {
      const snapshot = await store.loadFleet();
      waiting += 1;
      if (waiting === n) release();
      await all;
      return snapshot;
    },
  };
}
