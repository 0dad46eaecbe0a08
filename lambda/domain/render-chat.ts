import { alarmSeverity, alarmViewOf, type MonitorAlarm } from './alarm.js';
import type { MonitorEvent, Severity } from './events.js';
import { truncate } from './format.js';
import { type EventView, viewOf } from './render-text.js';

/*
 * Chat renderings of an event: Slack (Block Kit), Microsoft Teams (Adaptive Card for a Workflows webhook) and
 * Amazon Q Developer in chat applications (custom notification); and of the monitor's own CloudWatch alarms for Slack
 * and Teams. Pure functions of the event JSON (or the alarm).
 *
 * Text that does not come from this code (repository names, errors, states, session ids and job names from the VB365
 * server; server names and URLs from the configuration; alarm text from CloudWatch) is untrusted, and every string a
 * channel shows goes through `inert`. In Slack it only goes into `plain_text` and `rich_text` elements, which Slack
 * renders literally (no mentions, no formatting), with links defused; the notification text (mrkdwn), Teams TextBlocks
 * and Q Developer's Markdown get the look-alikes too. Over-long text is cut with an ellipsis within each platform's
 * limits.
 */

/** Who to notify per severity in Slack, e.g. `{ critical: '<!here>' }` (trusted: it comes from configuration). */
export type SlackMentions = Partial<Record<Severity, string>>;

export const DEFAULT_SLACK_MENTIONS: SlackMentions = { critical: '<!here>' };

const COLOUR: Record<Severity, { slack: string; teams: 'attention' | 'warning' | 'accent' }> = {
  critical: { slack: '#D92D20', teams: 'attention' },
  warning: { slack: '#F79009', teams: 'warning' },
  info: { slack: '#2E90FA', teams: 'accent' },
};

const EMOJI: Record<Severity, string> = { critical: '🔴', warning: '🟠', info: '🔵' };

/**
 * Slack limits: header 150, section text 3000, field 2000, 10 fields, rich text kept well under 4000. A fact longer
 * than `wide` (a likely cause, the jobs blocked, a long reason) gets a section of its own rather than a narrow field.
 */
const SLACK = { header: 150, text: 3000, field: 2000, fields: 10, error: 2800, item: 300, wide: 100 };

/** Q Developer: the description is cut at this length; list lines are fitted within it. */
const Q_DESCRIPTION = 3500;

/**
 * A runbook URL as a link target: it comes from the configuration (trusted), but only an `https://` URL without
 * characters that would end a link in Markdown or Slack mrkdwn, within Slack's 3000-character limit for a button URL,
 * is used; anything else is left out.
 */
