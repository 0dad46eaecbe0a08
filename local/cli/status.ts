import type { BlockerKind, Forecast } from '../../lambda/domain/contract-repository.js';
import type { HistoryEntry } from '../../lambda/domain/digest.js';
import { estimateOf } from '../../lambda/domain/estimate.js';
import type { IncidentAck, IncidentSubject, Severity } from '../../lambda/domain/events.js';
import { forecastOf } from '../../lambda/domain/forecast.js';
import { utc } from '../../lambda/domain/format.js';
import { formatDuration } from '../../lambda/domain/policy.js';
import type { AckRequest, IncidentEntry, ServerSnapshot, SessionRecord } from '../../lambda/domain/state.js';

/*
 * What `vb365-sync-monitor status` shows: per server, its health, its sessions with state, progress, rate, ETA, last
 * change and age, and its incidents; and which incident `vb365-sync-monitor ack` names. Pure: stored snapshots and a
 * time in, rows or a match out (table text or JSON).
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
  /** Running sessions: how long the repository's previous syncs took (with a history given); `null`: none known. */
  readonly forecast: Forecast | null;
}

/** Why a server is not clear for an upgrade or maintenance (see {@link blockingOf}). */
export interface Blocking {
  readonly kind: 'syncing' | 'failed' | 'out_of_sync' | 'blocked' | 'proxy' | 'unhealthy' | 'unknown';
  readonly what: string;
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
  /** Open incidents, oldest first; resolved ones (kept a day) too with `all`. */
  readonly incidents: readonly IncidentRow[];
  /** What syncs, is out of sync, failed or is blocked right now; empty: clear (`status --exit-code` exits 0). */
  readonly blocking: readonly Blocking[];
}

export interface IncidentRow {
  readonly key: string;
  readonly subject: IncidentSubject;
  /** What it is about, in a few words: the repository's name, "server unreachable", "certificate expiring". */
  readonly what: string;
  readonly status: 'open' | 'resolved';
  readonly openedAt: string;
  /** `null` while open. */
  readonly resolvedAt: string | null;
  /** Open: since `openedAt`; resolved: from `openedAt` to `resolvedAt`. Whole seconds. */
  readonly ageSeconds: number;
  /** The worst severity among its events so far. */
  readonly severity: Severity;
  readonly acknowledged: IncidentAck | null;
  /** An acknowledgement `ack` stored that no cycle has applied yet (open incidents only). */
  readonly ackRequested: AckRequest | null;
  /** The largest `escalateAfterMinutes` it reached unacknowledged; `null`: not escalated. */
  readonly escalatedAfterMinutes: number | null;
  readonly latest: IncidentEntry['latest'];
}

/**
 * A server's status from its stored snapshot; ended sessions only with `all`. With the server's `history` of finished
 * syncs, a running session shows its repository's forecast.
 */
export function statusOf(
  serverId: string,
  snapshot: ServerSnapshot,
  now: Date,
  all = false,
  history: readonly HistoryEntry[] = [],
): ServerStatus {
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
        forecast:
          running && r.repositoryId !== null ? (forecastOf(history, r.repositoryId, r.firstSeenAt) ?? null) : null,
      };
    });
  const pending = [snapshot.server, ...snapshot.sessions].reduce((n, e) => n + (e?.pending.length ?? 0), 0);
  return {
    serverId,
    health,
    held: server?.held?.total ?? 0,
    pending,
    sessions: rows,
    incidents: incidentRowsOf(snapshot, now, all),
    blocking: blockingOf(snapshot, now),
  };
}

/**
 * What keeps a server from being clear, from its stored state: sessions syncing (running, stalled or in another
 * state) or failed and still listed, repositories out of sync with nothing syncing them, blocked repositories (Out of
 * Date, Invalid, migration-locked), proxies offline or in maintenance, a failing health check; and a server the
 * monitor cannot vouch for (never polled, or failing to be used), which is not clear either.
 */
