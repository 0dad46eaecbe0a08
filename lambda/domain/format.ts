/* Pure text helpers shared by titles and every renderer: times as people read them, ASCII-safe and cut text. */

/** `2026-11-28 12:30 UTC` from an ISO-8601 UTC time. */
export function utc(iso: string): string {
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

/** `14:35` when `iso` falls on the day of `reference` (both ISO-8601 UTC), else `2026-11-29 00:00`. */
export function clockOf(iso: string, reference: string): string {
  return iso.slice(0, 10) === reference.slice(0, 10) ? iso.slice(11, 16) : iso.slice(0, 16).replace('T', ' ');
}

/** `14:35 UTC` on the day of `reference` (the event's time), else as {@link utc}: `2026-11-29 00:00 UTC`. */
export function utcNear(iso: string, reference: string): string {
  return `${clockOf(iso, reference)} UTC`;
}

/** Dashes become `-` and arrows `->`, letters with accents lose them; anything else outside printable ASCII becomes `?`. */
export function asciiSafe(text: string): string {
  return text
    .replace(/[\u2010-\u2015\u2212]/g, '-')
    .replace(/\u2192/g, '->')
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[\r\n\t]+/g, ' ')
    .replace(/[^\x20-\x7e]/g, '?');
}

/** `text` cut to `max` characters, `ellipsis` included. */
export function truncate(text: string, max: number, ellipsis = '...'): string {
  return text.length <= max ? text : `${text.slice(0, max - ellipsis.length)}${ellipsis}`;
}
