import type { SummaryItem } from './contract-session.js';
import { type MonitorEvent, SUMMARY_LIMIT } from './events.js';
import { asciiSafe, truncate, utc } from './format.js';
import { factsOf, incidentLineOf } from './render-facts.js';
import { headlineOf } from './render-headline.js';
import { nextStepOf } from './render-next-step.js';
import { GROUP_NOUN, titleOf } from './title.js';

/*
 * Plain-text rendering of an event: the email body, the SNS subject and the CLI's readable output. Pure; the
 * channel-specific renderers (Slack, Teams, webhooks) build on the same event JSON.
 */

const SUBJECT_MAX = 100;

/** `[VB365] …` subject: at most 100 characters, ASCII only (SNS and mail clients). */
export function subjectOf(event: MonitorEvent): string {
  return truncate(`[VB365] ${asciiSafe(titleOf(event))}`, SUBJECT_MAX);
}

/** What every channel shows of an event, before any formatting. Values are raw (unescaped) text. */
export interface EventView {
  /** Short title for chat cards, e.g. "Wasabi Archive sync failed" (Unicode kept). */
  readonly title: string;
  /** One sentence saying what happened. */
  readonly headline: string;
  /** Labelled values in display order (server, repository, state, progress, duration, …). */
  readonly facts: readonly { readonly label: string; readonly value: string }[];
  readonly progressPercent: number | null;
  /** Error text from the server, if any. */
  readonly error: string | null;
  /** `monitor.started`: the sessions found, by group. */
  readonly lists: readonly { readonly title: string; readonly items: readonly string[]; readonly more: number }[];
  /** `monitor.started` with nothing running. */
  readonly note: string | null;
  /** What a person should do next, if anything. */
  readonly next: string | null;
  /** The runbook configured for the event's type, if any (shown as a link or button beside `next`). */
  readonly runbookUrl: string | null;
  /** The incident the event belongs to, in one line (see {@link incidentLineOf}); `null`: none. */
  readonly incident: string | null;
  /** Ids, for support: event id, severity and time; session id. */
  readonly footer: readonly string[];
}

/** The channel-neutral content of an event. */
export function viewOf(event: MonitorEvent): EventView {
  const s = event.session;
  const { lists, note } = listsOf(event);
  const footer = [`Event ${event.eventId} (${event.severity}) at ${utc(event.occurredAt)}`];
  if (s) footer.push(`Session ${s.id}`);
  if (event.incident) footer.push(`Incident ${event.incident.key}`);
  return {
    title: titleOf(event),
    headline: headlineOf(event),
    facts: factsOf(event),
    progressPercent: s?.progressPercent ?? null,
    error: s?.error ?? null,
    lists,
    note,
    next: nextStepOf(event),
    runbookUrl: event.runbookUrl ?? null,
    incident: incidentLineOf(event),
    footer,
  };
}

/**
 * A view's lists (sessions found, repositories served, components down, held events, a group, a digest's problems)
 * and its note.
 */
