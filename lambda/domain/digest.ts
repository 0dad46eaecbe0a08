import type { Digest } from './contract-digest.js';
import { type MonitorEvent, SUMMARY_LIMIT } from './events.js';
import { localTime, zonedToUtc } from './time-zone.js';

/*
 * History of finished syncs and the weekly digest (pure). Every end of a sync (completed, stopped, failed) becomes a
 * history entry, kept for a while; once a week the cycle sums up the last seven days in one `digest.weekly`.
 */

/** One finished sync, as kept in the history. */
export interface HistoryEntry {
  /** The terminal event's id (keeps writing the same end twice harmless). */
  readonly eventId: string;
  readonly sessionId: string;
  readonly repositoryId: string | null;
  readonly repositoryName: string | null;
  readonly outcome: 'completed' | 'stopped' | 'failed';
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly durationSeconds: number;
  readonly error: string | null;
}

/** When the weekly digest goes out: a weekday and a local time in an IANA time zone. */
export interface DigestSchedule {
  /** 0 = Sunday … 6 = Saturday. */
  readonly weekday: number;
  /** Local `HH:MM`. */
  readonly time: string;
  readonly timeZone: string;
}

export const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

/** The median of ascending numbers (the lower of the two middle ones, a value that occurred); `null` when empty. */
export function medianOf(sorted: readonly number[]): number | null {
  return sorted.length === 0 ? null : (sorted[Math.floor((sorted.length - 1) / 2)] as number);
}

/** The history entry of a terminal event, or `undefined` for any other event. */
export function historyEntryOf(event: MonitorEvent): HistoryEntry | undefined {
  const outcome =
    event.type === 'sync.completed'
      ? 'completed'
      : event.type === 'sync.stopped'
        ? 'stopped'
        : event.type === 'sync.failed'
          ? 'failed'
          : undefined;
  const s = event.session;
  if (!outcome || !s) return undefined;
  return {
    eventId: event.eventId,
    sessionId: s.id,
    repositoryId: s.repositoryId,
    repositoryName: s.repositoryName,
    outcome,
    startedAt: s.firstSeenAt,
    finishedAt: s.finishedAt ?? event.occurredAt,
    durationSeconds: s.durationSeconds,
    error: s.error,
  };
}

/** The most recent scheduled digest time at or before `now` (ISO-8601 UTC). */
export function lastDigestTime(now: Date, schedule: DigestSchedule): string {
  const [hh, mm] = schedule.time.split(':').map(Number) as [number, number];
  // Today or up to a week back: the weekday comes once or twice (today, before its time, and a week ago).
  for (let back = 0; back <= 7; back++) {
    const local = localTime(new Date(now.getTime() - back * 86_400_000), schedule.timeZone);
    if (local.weekday !== schedule.weekday) continue;
    const instant = zonedToUtc(local.year, local.month, local.day, hh, mm, schedule.timeZone);
    if (instant <= now.getTime()) return new Date(instant).toISOString();
  }
  throw new RangeError(`digest weekday ${schedule.weekday} is not 0 (Sunday) to 6 (Saturday)`);
}

/** Whether a digest is due: one was scheduled since the last one sent (never right after the first start). */
export function digestDue(lastSentAt: string | undefined, now: Date, schedule: DigestSchedule | null): boolean {
  if (schedule === null || lastSentAt === undefined) return false;
  return Date.parse(lastDigestTime(now, schedule)) > Date.parse(lastSentAt);
}

/** The digest of `entries` between `from` and `to`, with what is out of sync and running now. */
export function buildDigest(
  entries: readonly HistoryEntry[],
  from: string,
  to: string,
  outOfSync: Digest['outOfSync'],
  running: number,
): Digest {
  const inWindow = entries.filter((e) => e.finishedAt >= from && e.finishedAt <= to);
  const count = (o: HistoryEntry['outcome']) => inWindow.filter((e) => e.outcome === o).length;
  const durations = inWindow
    .filter((e) => e.outcome === 'completed')
    .map((e) => e.durationSeconds)
    .sort((a, b) => a - b);
  const middle = medianOf(durations);
  return {
    from,
    to,
    syncs: {
      total: inWindow.length,
      completed: count('completed'),
      stopped: count('stopped'),
      failed: count('failed'),
    },
    durations: { medianSeconds: middle ?? null, maxSeconds: durations.at(-1) ?? null },
    problems: inWindow
      .filter((e): e is HistoryEntry & { outcome: 'stopped' | 'failed' } => e.outcome !== 'completed')
      .sort((a, b) => b.finishedAt.localeCompare(a.finishedAt))
      .slice(0, SUMMARY_LIMIT)
      .map((e) => ({
        repositoryName: e.repositoryName ?? e.repositoryId,
        outcome: e.outcome,
        finishedAt: e.finishedAt,
        error: e.error,
      })),
    outOfSync: outOfSync.slice(0, SUMMARY_LIMIT),
    running,
  };
}