export function blockingOf(snapshot: ServerSnapshot, now?: Date): Blocking[] {
  const server = snapshot.server?.record;
  if (server === undefined || !server.initialized) return [{ kind: 'unknown', what: 'never polled' }];
  const found: Blocking[] = [];
  // A deployed monitor records its polls (`polledAt`, renewed every few cycles): state older than that is no news.
  if (now !== undefined && server.polledAt !== undefined && now.getTime() - Date.parse(server.polledAt) > STALE_MS) {
    found.push({ kind: 'unknown', what: `not polled since ${utc(server.polledAt)}: what is stored may be stale` });
  }
  if (server.failingSince !== null) {
    found.push({
      kind: 'unknown',
      what: `cannot be used since ${utc(server.failingSince)}: ${server.failure?.reason ?? ''}`.trim(),
    });
  }
  for (const r of snapshot.sessions.map((e) => e.record).filter((r) => r.phase !== 'ended')) {
    const repository = r.repositoryName ?? r.repositoryId ?? `session ${r.id}`;
    found.push(
      r.phase === 'failed'
        ? { kind: 'failed', what: `${repository}: sync failed${r.error ? ` (${r.error})` : ''}` }
        : {
            kind: 'syncing',
            what: `${repository}: ${r.phase === 'stalled' ? 'sync stalled' : 'syncing'}${r.progressPercent === null ? '' : ` at ${r.progressPercent} %`}`,
          },
    );
  }
  for (const [id, o] of Object.entries(server.outOfSync ?? {})) {
    found.push({ kind: 'out_of_sync', what: `${o.name ?? id}: out of sync since ${utc(o.since)}` });
  }
  for (const b of Object.values(server.blockers ?? {})) {
    const why = BLOCKER_WORDS[b.kind] + (b.reason ? ` (${b.reason})` : '');
    found.push({ kind: 'blocked', what: `${b.name ?? b.repositoryId}: ${why} since ${utc(b.since)}` });
  }
  for (const p of Object.values(server.proxies ?? {})) {
    found.push({
      kind: 'proxy',
      what: `proxy ${p.name}: ${p.state === 'offline' ? 'offline' : 'in maintenance'} since ${utc(p.since)}`,
    });
  }
  if (server.unhealthy !== undefined) {
    const parts = server.unhealthy.entries.map((e) => e.name).join(', ');
    found.push({
      kind: 'unhealthy',
      what: `health check ${server.unhealthy.status}${parts ? ` (${parts})` : ''} since ${utc(server.unhealthy.since)}`,
    });
  }
  return found;
}

/** A deployed server whose last recorded poll is older than this is not vouched for (`polledAt` is renewed often). */
const STALE_MS = 60 * 60_000;

const BLOCKER_WORDS: Readonly<Record<BlockerKind, string>> = {
  outdated: 'Out of Date (upgrade it)',
  out_of_order: 'Invalid',
  migration_locked: 'locked by a data migration',
};

/** A server's incidents as rows: open ones, oldest first, then (with `all`) resolved ones, latest first. */
export function incidentRowsOf(snapshot: ServerSnapshot, now: Date, all = false): IncidentRow[] {
  const entries = Object.values(snapshot.server?.record.incidents ?? {});
  const open = entries.filter((i) => i.resolvedAt === null).sort((a, b) => a.openedAt.localeCompare(b.openedAt));
  const resolved = all
    ? entries
        .filter((i) => i.resolvedAt !== null)
        .sort((a, b) => (b.resolvedAt ?? '').localeCompare(a.resolvedAt ?? ''))
    : [];
  return [...open, ...resolved].map((i) => ({
    key: i.key,
    subject: i.subject,
    what: incidentWhat(i),
    status: i.resolvedAt === null ? 'open' : 'resolved',
    openedAt: i.openedAt,
    resolvedAt: i.resolvedAt,
    ageSeconds: Math.max(
      0,
      Math.round(((i.resolvedAt === null ? now.getTime() : Date.parse(i.resolvedAt)) - Date.parse(i.openedAt)) / 1000),
    ),
    severity: i.severity,
    acknowledged: i.acknowledged,
    ackRequested: pendingAckOf(i, snapshot.acks ?? []),
    escalatedAfterMinutes: i.escalatedAfterMinutes,
    latest: i.latest,
  }));
}

/**
 * The latest acknowledgement request for an open incident that no cycle has applied yet: made after the incident's
 * acknowledgement, if it has one (a request stays stored for a day after a cycle applied it).
 */
