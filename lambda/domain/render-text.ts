import type { BlockerKind, CauseFinding, Forecast, Impact } from './contract-repository.js';
import type { SummaryItem } from './contract-session.js';
import { type EventType, type MonitorEvent, SUMMARY_LIMIT } from './events.js';
import { formatDuration } from './policy.js';

/*
 * Plain-text rendering of an event: the email body, the SNS subject and the CLI's readable output. Pure; the
 * channel-specific renderers (Slack, Teams, webhooks) build on the same event JSON.
 */

const SUBJECT_MAX = 100;

const AFTER_FAILURE =
  'Check the object storage (credentials, reachability, bucket/container) and the proxy, then start the synchronization again from the VB365 console (Backup Infrastructure > Backup Repositories > Synchronize).';

/** What a person should look at next, by event type. */
const NEXT_STEP: Partial<Record<MonitorEvent['type'], string>> = {
  'sync.failed': AFTER_FAILURE,
  'sync.still_failed': AFTER_FAILURE,
  'sync.stalled':
    'Progress has not moved. Check the proxy serving this repository and its connection to the object storage; a very large cache can also sync slowly.',
  'sync.stopped':
    'The session ended but the repository is still out of sync, so backups to it and restores from it stay blocked. Start a synchronization again.',
  'sync.completed': 'Backups to this repository and restores from it can run again.',
  'server.unreachable':
    'Check that the "Veeam Backup for Microsoft 365 REST API Service" is running, that port 4443 is reachable from the monitor, and that its certificate is the one configured.',
  'server.auth_failed':
    "Check the monitor's VB365 account (password, lockout, role) and update the credentials secret. Sessions are not watched until this is fixed.",
  'server.api_unsupported':
    'The REST API no longer serves the API version the monitor uses (VB365 upgraded or downgraded?). Set apiVersion to "auto" or to a version the server serves, and redeploy. Sessions are not watched until this is fixed.',
  'repository.out_of_sync':
    'Start a synchronization: VB365 console, Backup Infrastructure > Backup Repositories > Synchronize (or Start-VBORepositorySynchronizeSession). If it fails, check the object storage and the proxy.',
  'server.tls_failed':
    'The monitor did not send its credentials to a server it cannot verify. Apply the fix named in the problem (the CA bundle, or the pin with the fingerprint shown), redeploy, and the next cycle connects.',
  'server.setup_required':
    'Store the VB365 account in the credentials secret, e.g. aws secretsmanager put-secret-value --secret-id <secret> --secret-string \'{"username":"DOMAIN\\\\svc-vb365-monitor","password":"..."}\'. The next cycle picks it up; nothing else to do.',
  'monitor.server_not_polled':
    "Nothing about this server's syncs reaches you until it is polled again. Check its EventBridge Scheduler schedule (it exists and is enabled; a redeploy restores it), the schedules' dead-letter queue (the poll function could not be invoked: permissions, throttling), and the poll function's errors, throttles and logs for this server id in CloudWatch.",
  'incident.escalated':
    'Acknowledge it once someone is on it (vb365-sync-monitor ack <repository or incident key> --reason "…"): reminders and escalation stop.',
  'server.certificate_expiring':
    "Renew the REST API certificate in the VB365 console (Main menu > REST API), then update the monitor's CA bundle or pin if you set one.",
  'proxy.offline':
    'Check the proxy server: powered on, the Veeam Backup for Microsoft 365 Proxy Service running, reachable from the VB365 server. Then rescan it in the VB365 console (Backup Infrastructure > Backup Proxies); jobs on its repositories run again once it is online.',
  'proxy.maintenance':
    'Jobs on its repositories wait until maintenance mode is switched off (VB365 console, Backup Infrastructure > Backup Proxies). If nobody planned this, find out who switched it on.',
  'server.unhealthy':
    'Check the components named above on the VB365 server: the PostgreSQL configuration database and the NATS message bus (their services, disk space, connectivity). Repository caches live in that database: once it is healthy, look for repositories out of sync.',
  'repository.first_backup_failed':
    "Open the failed job's session in the VB365 console for its error. If it points at the repository or the object storage, the resync did not fix it: check them and synchronize the repository again.",
};

/** What a blocked repository should get, by what blocks it. */
const BLOCKER_NEXT_STEP: Readonly<Record<BlockerKind, string>> = {
  outdated:
    'After a VB365 upgrade, repositories and proxies are Out of Date until they are upgraded: upgrade the repository (and its proxy) in the VB365 console, Backup Infrastructure > Backup Repositories. Its jobs run again once it is up to date.',
  out_of_order:
    'The repository is Invalid for the reason shown: fix it (object storage account, bucket, encryption key, proxy), then rescan the repository in the VB365 console (Backup Infrastructure > Backup Repositories).',
  migration_locked:
    'A data migration holds the repository: its jobs run again when the migration ends. Check the migration session in the VB365 console if it takes longer than planned.',
};

/** What VB365 shows on a blocked repository, by blocker kind. */
const BLOCKER_LABEL: Readonly<Record<BlockerKind, string>> = {
  outdated: 'Out of Date',
  out_of_order: 'Invalid',
  migration_locked: 'locked by a migration',
};

