import * as v from 'valibot';
import { type DigestSchedule, WEEKDAYS } from './digest.js';
import type { EventType } from './events.js';
import { strictObject, wholeNumber } from './validation.js';

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
  /** Runbook link per event type (`runbooks` in the configuration). @default {} */
  readonly runbooks: Readonly<Partial<Record<EventType, string>>>;
  /**
   * Every `escalateAfterMinutes` of the configured channels, ascending: an open problem nobody acknowledged is
   * escalated (`incident.escalated`) when it outlives each. @default [] (none)
   */
  readonly escalateAfterMinutes: readonly number[];
}

/*
 * The tunables as people write them (minutes, hours, days; `0` for off), with their defaults and bounds: the one
 * definition behind the deployment's configuration (synth), the Lambda's configuration file (checked at start), the
 * CLI and the JSON Schema editors use. `toPolicy` turns them into the rules' units.
 */

/** A 24-hour local time `HH:MM`. */
export const TIME_OF_DAY = /^([01]\d|2[0-3]):([0-5]\d)$/;

const milestonesFix = 'use percentages between 1 and 99';
/** The `policy` section of the configuration. */
export const POLICY_SETTINGS = strictObject({
  milestones: v.optional(
    v.pipe(
      v.array(
        v.pipe(v.number(milestonesFix), v.gtValue(0, milestonesFix), v.ltValue(100, milestonesFix)),
        milestonesFix,
      ),
      v.description('Progress percentages announced with `sync.progress` when crossed, e.g. [25, 50, 75].'),
    ),
    [],
  ),
  stallAfterMinutes: v.optional(
    wholeNumber(1, 7 * 24 * 60, 'No progress for this many minutes makes a running sync `sync.stalled`.'),
    60,
  ),
  vanishGraceCycles: v.optional(
    wholeNumber(1, 100, 'Reachable cycles a session must be missing from the list before it is declared ended.'),
    2,
  ),
  unreachableAfterMinutes: v.optional(
    wholeNumber(0, 24 * 60, 'The server must fail for this many minutes before `server.unreachable`.'),
    15,
  ),
  finishedRetentionDays: v.optional(wholeNumber(1, 3650, 'Days finished sessions are kept (DynamoDB TTL).'), 30),
  recoverAfterCycles: v.optional(
    wholeNumber(1, 20, 'Working cycles in a row before `server.recovered` (no storm from a flapping server).'),
    2,
  ),
  certificateWarningDays: v.optional(
    wholeNumber(0, 365, '`server.certificate_expiring` this many days before the REST API certificate expires.'),
    14,
  ),
  remindEveryHours: v.optional(
    wholeNumber(0, 24 * 30, 'Hours between `sync.still_failed` reminders while a session stays failed; 0: none.'),
    24,
  ),
  maxReminders: v.optional(wholeNumber(0, 100, 'Reminders at most per failure.'), 3),
  outOfSyncAfterMinutes: v.optional(
    wholeNumber(
      0,
      7 * 24 * 60,
      '`repository.out_of_sync` after a repository stays out of sync this long with nothing syncing it; 0: off.',
    ),
    30,
  ),
  historyRetentionDays: v.optional(wholeNumber(8, 3650, 'Days finished syncs are kept for the weekly digest.'), 90),
  groupThreshold: v.optional(
    wholeNumber(
      0,
      10_000,
      'Storm control: this many items of one server with the same event type in one cycle reach email and chat as one `monitor.grouped` message (webhooks and JSON consumers still get every event); 0: off.',
    ),
    10,
  ),
});
export type PolicySettings = v.InferOutput<typeof POLICY_SETTINGS>;

const timeOfDay = (description: string) =>
  v.pipe(
    v.string('use a 24-hour local time HH:MM, e.g. 22:00'),
    v.regex(TIME_OF_DAY, 'use a 24-hour local time HH:MM, e.g. 22:00'),
    v.description(description),
  );
const timeZone = v.pipe(
  v.string('use an IANA time zone such as Europe/Berlin'),
  v.check(isTimeZone, 'use an IANA time zone such as Europe/Berlin'),
  v.description('IANA time zone, e.g. Europe/Berlin.'),
);
const isoWithOffset = (description: string) =>
  v.pipe(
    v.string('use ISO-8601 with an offset, e.g. 2026-12-05T20:00:00+01:00'),
    v.check(
      (s) =>
        /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(s) && !Number.isNaN(Date.parse(s)),
      'use ISO-8601 with an offset, e.g. 2026-12-05T20:00:00+01:00',
    ),
    v.description(description),
  );