export function pendingAckOf(incident: IncidentEntry, acks: readonly AckRequest[]): AckRequest | null {
  if (incident.resolvedAt !== null) return null;
  const since = incident.acknowledged === null ? Number.NEGATIVE_INFINITY : Date.parse(incident.acknowledged.at);
  const waiting = acks.filter((a) => a.key === incident.key && Date.parse(a.at) > since);
  return waiting.sort((a, b) => b.at.localeCompare(a.at))[0] ?? null;
}

/** What an incident is about, in a few words (the repository's name, or the server's problem). */
export function incidentWhat(i: Pick<IncidentEntry, 'key' | 'subject' | 'repository'>): string {
  switch (i.subject) {
    case 'repository':
      return i.repository?.name ?? i.repository?.id ?? 'a repository';
    case 'session':
      return i.repository?.name ?? i.repository?.id ?? `session ${i.key.split('/').at(-2) ?? '?'}`;
    case 'server':
      return `server ${i.key.split('/').at(-2) ?? 'problem'}`;
    case 'certificate':
      return 'certificate expiring';
    case 'polling':
      return 'not polled';
    case 'blocker':
      return `${i.repository?.name ?? i.repository?.id ?? 'a repository'} blocked (${i.key.split('/').at(-2) ?? '?'})`;
    case 'proxy':
      return `proxy ${i.key.split('/').at(-2) ?? '?'}`;
    case 'health':
      return 'server unhealthy';
  }
}

// ---- ack: which incident the argument names ------------------------------------------------------------------------

/** An incident with its server and the acknowledgement request waiting for it, if any. */
export interface FoundIncident {
  readonly serverId: string;
  readonly incident: IncidentEntry;
  readonly ackRequested: AckRequest | null;
}

/**
 * The open incidents `target` names, among these servers' snapshots: the one whose key it is exactly; otherwise
 * every repository or session incident whose repository id or name it is (case-insensitive), and every
 * server-level incident (server, certificate, polling) of the server whose id it is; otherwise every one whose
 * repository name contains it (case-insensitive). `open` lists every open incident, for the message when none or
 * several match.
 */
export function findIncidents(
  target: string,
  servers: ReadonlyArray<{ readonly serverId: string; readonly snapshot: ServerSnapshot }>,
): { readonly matches: readonly FoundIncident[]; readonly open: readonly FoundIncident[] } {
  const open: FoundIncident[] = servers.flatMap(({ serverId, snapshot }) =>
    Object.values(snapshot.server?.record.incidents ?? {})
      .filter((i) => i.resolvedAt === null)
      .sort((a, b) => a.openedAt.localeCompare(b.openedAt))
      .map((incident) => ({ serverId, incident, ackRequested: pendingAckOf(incident, snapshot.acks ?? []) })),
  );
  const exact = open.filter((f) => f.incident.key === target);
  if (exact.length > 0) return { matches: exact, open };
  const wanted = target.toLowerCase();
  const matches = open.filter(({ serverId, incident: i }) =>
    i.subject === 'repository' || i.subject === 'session'
      ? i.repository?.id?.toLowerCase() === wanted || i.repository?.name?.toLowerCase() === wanted
      : serverId.toLowerCase() === wanted,
  );
  if (matches.length > 0) return { matches, open };
  // A server's id names that server, never a part of some repository's name ("vbo" is not "vbo-archive").
  if (servers.some((s) => s.serverId.toLowerCase() === wanted)) return { matches: [], open };
  // "wasabi" for "Wasabi Archive": a part of a name, which the caller acts on only when it names one incident.
  const partial = open.filter(({ incident: i }) => i.repository?.name?.toLowerCase().includes(wanted) === true);
  return { matches: partial, open };
}

/** One line per incident for a message: "S3 Archive on vbo-01, open since …, critical: KEY". */
export function describeIncidents(found: readonly FoundIncident[]): string {
  return found
    .map(
      ({ serverId, incident: i }) =>
        `  ${incidentWhat(i)} on ${serverId}, open since ${utc(i.openedAt)}, ${i.severity}${i.acknowledged ? `, acknowledged by ${i.acknowledged.by}` : ''}: ${i.key}`,
    )
    .join('\n');
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
    out.push(...sessionLines(s, now), ...blockingLines(s), ...incidentLines(s.incidents), '');
  }
  return out.join('\n').trimEnd();
}