/** What VB365 shows on the repository; a kind this version does not know, as sent. */
function blockerLabel(kind: BlockerKind): string {
  return BLOCKER_LABEL[kind] ?? kind;
}

/** What to do next about an event (a group: about the events it stands for). */
function nextStepOf(event: MonitorEvent): string | null {
  if (event.type === 'repository.blocked' && event.blocker) return BLOCKER_NEXT_STEP[event.blocker.kind] ?? null;
  return NEXT_STEP[event.group?.type ?? event.type] ?? null;
}

/** `[VB365] …` subject: at most 100 characters, ASCII only (SNS and mail clients). */
export function subjectOf(event: MonitorEvent): string {
  return truncate(`[VB365] ${asciiSafe(titleOf(event))}`, SUBJECT_MAX);
}

/** What happened, in a few words with names (Unicode kept): the base of subjects and chat titles. */
export function titleOf(event: MonitorEvent): string {
  const server = event.server.name;
  const repo = event.session?.repositoryName ?? event.session?.repositoryId ?? 'unknown repository';
  const s = event.session;
  let text: string;
  switch (event.type) {
    case 'monitor.started': {
      const sum = event.summary;
      const parts = [`${sum?.totals.running ?? 0} syncing`, `${sum?.totals.failed ?? 0} failed`];
      text = `Monitoring started on ${server}: ${parts.join(', ')}`;
      break;
    }
    case 'sync.started':
      text = `${repo} sync started on ${server}`;
      break;
    case 'sync.progress':
      text = `${repo} sync at ${s?.milestone ?? s?.progressPercent ?? '?'}% on ${server}`;
      break;
    case 'sync.stalled':
      text = `${repo} sync stalled at ${s?.progressPercent ?? '?'}% on ${server}`;
      break;
    case 'sync.resumed':
      text = `${repo} sync moving again on ${server}`;
      break;
    case 'sync.failed':
      text = `${repo} sync failed on ${server}`;
      break;
    case 'sync.completed':
      text = `${repo} sync completed${s?.completionConfirmed ? '' : ' (unconfirmed)'} on ${server}`;
      break;
    case 'sync.stopped':
      text = `${repo} sync stopped, still out of sync, on ${server}`;
      break;
    case 'sync.state_changed':
      text = `${repo} sync state ${s?.state ?? 'unknown'} on ${server}`;
      break;
    case 'server.unreachable':
      text = `${server} unreachable`;
      break;
    case 'server.recovered':
      text = `${server} reachable again`;
      break;
    case 'server.auth_failed':
      text = `${server} refused the monitor's login`;
      break;
    case 'server.api_unsupported':
      text = `${server} no longer serves the monitor's API version`;
      break;
    case 'server.certificate_expiring':
      text = `${server} certificate expires in ${event.certificate?.daysLeft ?? '?'} days`;
      break;
    case 'sync.still_failed':
      text = `${repo} sync still failed on ${server} (reminder ${event.reminder?.count ?? '?'}/${event.reminder?.of ?? '?'})`;
      break;
    case 'repository.out_of_sync':
      text = `${event.repository?.name ?? event.repository?.id ?? 'a repository'} out of sync, nothing syncing it, on ${server}`;
      break;
    case 'repository.in_sync':
      text = `${event.repository?.name ?? event.repository?.id ?? 'a repository'} back in sync on ${server}`;
      break;
    case 'digest.weekly': {
      const d = event.digest;
      text = `Weekly digest for ${server}: ${d?.syncs.total ?? 0} syncs, ${(d?.syncs.failed ?? 0) + (d?.syncs.stopped ?? 0)} not completed, ${d?.outOfSync.length ?? 0} out of sync now`;
      break;
    }
    case 'monitor.held_summary':
      text = `${event.held?.total ?? 0} notifications held during ${event.held?.reason === 'maintenance' ? 'maintenance' : 'quiet hours'} on ${server}`;
      break;
    case 'server.tls_failed':
      text = `${server} certificate refused`;
      break;
    case 'server.setup_required':
      text = `${server} waits for its credentials`;
      break;
    case 'monitor.grouped':
      text = `${event.group?.total ?? 0} ${event.group ? GROUP_NOUN[event.group.type] : 'events'} on ${server}`;
      break;
    case 'monitor.server_not_polled':
      text = `${server} not polled for ${formatDuration(event.polling?.seconds ?? 0)}`;
      break;
    case 'monitor.server_polled_again':
      text = `${server} polled again`;
      break;
    case 'incident.acknowledged':
      text = `${incidentName(event)} acknowledged by ${event.incident?.acknowledged?.by ?? 'someone'}`;
      break;
    case 'incident.escalated':
      text = `${incidentName(event)} not acknowledged for ${formatDuration((event.incident?.escalatedAfterMinutes ?? 0) * 60)}`;
      break;
    case 'repository.blocked': {
      const b = event.blocker;
      text = `Repository ${repositoryOf(event)} blocked: ${b ? `${blockerLabel(b.kind)} (since ${utcNear(b.since, event.occurredAt)})` : 'unknown reason'} on ${server}`;
      break;
    }
    case 'repository.unblocked':
      text = `Repository ${repositoryOf(event)} no longer ${event.blocker ? blockerLabel(event.blocker.kind) : 'blocked'} on ${server}`;
      break;
    case 'proxy.offline':
    case 'proxy.maintenance': {
      const n = event.proxy?.totalRepositories ?? 0;
      text = `Proxy ${event.proxy?.name ?? 'unknown'} ${event.type === 'proxy.offline' ? 'offline' : 'in maintenance'} on ${server} — ${n} ${n === 1 ? 'repository' : 'repositories'}`;
      break;
    }
    case 'proxy.online':
      text = `Proxy ${event.proxy?.name ?? 'unknown'} ${event.proxy?.state === 'maintenance' ? 'out of maintenance' : 'back online'} on ${server}`;
      break;
    case 'server.unhealthy': {
      const names = (event.health?.entries ?? []).map((e) => e.name);
      text = `${server} unhealthy${names.length > 0 ? `: ${names.slice(0, 3).join(', ')}${names.length > 3 ? ` and ${names.length - 3} more` : ''}` : ''}`;
      break;
    }
    case 'server.healthy':
      text = `${server} healthy again`;
      break;
    case 'repository.first_backup_ok':
      text = `${repositoryOf(event)}: first backups after the resync succeeded on ${server}`;
      break;
    case 'repository.first_backup_failed':
      text = `${repositoryOf(event)}: first backup after the resync failed on ${server}`;
      break;
  }
  return text;
}

