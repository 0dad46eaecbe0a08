import { describe, expect, it } from 'vitest';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import type { CycleResult } from '../../lambda/domain/lifecycle.js';
import { activeWindow, applyNoiseControl, inQuietHours } from '../../lambda/domain/noise.js';
import { DEFAULT_POLICY, type Policy } from '../../lambda/domain/policy.js';
import { INITIAL_SERVER, type ServerRecord, type SessionRecord } from '../../lambda/domain/state.js';
import { sampleEvent } from '../../local/cli/sample-events.js';

const SERVER = { id: 'vb365-prod', name: 'Contoso VB365', url: 'https://vb365.contoso.local:4443' };
const BERLIN_NIGHTS = { timeZone: 'Europe/Berlin', start: '22:00', end: '07:00' };
const quiet: Policy = { ...DEFAULT_POLICY, quietHours: BERLIN_NIGHTS };
const upgrade = {
  start: '2026-12-05T20:00:00+01:00',
  end: '2026-12-05T23:00:00+01:00',
  note: 'VB365 upgrade to v8',
  servers: ['vb365-prod'],
};
const maintenance: Policy = { ...DEFAULT_POLICY, quietHours: BERLIN_NIGHTS, maintenanceWindows: [upgrade] };

describe('inQuietHours', () => {
  it.each<[string, string, { timeZone: string; start: string; end: string }, boolean]>([
    ['before start (Berlin 21:59)', '2026-11-28T20:59:00Z', BERLIN_NIGHTS, false],
    ['at start (Berlin 22:00)', '2026-11-28T21:00:00Z', BERLIN_NIGHTS, true],
    ['past midnight (Berlin 03:00)', '2026-11-29T02:00:00Z', BERLIN_NIGHTS, true],
    ['at end, excluded (Berlin 07:00)', '2026-11-29T06:00:00Z', BERLIN_NIGHTS, false],
    ['summer time shifts UTC (Berlin 22:30 CEST)', '2026-07-01T20:30:00Z', BERLIN_NIGHTS, true],
    ['a daytime window', '2026-11-28T13:00:00Z', { timeZone: 'America/New_York', start: '08:00', end: '09:00' }, true],
    [
      'outside a daytime window',
      '2026-11-28T15:00:00Z',
      { timeZone: 'America/New_York', start: '08:00', end: '09:00' },
      false,
    ],
  ])('%s', (_name, iso, q, expected) => {
    expect(inQuietHours(new Date(iso), q)).toBe(expected);
  });
});

describe('activeWindow', () => {
  it('prefers a maintenance window of this server over quiet hours, and ignores other servers', () => {
    const during = new Date('2026-12-05T21:30:00Z'); // 22:30 Berlin: both apply

    expect(activeWindow(during, 'vb365-prod', maintenance)).toEqual({
      reason: 'maintenance',
      note: 'VB365 upgrade to v8',
    });
    expect(activeWindow(during, 'vb365-dr', maintenance)).toEqual({ reason: 'quiet-hours', note: null });
    expect(activeWindow(new Date('2026-12-05T12:00:00Z'), 'vb365-prod', maintenance)).toBeNull();
  });
});

function cycle(server: ServerRecord, events: MonitorEvent[], serverEvents: MonitorEvent[] = []): CycleResult {
  return {
    server,
    serverEvents,
    sessions: events.map((e) => ({ record: { id: e.session?.id ?? 'x' } as SessionRecord, events: [e] })),
    learnedNames: [],
    baseline: false,
  };
}

const types = (r: CycleResult) => [...r.serverEvents, ...r.sessions.flatMap((s) => s.events)].map((e) => e.type);
const READY: ServerRecord = { ...INITIAL_SERVER, initialized: true, sequence: 4 };
const NIGHT = new Date('2026-11-28T23:00:00Z');
const MORNING = new Date('2026-11-29T06:05:00Z');