function listsOf(event: MonitorEvent): Pick<EventView, 'lists' | 'note'> {
  const p = event.proxy;
  const h = event.health;
  const lists: { title: string; items: string[]; more: number }[] = [];
  let note: string | null = null;
  if (event.summary) {
    const { running, failed, other, totals } = event.summary;
    const list = (title: string, items: readonly SummaryItem[], total: number) => {
      if (total === 0) return;
      lists.push({
        title: `${title} (${total})`,
        items: items.map((i) => {
          const progress = i.progressPercent === null ? '' : ` ${i.progressPercent} %`;
          const error = i.error ? ` - ${i.error}` : '';
          return `${i.repositoryName ?? i.repositoryId ?? i.sessionId}: ${i.state ?? 'unknown'}${progress}${error}`;
        }),
        more: total - items.length,
      });
    };
    if (totals.running + totals.failed + totals.other === 0) note = 'No repository synchronization is running.';
    list('Syncing now', running, totals.running);
    list('Failed', failed, totals.failed);
    list('Other states', other, totals.other);
  }
  if (p && p.totalRepositories > 0) {
    lists.push({
      title: `Repositories it serves (${p.totalRepositories})`,
      items: p.repositories.map((r) => r.name ?? r.id),
      more: p.totalRepositories - p.repositories.length,
    });
  }
  if (h && h.entries.length > 0) {
    const entries = h.entries.slice(0, SUMMARY_LIMIT);
    lists.push({
      title: `${event.type === 'server.healthy' ? 'Were not healthy' : 'Not healthy'} (${h.entries.length})`,
      items: entries.map((e) => `${e.name}: ${e.status}${e.description ? ` - ${e.description}` : ''}`),
      more: h.entries.length - entries.length,
    });
  }
  if (event.held) {
    const h = event.held;
    lists.push({
      title: `Held notifications (${h.total})`,
      items: h.items.map((i) => `${utc(i.occurredAt)} [${i.severity}] ${i.title}`),
      more: h.total - h.items.length,
    });
  }
  if (event.group) {
    const g = event.group;
    const noun = GROUP_NOUN[g.type].replace(/,$/, '');
    lists.push({
      title: `${noun.charAt(0).toUpperCase()}${noun.slice(1)} (${g.total})`,
      items: g.items.map((i) => {
        const name = i.repositoryName ?? i.repositoryId ?? i.sessionId ?? i.eventId;
        const progress = i.progressPercent === null ? '' : ` ${i.progressPercent} %`;
        const error = i.error ? ` - ${i.error}` : '';
        return progress || error ? `${name}:${progress}${error}` : name;
      }),
      more: g.total - g.items.length,
    });
  }
  if (event.digest) {
    const d = event.digest;
    if (d.problems.length > 0)
      lists.push({
        title: `Failed or stopped (${d.syncs.failed + d.syncs.stopped})`,
        items: d.problems.map(
          (p) => `${utc(p.finishedAt)} ${p.repositoryName ?? 'unknown'}: ${p.outcome}${p.error ? ` - ${p.error}` : ''}`,
        ),
        more: d.syncs.failed + d.syncs.stopped - d.problems.length,
      });
    if (d.outOfSync.length > 0)
      lists.push({
        title: `Out of sync now, nothing syncing (${d.outOfSync.length})`,
        items: d.outOfSync.map((r) => `${r.name ?? r.id} since ${utc(r.since)}`),
        more: 0,
      });
    if (d.syncs.total === 0 && d.outOfSync.length === 0)
      note = 'No repository synchronization this week, and nothing out of sync.';
  }
  return { lists, note };
}

/** The readable body: what happened, where, the numbers, the error, what to do, and the ids. */
export function textOf(event: MonitorEvent): string {
  const v = viewOf(event);
  const lines: string[] = [v.headline, ''];
  for (const f of v.facts.filter((f) => !['Problem', 'Since', 'Outage'].includes(f.label))) {
    lines.push(`${`${f.label}:`.padEnd(13)} ${f.value}`);
  }
  if (v.error) lines.push(`${'Error:'.padEnd(14)}${v.error}`);
  for (const f of v.facts.filter((f) => ['Problem', 'Since', 'Outage'].includes(f.label))) {
    lines.push(`${`${f.label}:`.padEnd(13)} ${f.value}`);
  }
  if (v.note) lines.push('', v.note);
  for (const l of v.lists) {
    lines.push('', `${l.title}:`, ...l.items.map((i) => `  - ${i}`));
    if (l.more > 0) lines.push(`  ... and ${l.more} more`);
  }
  if (v.incident) lines.push('', `Incident: ${v.incident}`);
  if (v.next) lines.push('', `Next: ${v.next}`);
  if (v.runbookUrl) lines.push(`Runbook: ${v.runbookUrl}`);
  lines.push('', ...v.footer);
  return lines.join('\n');
}