/** The repository a repository-level event is about, by name if known: "Archive-EU", "3f6a…", "a repository". */
function repositoryOf(event: MonitorEvent): string {
  return (
    event.blocker?.name ??
    event.repository?.name ??
    event.firstBackup?.repositoryName ??
    event.incident?.repository?.name ??
    event.blocker?.id ??
    event.repository?.id ??
    event.firstBackup?.repositoryId ??
    event.incident?.repository?.id ??
    'a repository'
  );
}

/** What a group of events of one type is called, in the plural. */
const GROUP_NOUN: Readonly<Record<EventType, string>> = {
  'monitor.started': 'monitoring starts',
  'sync.started': 'syncs started',
  'sync.progress': 'syncs passed a milestone',
  'sync.stalled': 'syncs stalled',
  'sync.resumed': 'syncs moving again',
  'sync.failed': 'syncs failed',
  'sync.completed': 'syncs completed',
  'sync.stopped': 'syncs stopped, still out of sync',
  'sync.state_changed': 'syncs changed state',
  'server.unreachable': 'unreachable alerts',
  'server.recovered': 'recoveries',
  'server.auth_failed': 'login refusals',
  'server.api_unsupported': 'API version alerts',
  'server.certificate_expiring': 'certificate warnings',
  'sync.still_failed': 'syncs still failed',
  'monitor.held_summary': 'held summaries',
  'repository.out_of_sync': 'repositories out of sync, nothing syncing them,',
  'repository.in_sync': 'repositories back in sync',
  'digest.weekly': 'digests',
  'server.tls_failed': 'certificate refusals',
  'server.setup_required': 'setup reminders',
  'monitor.grouped': 'groups',
  'monitor.server_not_polled': 'servers not polled',
  'monitor.server_polled_again': 'servers polled again',
  'incident.acknowledged': 'incidents acknowledged',
  'incident.escalated': 'incidents escalated',
  'repository.blocked': 'repositories blocked',
  'repository.unblocked': 'repositories no longer blocked',
  'proxy.offline': 'proxies offline',
  'proxy.maintenance': 'proxies in maintenance',
  'proxy.online': 'proxies back online',
  'server.unhealthy': 'unhealthy reports',
  'server.healthy': 'healthy reports',
  'repository.first_backup_ok': 'first backups after a resync succeeded',
  'repository.first_backup_failed': 'first backups after a resync failed',
};

/** What an incident is about, in a few words: "Wasabi Archive on vbo-01", "vbo-01 (unreachable)". */
export function incidentName(event: MonitorEvent): string {
  const i = event.incident;
  const server = event.server.name;
  if (!i) return server;
  switch (i.subject) {
    case 'repository':
    case 'session':
      return `${i.repository?.name ?? i.repository?.id ?? 'a repository'} on ${server}`;
    case 'server':
      return `${server} (${i.key.split('/').at(-2) ?? 'server'})`;
    case 'certificate':
      return `${server} certificate`;
    case 'polling':
      return `${server} polling`;
    case 'blocker':
      return `${i.repository?.name ?? event.blocker?.name ?? i.repository?.id ?? 'a repository'} blocked on ${server}`;
    case 'proxy':
      return `proxy ${event.proxy?.name ?? i.key.split('/').at(-2) ?? 'unknown'} on ${server}`;
    case 'health':
      return `${server} health`;
  }
}

