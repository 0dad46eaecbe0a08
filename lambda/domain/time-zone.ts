/*
 * Wall-clock time in an IANA time zone, from the platform's Intl data (pure: no Node API). Used by quiet hours and
 * the weekly digest schedule.
 */

export interface LocalTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  /** 0 = Sunday … 6 = Saturday. */
  readonly weekday: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
}

const WEEKDAY_SHORT = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/**
 * One formatter per time zone, for the life of the process: building an `Intl.DateTimeFormat` costs far more than
 * using one, and a cycle's digest check alone asks for up to ten local times.
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterOf(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (f === undefined) {
    // Throws RangeError on an unknown zone, as before; nothing is cached then.
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      weekday: 'short',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The local date and time of `date` in `timeZone`. */
export function localTime(date: Date, timeZone: string): LocalTime {
  const parts = formatterOf(timeZone).formatToParts(date);
  const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return {
    year: Number(get('year')),
    month: Number(get('month')),
    day: Number(get('day')),
    weekday: WEEKDAY_SHORT.indexOf(get('weekday')),
    hour: Number(get('hour')),
    minute: Number(get('minute')),
    second: Number(get('second')),
  };
}

/** Epoch ms of a local wall-clock time in `timeZone` (DST-aware: the offset is read at the instant itself). */
export function zonedToUtc(year: number, month: number, day: number, hh: number, mm: number, timeZone: string): number {
  const guess = Date.UTC(year, month - 1, day, hh, mm);
  const first = guess - offsetOf(guess, timeZone);
  return guess - offsetOf(first, timeZone);
}

function offsetOf(instant: number, timeZone: string): number {
  const t = localTime(new Date(instant), timeZone);
  const asUtc = Date.UTC(t.year, t.month - 1, t.day, t.hour, t.minute, t.second);
  return asUtc - Math.floor(instant / 1000) * 1000;
}
