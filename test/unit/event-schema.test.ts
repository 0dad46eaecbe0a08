import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import {
  UpstreamAuthError,
  UpstreamSetupError,
  UpstreamTlsError,
  UpstreamUnreachableError,
  UpstreamUnsupportedError,
} from '../../lambda/domain/errors.js';
import { EVENT_TYPES, type EventType, type MonitorEvent } from '../../lambda/domain/events.js';
import { fleetCheckOnce } from '../../lambda/domain/fleet-check.js';
import { DEFAULT_POLICY, type Policy } from '../../lambda/domain/policy.js';
import { pollOnce } from '../../lambda/domain/poll.js';
import type { SyncSession } from '../../lambda/domain/types.js';
import { sampleEvent, sampleVariants } from '../../local/cli/sample-events.js';
import { InMemoryStateStore } from '../support/in-memory-state-store.js';
import { RecordingNotifier } from '../support/recording-notifier.js';
import { StubVb365Api } from '../support/stub-vb365-api.js';

const schema = JSON.parse(readFileSync(new URL('../../lambda/domain/event-v1.schema.json', import.meta.url), 'utf8'));
const ajv = new Ajv2020({ allErrors: true, strict: true });
(addFormats as unknown as (a: Ajv2020) => void)(ajv);
const validate = ajv.compile(schema);