/** The incident in one line: "open since 06:10 UTC (1h 5m), acknowledged by ana: on it" / "resolved after 2h 10m". */
export function incidentLineOf(event: MonitorEvent): string | null {
  const i = event.incident;
  if (!i) return null;
  const parts = [
    i.status === 'resolved'
      ? `resolved after ${formatDuration(i.durationSeconds ?? 0)}`
      : `open since ${utc(i.openedAt)} (${formatDuration(Math.max(0, (Date.parse(event.occurredAt) - Date.parse(i.openedAt)) / 1000))})`,
  ];
  if (i.acknowledged) {
    parts.push(`acknowledged by ${i.acknowledged.by}${i.acknowledged.reason ? `: ${i.acknowledged.reason}` : ''}`);
  }
  if (i.escalatedAfterMinutes !== null && i.status === 'open' && !i.acknowledged) {
    parts.push(`escalated after ${formatDuration(i.escalatedAfterMinutes * 60)}`);
  }
  return parts.join(', ');
}

/** What every channel shows of an event, before any formatting. Values are raw (unescaped) text. */
export interface EventView {
  /** Short title for chat cards, e.g. "Wasabi Archive sync failed" (Unicode kept). */
  readonly title: string;
  /** One sentence saying what happened. */
  readonly headline: string;
  /** Labelled values in display order (server, repository, state, progress, duration, …). */
  readonly facts: readonly { readonly label: string; readonly value: string }[];
  readonly progressPercent: number | null;
  /** Error text from the server, if any. */
  readonly error: string | null;
  /** `monitor.started`: the sessions found, by group. */
  readonly lists: readonly { readonly title: string; readonly items: readonly string[]; readonly more: number }[];
  /** `monitor.started` with nothing running. */
  readonly note: string | null;
  /** What a person should do next, if anything. */
  readonly next: string | null;
  /** The runbook configured for the event's type, if any (shown as a link or button beside `next`). */
  readonly runbookUrl: string | null;
  /** The incident the event belongs to, in one line (see {@link incidentLineOf}); `null`: none. */
  readonly incident: string | null;
  /** Ids, for support: event id, severity and time; session id. */
  readonly footer: readonly string[];
}