function linkable(url: string | null): string | null {
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
function fitList(
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

/** A Slack message (incoming webhook payload): coloured attachment with Block Kit blocks. */
export function slackMessage(
  event: MonitorEvent,
  mentions: SlackMentions = DEFAULT_SLACK_MENTIONS,
): Record<string, unknown> {
  // An escalation is meant to be loud: it gets the critical mention whatever its incident's severity.
  return slackOf(viewOf(event), event.severity, mentions, event.type === 'incident.escalated' ? 'critical' : undefined);
}

/** A Slack message for one of the monitor's own CloudWatch alarms (ALARM or OK). */
export function slackAlarmMessage(
  alarm: MonitorAlarm,
  mentions: SlackMentions = DEFAULT_SLACK_MENTIONS,
): Record<string, unknown> {
  return slackOf(alarmViewOf(alarm), alarmSeverity(alarm), mentions);
}

function slackOf(
  v: EventView,
  severity: Severity,
  mentions: SlackMentions,
  mentionAs: Severity = severity,
): Record<string, unknown> {
  const plain = (text: string, max: number) => ({
    type: 'plain_text',
    text: inert(truncate(text, max, '…'), 'literal'),
    emoji: false,
  });
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: plain(`${EMOJI[severity]} ${v.title}`, SLACK.header) },
    { type: 'section', text: plain(v.headline, SLACK.text) },
  ];
  // Short facts side by side (at most 10 fields); long ones, and any beyond 10, one section each.
  const fields: string[] = [];
  const wide: string[] = [];
  for (const f of v.facts.filter((f) => f.label !== 'Progress')) {
    const line = `${f.label}: ${f.value}`;
    (line.length <= SLACK.wide && fields.length < SLACK.fields ? fields : wide).push(line);
  }
  if (fields.length > 0) blocks.push({ type: 'section', fields: fields.map((f) => plain(f, SLACK.field)) });
  for (const line of wide) blocks.push({ type: 'section', text: plain(line, SLACK.text) });
  if (v.progressPercent !== null)
    blocks.push({ type: 'section', text: plain(`Progress: ${progressBar(v.progressPercent)}`, SLACK.text) });
  if (v.error) {
    const text = inert(truncate(v.error, SLACK.error, '…'), 'literal');
    blocks.push({
      type: 'rich_text',
      elements: [{ type: 'rich_text_preformatted', elements: [{ type: 'text', text }] }],
    });
  }
  if (v.note) blocks.push({ type: 'section', text: plain(v.note, SLACK.text) });
  for (const l of v.lists) {
    const fit = fitList(l, SLACK.text - l.title.length - 1, SLACK.item, (i) => `• ${i}`);
    const lines = [...fit.lines, ...(fit.more > 0 ? [`… and ${fit.more} more`] : [])];
    blocks.push({ type: 'section', text: plain(`${l.title}\n${lines.join('\n')}`, SLACK.text) });
  }
  if (v.incident) blocks.push({ type: 'context', elements: [plain(`Incident: ${v.incident}`, SLACK.field)] });
  if (v.next) blocks.push({ type: 'context', elements: [plain(`Next: ${v.next}`, SLACK.field)] });
  const runbook = linkable(v.runbookUrl);
  if (runbook) {
    blocks.push({
      type: 'actions',
      elements: [
        {
          type: 'button',
          action_id: 'runbook',
          text: { type: 'plain_text', text: 'Runbook', emoji: false },
          url: runbook,
        },
      ],
    });
  }
  blocks.push({ type: 'context', elements: [plain(v.footer.join(' · '), SLACK.field)] });
  const mention = mentions[mentionAs];
  return {
    // The notification text (phone banners, search) is mrkdwn: the configured mention first, then the inert title.
    text: `${mention ? `${mention} ` : ''}${slackEscape(inert(truncate(`${EMOJI[severity]} ${v.title}`, SLACK.header, '…')))}`,
    attachments: [{ color: COLOUR[severity].slack, blocks }],
  };
}

/** A Microsoft Teams message for a Workflows ("When a Teams webhook request is received") webhook. */
export function teamsMessage(event: MonitorEvent): Record<string, unknown> {
  return teamsOf(viewOf(event), event.severity);
}

/** A Microsoft Teams message for one of the monitor's own CloudWatch alarms (ALARM or OK). */
export function teamsAlarmMessage(alarm: MonitorAlarm): Record<string, unknown> {
  return teamsOf(alarmViewOf(alarm), alarmSeverity(alarm));
}

function teamsOf(v: EventView, severity: Severity): Record<string, unknown> {
  const md = (text: string, max = 2000) => inert(truncate(text, max, '…'));
  const body: Record<string, unknown>[] = [
    {
      type: 'Container',
      style: COLOUR[severity].teams,
      bleed: true,
      items: [
        {
          type: 'TextBlock',
          text: md(`${EMOJI[severity]} ${v.title}`, 200),
          weight: 'Bolder',
          size: 'Medium',
          wrap: true,
        },
      ],
    },
    { type: 'TextBlock', text: md(v.headline), wrap: true },
  ];
  const facts = v.facts.filter((f) => f.label !== 'Progress');
  if (facts.length > 0)
    body.push({ type: 'FactSet', facts: facts.map((f) => ({ title: md(f.label, 40), value: md(f.value) })) });
  if (v.progressPercent !== null)
    body.push({ type: 'TextBlock', text: md(`Progress: ${progressBar(v.progressPercent)}`), wrap: true });
  if (v.error)
    body.push({ type: 'TextBlock', text: md(v.error, 2000), wrap: true, fontType: 'Monospace', color: 'Attention' });
  if (v.note) body.push({ type: 'TextBlock', text: md(v.note), wrap: true });
  for (const l of v.lists) {
    body.push({ type: 'TextBlock', text: md(l.title), weight: 'Bolder', wrap: true });
    body.push({
      type: 'TextBlock',
      text: [...l.items.map((i) => `- ${md(i, 300)}`), ...(l.more > 0 ? [`- … and ${l.more} more`] : [])].join('\r'),
      wrap: true,
    });
  }
  if (v.incident) body.push({ type: 'TextBlock', text: md(`Incident: ${v.incident}`), wrap: true, isSubtle: true });
  if (v.next) body.push({ type: 'TextBlock', text: md(`Next: ${v.next}`), wrap: true, isSubtle: true });
  body.push({ type: 'TextBlock', text: md(v.footer.join(' · ')), wrap: true, isSubtle: true, size: 'Small' });
  const runbook = linkable(v.runbookUrl);
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          msteams: { width: 'Full' },
          body,
          ...(runbook ? { actions: [{ type: 'Action.OpenUrl', title: 'Runbook', url: runbook }] } : {}),
        },
      },
    ],
  };
}

