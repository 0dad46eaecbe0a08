import type { MonitorEvent, SummaryItem } from './events.js';
import { formatDuration } from './policy.js';

/*
 * Plain-text rendering of an event: the email body, the SNS subject and the CLI's readable output. Pure; the
 * channel-specific renderers (Slack, Teams, webhooks) build on the same event JSON.
 */

const SUBJECT_MAX = 100;

/** What a person should look at next, by event type. */
const NEXT_STEP: Partial<Record<MonitorEvent['type'], string>> = {
  'sync.failed':
    'Check the object storage (credentials, reachability, bucket/container) and the proxy, then start the synchronization again from the VB365 console (Backup Infrastructure > Backup Repositories > Synchronize).',
  'sync.stalled':
    'Progress has not moved. Check the proxy serving this repository and its connection to the object storage; a very large cache can also sync slowly.',
  'sync.stopped':
    'The session ended but the repository is still out of sync, so backups to it and restores from it stay blocked. Start a synchronization again.',
  'sync.completed': 'Backups to this repository and restores from it can run again.',
  'server.unreachable':
    'Check that the "Veeam Backup for Microsoft 365 REST API Service" is running, that port 4443 is reachable from the monitor, and that its certificate is the one configured.',
  'server.auth_failed':
    "Check the monitor's VB365 account (password, lockout, role) and update the credentials secret. Sessions are not watched until this is fixed.",
};

/** `[VB365] …` subject: at most 100 characters, ASCII only (SNS and mail clients). */
export function subjectOf(event: MonitorEvent): string {
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
  }
  return truncate(`[VB365] ${asciiSafe(text)}`, SUBJECT_MAX);
}

/** The readable body: what happened, where, the numbers, the error, what to do, and the ids. */
export function textOf(event: MonitorEvent): string {
  const lines: string[] = [headline(event), ''];
  const field = (label: string, value: string | null | undefined) => {
    if (value !== null && value !== undefined && value !== '') lines.push(`${`${label}:`.padEnd(14)}${value}`);
  };
  field('Server', `${event.server.name} (${event.server.url})`);
  const s = event.session;
  if (s) {
    field(
      'Repository',
      s.repositoryName ? `${s.repositoryName} (${s.repositoryId ?? 'no id'})` : (s.repositoryId ?? 'unknown'),
    );
    field(
      'State',
      s.previousState && s.previousState !== s.state
        ? `${s.previousState} -> ${s.state ?? 'gone'}`
        : (s.state ?? 'gone'),
    );
    field('Progress', s.progressPercent === null ? null : `${s.progressPercent} %`);
    field(
      s.finishedAt ? 'Took' : 'Running for',
      `${formatDuration(s.durationSeconds)} (first seen ${utc(s.firstSeenAt)})`,
    );
    if (s.finishedAt) field('Finished', utc(s.finishedAt));
    if (event.type === 'sync.completed') {
      field(
        'Confirmed',
        s.completionConfirmed ? 'yes, the repository is back in sync' : 'no, the repository could not be checked',
      );
    }
    field('Error', s.error);
  }
  if (event.problem) {
    field('Problem', event.problem.reason);
    field('Since', utc(event.problem.since));
    if (event.problem.outageSeconds !== null) field('Outage', formatDuration(event.problem.outageSeconds));
  }
  if (event.summary) {
    const list = (title: string, items: readonly SummaryItem[], total: number) => {
      if (total === 0) return;
      lines.push('', `${title} (${total}):`);
      for (const i of items) {
        const progress = i.progressPercent === null ? '' : ` ${i.progressPercent} %`;
        const error = i.error ? ` - ${i.error}` : '';
        lines.push(
          `  - ${i.repositoryName ?? i.repositoryId ?? i.sessionId}: ${i.state ?? 'unknown'}${progress}${error}`,
        );
      }
      if (total > items.length) lines.push(`  ... and ${total - items.length} more`);
    };
    const { running, failed, other, totals } = event.summary;
    if (totals.running + totals.failed + totals.other === 0)
      lines.push('', 'No repository synchronization is running.');
    list('Syncing now', running, totals.running);
    list('Failed', failed, totals.failed);
    list('Other states', other, totals.other);
  }
  const next = NEXT_STEP[event.type];
  if (next) lines.push('', `Next: ${next}`);
  lines.push('', `Event ${event.eventId} (${event.severity}) at ${utc(event.occurredAt)}`);
  if (s) lines.push(`Session ${s.id}`);
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
  }
}

function utc(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

/** Letters with accents lose them; anything else outside printable ASCII becomes `?`. */
export function asciiSafe(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?');
}

export function truncate(text: string, max: number, ellipsis = '...'): string {
  return text.length <= max ? text : `${text.slice(0, max - ellipsis.length)}${ellipsis}`;
}