/** The channel-neutral content of an event. */
export function viewOf(event: MonitorEvent): EventView {
  const facts: { label: string; value: string }[] = [];
  const fact = (label: string, value: string | null | undefined) => {
    if (value !== null && value !== undefined && value !== '') facts.push({ label, value });
  };
  fact('Server', `${event.server.name} (${event.server.url})`);
  if (event.organization) fact('Tenant', event.organization.name ?? event.organization.id);
  const s = event.session;
  if (s) {
    fact(
      'Repository',
      s.repositoryName ? `${s.repositoryName} (${s.repositoryId ?? 'no id'})` : (s.repositoryId ?? 'unknown'),
    );
    fact(
      'State',
      s.previousState && s.previousState !== s.state
        ? `${s.previousState} -> ${s.state ?? 'gone'}`
        : (s.state ?? 'gone'),
    );
    fact('Progress', s.progressPercent === null ? null : `${s.progressPercent} %`);
    const e = event.estimate;
    if (e && event.type === 'sync.stalled') {
      fact('Rate before', e.ratePercentPerHour === null ? null : `${e.ratePercentPerHour} %/h`);
    } else if (e) {
      fact('Rate', e.ratePercentPerHour === null ? 'estimating…' : `${e.ratePercentPerHour} %/h`);
      fact(
        'ETA',
        e.estimatedFinishAt === null
          ? 'estimating…'
          : `${utc(e.estimatedFinishAt)} (in ${formatDuration((Date.parse(e.estimatedFinishAt) - Date.parse(event.occurredAt)) / 1000)})`,
      );
    }
    fact(
      s.finishedAt ? 'Took' : 'Running for',
      `${formatDuration(s.durationSeconds)} (first seen ${utc(s.firstSeenAt)})`,
    );
    if (s.finishedAt) fact('Finished', utc(s.finishedAt));
    if (event.type === 'sync.completed') {
      fact(
        'Confirmed',
        s.completionConfirmed ? 'yes, the repository is back in sync' : 'no, the repository could not be checked',
      );
    }
  }
  if (event.reminder) fact('Failed since', utc(event.reminder.failedSince));
  if (event.repository) {
    fact('Repository', `${event.repository.name ?? 'unnamed'} (${event.repository.id})`);
    if (event.type === 'repository.out_of_sync' || event.type === 'repository.in_sync')
      fact(
        'Out of sync',
        `since ${utc(event.repository.outOfSyncSince)} (${formatDuration(event.repository.outOfSyncSeconds)})`,
      );
  }
  const b = event.blocker;
  if (b) {
    fact('Repository', `${b.name ?? 'unnamed'} (${b.id})`);
    const what = `${blockerLabel(b.kind)}${b.reason ? `: ${b.reason}` : ''}`;
    if (event.type === 'repository.unblocked')
      fact('Was blocked', `${what}, from ${utcNear(b.since, event.occurredAt)} for ${formatDuration(b.seconds)}`);
    else fact('Blocked', `${what}, since ${utcNear(b.since, event.occurredAt)} (${formatDuration(b.seconds)})`);
  }
  const p = event.proxy;
  if (p) {
    fact('Proxy', `${p.name} (${p.id})`);
    fact(
      'Status',
      [p.status, p.maintenanceModeState ? `maintenance mode ${p.maintenanceModeState}` : null]
        .filter((x) => x !== null)
        .join(', '),
    );
    const state = p.state === 'offline' ? 'Offline' : 'Maintenance';
    if (event.type === 'proxy.online')
      fact(
        p.state === 'offline' ? 'Was offline' : 'Was in maintenance',
        `from ${utcNear(p.since, event.occurredAt)} for ${formatDuration(p.seconds)}`,
      );
    else fact(state, `since ${utcNear(p.since, event.occurredAt)} (${formatDuration(p.seconds)})`);
  }
  const h = event.health;
  if (h) {
    if (event.type === 'server.healthy')
      fact(
        'Health',
        `${h.status} again, after ${formatDuration(h.seconds)} (from ${utcNear(h.since, event.occurredAt)})`,
      );
    else fact('Health', `${h.status} since ${utcNear(h.since, event.occurredAt)} (${formatDuration(h.seconds)})`);
  }
  if (event.forecast) fact('Forecast', forecastLineOf(event.forecast, event.occurredAt));
  if (event.firstBackup) {
    const f = event.firstBackup;
    const more = f.total - f.jobs.length;
    fact('Resync completed', utcNear(f.syncCompletedAt, event.occurredAt));
    fact(
      'First backups',
      `${f.jobs.map((j) => `${j.name} ${j.status}`).join(', ')}${more > 0 ? `, and ${more} more` : ''}`,
    );
  }
  if (event.impact) fact('Blocks', blocksLineOf(event.impact, event.occurredAt));
  if (event.cause && event.cause.length > 0) fact('Likely cause', causeLineOf(event.cause, event.occurredAt));
  if (event.certificate) {
    fact('Certificate', event.certificate.subject);
    fact('Expires', `${utc(event.certificate.validTo)} (${event.certificate.daysLeft} days)`);
    fact('SHA-256', event.certificate.fingerprint256);
  }
  if (event.polling) {
    const p = event.polling;
    if (p.polledAgainAt !== null) fact('Not polled', `from ${utc(p.since)} to ${utc(p.polledAgainAt)}`);
    else if (p.lastPolledAt !== null) fact('Last poll', utc(p.lastPolledAt));
    else fact('Last poll', `none since the server was configured (${utc(p.since)})`);
    fact(
      'No poll for',
      `${formatDuration(p.seconds)}, ${p.intervals} intervals of ${p.pollEveryMinutes} min (announced above ${p.heartbeatIntervals})`,
    );
  }
  if (event.type === 'incident.escalated' || event.type === 'incident.acknowledged') {
    const latest = event.incident?.latest;
    if (latest) fact('Latest', `${latest.type} at ${utc(latest.occurredAt)}`);
    fact('Severity', event.incident?.severity);
  }
  if (event.problem && event.type !== 'server.certificate_expiring') {
    fact('Problem', event.problem.reason);
    fact('Since', utc(event.problem.since));
    if (event.problem.outageSeconds !== null) fact('Outage', formatDuration(event.problem.outageSeconds));
  }
  const lists: { title: string; items: string[]; more: number }[] = [];
  let note: string | null = null;
  if (event.summary) {
    const { running, failed, other, totals } = event.summary;
    const list = (title: string, items: readonly SummaryItem[], total: number) => {
      if (total === 0) return;
      lists.push({
        title: `${title} (${total})`,
        items: items.map((i) => {
          const progress = i.progressPercent === null ? '' : ` ${i.progressPercent} %`;
          const error = i.error ? ` - ${i.error}` : '';
          return `${i.repositoryName ?? i.repositoryId ?? i.sessionId}: ${i.state ?? 'unknown'}${progress}${error}`;
        }),
        more: total - items.length,
      });
    };
    if (totals.running + totals.failed + totals.other === 0) note = 'No repository synchronization is running.';
    list('Syncing now', running, totals.running);
    list('Failed', failed, totals.failed);
    list('Other states', other, totals.other);
  }
  if (p && p.totalRepositories > 0) {
    lists.push({
      title: `Repositories it serves (${p.totalRepositories})`,
      items: p.repositories.map((r) => r.name ?? r.id),
      more: p.totalRepositories - p.repositories.length,
    });
  }
  if (h && h.entries.length > 0) {
    const entries = h.entries.slice(0, SUMMARY_LIMIT);
    lists.push({
      title: `${event.type === 'server.healthy' ? 'Were not healthy' : 'Not healthy'} (${h.entries.length})`,
      items: entries.map((e) => `${e.name}: ${e.status}${e.description ? ` - ${e.description}` : ''}`),
      more: h.entries.length - entries.length,
    });
  }
  if (event.held) {
    const h = event.held;
    if (h.note) fact('Window', h.note);
    fact('Held', `${h.total} from ${utc(h.from)} to ${utc(h.until)}`);
    fact(
      'By type',
      Object.entries(h.byType)
        .map(([type, n]) => `${type} ${n}`)
        .join(', '),
    );
    lists.push({
      title: `Held notifications (${h.total})`,
      items: h.items.map((i) => `${utc(i.occurredAt)} [${i.severity}] ${i.title}`),
      more: h.total - h.items.length,
    });
  }
  if (event.group) {
    const g = event.group;
    const noun = GROUP_NOUN[g.type].replace(/,$/, '');
    lists.push({
      title: `${noun.charAt(0).toUpperCase()}${noun.slice(1)} (${g.total})`,
      items: g.items.map((i) => {
        const name = i.repositoryName ?? i.repositoryId ?? i.sessionId ?? i.eventId;
        const progress = i.progressPercent === null ? '' : ` ${i.progressPercent} %`;
        const error = i.error ? ` - ${i.error}` : '';
        return progress || error ? `${name}:${progress}${error}` : name;
      }),
      more: g.total - g.items.length,
    });
  }
  if (event.digest) {
    const d = event.digest;
    fact(
      'Syncs',
      `${d.syncs.total}: ${d.syncs.completed} completed, ${d.syncs.stopped} stopped, ${d.syncs.failed} failed`,
    );
    if (d.durations.medianSeconds !== null)
      fact(
        'Durations',
        `median ${formatDuration(d.durations.medianSeconds)}, longest ${formatDuration(d.durations.maxSeconds ?? 0)}`,
      );
    fact('Running now', String(d.running));
    if (d.problems.length > 0)
      lists.push({
        title: `Failed or stopped (${d.syncs.failed + d.syncs.stopped})`,
        items: d.problems.map(
          (p) => `${utc(p.finishedAt)} ${p.repositoryName ?? 'unknown'}: ${p.outcome}${p.error ? ` - ${p.error}` : ''}`,
        ),
        more: d.syncs.failed + d.syncs.stopped - d.problems.length,
      });
    if (d.outOfSync.length > 0)
      lists.push({
        title: `Out of sync now, nothing syncing (${d.outOfSync.length})`,
        items: d.outOfSync.map((r) => `${r.name ?? r.id} since ${utc(r.since)}`),
        more: 0,
      });
    if (d.syncs.total === 0 && d.outOfSync.length === 0)
      note = 'No repository synchronization this week, and nothing out of sync.';
  }
  const footer = [`Event ${event.eventId} (${event.severity}) at ${utc(event.occurredAt)}`];
  if (s) footer.push(`Session ${s.id}`);
  if (event.incident) footer.push(`Incident ${event.incident.key}`);
  return {
    title: titleOf(event),
    headline: headline(event),
    facts,
    progressPercent: s?.progressPercent ?? null,
    error: s?.error ?? null,
    lists,
    note,
    next: nextStepOf(event),
    runbookUrl: event.runbookUrl ?? null,
    incident: incidentLineOf(event),
    footer,
  };
}

