import type { BlockerKind } from './contract-repository.js';
import type { MonitorEvent } from './events.js';
import { utc } from './format.js';
import { formatDuration } from './policy.js';
import { blockerLabel, GROUP_NOUN, incidentName, repositoryOf } from './title.js';

/** One sentence saying what happened (a view's `headline`). */
export function headlineOf(event: MonitorEvent): string {
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