/**
 * An Amazon Q Developer (AWS Chatbot) custom notification. `metadata.threadId` is the incident key, so every event of
 * one problem lands in one thread across session restarts (events without an incident: the session id, else the server
 * id). A configured runbook is one more next step, after our own.
 */
export function qDeveloperNotification(event: MonitorEvent): Record<string, unknown> {
  const v = viewOf(event);
  const md = (text: string, max = 1000) => inert(truncate(text, max, '…'));
  const head = [
    md(v.headline),
    ...v.facts.map((f) => `*${md(f.label, 40)}:* ${md(f.value)}`),
    ...(v.error ? [`*Error:* ${md(v.error, 2000)}`] : []),
    ...(v.note ? [md(v.note)] : []),
    ...(v.incident ? [`*Incident:* ${md(v.incident)}`] : []),
  ];
  // Lists share what the head leaves of the description, so each keeps its "… and N more" line.
  const share = Math.floor((Q_DESCRIPTION - head.join('\n').length) / Math.max(1, v.lists.length));
  const lists = v.lists.flatMap((l) => {
    const title = `*${md(l.title)}*`;
    const fit = fitList(l, share - title.length - 1, 300, (i) => `• ${md(i, 300)}`);
    return [title, ...fit.lines, ...(fit.more > 0 ? [`… and ${fit.more} more`] : [])];
  });
  const runbook = linkable(v.runbookUrl);
  const nextSteps = [
    ...(v.next ? [md(v.next, 500)] : []),
    // The runbook URL comes from the configuration (trusted) and is kept as it is, so it stays a link.
    ...(runbook ? [`Runbook: ${runbook}`] : []),
  ];
  return {
    version: '1.0',
    source: 'custom',
    id: event.eventId,
    content: {
      textType: 'client-markdown',
      title: md(`${EMOJI[event.severity]} ${v.title}`, 200),
      description: truncate([...head, ...lists].join('\n'), Q_DESCRIPTION, '…'),
      ...(nextSteps.length > 0 ? { nextSteps } : {}),
      keywords: [
        event.severity,
        event.type,
        ...(event.group ? [event.group.type] : []),
        inert(event.server.id, 'literal'),
      ],
    },
    metadata: {
      threadId: event.incident?.key ?? event.session?.id ?? `server-${event.server.id}`,
      summary: md(v.title, 200),
      eventType: event.type,
      relatedResources: [event.server.url, ...relatedIdsOf(event)],
      additionalContext: {
        serverId: event.server.id,
        eventId: event.eventId,
        ...(event.session ? { sessionId: event.session.id } : {}),
      },
    },
  };
}

/** The ids of what an event is about besides the server (repository, proxy), for Q Developer's related resources. */
function relatedIdsOf(event: MonitorEvent): string[] {
  const repository = event.session?.repositoryId ?? event.repository?.id ?? event.blocker?.id ?? null;
  return [...(repository ? [repository] : []), ...(event.proxy ? [event.proxy.id] : [])];
}
