import { alarmSeverity, alarmViewOf, type MonitorAlarm } from './alarm.js';
import type { MonitorEvent, Severity } from './events.js';
import { truncate } from './format.js';
import { COLOUR, EMOJI, fitList, inert, linkable, progressBar } from './render-chat-text.js';
import { type EventView, viewOf } from './render-text.js';

/*
 * Chat renderings of an event: Microsoft Teams (Adaptive Card for a Workflows webhook) and Amazon Q Developer in chat
 * applications (custom notification), and of the monitor's own CloudWatch alarms for Teams; Slack's are in
 * render-slack.ts. Pure functions of the event JSON (or the alarm).
 *
 * Text that does not come from this code (repository names, errors, states, session ids and job names from the VB365
 * server; server names and URLs from the configuration; alarm text from CloudWatch) is untrusted, and every string a
 * channel shows goes through `inert`. In Slack it only goes into `plain_text` and `rich_text` elements, which Slack
 * renders literally (no mentions, no formatting), with links defused; the notification text (mrkdwn), Teams TextBlocks
 * and Q Developer's Markdown get the look-alikes too. Over-long text is cut with an ellipsis within each platform's
 * limits.
 */

/** Q Developer: the description is cut at this length; list lines are fitted within it. */
const Q_DESCRIPTION = 3500;

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