/** The readable body: what happened, where, the numbers, the error, what to do, and the ids. */
export function textOf(event: MonitorEvent): string {
  const v = viewOf(event);
  const lines: string[] = [v.headline, ''];
  for (const f of v.facts.filter((f) => !['Problem', 'Since', 'Outage'].includes(f.label))) {
    lines.push(`${`${f.label}:`.padEnd(13)} ${f.value}`);
  }
  if (v.error) lines.push(`${'Error:'.padEnd(14)}${v.error}`);
  for (const f of v.facts.filter((f) => ['Problem', 'Since', 'Outage'].includes(f.label))) {
    lines.push(`${`${f.label}:`.padEnd(13)} ${f.value}`);
  }
  if (v.note) lines.push('', v.note);
  for (const l of v.lists) {
    lines.push('', `${l.title}:`, ...l.items.map((i) => `  - ${i}`));
    if (l.more > 0) lines.push(`  ... and ${l.more} more`);
  }
  if (v.incident) lines.push('', `Incident: ${v.incident}`);
  if (v.next) lines.push('', `Next: ${v.next}`);
  if (v.runbookUrl) lines.push(`Runbook: ${v.runbookUrl}`);
  lines.push('', ...v.footer);
  return lines.join('\n');
}

function headline(event: MonitorEvent): string {
  const repo = event.session?.repositoryName ?? event.session?.repositoryId ?? 'a repository';
  switch (event.type) {
    case 'monitor.started':
      return `Monitoring of repository synchronization started on ${event.server.name}.`;
    case 'sync.started':
      return `Repository synchronization started for ${repo}.`;
    case 'sync.progress':
      return `Synchronization of ${repo} passed ${event.session?.milestone} %.`;
    case 'sync.stalled':
      return `Synchronization of ${repo} has STALLED: its progress has not moved.`;
    case 'sync.resumed':
      return `Synchronization of ${repo} is moving again.`;
    case 'sync.failed':
      return `Synchronization of ${repo} FAILED.`;
    case 'sync.completed':
      return event.session?.completionConfirmed
        ? `Synchronization of ${repo} completed: the repository is back in sync.`
        : `Synchronization of ${repo} ended and is presumed complete (the repository could not be checked).`;
    case 'sync.stopped':
      return `Synchronization of ${repo} stopped before completing: the repository is still OUT OF SYNC.`;
    case 'sync.state_changed':
      return `Synchronization of ${repo} changed state to ${event.session?.state ?? 'unknown'}.`;
    case 'server.unreachable':
      return `VB365 server ${event.server.name} is UNREACHABLE: sync sessions are not being watched.`;
    case 'server.recovered':
      return `VB365 server ${event.server.name} is reachable again; monitoring has resumed.`;
    case 'server.auth_failed':
      return `VB365 server ${event.server.name} REFUSED the monitor's credentials.`;
    case 'server.api_unsupported':
      return `VB365 server ${event.server.name} no longer serves the REST API version the monitor uses: sync sessions are not being watched.`;
    case 'server.certificate_expiring':
      return `The REST API certificate of ${event.server.name} expires in ${event.certificate?.daysLeft ?? '?'} days; after that the monitor cannot connect.`;
    case 'sync.still_failed':
      return `Synchronization of ${repo} is STILL FAILED (reminder ${event.reminder?.count ?? '?'} of ${event.reminder?.of ?? '?'}).`;
    case 'repository.out_of_sync':
      return `Repository ${event.repository?.name ?? event.repository?.id} has been OUT OF SYNC for ${formatDuration(event.repository?.outOfSyncSeconds ?? 0)} and no synchronization is running: backups to it and restores from it are blocked.`;
    case 'repository.in_sync':
      return `Repository ${event.repository?.name ?? event.repository?.id} is in sync again.`;
    case 'digest.weekly':
      return `Repository synchronization on ${event.server.name}, ${utc(event.digest?.from ?? event.occurredAt)} to ${utc(event.digest?.to ?? event.occurredAt)}.`;
    case 'monitor.held_summary':
      return `${event.held?.total ?? 0} notifications about ${event.server.name} were held during ${event.held?.reason === 'maintenance' ? 'a maintenance window' : 'quiet hours'}; here they are in short.`;
    case 'server.tls_failed':
      return `The monitor REFUSED the TLS certificate of ${event.server.name}: sync sessions are not being watched.`;
    case 'server.setup_required':
      return `The monitor is deployed for ${event.server.name} but its credentials secret still holds the placeholder: sessions are watched once it holds a VB365 account.`;
    case 'monitor.grouped':
      return `${event.group?.total ?? 0} ${event.group ? GROUP_NOUN[event.group.type] : 'events'} on ${event.server.name} in one cycle; one message lists them.`;
    case 'monitor.server_not_polled':
      return `The monitor has NOT POLLED ${event.server.name} for ${formatDuration(event.polling?.seconds ?? 0)}: sync sessions on it are not being watched.`;
    case 'incident.acknowledged': {
      const a = event.incident?.acknowledged;
      return `${a?.by ?? 'Someone'} acknowledged the incident about ${incidentName(event)}${a?.reason ? `: ${a.reason}` : ''}. Reminders and escalation stop; it closes when the problem ends.`;
    }
    case 'incident.escalated':
      return `Nobody has acknowledged the incident about ${incidentName(event)} for ${formatDuration((event.incident?.escalatedAfterMinutes ?? 0) * 60)}: it is still open (${event.incident?.severity ?? 'warning'}).`;
    case 'monitor.server_polled_again':
      return `The monitor polls ${event.server.name} again, after ${formatDuration(event.polling?.seconds ?? 0)} without a poll; sync sessions on it are watched again.`;
    case 'repository.blocked':
      return `Repository ${repositoryOf(event)} is BLOCKED: ${(event.blocker && BLOCKER_WHY[event.blocker.kind]) ?? 'VB365 shows it blocked'}. Backups to it do not run until that is fixed.`;
    case 'repository.unblocked':
      return `Repository ${repositoryOf(event)} is no longer ${event.blocker ? blockerLabel(event.blocker.kind) : 'blocked'}${event.blocker ? ` after ${formatDuration(event.blocker.seconds)}` : ''}: backups to it can run again.`;
    case 'proxy.offline':
      return `Backup proxy ${event.proxy?.name ?? 'unknown'} is OFFLINE: jobs on the ${event.proxy?.totalRepositories ?? 0} repositories it serves cannot run.`;
    case 'proxy.maintenance':
      return `Backup proxy ${event.proxy?.name ?? 'unknown'} is in maintenance mode: jobs on the ${event.proxy?.totalRepositories ?? 0} repositories it serves wait until it is switched off.`;
    case 'proxy.online':
      return `Backup proxy ${event.proxy?.name ?? 'unknown'} ${event.proxy?.state === 'maintenance' ? 'is out of maintenance mode' : 'is online again'}${event.proxy ? ` after ${formatDuration(event.proxy.seconds)}` : ''}: jobs on its repositories can run again.`;
    case 'server.unhealthy':
      return `VB365 server ${event.server.name} reports itself UNHEALTHY: its configuration database or message bus is down, so repository caches may fall out of sync and jobs may fail.`;
    case 'server.healthy':
      return `VB365 server ${event.server.name} reports itself healthy again${event.health ? ` after ${formatDuration(event.health.seconds)}` : ''}.`;
    case 'repository.first_backup_ok':
      return `The first backups to ${repositoryOf(event)} after its resync succeeded: the repository takes backups again.`;
    case 'repository.first_backup_failed':
      return `A first backup to ${repositoryOf(event)} after its resync FAILED: the sync completed, but backups still fail.`;
  }
}