/** Drives the real cycle through a history that produces every event type once or more. */
async function everyTypeFromTheRules(): Promise<MonitorEvent[]> {
  const api = new StubVb365Api();
  const store = new InMemoryStateStore();
  const notifier = new RecordingNotifier();
  let clock = Date.parse('2026-11-28T08:00:00Z');
  const s = (id: string, o: Partial<SyncSession> = {}): SyncSession => ({
    id,
    repositoryId: `r-${id}`,
    state: 'Synchronizing',
    progressPercent: 5,
    error: null,
    links: {},
    ...o,
  });
  for (const id of ['a', 'b', 'c', 'd', 'e'])
    api.repositories.set(`r-${id}`, { id: `r-${id}`, name: `Repo ${id}`, isOutOfSync: true });
  // Repo a belongs to a tenant; each resync's first backup is watched (a's succeeds, g's fails).
  api.repositories.set('r-a', { id: 'r-a', name: 'Repo a', isOutOfSync: true, organizationId: 'org-1' });
  api.organizations = [{ id: 'org-1', name: 'Contoso' }];
  api.jobs = [
    { id: 'j1', name: 'Daily a', repositoryId: 'r-a', isEnabled: true, nextRun: '2026-11-28T12:00:00Z' },
    { id: 'j2', name: 'Daily g', repositoryId: 'r-g', isEnabled: true, nextRun: '2026-12-10T12:00:00Z' },
  ];
  const run = (id: string, jobId: string, status: string) => ({
    id,
    jobId,
    status,
    creationTime: '2026-12-20T00:00:00Z',
    endTime: '2026-12-20T01:00:00Z',
  });
  api.jobSessions.set('j1', [run('js1', 'j1', 'Success')]);
  api.jobSessions.set('j2', [run('js2', 'j2', 'Failed')]);
  let policy: Policy = {
    ...DEFAULT_POLICY,
    milestones: [50],
    groupThreshold: 4,
    escalateAfterMinutes: [30],
    runbooks: { 'sync.failed': 'https://wiki.example.com/vb365/sync-failed' },
  };
  const server = { id: 'srv', name: 'Server', url: 'https://srv:4443' };
  const heartbeat = { pollEveryMinutes: 5, heartbeatIntervals: 3 };
  const cycle = async (minutes: number, options: { heartbeat?: typeof heartbeat } = {}) => {
    clock += minutes * 60_000;
    await pollOnce({
      api,
      store,
      notifier,
      policy,
      server,
      now: () => new Date(clock),
      owner: `c${clock}`,
      ...options,
    });
  };
  const fleetCheck = async (minutes: number) => {
    clock += minutes * 60_000;
    await fleetCheckOnce({
      store,
      notifier,
      servers: [server],
      heartbeat,
      now: () => new Date(clock),
      owner: `f${clock}`,
    });
  };
  api.sessions = [s('a', { progressPercent: 20 }), s('z', { state: 'Failed', error: 'old news' })];
  await cycle(0); // monitor.started
  api.sessions = [s('a', { progressPercent: 20 }), s('b'), s('c'), s('d'), s('e')];
  await cycle(5); // sync.started x4, grouped
  api.sessions = [s('a', { progressPercent: 60 }), s('b'), s('c', { state: 'WaitingForProxy' }), s('d'), s('e')];
  await cycle(5); // sync.progress (a), sync.state_changed (c)
  await cycle(70); // sync.stalled (b, d, e)
  api.sessions = [
    s('a', { progressPercent: 60 }),
    s('b', { progressPercent: 9 }),
    s('c', { state: 'WaitingForProxy' }),
    s('d', { state: 'Failed', error: 'S3 403' }),
    s('e'),
  ];
  await cycle(5); // sync.resumed (b), sync.failed (d)
  api.repositories.set('r-a', { id: 'r-a', name: 'Repo a', isOutOfSync: false });
  api.sessions = [
    s('a', { state: 'None', progressPercent: 100 }),
    s('b', { progressPercent: 9 }),
    s('c', { state: 'WaitingForProxy' }),
    s('d', { state: 'Failed', error: 'S3 403' }),
  ];
  await cycle(5); // sync.completed (a); e missing 1
  await cycle(5); // sync.stopped (e)
  api.down = new UpstreamUnreachableError('cannot reach https://srv:4443: connection refused');
  await cycle(5);
  await cycle(20); // server.unreachable
  api.down = new UpstreamAuthError('POST /v8/token (password grant) refused: invalid_grant');
  await cycle(5); // server.auth_failed
  api.down = undefined;
  await cycle(5);
  await cycle(5); // server.recovered
  api.cert = { subject: 'CN=srv', validTo: new Date(clock + 5 * 86_400_000).toISOString(), fingerprint256: 'AB:CD' };
  await cycle(5); // server.certificate_expiring
  await cycle(24 * 60); // sync.still_failed (d); the stall of d (warning) was escalated 30 minutes after it began
  const open = Object.values((await store.load('srv')).server?.record.incidents ?? {}).find(
    (i) => i.repository?.id === 'r-d' && i.resolvedAt === null,
  );
  if (!open) throw new Error('no open incident for Repo d');
  await store.requestAck('srv', { key: open.key, by: 'ana', reason: 'on it', at: new Date(clock).toISOString() });
  // The next cycle announces incident.acknowledged.
  api.down = new UpstreamUnsupportedError('GET /v8/RepositorySynchronizeSessions answered 404: API v8 is not served');
  await cycle(5); // server.api_unsupported
  api.down = new UpstreamTlsError('TLS: certificate of https://srv:4443 changed: now SHA-256 AB:CD');
  await cycle(5); // server.tls_failed
  api.down = new UpstreamSetupError('secret vb365/srv still holds the placeholder');
  await cycle(5); // server.setup_required
  api.down = undefined;
  await cycle(5); // set up: monitoring resumes without a recovery message
  await cycle(5);
  for (const [id, r] of api.repositories) api.repositories.set(id, { ...r, isOutOfSync: false });
  await cycle(15); // repository.in_sync
  await cycle(3 * 24 * 60); // digest.weekly (a Monday 08:00 UTC has passed)
  policy = {
    ...policy,
    maintenanceWindows: [
      { start: new Date(clock).toISOString(), end: new Date(clock + 30 * 60_000).toISOString(), note: 'upgrade' },
    ],
  };
  api.sessions = [...api.sessions, s('f')];
  await cycle(5); // sync.started (f), held
  await cycle(30); // monitor.held_summary
  // The cycles above record no poll (no heartbeat given): to the fleet check, the server is not polled.
  await fleetCheck(0); // configured now
  await fleetCheck(16); // monitor.server_not_polled
  await cycle(5, { heartbeat });
  await fleetCheck(0); // monitor.server_polled_again
  // Blockers, proxies, health and an upgrade, seen by the repository scans (every 15 minutes).
  api.healthReport = {
    status: 'Unhealthy',
    entries: [{ name: 'PostgreSQL', status: 'Unhealthy', description: 'Failed to connect to 127.0.0.1:5432' }],
  };
  api.build = '8.1.1.100';
  api.repositories.set('r-x', { id: 'r-x', name: 'Repo x', isOutOfSync: false, isOutdated: true, proxyId: 'p1' });
  api.repositories.set('r-g', { id: 'r-g', name: 'Repo g', isOutOfSync: true, proxyId: 'p1' });
  api.proxies = [{ id: 'p1', name: 'proxy01', status: 'Offline', maintenanceModeState: null, version: null }];
  await cycle(15); // server.unhealthy; the blocker and the proxy are noted
  api.sessions = [...api.sessions, s('g')];
  await cycle(5); // sync.started (g), its likely cause: the health check, the upgrade, its proxy
  await cycle(30); // repository.blocked (x), proxy.offline (p1)
  api.proxies = [{ id: 'p1', name: 'proxy01', status: 'Online', maintenanceModeState: 'Enabled', version: null }];
  await cycle(15); // proxy.maintenance
  api.healthReport = { status: 'Healthy', entries: [{ name: 'PostgreSQL', status: 'Healthy', description: null }] };
  api.repositories.set('r-x', { id: 'r-x', name: 'Repo x', isOutOfSync: false, isOutdated: false, proxyId: 'p1' });
  api.repositories.set('r-g', { id: 'r-g', name: 'Repo g', isOutOfSync: false, proxyId: 'p1' });
  api.proxies = [{ id: 'p1', name: 'proxy01', status: 'Online', maintenanceModeState: 'Disabled', version: null }];
  api.sessions = api.sessions.map((x) => (x.id === 'g' ? { ...x, state: 'None', progressPercent: 100 } : x));
  await cycle(15); // server.healthy, repository.unblocked, proxy.online, sync.completed (g)
  await cycle(15); // repository.first_backup_failed (g)
  return notifier.delivered;
}

