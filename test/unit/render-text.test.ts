import { describe, expect, it } from 'vitest';
import type { Impact } from '../../lambda/domain/contract-repository.js';
import type { EventType, MonitorEvent } from '../../lambda/domain/events.js';
import { asciiSafe, utcNear } from '../../lambda/domain/format.js';
import { blocksLineOf, causeLineOf, forecastLineOf } from '../../lambda/domain/render-facts.js';
import { subjectOf, textOf, viewOf } from '../../lambda/domain/render-text.js';
import { incidentName, titleOf } from '../../lambda/domain/title.js';
import { sampleEvent, sampleVariants } from '../../local/cli/sample-events.js';

const AT = '2026-11-28T12:30:00.000Z';

/** A fact of the event's channel-neutral view, by label. */
const factOf = (event: MonitorEvent, label: string) => viewOf(event).facts.find((f) => f.label === label)?.value;

const variant = (label: string): MonitorEvent => {
  const found = sampleVariants().find((v) => v.label === label);
  if (!found) throw new Error(`no sample variant "${label}"`);
  return found.event;
};

describe('titleOf and subjectOf', () => {
  it.each([
    ['repository.blocked', 'Repository Archive-EU blocked: Out of Date (since 09:12 UTC) on Contoso VB365'],
    ['repository.unblocked', 'Repository Archive-EU no longer Out of Date on Contoso VB365'],
    ['proxy.offline', 'Proxy proxy02.corp offline on Contoso VB365 — 4 repositories'],
    ['proxy.maintenance', 'Proxy proxy01.corp in maintenance on Contoso VB365 — 2 repositories'],
    ['proxy.online', 'Proxy proxy02.corp back online on Contoso VB365'],
    ['server.unhealthy', 'Contoso VB365 unhealthy: PostgreSQL'],
    ['server.healthy', 'Contoso VB365 healthy again'],
    ['repository.first_backup_ok', 'MinIO On-Prem: first backups after the resync succeeded on Contoso VB365'],
    ['repository.first_backup_failed', 'MinIO On-Prem: first backup after the resync failed on Contoso VB365'],
  ] as const)('titles %s with its names', (type, title) => {
    expect(titleOf(sampleEvent(type))).toBe(title);
  });

  it('keeps the subject printable ASCII: dashes become hyphens', () => {
    expect(subjectOf(sampleEvent('proxy.offline'))).toBe(
      '[VB365] Proxy proxy02.corp offline on Contoso VB365 - 4 repositories',
    );
    expect(asciiSafe('8.0 → 8.1 – done — ok')).toBe('8.0 -> 8.1 - done - ok');
  });

  it.each([
    ['Invalid repository', 'Repository Archive-EU blocked: Invalid (since 09:12 UTC) on Contoso VB365'],
    [
      'repository locked by a migration',
      'Repository Archive-EU blocked: locked by a migration (since 09:12 UTC) on Contoso VB365',
    ],
    ['proxy out of maintenance', 'Proxy proxy01.corp out of maintenance on Contoso VB365'],
    [
      '12 repositories out of sync, one likely cause',
      '12 repositories out of sync, nothing syncing them, on Contoso VB365',
    ],
  ])('titles the variant "%s"', (label, title) => {
    expect(titleOf(variant(label))).toBe(title);
  });

  it('names more than three unhealthy components by count', () => {
    const e = sampleEvent('server.unhealthy');
    const entries = ['PostgreSQL', 'NATS', 'A', 'B', 'C'].map((name) => ({
      name,
      status: 'Unhealthy',
      description: null,
    }));

    expect(titleOf({ ...e, health: { ...(e.health as NonNullable<MonitorEvent['health']>), entries } })).toBe(
      'Contoso VB365 unhealthy: PostgreSQL, NATS, A and 2 more',
    );
  });
});

