import type { CauseFinding, Forecast, Impact } from './contract-repository.js';
import { type MonitorEvent, SUMMARY_LIMIT } from './events.js';
import { clockOf, truncate, utc, utcNear } from './format.js';
import { formatDuration } from './policy.js';
import { blockerLabel } from './title.js';

/*
 * The labelled values of a view (server, repository, state, progress, …) in display order, and the one-line facts
 * they are built from (the likely cause, the forecast, the jobs blocked, the incident).
 */

/** A view's facts, in display order. Values are raw (unescaped) text; empty ones are left out. */
export function factsOf(event: MonitorEvent): { label: string; value: string }[] {
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
  }
  return facts;
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
