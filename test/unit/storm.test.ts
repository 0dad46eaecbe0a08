import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import type { CycleResult } from '../../lambda/domain/lifecycle.js';
import { DEFAULT_POLICY, type Policy } from '../../lambda/domain/policy.js';
import { pollOnce } from '../../lambda/domain/poll.js';
import { INITIAL_SERVER } from '../../lambda/domain/state.js';
import { groupStorms } from '../../lambda/domain/storm.js';
import type { SyncSession } from '../../lambda/domain/types.js';
import { ConsoleNotifier } from '../../local/cli/console-notifier.js';
import { InMemoryStateStore } from '../support/in-memory-state-store.js';
import { RecordingNotifier } from '../support/recording-notifier.js';
import { StubVb365Api } from '../support/stub-vb365-api.js';

const SERVER = { id: 'srv', name: 'Contoso VB365', url: 'https://vb365.contoso.local:4443' };
const NOW = new Date('2026-11-28T10:00:00Z');

function sessionEvent(id: string, type: MonitorEvent['type'], error: string | null = null): MonitorEvent {
  return {
    schemaVersion: 1,
    eventId: `srv/${id}/1/${type}`,
    type,
    severity: type === 'sync.failed' ? 'critical' : 'info',
    occurredAt: NOW.toISOString(),
    server: SERVER,
    session: {
      id,
      repositoryId: `r-${id}`,
      repositoryName: `Repo ${id}`,
      state: type === 'sync.failed' ? 'Failed' : 'Synchronizing',
      previousState: null,
      progressPercent: 5,
      error,
      firstSeenAt: NOW.toISOString(),
      finishedAt: null,
      durationSeconds: 0,
      completionConfirmed: null,
      milestone: null,
    },
  };
}

function resultOf(events: readonly MonitorEvent[]): CycleResult {
  return {
    server: { ...INITIAL_SERVER, initialized: true, sequence: 7 },
    serverEvents: [],
    sessions: events.map((e) => ({ record: { id: e.session?.id } as never, events: [e] })),
    learnedNames: [],
    baseline: false,
  };
}

const ids = (n: number) => Array.from({ length: n }, (_, i) => `s${String(i).padStart(4, '0')}`);
const policy = (groupThreshold: number | null): Policy => ({ ...DEFAULT_POLICY, groupThreshold });

describe('groupStorms', () => {
  it.each([
    ['below the threshold', 9, 10, 0],
    ['at the threshold', 10, 10, 1],
    ['far above it', 2000, 10, 1],
    ['storm control off', 2000, null, 0],
    ['a threshold of 1 still needs two items', 1, 1, 0],
  ])('%s: %i events, threshold %s -> %i group(s)', (_label, n, threshold, groups) => {
    const result = groupStorms(
      resultOf(ids(n).map((id) => sessionEvent(id, 'sync.failed'))),
      NOW,
      SERVER,
      policy(threshold),
    );

    expect(result.serverEvents.filter((e) => e.type === 'monitor.grouped')).toHaveLength(groups);
    expect(result.sessions.flatMap((s) => s.events).filter((e) => e.groupedIn !== undefined)).toHaveLength(
      groups === 0 ? 0 : n,
    );
  });

  it('lists the first 25 items with the total, carries the grouped type and its severity, and marks every member', () => {
    const long = 'x'.repeat(5000);
    const result = groupStorms(
      resultOf(ids(40).map((id) => sessionEvent(id, 'sync.failed', long))),
      NOW,
      SERVER,
      policy(10),
    );

    const group = result.serverEvents[0];
    expect(group).toMatchObject({
      type: 'monitor.grouped',
      severity: 'critical',
      eventId: 'srv/server/8/monitor.grouped',
      group: { type: 'sync.failed', total: 40 },
    });
    expect(group?.group?.items).toHaveLength(25);
    expect(group?.group?.items[0]).toMatchObject({ sessionId: 's0000', repositoryName: 'Repo s0000' });
    expect(group?.group?.items[0]?.error?.length).toBeLessThanOrEqual(300);
    expect(result.server.sequence).toBe(8);
    expect(new Set(result.sessions.flatMap((s) => s.events).map((e) => e.groupedIn))).toEqual(
      new Set(['srv/server/8/monitor.grouped']),
    );
    expect(result.sessions[0]?.events[0]?.session?.error).toBe(long);
  });

  it('groups each type of its own and leaves types below the threshold alone', () => {
    const events = [
      ...ids(12).map((id) => sessionEvent(`f${id}`, 'sync.failed')),
      ...ids(11).map((id) => sessionEvent(`c${id}`, 'sync.completed')),
      ...ids(3).map((id) => sessionEvent(`t${id}`, 'sync.started')),
    ];

    const result = groupStorms(resultOf(events), NOW, SERVER, policy(10));

    expect(result.serverEvents.map((e) => [e.group?.type, e.group?.total, e.severity])).toEqual([
      ['sync.failed', 12, 'critical'],
      ['sync.completed', 11, 'info'],
    ]);
    const started = result.sessions.flatMap((s) => s.events).filter((e) => e.type === 'sync.started');
    expect(started.every((e) => e.groupedIn === undefined)).toBe(true);
  });

  it('is deterministic: the same cycle evaluated again gives the same groups', () => {
    const input = resultOf(ids(15).map((id) => sessionEvent(id, 'sync.failed')));

    expect(groupStorms(input, NOW, SERVER, policy(10))).toEqual(groupStorms(input, NOW, SERVER, policy(10)));
  });
});