/** Why a blocked repository's jobs do not run, by blocker kind. */
const BLOCKER_WHY: Readonly<Record<BlockerKind, string>> = {
  outdated: 'it is Out of Date since the VB365 upgrade and needs upgrading',
  out_of_order: 'VB365 shows it as Invalid',
  migration_locked: 'a data migration has locked it',
};

/** `2026-11-28 12:30 UTC` from an ISO-8601 UTC time. */
export function utc(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

/** `14:35` when `iso` falls on the day of `reference` (both ISO-8601 UTC), else `2026-11-29 00:00`. */
function clockOf(iso: string, reference: string): string {
  return iso.slice(0, 10) === reference.slice(0, 10) ? iso.slice(11, 16) : iso.slice(0, 16).replace('T', ' ');
}

/** `14:35 UTC` on the day of `reference` (the event's time), else as {@link utc}: `2026-11-29 00:00 UTC`. */
export function utcNear(iso: string, reference: string): string {
  return `${clockOf(iso, reference)} UTC`;
}

/** Longest a cause line gets in a view (a server description can be long). */
const CAUSE_MAX = 600;
/** A component's description in a cause line is cut to this. */
const CAUSE_DESCRIPTION_MAX = 60;

/**
 * The likely cause in one line, facts in the order found: "PostgreSQL Unhealthy (Failed to connect…); upgraded
 * 8.0.1 → 8.1.0 at 02:10 UTC; proxy proxy02 offline; repository added 40m ago". `at` is the event's time.
 */
export function causeLineOf(cause: readonly CauseFinding[], at: string): string {
  const parts = cause.map((c) => {
    switch (c.kind) {
      case 'unhealthy':
        return c.entries
          .slice(0, SUMMARY_LIMIT)
          .map(
            (e) =>
              `${e.name} ${e.status}${e.description ? ` (${truncate(e.description, CAUSE_DESCRIPTION_MAX, '…')})` : ''}`,
          )
          .join(', ');
      case 'upgrade':
        return `upgraded ${c.from} → ${c.to} at ${utcNear(c.at, at)}`;
      case 'proxy':
        return `proxy ${c.proxyName} ${c.state === 'offline' ? 'offline' : 'in maintenance'}`;
      case 'new_repository':
        return `repository added ${formatDuration((Date.parse(at) - Date.parse(c.addedAt)) / 1000)} ago`;
    }
    return null;
  });
  return truncate(parts.filter((x) => x !== null && x !== '').join('; '), CAUSE_MAX, '…');
}

/** "previous 5 syncs took 1h 40m–3h 10m (median 2h 5m), expect about 14:35 UTC". `at` is the event's time. */
export function forecastLineOf(f: Forecast, at: string): string {
  const expect = `expect about ${utcNear(f.expectedFinishAt, at)}`;
  return f.count === 1
    ? `the previous sync took ${formatDuration(f.medianSeconds)}, ${expect}`
    : `previous ${f.count} syncs took ${formatDuration(f.minSeconds)}–${formatDuration(f.maxSeconds)} (median ${formatDuration(f.medianSeconds)}), ${expect}`;
}

/**
 * The jobs a problem blocks, those that miss their next run first: "3 jobs; 2 miss their next run before the ETA
 * 14:35 UTC: Daily Exchange (backup, 12:00), Copy to Archive (copy, 13:00); also Monthly SharePoint (backup,
 * disabled)". An impact stored before jobs had a kind and a next run (an older outbox) lists names and kinds only.
 */
export function blocksLineOf(impact: Impact, at: string): string {
  if (impact.total === 0) return 'no backup or copy job targets this repository';
  // Fields added after events were first stored: an older outbox's impact lacks them.
  const legacy = impact as Partial<Impact>;
  const job = (j: Impact['jobs'][number]) => {
    const details = [
      j.kind ?? 'backup',
      ...(j.isEnabled ? [] : ['disabled']),
      ...(j.missesNextRun === true && j.nextRun ? [clockOf(j.nextRun, at)] : []),
    ];
    return `${j.name} (${details.join(', ')})`;
  };
  const missed = impact.jobs.filter((j) => j.missesNextRun === true);
  const others = impact.jobs.filter((j) => j.missesNextRun !== true);
  const more = impact.total - impact.jobs.length;
  const tail = more > 0 ? `, and ${more} more` : '';
  const head = `${impact.total} job${impact.total === 1 ? '' : 's'}`;
  const missedRuns = legacy.missedRuns ?? 0;
  if (missedRuns === 0 || missed.length === 0) return `${head}: ${others.map(job).join(', ')}${tail}`;
  const before = legacy.blockedUntil ? `before the ETA ${utcNear(legacy.blockedUntil, at)}` : 'before it ends';
  const also = others.length > 0 ? `; also ${others.map(job).join(', ')}` : '';
  return `${head}; ${missedRuns} ${missedRuns === 1 ? 'misses its' : 'miss their'} next run ${before}: ${missed.map(job).join(', ')}${also}${tail}`;
}

/** Dashes become `-` and arrows `->`, letters with accents lose them; anything else outside printable ASCII becomes `?`. */
export function asciiSafe(text: string): string {
  return text
    .replace(/[\u2010-\u2015\u2212]/g, '-')
    .replace(/\u2192/g, '->')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?');
}

export function truncate(text: string, max: number, ellipsis = '...'): string {
  return text.length <= max ? text : `${text.slice(0, max - ellipsis.length)}${ellipsis}`;
}