describe('applyNoiseControl', () => {
  it('holds non-critical events during quiet hours and lets critical ones through', () => {
    const r = applyNoiseControl(
      cycle(READY, [
        sampleEvent('sync.stalled', {}, 1),
        sampleEvent('sync.failed', {}, 2),
        sampleEvent('sync.completed', {}, 3),
      ]),
      NIGHT,
      SERVER,
      quiet,
    );

    expect(types(r)).toEqual(['sync.failed']);
    expect(r.server.held).toMatchObject({
      reason: 'quiet-hours',
      total: 2,
      byType: { 'sync.stalled': 1, 'sync.completed': 1 },
    });
    expect(r.sessions).toHaveLength(3); // every session still advances
  });

  it('holds even critical events during maintenance', () => {
    const r = applyNoiseControl(
      cycle(READY, [sampleEvent('sync.failed', {}, 2)], [sampleEvent('server.unreachable', {}, 5)]),
      new Date('2026-12-05T20:30:00Z'),
      SERVER,
      maintenance,
    );

    expect(types(r)).toEqual([]);
    expect(r.server.held).toMatchObject({ reason: 'maintenance', note: 'VB365 upgrade to v8', total: 2 });
  });

  it('summarises what was held once the window is over, then forgets it', () => {
    const night = applyNoiseControl(cycle(READY, [sampleEvent('sync.stalled', {}, 1)]), NIGHT, SERVER, quiet);
    const later = applyNoiseControl(
      cycle(night.server, [sampleEvent('sync.completed', {}, 2)]),
      new Date('2026-11-29T01:00:00Z'),
      SERVER,
      quiet,
    );
    const morning = applyNoiseControl(
      cycle(later.server, [sampleEvent('sync.started', {}, 3)]),
      MORNING,
      SERVER,
      quiet,
    );
    const next = applyNoiseControl(cycle(morning.server, []), new Date('2026-11-29T06:10:00Z'), SERVER, quiet);

    expect(types(morning)).toEqual(['monitor.held_summary', 'sync.started']);
    const summary = morning.serverEvents[0];
    expect(summary).toMatchObject({
      eventId: 'vb365-prod/server/5/monitor.held_summary',
      severity: 'info',
      held: { reason: 'quiet-hours', total: 2, byType: { 'sync.stalled': 1, 'sync.completed': 1 } },
    });
    expect(summary?.held?.items.map((i) => i.title)).toEqual([
      'S3 Immutable (eu-west-1) sync stalled at 42% on Contoso VB365',
      'S3 Immutable (eu-west-1) sync completed on Contoso VB365',
    ]);
    expect(morning.server).not.toHaveProperty('held');
    expect(morning.server.sequence).toBe(5);
    expect(types(next)).toEqual([]);
  });

  it('counts an event held twice (a cycle re-evaluated after a crash) once', () => {
    const event = sampleEvent('sync.stalled', {}, 1);
    const a = applyNoiseControl(cycle(READY, [event]), NIGHT, SERVER, quiet);
    const b = applyNoiseControl(cycle(a.server, [event]), NIGHT, SERVER, quiet);

    expect(b.server.held?.total).toBe(1);
  });

  it('keeps the first 25 items and counts the rest', () => {
    const events = Array.from({ length: 40 }, (_, i) => sampleEvent('sync.progress', {}, i + 1));
    const night = applyNoiseControl(
      cycle(
        READY,
        events.map((e, i) => ({ ...e, eventId: `vb365-prod/s${i}/1/sync.progress` })),
      ),
      NIGHT,
      SERVER,
      quiet,
    );

    expect(night.server.held?.total).toBe(40);
    expect(night.server.held?.items).toHaveLength(25);
  });

  it('changes nothing without windows', () => {
    const input = cycle(READY, [sampleEvent('sync.stalled', {}, 1)]);

    expect(applyNoiseControl(input, NIGHT, SERVER, DEFAULT_POLICY)).toBe(input);
  });
});