describe('textOf for the new event types', () => {
  it.each([
    [
      'repository.blocked',
      [
        'Repository Archive-EU is BLOCKED: it is Out of Date since the VB365 upgrade and needs upgrading.',
        'Tenant:       Contoso',
        'Blocked:      Out of Date, since 09:12 UTC (18m)',
        'Blocks:       3 jobs; 2 miss their next run before it ends: Daily Exchange (backup, 12:00), Copy to Archive (copy, 13:00); also Monthly SharePoint (backup, disabled)',
        'Next: After a VB365 upgrade, repositories and proxies are Out of Date',
      ],
    ],
    [
      'repository.unblocked',
      ['no longer Out of Date after 1h 53m', 'Was blocked:  Out of Date, from 09:12 UTC for 1h 53m'],
    ],
    [
      'proxy.offline',
      [
        'Backup proxy proxy02.corp is OFFLINE: jobs on the 4 repositories it serves cannot run.',
        'Status:       Offline, maintenance mode Disabled',
        'Offline:      since 12:10 UTC (20m)',
        'Repositories it serves (4):\n  - MinIO On-Prem\n  - Archive-EU',
        'Next: Check the proxy server',
      ],
    ],
    ['proxy.maintenance', ['Maintenance:  since 12:10 UTC (20m)', 'Next: Jobs on its repositories wait']],
    ['proxy.online', ['is online again after 45m', 'Was offline:  from 12:10 UTC for 45m']],
    [
      'server.unhealthy',
      [
        'Health:       Unhealthy since 12:20 UTC (10m)',
        'Not healthy (1):\n  - PostgreSQL: Unhealthy - Failed to connect to 127.0.0.1:5432',
        'Next: Check the components named above',
      ],
    ],
    ['server.healthy', ['Health:       Healthy again, after 40m (from 12:20 UTC)', 'Were not healthy (1):']],
    [
      'repository.first_backup_ok',
      ['Resync completed: 2026-11-28 22:10 UTC', 'First backups: Daily Exchange Success, Copy to Archive Warning'],
    ],
    [
      'repository.first_backup_failed',
      [
        'A first backup to MinIO On-Prem after its resync FAILED',
        'First backups: Daily Exchange Success, Copy to Archive Failed',
        "Next: Open the failed job's session",
      ],
    ],
    [
      'sync.started',
      [
        'Forecast:     previous 5 syncs took 1h 40m–3h 10m (median 2h 5m), expect about 14:35 UTC',
        'Likely cause: repository added 40m ago',
      ],
    ],
    [
      'repository.out_of_sync',
      [
        'Tenant:       Contoso',
        'Likely cause: PostgreSQL Unhealthy (Failed to connect to 127.0.0.1:5432); upgraded 8.0.1.1234 → 8.1.0.305 at 02:10 UTC; proxy proxy02.corp offline',
        'Blocks:       2 jobs; 1 misses its next run before it ends: Exchange daily (backup, 13:00); also SharePoint weekly (backup, disabled)',
      ],
    ],
  ] as const)('shows %s as a backup admin reads it', (type: EventType, lines: readonly string[]) => {
    const text = textOf(sampleEvent(type));

    for (const line of lines) expect(text).toContain(line);
  });

  it('does not call a first backup "out of sync"', () => {
    expect(factOf(sampleEvent('repository.first_backup_ok'), 'Out of sync')).toBeUndefined();
  });

  it('shows the likely cause a group shares, and the reason a repository is Invalid', () => {
    expect(factOf(variant('12 repositories out of sync, one likely cause'), 'Likely cause')).toBe(
      'PostgreSQL Unhealthy (Failed to connect to 127.0.0.1:5432)',
    );
    expect(factOf(variant('Invalid repository'), 'Blocked')).toBe(
      'Invalid: Object storage account credentials are not valid, since 09:12 UTC (18m)',
    );
  });

  it('names every new incident subject', () => {
    const incident = (subject: 'blocker' | 'proxy' | 'health', key: string, name: string | null) =>
      ({
        key,
        subject,
        openedAt: AT,
        status: 'open',
        severity: 'warning',
        repository: name === null ? null : { id: 'r1', name },
        acknowledged: null,
        escalatedAfterMinutes: 60,
        durationSeconds: null,
        latest: null,
      }) as const;

    expect(
      incidentName({
        ...sampleEvent('incident.escalated'),
        incident: incident('blocker', 'vb365-prod/blocker/r1/outdated/x', 'Archive-EU'),
      }),
    ).toBe('Archive-EU blocked on Contoso VB365');
    expect(
      incidentName({
        ...sampleEvent('incident.escalated'),
        incident: incident('proxy', 'vb365-prod/proxy/p2/x', null),
      }),
    ).toBe('proxy p2 on Contoso VB365');
    expect(
      incidentName({ ...sampleEvent('proxy.offline'), incident: incident('proxy', 'vb365-prod/proxy/p2/x', null) }),
    ).toBe('proxy proxy02.corp on Contoso VB365');
    expect(
      incidentName({ ...sampleEvent('incident.escalated'), incident: incident('health', 'vb365-prod/health/x', null) }),
    ).toBe('Contoso VB365 health');
  });
});

