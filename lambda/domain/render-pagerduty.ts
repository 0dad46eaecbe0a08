import type { MonitorAlarm } from './alarm.js';
import type { EventType, MonitorEvent, Severity } from './events.js';
import { truncate } from './format.js';
import { viewOf } from './render-text.js';

/*
 * PagerDuty Events API v2 (`POST https://events.pagerduty.com/v2/enqueue`): what an event means for an incident there.
 * One PagerDuty alert per monitor incident (`dedup_key` = the incident key): the trouble triggers it, `incident.acknowledged`
 * acknowledges it, the event that ends the incident resolves it. PagerDuty deduplicates repeated triggers of one key
 * itself, so every trouble event of an incident is sent (it updates the alert's summary and details). Pure: the routing key
 * is added by the adapter, never seen here.
 */

/** What PagerDuty is asked to do. */
export type PagerDutyAction = 'trigger' | 'acknowledge' | 'resolve';

/** PagerDuty's severities (`error` is not used: the monitor has three). */
export type PagerDutySeverity = 'critical' | 'error' | 'warning' | 'info';

/** A PCL-CEF alert event without its `routing_key` (the adapter adds it from the channel's secret). */
export interface PagerDutyEvent {
  readonly event_action: PagerDutyAction;
  /** ≤ 255 characters. */
  readonly dedup_key: string;
  /** `trigger` only. */
  readonly payload?: {
    /** ≤ 1024 characters. */
    readonly summary: string;
    readonly source: string;
    readonly severity: PagerDutySeverity;
    readonly timestamp?: string;
    readonly component?: string;
    readonly group?: string;
    readonly class?: string;
    readonly custom_details?: Readonly<Record<string, unknown>>;
  };
  readonly links?: readonly { readonly href: string; readonly text: string }[];
  readonly client?: string;
}

/**
 * Event types that open (or keep open) an alert in PagerDuty. What ends their incident (`repository.unblocked`,
 * `proxy.online`, `server.healthy`, …) resolves it; `proxy.maintenance` (planned) and the first backups after a resync
 * page nobody.
 */
export const PAGERDUTY_TRIGGERS: ReadonlySet<EventType> = new Set<EventType>([
  'sync.failed',
  'sync.stalled',
  'sync.stopped',
  'sync.still_failed',
  'repository.out_of_sync',
  'server.unreachable',
  'server.auth_failed',
  'server.tls_failed',
  'server.api_unsupported',
  'monitor.server_not_polled',
  'incident.escalated',
  'repository.blocked',
  'proxy.offline',
  'server.unhealthy',
]);

const SEVERITY: Readonly<Record<Severity, PagerDutySeverity>> = {
  critical: 'critical',
  warning: 'warning',
  info: 'info',
};

/** PagerDuty's limits. */
const LIMIT = { summary: 1024, dedupKey: 255, detail: 2000 };

const CLIENT = 'vb365-sync-monitor';

/**
 * The PagerDuty event for a monitor event, or `null` when it means nothing there (progress, a start, a recovery of an
 * incident that never reached warning: nothing to resolve). Without an incident (events from before incidents existed),
 * a trouble event still triggers, keyed by its own id.
 */
export function pagerDutyEventOf(event: MonitorEvent): PagerDutyEvent | null {
  const incident = event.incident;
  const dedupKey = truncate(incident?.key ?? event.eventId, LIMIT.dedupKey, '');
  if (event.type === 'incident.acknowledged') {
    return incident ? { event_action: 'acknowledge', dedup_key: dedupKey } : null;
  }
  if (incident?.status === 'resolved') {
    // An incident that stayed informational (a sync that started and completed) never triggered anything.
    return incident.severity === 'info' ? null : { event_action: 'resolve', dedup_key: dedupKey };
  }
  if (!PAGERDUTY_TRIGGERS.has(event.type)) return null;
  const v = viewOf(event);
  const component =
    incident?.repository?.name ??
    event.session?.repositoryName ??
    event.repository?.name ??
    event.blocker?.name ??
    incident?.repository?.id ??
    event.blocker?.id ??
    (event.proxy ? `proxy ${event.proxy.name}` : undefined);
  const details: Record<string, unknown> = {
    headline: v.headline,
    ...Object.fromEntries(v.facts.map((f) => [f.label, f.value])),
  };
  if (v.error) details.error = truncate(v.error, LIMIT.detail, '…');
  if (v.incident) details.incident = v.incident;
  if (v.next) details.next = v.next;
  details.eventId = event.eventId;
  details.eventType = event.type;
  if (incident) {
    details.incidentKey = incident.key;
    details.openedAt = incident.openedAt;
  }
  if (event.session) details.sessionId = event.session.id;
  details.serverUrl = event.server.url;
  return {
    event_action: 'trigger',
    dedup_key: dedupKey,
    payload: {
      summary: truncate(v.title, LIMIT.summary, '…'),
      source: hostOf(event.server.url) ?? event.server.name,
      severity: SEVERITY[incident?.severity ?? event.severity],
      timestamp: event.occurredAt,
      ...(component ? { component } : {}),
      group: event.server.id,
      class: event.type,
      custom_details: details,
    },
    ...(event.runbookUrl ? { links: [{ href: event.runbookUrl, text: 'Runbook' }] } : {}),
    client: CLIENT,
  };
}

/**
 * The PagerDuty event for one of the monitor's own CloudWatch alarms: `ALARM` triggers and `OK` resolves, keyed by the
 * alarm's name; `INSUFFICIENT_DATA` means nothing there (`null`).
 */
export function pagerDutyAlarmEventOf(alarm: MonitorAlarm): PagerDutyEvent | null {
  const dedupKey = truncate(`${CLIENT}/alarm/${alarm.name}`, LIMIT.dedupKey, '');
  if (alarm.state === 'OK') return { event_action: 'resolve', dedup_key: dedupKey };
  if (alarm.state !== 'ALARM') return null;
  return {
    event_action: 'trigger',
    dedup_key: dedupKey,
    payload: {
      summary: truncate(`Monitor alarm: ${alarm.name} is ALARM`, LIMIT.summary, '…'),
      source: alarm.arn ?? alarm.name,
      severity: 'critical',
      ...(alarm.changedAt ? { timestamp: alarm.changedAt } : {}),
      component: 'vb365-sync-monitor',
      class: 'monitor.alarm',
      custom_details: {
        description: alarm.description,
        reason: alarm.reason,
        region: alarm.region,
        accountId: alarm.accountId,
      },
    },
    client: CLIENT,
  };
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host || undefined;
  } catch {
    return undefined;
  }
}