describe('groupStorms — tenants and likely cause', () => {
  const withOrg = (e: MonitorEvent, org: string | null): MonitorEvent =>
    org === null ? e : { ...e, organization: { id: org, name: `Tenant ${org}` } };
  const upgrade = { kind: 'upgrade' as const, from: '8.0.5.20', to: '8.1.0.305', at: NOW.toISOString() };
  const unhealthy = {
    kind: 'unhealthy' as const,
    entries: [{ name: 'PostgreSQL', status: 'Unhealthy', description: null }],
  };

  it('groups per event type whatever the organizations (an MSP storm is one storm), the group carrying none', () => {
    const events = [
      ...ids(3).map((id) => withOrg(sessionEvent(`a${id}`, 'sync.failed'), 'o1')),
      ...ids(2).map((id) => withOrg(sessionEvent(`b${id}`, 'sync.failed'), 'o2')),
      ...ids(3).map((id) => withOrg(sessionEvent(`c${id}`, 'sync.failed'), null)),
      withOrg(sessionEvent('d', 'sync.failed'), 'o3'),
    ];

    const result = groupStorms(resultOf(events), NOW, SERVER, policy(2));

    expect(result.serverEvents.map((e) => [e.eventId, e.group?.total])).toEqual([['srv/server/8/monitor.grouped', 9]]);
    expect(result.serverEvents[0]).not.toHaveProperty('organization');
    expect(result.sessions.flatMap((s) => s.events).map((e) => e.groupedIn)).toEqual(
      Array(9).fill('srv/server/8/monitor.grouped'),
    );
  });

  it.each<[string, MonitorEvent['cause'][], MonitorEvent['cause']]>([
    ['the findings every member shares', [[unhealthy, upgrade], [upgrade, unhealthy], [upgrade]], [upgrade]],
    ['none when one member has no cause', [[upgrade], [upgrade], undefined], undefined],
    [
      'every finding when all members agree',
      [
        [unhealthy, upgrade],
        [unhealthy, upgrade],
      ],
      [unhealthy, upgrade],
    ],
  ])('a group carries %s', (_label, causes, expected) => {
    const events = causes.map((cause, i) => {
      const e = sessionEvent(`s${i}`, 'sync.started');
      return cause === undefined ? e : { ...e, cause };
    });

    const group = groupStorms(resultOf(events), NOW, SERVER, policy(2)).serverEvents[0];

    expect(group?.cause).toEqual(expected);
    if (expected === undefined) expect(group).not.toHaveProperty('cause');
  });
});

describe('pollOnce — storm control', () => {
  it('2,000 sessions starting, then failing, reach people as 2 messages; every single event is still published', async () => {
    const api = new StubVb365Api();
    const store = new InMemoryStateStore();
    const notifier = new RecordingNotifier();
    let clock = NOW.getTime();
    const cycle = (minutes: number) => {
      clock += minutes * 60_000;
      return pollOnce({
        api,
        store,
        notifier,
        policy: { ...DEFAULT_POLICY, outOfSyncAfterMs: null },
        server: SERVER,
        now: () => new Date(clock),
        owner: `c${clock}`,
      });
    };
    const session = (id: string, o: Partial<SyncSession> = {}): SyncSession => ({
      id,
      repositoryId: `r-${id}`,
      state: 'Synchronizing',
      progressPercent: 0,
      error: null,
      links: {},
      ...o,
    });
    await cycle(0);
    api.sessions = ids(2000).map((id) => session(id));
    await cycle(5);
    api.sessions = ids(2000).map((id) => session(id, { state: 'Failed', error: 'S3 bucket unreachable' }));
    await cycle(5);

    const forPeople = notifier.delivered.filter((e) => e.groupedIn === undefined);
    expect(forPeople.map((e) => [e.type, e.group?.type, e.group?.total])).toEqual([
      ['monitor.started', undefined, undefined],
      ['monitor.grouped', 'sync.started', 2000],
      ['monitor.grouped', 'sync.failed', 2000],
    ]);
    expect(notifier.delivered.filter((e) => e.type === 'sync.started')).toHaveLength(2000);
    expect(notifier.delivered.filter((e) => e.type === 'sync.failed')).toHaveLength(2000);
  });
});

describe('ConsoleNotifier and groups', () => {
  it('prints the group instead of its members as text, and every event as --json', async () => {
    const grouped = groupStorms(
      resultOf(ids(12).map((id) => sessionEvent(id, 'sync.failed'))),
      NOW,
      SERVER,
      policy(10),
    );
    const events = [...grouped.serverEvents, ...grouped.sessions.flatMap((s) => s.events)];
    const print = async (json: boolean) => {
      const out = new PassThrough();
      let text = '';
      out.on('data', (c) => {
        text += String(c);
      });
      await new ConsoleNotifier(out, json).publish(events);
      return text;
    };

    const text = await print(false);
    const json = (await print(true)).trim().split('\n');

    expect(text.match(/^=== /gm)).toHaveLength(1);
    expect(text).toContain('12 syncs failed on Contoso VB365');
    expect(json).toHaveLength(13);
  });
});