describe('event contract v1 (JSON Schema)', () => {
  it('accepts every event the rules produce, covering every type', async () => {
    const events = await everyTypeFromTheRules();

    for (const e of events) expect(validate(e) ? [] : validate.errors).toEqual([]);
    expect(new Set(events.map((e) => e.type))).toEqual(new Set(EVENT_TYPES));
  });

  it.each([
    ['a missing eventId', (e: Record<string, unknown>) => delete e.eventId],
    ['an unknown type', (e: Record<string, unknown>) => (e.type = 'sync.exploded')],
    ['a failure that is not critical', (e: Record<string, unknown>) => (e.severity = 'info')],
    ['a sync event without its session', (e: Record<string, unknown>) => delete e.session],
    ['an extra field', (e: Record<string, unknown>) => (e.extra = 1)],
    [
      'progress above 100',
      (e: Record<string, unknown>) => ((e.session as Record<string, unknown>).progressPercent = 140),
    ],
  ])('rejects %s', async (_label, mutate) => {
    const failed = (await everyTypeFromTheRules()).find((e) => e.type === 'sync.failed');
    const copy = structuredClone(failed) as unknown as Record<string, unknown>;
    mutate(copy);

    expect(validate(copy)).toBe(false);
  });

  it.each([
    [
      'incident.escalated without its incident',
      'incident.escalated',
      (e: Record<string, unknown>) => delete e.incident,
    ],
    [
      'incident.acknowledged nobody acknowledged',
      'incident.acknowledged',
      (e: Record<string, unknown>) => ((e.incident as Record<string, unknown>).acknowledged = null),
    ],
    [
      'incident.escalated that is critical',
      'incident.escalated',
      (e: Record<string, unknown>) => (e.severity = 'critical'),
    ],
    [
      'sync.failed with an unknown incident subject',
      'sync.failed',
      (e: Record<string, unknown>) => ((e.incident as Record<string, unknown>).subject = 'tenant'),
    ],
    ['monitor.started with an incident', 'monitor.started', (e: Record<string, unknown>) => (e.incident = {})],
    [
      'sync.failed with a runbook that is no link',
      'sync.failed',
      (e: Record<string, unknown>) => (e.runbookUrl = 'see wiki'),
    ],
  ])('rejects %s', async (_label, type, mutate) => {
    const event = (await everyTypeFromTheRules()).find((e) => e.type === type);
    const copy = structuredClone(event) as unknown as Record<string, unknown>;
    mutate(copy);

    expect(validate(event)).toBe(true);
    expect(validate(copy)).toBe(false);
  });

  it.each([
    ['without its polling gap', (e: Record<string, unknown>) => delete e.polling],
    ['that is not critical', (e: Record<string, unknown>) => (e.severity = 'warning')],
    ['with a session', (e: Record<string, unknown>) => (e.session = {})],
    ['with a negative gap', (e: Record<string, unknown>) => ((e.polling as Record<string, unknown>).seconds = -1)],
    ['with an unknown gap field', (e: Record<string, unknown>) => ((e.polling as Record<string, unknown>).x = 1)],
    ['whose polling gap is on another type', (e: Record<string, unknown>) => (e.type = 'server.unreachable')],
  ])('rejects a monitor.server_not_polled %s', async (_label, mutate) => {
    const events = await everyTypeFromTheRules();
    const notPolled = events.find((e) => e.type === 'monitor.server_not_polled');
    const copy = structuredClone(notPolled) as unknown as Record<string, unknown>;
    mutate(copy);

    expect(validate(notPolled)).toBe(true);
    expect(validate(copy)).toBe(false);
  });
});