describe('blocksLineOf', () => {
  const job = (name: string, o: Partial<Impact['jobs'][number]> = {}) => ({
    id: name,
    name,
    isEnabled: true,
    kind: 'backup' as const,
    nextRun: null,
    missesNextRun: false,
    ...o,
  });

  it.each([
    [
      'no job',
      { jobs: [], total: 0, blockedUntil: null, missedRuns: 0 },
      'no backup or copy job targets this repository',
    ],
    [
      'runs missed before the ETA',
      {
        jobs: [
          job('Daily Exchange', { nextRun: '2026-11-28T13:00:00.000Z', missesNextRun: true }),
          job('Copy to Archive', { kind: 'copy', nextRun: '2026-11-29T00:30:00.000Z', missesNextRun: true }),
        ],
        total: 2,
        blockedUntil: '2026-11-29T01:00:00.000Z',
        missedRuns: 2,
      },
      '2 jobs; 2 miss their next run before the ETA 2026-11-29 01:00 UTC: Daily Exchange (backup, 13:00), Copy to Archive (copy, 2026-11-29 00:30)',
    ],
    [
      'one run missed before it ends, and more jobs than listed',
      {
        jobs: [job('A', { nextRun: '2026-11-28T13:00:00.000Z', missesNextRun: true }), job('B', { isEnabled: false })],
        total: 30,
        blockedUntil: null,
        missedRuns: 1,
      },
      '30 jobs; 1 misses its next run before it ends: A (backup, 13:00); also B (backup, disabled), and 28 more',
    ],
    [
      'no run missed',
      { jobs: [job('A', { nextRun: '2026-11-29T13:00:00.000Z' })], total: 1, blockedUntil: AT, missedRuns: 0 },
      '1 job: A (backup)',
    ],
  ] as const)('says what is blocked: %s', (_label, impact, line) => {
    expect(blocksLineOf(impact as Impact, AT)).toBe(line);
  });

  it('reads an impact stored before jobs had a kind, a next run and an ETA', () => {
    const legacy = { jobs: [{ id: 'j', name: 'Exchange daily', isEnabled: false }], total: 3 } as unknown as Impact;

    expect(blocksLineOf(legacy, AT)).toBe('3 jobs: Exchange daily (backup, disabled), and 2 more');
    expect(textOf(variant('stored before schedule impact'))).toContain('Blocks:       1 job: Exchange daily (backup)');
  });
});

describe('causeLineOf and forecastLineOf', () => {
  it('puts every finding in one line, descriptions cut', () => {
    const line = causeLineOf(
      [
        {
          kind: 'unhealthy',
          entries: [
            { name: 'PostgreSQL', status: 'Unhealthy', description: `Failed to connect ${'x'.repeat(100)}` },
            { name: 'NATS', status: 'Degraded', description: null },
          ],
        },
        { kind: 'upgrade', from: '8.0.1', to: '8.1.0', at: '2026-11-28T02:10:00.000Z' },
        { kind: 'proxy', proxyId: 'p2', proxyName: 'proxy02', state: 'maintenance' },
        { kind: 'new_repository', addedAt: '2026-11-28T11:50:00.000Z' },
      ],
      AT,
    );

    expect(line).toMatch(/^PostgreSQL Unhealthy \(Failed to connect x+…\), NATS Degraded; /);
    expect(line).toContain(
      '; upgraded 8.0.1 → 8.1.0 at 02:10 UTC; proxy proxy02 in maintenance; repository added 40m ago',
    );
  });

  it('keeps a cause line within 600 characters', () => {
    const entries = Array.from({ length: 40 }, (_, i) => ({
      name: `C${i}`,
      status: 'Unhealthy',
      description: 'd'.repeat(60),
    }));

    expect(causeLineOf([{ kind: 'unhealthy', entries }], AT).length).toBeLessThanOrEqual(600);
  });

  it('forecasts from one previous sync or several', () => {
    const f = {
      minSeconds: 6000,
      medianSeconds: 7500,
      maxSeconds: 11_400,
      expectedFinishAt: '2026-11-28T14:35:00.000Z',
    };

    expect(forecastLineOf({ ...f, count: 1 }, AT)).toBe('the previous sync took 2h 5m, expect about 14:35 UTC');
    expect(forecastLineOf({ ...f, count: 5 }, AT)).toBe(
      'previous 5 syncs took 1h 40m–3h 10m (median 2h 5m), expect about 14:35 UTC',
    );
  });

  it('gives a time on the same day by the clock, another day with its date', () => {
    expect(utcNear('2026-11-28T14:35:00.000Z', AT)).toBe('14:35 UTC');
    expect(utcNear('2026-11-29T00:10:00.000Z', AT)).toBe('2026-11-29 00:10 UTC');
  });
});
