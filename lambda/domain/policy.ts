import type { DigestSchedule } from './digest.js';

/** Non-critical events are held during these hours every day, and summarised when they end. */
export interface QuietHours {
  /** IANA time zone, e.g. `Europe/Berlin`. */
  readonly timeZone: string;
  /** Local `HH:MM` the quiet hours start. */
  readonly start: string;
  /** Local `HH:MM` they end (earlier than `start`: they run past midnight). */
  readonly end: string;
}

/** A planned maintenance: every event of the servers concerned is held, and summarised when it ends. */
export interface MaintenanceWindow {
  /** ISO-8601 with offset, e.g. `2026-12-05T20:00:00+01:00`. */
  readonly start: string;
  readonly end: string;
  /** Shown in the summary, e.g. "VB365 upgrade to v8". */
  readonly note?: string | undefined;
  /** Server ids concerned. @default all */
  readonly servers?: readonly string[] | undefined;
}

/** Tunables of the lifecycle rules (DESIGN §3). */
export interface Policy {
  /** Progress percentages announced with `sync.progress` when crossed, ascending. @default [] (none) */
  readonly milestones: readonly number[];
  /** No progress for this long makes a running session `stalled`. @default 60 min */
  readonly stallAfterMs: number;
  /** Reachable cycles a session must be missing before it is declared ended. @default 2 */
  readonly vanishGraceCycles: number;
  /** The server must fail for this long before `server.unreachable`. @default 15 min */
  readonly unreachableAfterMs: number;
  /** Finished sessions are kept this long (DynamoDB TTL). @default 30 days */
  readonly finishedRetentionMs: number;
  /** Reachable cycles in a row before `server.recovered` (no alert storm from a flapping server). @default 2 */
  readonly recoverAfterCycles: number;
  /** `server.certificate_expiring` when the certificate expires within this. @default 14 days */
  readonly certificateWarningMs: number;
  /** `sync.still_failed` reminders this often while a session stays failed; `null`: none. @default 24 h */
  readonly remindEveryMs: number | null;
  /** Reminders at most per failure. @default 3 */
  readonly maxReminders: number;
  /** `repository.out_of_sync` when a repository stays out of sync this long with nothing syncing; `null`: off. @default 30 min */
  readonly outOfSyncAfterMs: number | null;
  /** When the weekly digest goes out; `null`: never. @default Monday 08:00 UTC */
  readonly digest: DigestSchedule | null;
  /** How long finished syncs are kept for the digest. @default 90 days */
  readonly historyRetentionMs: number;
  /** @default null (none) */
  readonly quietHours: QuietHours | null;
  /** @default [] */
  readonly maintenanceWindows: readonly MaintenanceWindow[];
  /**
   * Storm control: when this many items of one server produce the same event type in one cycle, people's channels get
   * one `monitor.grouped` message listing them instead of one message each; `null`: off. @default 10
   */
  readonly groupThreshold: number | null;
}

export const DEFAULT_POLICY: Policy = {
  milestones: [],
  stallAfterMs: 60 * 60_000,
  vanishGraceCycles: 2,
  unreachableAfterMs: 15 * 60_000,
  finishedRetentionMs: 30 * 86_400_000,
  recoverAfterCycles: 2,
  certificateWarningMs: 14 * 86_400_000,
  remindEveryMs: 24 * 3_600_000,
  maxReminders: 3,
  outOfSyncAfterMs: 30 * 60_000,
  digest: { weekday: 1, time: '08:00', timeZone: 'UTC' },
  historyRetentionMs: 90 * 86_400_000,
  quietHours: null,
  maintenanceWindows: [],
  groupThreshold: 10,
};

/**
 * Parses a duration such as `90s`, `15m`, `1h30m`, `2d` or a bare number of minutes into milliseconds; `undefined`
 * when it is not one.
 */
export function parseDuration(text: string): number | undefined {
  const s = text.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 60_000;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  const parts = [...s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== s) return undefined;
  return parts.reduce((total, [, n, unit]) => total + Number(n) * (units[unit as string] ?? 0), 0);
}

/** `1h 5m`, `42s`, `3d 4h`: a compact human duration. */
export function formatDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.round(totalSeconds));
  if (s < 60) return `${s}s`;
  const d = Math.floor(s / 86_400);
  const h = Math.floor((s % 86_400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d > 0) return h > 0 ? `${d}d ${h}h` : `${d}d`;
  if (h > 0) return m > 0 ? `${h}h ${m}m` : `${h}h`;
  return `${m}m`;
}

/** Problems of a quiet-hours setting, each as `field: value — fix` (field relative to the object). */
export function quietHoursProblems(q: QuietHours): string[] {
  const problems = [
    ...timeZoneProblems(q.timeZone),
    ...timeOfDayProblems('start', q.start),
    ...timeOfDayProblems('end', q.end),
  ];
  if (problems.length === 0 && q.start === q.end)
    problems.push(`end: ${JSON.stringify(q.end)} — must differ from start (use no quiet hours instead)`);
  return problems;
}

/** Problems of a digest schedule, each as `field: value — fix` (field relative to the object). */
export function digestProblems(d: DigestSchedule): string[] {
  const problems = [...timeZoneProblems(d.timeZone), ...timeOfDayProblems('time', d.time)];
  if (!Number.isInteger(d.weekday) || d.weekday < 0 || d.weekday > 6)
    problems.push(`weekday: ${JSON.stringify(d.weekday)} — use 0 (Sunday) to 6 (Saturday)`);
  return problems;
}

/** Problems of a maintenance window, each as `field: value — fix` (field relative to the object). */
export function maintenanceWindowProblems(w: MaintenanceWindow): string[] {
  const problems: string[] = [];
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;
  for (const key of ['start', 'end'] as const) {
    if (typeof w[key] !== 'string' || !iso.test(w[key]) || Number.isNaN(Date.parse(w[key])))
      problems.push(`${key}: ${JSON.stringify(w[key])} — use ISO-8601 with an offset, e.g. 2026-12-05T20:00:00+01:00`);
  }
  if (problems.length === 0 && Date.parse(w.end) <= Date.parse(w.start))
    problems.push(`end: ${JSON.stringify(w.end)} — must be after start`);
  return problems;
}

/** A 24-hour local time `HH:MM`. */
export const TIME_OF_DAY = /^([01]\d|2[0-3]):([0-5]\d)$/;

function timeOfDayProblems(field: string, value: unknown): string[] {
  return typeof value === 'string' && TIME_OF_DAY.test(value)
    ? []
    : [`${field}: ${JSON.stringify(value)} — use a 24-hour local time HH:MM, e.g. 22:00`];
}

function timeZoneProblems(timeZone: unknown): string[] {
  const problem = [`timeZone: ${JSON.stringify(timeZone)} — use an IANA time zone such as Europe/Berlin`];
  if (typeof timeZone !== 'string' || timeZone === '') return problem;
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone });
    return [];
  } catch {
    return problem;
  }
}