/** `quietHours`: non-critical events are held during these hours every day, and summarised when they end. */
export const QUIET_HOURS_SETTING = v.pipe(
  strictObject({
    timeZone,
    start: timeOfDay('Local time the quiet hours start.'),
    end: timeOfDay('Local time they end (earlier than start: they run past midnight).'),
  }),
  v.forward(
    v.check((q) => q.start !== q.end, 'must differ from start (use no quiet hours instead)'),
    ['end'],
  ),
  v.description(
    'Daily quiet hours: non-critical events are held and summarised in one `monitor.held_summary` when they end; critical ones go through.',
  ),
);

/** One planned maintenance: every event of the servers concerned is held, and summarised when it ends. */
export const MAINTENANCE_WINDOW_SETTING = v.pipe(
  strictObject({
    start: isoWithOffset('Start, ISO-8601 with an offset.'),
    end: isoWithOffset('End, ISO-8601 with an offset.'),
    note: v.optional(v.pipe(v.string(), v.description('Shown in the summary, e.g. "VB365 upgrade to v8".'))),
    servers: v.optional(
      v.pipe(
        v.array(v.string('name a server id of this configuration')),
        v.description('Server ids concerned; default all.'),
      ),
    ),
  }),
  v.forward(
    v.check((w) => Date.parse(w.end) > Date.parse(w.start), 'must be after start'),
    ['end'],
  ),
);

/** `digest`: when the weekly digest goes out, or `false` for none. */
export const DIGEST_SETTING = v.pipe(
  v.union(
    [
      v.literal(false),
      strictObject({
        weekday: v.pipe(
          v.picklist(WEEKDAYS, `use one of ${WEEKDAYS.join(', ')}`),
          v.description('The day the digest goes out.'),
        ),
        time: timeOfDay('Local time the digest goes out.'),
        timeZone,
      }),
    ],
    'use { weekday, time, timeZone } (e.g. Monday, 08:00, UTC) or false for no digest',
  ),
  v.description('The weekly digest: { weekday, time, timeZone }, or false for none; default Monday 08:00 UTC.'),
);

/** The settings of the rules, as configured: `policy` and the three schedules beside it. */
export interface RuleSettings {
  readonly policy: PolicySettings;
  readonly digest?: v.InferOutput<typeof DIGEST_SETTING> | undefined;
  readonly quietHours?: QuietHours | undefined;
  readonly maintenanceWindows?: readonly MaintenanceWindow[] | undefined;
  readonly runbooks?: Readonly<Partial<Record<EventType, string>>> | undefined;
  /** Of every channel that has one. */
  readonly escalateAfterMinutes?: readonly number[] | undefined;
}

/** The rules' policy (milliseconds, `null` for off) from the settings as configured. */
export function toPolicy(settings: RuleSettings): Policy {
  const p = settings.policy;
  const offWhenZero = (n: number, unitMs: number) => (n === 0 ? null : n * unitMs);
  const digest = settings.digest ?? { weekday: 'Monday', time: '08:00', timeZone: 'UTC' };
  return {
    milestones: [...p.milestones].sort((a, b) => a - b),
    stallAfterMs: p.stallAfterMinutes * 60_000,
    vanishGraceCycles: p.vanishGraceCycles,
    unreachableAfterMs: p.unreachableAfterMinutes * 60_000,
    finishedRetentionMs: p.finishedRetentionDays * 86_400_000,
    recoverAfterCycles: p.recoverAfterCycles,
    certificateWarningMs: p.certificateWarningDays * 86_400_000,
    remindEveryMs: offWhenZero(p.remindEveryHours, 3_600_000),
    maxReminders: p.maxReminders,
    outOfSyncAfterMs: offWhenZero(p.outOfSyncAfterMinutes, 60_000),
    digest:
      digest === false
        ? null
        : { weekday: WEEKDAYS.indexOf(digest.weekday), time: digest.time, timeZone: digest.timeZone },
    historyRetentionMs: p.historyRetentionDays * 86_400_000,
    quietHours: settings.quietHours ?? null,
    maintenanceWindows: settings.maintenanceWindows ?? [],
    groupThreshold: p.groupThreshold === 0 ? null : p.groupThreshold,
    runbooks: settings.runbooks ?? {},
    escalateAfterMinutes: [...new Set(settings.escalateAfterMinutes ?? [])].sort((a, b) => a - b),
  };
}

/** The rules' defaults: the settings' defaults, converted. */
export const DEFAULT_POLICY: Policy = toPolicy({ policy: v.parse(POLICY_SETTINGS, {}) });

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

function isTimeZone(timeZone: string): boolean {
  if (timeZone === '') return false;
  try {
    new Intl.DateTimeFormat('en-GB', { timeZone });
    return true;
  } catch {
    return false;
  }
}
