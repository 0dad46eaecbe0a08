import { estimateOf } from '../lambda/domain/estimate.js';
import { formatDuration } from '../lambda/domain/policy.js';
import { utc } from '../lambda/domain/render-text.js';
import type { ServerSnapshot, SessionRecord } from '../lambda/domain/state.js';

/*
 * What `vb365-sync-monitor status` shows: per server, its health and its sessions with state, progress, rate, ETA,
 * last change and age. Pure: a stored snapshot and a time in, rows out (table text or JSON).
 */

export interface SessionRow {
  readonly session: string;
  readonly repository: string;
  readonly state: string;
  readonly phase: SessionRecord['phase'];
  readonly progressPercent: number | null;
  readonly ratePercentPerHour: number | null;
  readonly estimatedFinishAt: string | null;
  /** Last progress change (running), or the finish. */
  readonly lastChangeAt: string;
  /** Since first seen, in seconds. */
  readonly ageSeconds: number;
  readonly error: string | null;
}

export interface ServerStatus {
  readonly serverId: string;
  /** `ok`, or what is wrong and since when. */
  readonly health: string;
  /** Events held by quiet hours or maintenance, not sent yet. */
  readonly held: number;
  /** Events committed but not yet published. */
  readonly pending: number;
  readonly sessions: readonly SessionRow[];
}

/** A server's status from its stored snapshot; ended sessions only with `all`. */
export function statusOf(serverId: string, snapshot: ServerSnapshot, now: Date, all = false): ServerStatus {
  const server = snapshot.server?.record;
  const health =
    server === undefined
      ? 'never polled'
      : server.failingSince === null
        ? 'ok'
        : `${server.alerted ?? server.failure?.kind ?? 'failing'} since ${utc(server.failingSince)}: ${server.failure?.reason ?? ''}`.trim();
  const rows = snapshot.sessions
    .map((e) => e.record)
    .filter((r) => all || r.phase !== 'ended')
    .sort((a, b) => order(a) - order(b) || a.firstSeenAt.localeCompare(b.firstSeenAt))
    .map((r): SessionRow => {
      const running = r.phase === 'running' || r.phase === 'stalled' || r.phase === 'other';
      const estimate = running ? estimateOf(r.samples, now) : null;
      return {
        session: r.id,
        repository: r.repositoryName ?? r.repositoryId ?? 'unknown',
        state: r.phase === 'ended' ? `${r.state ?? 'gone'} (${r.outcome ?? 'ended'})` : (r.state ?? 'unknown'),
        phase: r.phase,
        progressPercent: r.progressPercent,
        ratePercentPerHour: estimate?.ratePercentPerHour ?? null,
        estimatedFinishAt: r.phase === 'stalled' ? null : (estimate?.estimatedFinishAt ?? null),
        lastChangeAt: r.finishedAt ?? r.lastProgressAt,
        ageSeconds: Math.max(0, Math.round((now.getTime() - Date.parse(r.firstSeenAt)) / 1000)),
        error: r.error,
      };
    });
  const pending = [snapshot.server, ...snapshot.sessions].reduce((n, e) => n + (e?.pending.length ?? 0), 0);
  return { serverId, health, held: server?.held?.total ?? 0, pending, sessions: rows };
}

/** Running first, then stalled, failed, other, ended. */
function order(r: SessionRecord): number {
  return ['running', 'stalled', 'failed', 'other', 'ended'].indexOf(r.phase);
}

/** The status as aligned text tables, one per server. */
export function formatStatus(statuses: readonly ServerStatus[], now: Date): string {
  if (statuses.length === 0) return 'No server has state in this table yet.';
  const out: string[] = [];
  for (const s of statuses) {
    const extra = [s.held > 0 ? `${s.held} held` : '', s.pending > 0 ? `${s.pending} to publish` : '']
      .filter(Boolean)
      .join(', ');
    out.push(`${s.serverId}: ${s.health}${extra ? ` (${extra})` : ''}`);
    if (s.sessions.length === 0) {
      out.push('  no sync session running', '');
      continue;
    }
    const header = ['SESSION', 'REPOSITORY', 'STATE', 'PROGRESS', 'RATE', 'ETA', 'LAST CHANGE', 'AGE'];
    const rows = s.sessions.map((r) => [
      r.session.slice(0, 8),
      r.repository.length > 32 ? `${r.repository.slice(0, 31)}…` : r.repository,
      r.phase === 'stalled' ? `${r.state} (stalled)` : r.state,
      r.progressPercent === null ? '-' : `${r.progressPercent} %`,
      r.ratePercentPerHour === null ? (r.phase === 'running' ? 'estimating…' : '-') : `${r.ratePercentPerHour} %/h`,
      r.estimatedFinishAt === null
        ? '-'
        : `${utc(r.estimatedFinishAt)} (in ${formatDuration(secondsUntil(r.estimatedFinishAt, now))})`,
      `${formatDuration(secondsUntil(now.toISOString(), new Date(r.lastChangeAt)))} ago`,
      formatDuration(r.ageSeconds),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const line = (cells: readonly string[]) =>
      `  ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd();
    out.push(line(header), ...rows.map(line));
    for (const r of s.sessions) if (r.error) out.push(`  ${r.session.slice(0, 8)} error: ${r.error}`);
    out.push('');
  }
  return out.join('\n').trimEnd();
}

function secondsUntil(iso: string, from: Date): number {
  return Math.max(0, (Date.parse(iso) - from.getTime()) / 1000);
}
