import type { BlockerKind } from './contract-repository.js';
import type { MonitorEvent } from './events.js';

/* What a person should do next about an event: the "Next" line of every channel. */

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

/** What to do next about an event (a group: about the events it stands for). */
export function nextStepOf(event: MonitorEvent): string | null {
  if (event.type === 'repository.blocked' && event.blocker) return BLOCKER_NEXT_STEP[event.blocker.kind] ?? null;
  return NEXT_STEP[event.group?.type ?? event.type] ?? null;
}
