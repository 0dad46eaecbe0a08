import { describe, expect, it } from 'vitest';
import { type MonitorAlarm, parseAlarm } from '../../lambda/domain/alarm.js';
import type { EventType, MonitorEvent, Severity } from '../../lambda/domain/events.js';
import { pagerDutyAlarmEventOf, pagerDutyEventOf } from '../../lambda/domain/render-pagerduty.js';
import { sampleAlarm, sampleEvent } from '../../local/cli/sample-events.js';
import { INCIDENT_KEY, incidentEvent } from '../support/incident-events.js';

const at = '2026-11-28T11:00:00.000Z';
const event = (type: EventType, severity: Severity, status: 'open' | 'resolved' = 'open'): MonitorEvent =>
  incidentEvent({ type, at, sequence: 3, severity, status });

describe('pagerDutyEventOf', () => {
  it.each([
    ['sync.failed', 'critical', 'open', 'trigger'],
    ['sync.stalled', 'warning', 'open', 'trigger'],
    ['sync.stopped', 'warning', 'open', 'trigger'],
    ['sync.still_failed', 'critical', 'open', 'trigger'],
    ['repository.out_of_sync', 'warning', 'open', 'trigger'],
    ['server.unreachable', 'critical', 'open', 'trigger'],
    ['server.auth_failed', 'critical', 'open', 'trigger'],
    ['server.tls_failed', 'critical', 'open', 'trigger'],
    ['server.api_unsupported', 'critical', 'open', 'trigger'],
    ['monitor.server_not_polled', 'critical', 'open', 'trigger'],
    ['incident.escalated', 'warning', 'open', 'trigger'],
    ['incident.acknowledged', 'critical', 'open', 'acknowledge'],
    ['sync.completed', 'critical', 'resolved', 'resolve'],
    ['repository.in_sync', 'warning', 'resolved', 'resolve'],
    ['server.recovered', 'critical', 'resolved', 'resolve'],
    ['monitor.server_polled_again', 'critical', 'resolved', 'resolve'],
    // An incident that never got worse than info triggered nothing: nothing to resolve.
    ['sync.completed', 'info', 'resolved', null],
    ['sync.started', 'info', 'open', null],
    ['sync.progress', 'warning', 'open', null],
    ['sync.resumed', 'warning', 'open', null],
    ['sync.state_changed', 'info', 'open', null],
    ['server.certificate_expiring', 'warning', 'open', null],
    // Blockers, proxies and health: the trouble triggers, what clears it resolves, planned or after-the-fact news pages nobody.
    ['repository.blocked', 'warning', 'open', 'trigger'],
    ['repository.unblocked', 'warning', 'resolved', 'resolve'],
    ['proxy.offline', 'warning', 'open', 'trigger'],
    ['proxy.online', 'warning', 'resolved', 'resolve'],
    ['proxy.maintenance', 'info', 'open', null],
    ['proxy.maintenance', 'warning', 'open', null],
    ['proxy.online', 'info', 'resolved', null],
    ['server.unhealthy', 'critical', 'open', 'trigger'],
    ['server.healthy', 'critical', 'resolved', 'resolve'],
    ['repository.first_backup_ok', 'info', 'open', null],
    ['repository.first_backup_failed', 'warning', 'open', null],
  ] as const)('%s (incident %s, %s) → %s', (type, severity, status, action) => {
    const pd = pagerDutyEventOf(event(type, severity, status));

    expect(pd?.event_action ?? null).toBe(action);
    if (pd) expect(pd.dedup_key).toBe(INCIDENT_KEY);
  });

  it.each(['monitor.started', 'digest.weekly', 'monitor.held_summary', 'monitor.grouped'] as const)(
    'sends nothing for %s (no incident)',
    (type) => {
      expect(pagerDutyEventOf(sampleEvent(type))).toBeNull();
    },
  );

  it('triggers with the facts: summary, source host, severity of the incident, repository, server, type, details', () => {
    const pd = pagerDutyEventOf({
      ...event('sync.failed', 'critical'),
      runbookUrl: 'https://wiki.example/runbooks/sync',
    });

    expect(pd).toMatchObject({
      event_action: 'trigger',
      dedup_key: INCIDENT_KEY,
      payload: {
        summary: 'S3 Immutable (eu-west-1) sync failed on Contoso VB365',
        source: 'vb365.contoso.local:4443',
        severity: 'critical',
        timestamp: at,
        component: 'S3 Immutable (eu-west-1)',
        group: 'vb365-prod',
        class: 'sync.failed',
        custom_details: {
          incidentKey: INCIDENT_KEY,
          openedAt: '2026-11-28T10:00:00.000Z',
          error: 'Unable to access object storage: The remote server returned an error: (403) Forbidden.',
          eventType: 'sync.failed',
        },
      },
      links: [{ href: 'https://wiki.example/runbooks/sync', text: 'Runbook' }],
      client: 'vb365-sync-monitor',
    });
  });

  it.each([
    [
      'repository.blocked',
      'warning',
      'Repository Archive-EU blocked: Out of Date (since 09:12 UTC) on Contoso VB365',
      'Archive-EU',
    ],
    ['proxy.offline', 'warning', 'Proxy proxy02.corp offline on Contoso VB365 — 4 repositories', 'proxy proxy02.corp'],
    ['server.unhealthy', 'critical', 'Contoso VB365 unhealthy: PostgreSQL', undefined],
  ] as const)(
    'triggers %s without an incident, with its title, severity, component and facts',
    (type, severity, summary, component) => {
      const e = sampleEvent(type);

      const pd = pagerDutyEventOf(e);

      expect(pd).toMatchObject({
        event_action: 'trigger',
        dedup_key: e.eventId,
        payload: { summary, severity, class: type },
      });
      expect(pd?.payload?.component).toBe(component);
    },
  );

  it('sends what a blocker blocks and its likely cause in the details', () => {
    const details = pagerDutyEventOf(sampleEvent('repository.out_of_sync'))?.payload?.custom_details ?? {};

    expect(details.Blocks).toMatch(/^2 jobs; 1 misses its next run before it ends: Exchange daily \(backup, 13:00\)/);
    expect(details['Likely cause']).toMatch(/^PostgreSQL Unhealthy/);
    expect(details.Tenant).toBe('Contoso');
  });

  it("maps the incident's worst severity, not the event's", () => {
    expect(pagerDutyEventOf(event('incident.escalated', 'critical'))?.payload?.severity).toBe('critical');
    expect(pagerDutyEventOf(event('sync.stalled', 'warning'))?.payload?.severity).toBe('warning');
  });

  it('keeps the summary within 1024 characters and sends no links without a runbook', () => {
    const long = { ...event('sync.failed', 'critical') };
    const named = {
      ...long,
      session: { ...(long.session as NonNullable<MonitorEvent['session']>), repositoryName: 'R'.repeat(3000) },
    };

    const pd = pagerDutyEventOf(named);

    expect(pd?.payload?.summary.length).toBeLessThanOrEqual(1024);
    expect(pd).not.toHaveProperty('links');
  });

  it('sends acknowledge and resolve without a payload (PagerDuty needs only the key)', () => {
    expect(pagerDutyEventOf(event('incident.acknowledged', 'critical'))).toEqual({
      event_action: 'acknowledge',
      dedup_key: INCIDENT_KEY,
    });
    expect(pagerDutyEventOf(event('sync.completed', 'warning', 'resolved'))).toEqual({
      event_action: 'resolve',
      dedup_key: INCIDENT_KEY,
    });
  });

  it('still triggers a trouble event without an incident, keyed by its own id', () => {
    const failed = sampleEvent('sync.failed');

    expect(pagerDutyEventOf(failed)).toMatchObject({ event_action: 'trigger', dedup_key: failed.eventId });
  });
});

describe('pagerDutyAlarmEventOf', () => {
  const alarm = (overrides = {}) => parseAlarm('m', JSON.stringify(sampleAlarm(overrides))) as MonitorAlarm;

  it('triggers on ALARM and resolves on OK with one key per alarm; nothing for INSUFFICIENT_DATA', () => {
    const trigger = pagerDutyAlarmEventOf(alarm());
    const resolve = pagerDutyAlarmEventOf(alarm({ NewStateValue: 'OK' }));

    expect(trigger).toMatchObject({ event_action: 'trigger', payload: { severity: 'critical' } });
    expect(resolve).toEqual({ event_action: 'resolve', dedup_key: trigger?.dedup_key });
    expect(pagerDutyAlarmEventOf(alarm({ NewStateValue: 'INSUFFICIENT_DATA' }))).toBeNull();
  });
});
