import type { Severity } from './events.js';
import { truncate } from './format.js';
import type { EventView } from './render-text.js';

/*
 * What every chat rendering shares (render-slack.ts, render-chat.ts): severity colours and emoji, making untrusted
 * text inert, Slack escaping, runbook links, progress bars and fitting lists in a platform's limits.
 */

/** Severity colours: Slack attachment colour and Teams container style. */
export const COLOUR: Record<Severity, { slack: string; teams: 'attention' | 'warning' | 'accent' }> = {
  critical: { slack: '#D92D20', teams: 'attention' },
  warning: { slack: '#F79009', teams: 'warning' },
  info: { slack: '#2E90FA', teams: 'accent' },
};

/** Severity emoji, before a chat title. */
export const EMOJI: Record<Severity, string> = { critical: '🔴', warning: '🟠', info: '🔵' };

/**
 * A runbook URL as a link target: it comes from the configuration (trusted), but only an `https://` URL without
 * characters that would end a link in Markdown or Slack mrkdwn, within Slack's 3000-character limit for a button URL,
 * is used; anything else is left out.
 */
export function linkable(url: string | null): string | null {
  return url && url.length <= 3000 && /^https:\/\/[^\s<>|"'`()[\]]+$/.test(url) ? url : null;
}

/** Escapes text for Slack `mrkdwn`: `&`, `<`, `>` are the only characters Slack asks to escape. */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Where a string ends up: `markdown` is any Markdown dialect (Slack mrkdwn, Teams TextBlocks, Q Developer's
 * `client-markdown`, which is passed on to Slack or Teams); `literal` is a Slack `plain_text` or `rich_text` element.
 */
export type TextSink = 'markdown' | 'literal';

/** Look-alikes of the characters that format, link or mention in Slack mrkdwn and Markdown. */
const LOOK_ALIKE: Readonly<Record<string, string>> = {
  '*': '∗',
  _: 'ˍ',
  '`': 'ˋ',
  '~': '∼',
  '<': '‹',
  '>': '›',
  '[': '［',
  ']': '］',
  '|': '¦',
  '@': '＠',
};

/**
 * Makes untrusted text inert where a chat platform shows it: it can then form no link, mention or formatting.
 * Backslash escapes are not an option (Slack mrkdwn and some Adaptive Card hosts show them), so characters become
 * look-alikes that read the same:
 * - everywhere, links are defused: the colon of `://` becomes `꞉` and a dot between a name and letters becomes
 *   `․` (`www.x`, `evil.example`, `a@b.com`), so no auto-linker finds a URL, a domain or an e-mail address;
 * - in Markdown, also asterisk, underscore, backtick, tilde, angle and square brackets, pipe and `@` (emphasis, code,
 *   quotes, HTML, Slack's `<!channel>`, `<@U…>` and `<url|x>`, Markdown links, tables, `@channel`), an entity-like `&`
 *   (`&lt;`), line breaks (which could start a heading, a list or a code block), and a leading `#`, `-`, `+`, `=` or
 *   `1.` (headings and lists).
 * Idempotent; copy-pasted values (ids, URLs) carry the look-alikes, the webhook JSON keeps the originals.
 */
export function inert(text: string, sink: TextSink = 'markdown'): string {
  const unlinked = text.replace(/:(?=\/\/)/g, '꞉').replace(/(?<=[\p{L}\p{N}])\.(?=\p{L})/gu, '․');
  if (sink === 'literal') return unlinked;
  return unlinked
    .replace(/[\r\n\v\f\u0085\u2028\u2029]+/g, ' ')
    .replace(/[*_`~<>[\]|@]/g, (c) => LOOK_ALIKE[c] ?? c)
    .replace(/&(?=#?[a-z0-9]+;)/gi, '＆')
    .replace(/^\s+/, '')
    .replace(/^#/, '＃')
    .replace(/^(?=[-+=]|\d{1,9}[.)](?:\s|$))/, '\u2060');
}

/**
 * The lines of a list that fit in `budget` characters (a newline each), keeping room for the "… and N more" line:
 * each item cut to `itemMax`, then rendered by `line`. Returns the lines and how many items are left out in all.
 */
export function fitList(
  list: EventView['lists'][number],
  budget: number,
  itemMax: number,
  line: (item: string) => string,
): { lines: string[]; more: number } {
  const lines: string[] = [];
  let used = 0;
  for (const item of list.items) {
    const l = line(truncate(item, itemMax, '…'));
    if (used + l.length + 1 > budget - 24) break;
    lines.push(l);
    used += l.length + 1;
  }
  return { lines, more: list.more + list.items.length - lines.length };
}

/** A progress bar of 10 cells, e.g. `▓▓▓▓░░░░░░ 42 %`. */
export function progressBar(percent: number): string {
  const filled = Math.round(Math.min(100, Math.max(0, percent)) / 10);
  return `${'▓'.repeat(filled)}${'░'.repeat(10 - filled)} ${percent} %`;
}