describe('event contract v1: blockers, proxies, health, likely cause, forecast, first backups, tenants', () => {
  type Mutate = (e: Record<string, unknown>) => unknown;
  const field = (e: Record<string, unknown>, key: string) => e[key] as Record<string, unknown>;

  it('accepts the samples of every new type and variant, an impact stored before the schedule fields included', () => {
    const events = [
      ...(
        [
          'repository.blocked',
          'repository.unblocked',
          'proxy.offline',
          'proxy.maintenance',
          'proxy.online',
          'server.unhealthy',
          'server.healthy',
          'repository.first_backup_ok',
          'repository.first_backup_failed',
          'sync.started',
          'repository.out_of_sync',
        ] as const
      ).map((t) => sampleEvent(t)),
      ...sampleVariants().map((v) => v.event),
    ];

    for (const e of events) expect(validate(e) ? [] : validate.errors).toEqual([]);
  });

  it.each([
    ['repository.blocked without its blocker', 'repository.blocked', (e) => delete e.blocker],
    ['repository.blocked that is info', 'repository.blocked', (e) => (e.severity = 'info')],
    ['a blocker of an unknown kind', 'repository.blocked', (e) => (field(e, 'blocker').kind = 'haunted')],
    ['a blocker on a proxy event', 'proxy.offline', (e) => (e.blocker = sampleEvent('repository.blocked').blocker)],
    ['proxy.offline without its proxy', 'proxy.offline', (e) => delete e.proxy],
    ['a proxy in an unknown state', 'proxy.offline', (e) => (field(e, 'proxy').state = 'sleeping')],
    [
      'more than 25 repositories listed for a proxy',
      'proxy.offline',
      (e) => {
        const p = field(e, 'proxy');
        p.repositories = Array.from({ length: 26 }, (_, i) => ({ id: `r${i}`, name: null }));
      },
    ],
    ['an impact on proxy.online', 'proxy.online', (e) => (e.impact = sampleEvent('proxy.offline').impact)],
    ['server.unhealthy without its health', 'server.unhealthy', (e) => delete e.health],
    ['server.unhealthy that is a warning', 'server.unhealthy', (e) => (e.severity = 'warning')],
    ['server.unhealthy with a session', 'server.unhealthy', (e) => (e.session = sampleEvent('sync.failed').session)],
    ['health on server.unreachable', 'server.unreachable', (e) => (e.health = sampleEvent('server.unhealthy').health)],
    ['a first backup without its jobs', 'repository.first_backup_failed', (e) => delete field(e, 'firstBackup').jobs],
    [
      'a first backup on repository.in_sync',
      'repository.in_sync',
      (e) => {
        e.firstBackup = sampleEvent('repository.first_backup_ok').firstBackup;
      },
    ],
    ['a forecast on sync.failed', 'sync.failed', (e) => (e.forecast = sampleEvent('sync.started').forecast)],
    ['a forecast of no previous sync', 'sync.started', (e) => (field(e, 'forecast').count = 0)],
    ['a cause on sync.completed', 'sync.completed', (e) => (e.cause = sampleEvent('sync.started').cause)],
    ['an empty cause', 'repository.out_of_sync', (e) => (e.cause = [])],
    ['a cause of an unknown kind', 'repository.out_of_sync', (e) => (e.cause = [{ kind: 'gremlins' }])],
    [
      'an upgrade cause without its versions',
      'repository.out_of_sync',
      (e) => {
        e.cause = [{ kind: 'upgrade', at: '2026-11-28T02:10:00.000Z' }];
      },
    ],
    ['a tenant on a server event', 'server.unhealthy', (e) => (e.organization = { id: 'o1', name: 'Contoso' })],
    [
      'a job of an unknown kind',
      'repository.out_of_sync',
      (e) => {
        const jobs = field(e, 'impact').jobs as Record<string, unknown>[];
        (jobs[0] as Record<string, unknown>).kind = 'archive';
      },
    ],
    [
      'an incident of an unknown subject',
      'proxy.offline',
      (e) => {
        e.incident = { ...(sampleEvent('incident.escalated').incident as object), subject: 'tenant' };
      },
    ],
  ] as [string, EventType, Mutate][])('rejects %s', (_label, type, mutate) => {
    const event = sampleEvent(type);
    const copy = structuredClone(event) as unknown as Record<string, unknown>;
    mutate(copy);

    expect(validate(event) ? [] : validate.errors).toEqual([]);
    expect(validate(copy)).toBe(false);
  });

  it.each(['blocker', 'proxy', 'health'] as const)('accepts an incident about a %s', (subject) => {
    const event = {
      ...sampleEvent(
        subject === 'blocker' ? 'repository.blocked' : subject === 'proxy' ? 'proxy.offline' : 'server.unhealthy',
      ),
      incident: { ...(sampleEvent('incident.escalated').incident as NonNullable<MonitorEvent['incident']>), subject },
    };

    expect(validate(event) ? [] : validate.errors).toEqual([]);
  });
});
