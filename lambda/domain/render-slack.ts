import { alarmSeverity, alarmViewOf, type MonitorAlarm } from './alarm.js';
import type { MonitorEvent, Severity } from './events.js';
import { truncate } from './format.js';
import { COLOUR, EMOJI, fitList, inert, linkable, progressBar, slackEscape } from './render-chat-text.js';
import { type EventView, viewOf } from './render-text.js';

/*
 * Slack renderings (Block Kit in a coloured attachment) of an event and of the monitor's own CloudWatch alarms, for
 * incoming webhooks and the Slack app alike. Untrusted text goes only into `plain_text` and `rich_text` elements, and
 * through `inert` (see render-chat.ts).
 */

/** Who to notify per severity in Slack, e.g. `{ critical: '<!here>' }` (trusted: it comes from configuration). */
export type SlackMentions = Partial<Record<Severity, string>>;

export const DEFAULT_SLACK_MENTIONS: SlackMentions = { critical: '<!here>' };

/**
 * Slack limits: header 150, section text 3000, field 2000, 10 fields, rich text kept well under 4000. A fact longer
 * than `wide` (a likely cause, the jobs blocked, a long reason) gets a section of its own rather than a narrow field.
 */
const SLACK = { header: 150, text: 3000, field: 2000, fields: 10, error: 2800, item: 300, wide: 100 };

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

/** The Slack message of a view: `mentionAs` picks the configured mention (default: the severity's). */
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