function sessionLines(s: ServerStatus, now: Date): string[] {
  if (s.sessions.length === 0) return ['  no sync session running'];
  const header = ['SESSION', 'REPOSITORY', 'STATE', 'PROGRESS', 'RATE', 'ETA', 'LAST CHANGE', 'AGE'];
  const rows = s.sessions.map((r) => [
    r.session.slice(0, 8),
    shorten(r.repository),
    r.phase === 'stalled' ? `${r.state} (stalled)` : r.state,
    r.progressPercent === null ? '-' : `${r.progressPercent} %`,
    r.ratePercentPerHour === null ? (r.phase === 'running' ? 'estimating…' : '-') : `${r.ratePercentPerHour} %/h`,
    r.estimatedFinishAt !== null
      ? `${utc(r.estimatedFinishAt)} (in ${formatDuration(secondsUntil(r.estimatedFinishAt, now))})`
      : r.forecast !== null && r.phase === 'running'
        ? `~${utc(r.forecast.expectedFinishAt)} (forecast)`
        : '-',
    `${formatDuration(secondsUntil(now.toISOString(), new Date(r.lastChangeAt)))} ago`,
    formatDuration(r.ageSeconds),
  ]);
  return [
    ...table(header, rows),
    ...s.sessions.filter((r) => r.error).map((r) => `  ${r.session.slice(0, 8)} error: ${r.error}`),
    ...s.sessions
      .filter((r) => r.forecast !== null)
      .map((r) => {
        const f = r.forecast as Forecast;
        const range =
          f.minSeconds === f.maxSeconds
            ? formatDuration(f.minSeconds)
            : `${formatDuration(f.minSeconds)}–${formatDuration(f.maxSeconds)}, median ${formatDuration(f.medianSeconds)}`;
        return `  ${r.session.slice(0, 8)} forecast: previous ${f.count} sync(s) of ${r.repository} took ${range}`;
      }),
  ];
}

/** Repository-level problems no session stands for: out of sync, blocked, proxies, health (sessions are above). */
function blockingLines(s: ServerStatus): string[] {
  return s.blocking
    .filter((b) => b.kind !== 'syncing' && b.kind !== 'failed' && b.kind !== 'unknown')
    .map((b) => `  ${b.what}`);
}

/** The incidents table (the key last: it is long, and what `ack` takes when a name is ambiguous). */
function incidentLines(incidents: readonly IncidentRow[]): string[] {
  const none = incidents.some((i) => i.status === 'open') ? [] : ['  no open incident'];
  if (incidents.length === 0) return none;
  const header = ['INCIDENT', 'STATUS', 'SINCE', 'AGE', 'SEVERITY', 'ACKNOWLEDGED', 'KEY'];
  const rows = incidents.map((i) => [
    shorten(i.what),
    i.status === 'resolved'
      ? `resolved ${utc(i.resolvedAt ?? i.openedAt)}`
      : i.escalatedAfterMinutes !== null
        ? `open, escalated after ${formatDuration(i.escalatedAfterMinutes * 60)}`
        : 'open',
    utc(i.openedAt),
    formatDuration(i.ageSeconds),
    i.severity,
    [
      i.acknowledged
        ? `by ${i.acknowledged.by}${i.acknowledged.reason ? `: ${i.acknowledged.reason}` : ''}`
        : i.ackRequested
          ? ''
          : 'not acknowledged',
      i.ackRequested
        ? `ack requested by ${i.ackRequested.by}${i.ackRequested.reason ? `: ${i.ackRequested.reason}` : ''} (next cycle)`
        : '',
    ]
      .filter(Boolean)
      .join('; '),
    i.key,
  ]);
  return [...none, ...table(header, rows)];
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) => `  ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ')}`.trimEnd();
  return [line(header), ...rows.map(line)];
}

function shorten(text: string): string {
  return text.length > 32 ? `${text.slice(0, 31)}…` : text;
}

function secondsUntil(iso: string, from: Date): number {
  return Math.max(0, (Date.parse(iso) - from.getTime()) / 1000);
}
