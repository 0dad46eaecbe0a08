import type { BlockerKind } from './contract-repository.js';
import type { EventType, MonitorEvent } from './events.js';
import { utcNear } from './format.js';
import { formatDuration } from './policy.js';

/*
 * What an event is called, in a few words with names: the base of subjects, chat titles and the items of a held
 * summary. Pure and free of any channel's formatting, so the rules (noise.ts) and the renderers share one wording.
 */

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
export function repositoryOf(event: MonitorEvent): string {
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
export const GROUP_NOUN: Readonly<Record<EventType, string>> = {
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

/** What VB365 shows on a blocked repository, by blocker kind. */
const BLOCKER_LABEL: Readonly<Record<BlockerKind, string>> = {
  outdated: 'Out of Date',
  out_of_order: 'Invalid',
  migration_locked: 'locked by a migration',
};

/** What VB365 shows on the repository; a kind this version does not know, as sent. */
export function blockerLabel(kind: BlockerKind): string {
  return BLOCKER_LABEL[kind] ?? kind;
}
