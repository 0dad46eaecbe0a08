import type { MonitorSummary, SummaryItem } from './contract-session.js';
import { buildDigest, type HistoryEntry } from './digest.js';
import type { ServerEventDraft } from './emit.js';
import { SUMMARY_LIMIT } from './events.js';
import type { Policy } from './policy.js';
import { renewEveryMs } from './session-rules.js';
import type { ServerRecord, SessionRecord } from './state.js';

/*
 * The cycle's summaries (DESIGN §3): a baseline cycle's `monitor.started`, which reports what it found instead of
 * announcing each session, and the weekly digest.
 */

/**
 * Whether this cycle is a baseline, and the server record with `aliveAt` renewed (every `renewEveryMs`).
 *
 * A baseline cycle records what it finds silently and summarises it in monitor.started: the very first one, and the
 * first after a gap so long that records of ended sessions may have expired (they would look new, and be announced).
 * Records live at least `finishedRetention` after their last renewal, which is at most `renewEveryMs` before the last
 * reachable cycle, itself at most `renewEveryMs` after `aliveAt`: a gap under retention − 2 × renewal is safe.
 */
export function baselineOf(
  server: ServerRecord,
  now: Date,
  policy: Policy,
): { firstCycle: boolean; server: ServerRecord } {
  const gap = server.aliveAt === undefined ? 0 : now.getTime() - Date.parse(server.aliveAt);
  const firstCycle = !server.initialized || gap > policy.finishedRetentionMs - 2 * renewEveryMs(policy);
  const alive = gap >= renewEveryMs(policy) || server.aliveAt === undefined;
  return { firstCycle, server: alive ? { ...server, aliveAt: now.toISOString() } : server };
}

/** A baseline's `monitor.started`: the sessions it found by phase (capped at `SUMMARY_LIMIT` each, with totals). */
export function startedSummary(server: ServerRecord, present: readonly SessionRecord[]) {
  const summary: { running: SummaryItem[]; failed: SummaryItem[]; other: SummaryItem[] } = {
    running: [],
    failed: [],
    other: [],
  };
  for (const record of present) {
    const item: SummaryItem = {
      sessionId: record.id,
      repositoryId: record.repositoryId,
      repositoryName: record.repositoryName,
      state: record.state,
      progressPercent: record.progressPercent,
      error: record.error,
    };
    if (record.phase === 'running') summary.running.push(item);
    else if (record.phase === 'failed') summary.failed.push(item);
    else if (record.phase === 'other') summary.other.push(item);
  }
  const capped: MonitorSummary = {
    running: summary.running.slice(0, SUMMARY_LIMIT),
    failed: summary.failed.slice(0, SUMMARY_LIMIT),
    other: summary.other.slice(0, SUMMARY_LIMIT),
    totals: { running: summary.running.length, failed: summary.failed.length, other: summary.other.length },
  };
  const event: ServerEventDraft = { type: 'monitor.started', summary: capped };
  return { server: { ...server, initialized: true }, events: [event] };
}

/**
 * The weekly digest: sent when the cycle was given the `history` (it is due, see `digestDue`). A new install starts
 * counting at its first cycle, so it sends its first digest at the next scheduled time, not at once.
 */
export function weeklyDigest(
  server: ServerRecord,
  history: readonly HistoryEntry[] | undefined,
  sessions: readonly SessionRecord[],
  now: Date,
  policy: Policy,
): { server: ServerRecord; events: readonly ServerEventDraft[] } {
  const nowIso = now.toISOString();
  if (policy.digest !== null && server.lastDigestAt === undefined) {
    return { server: { ...server, lastDigestAt: nowIso }, events: [] };
  }
  if (history === undefined) return { server, events: [] };
  const running = sessions.filter((r) => ['running', 'stalled', 'other'].includes(r.phase)).length;
  const outOfSync = Object.entries(server.outOfSync ?? {})
    .filter(([, r]) => r.alerted)
    .map(([id, r]) => ({ id, name: r.name, since: r.since }));
  const from = new Date(now.getTime() - 7 * 86_400_000).toISOString();
  const digest = buildDigest(history, from, nowIso, outOfSync, running);
  return { server: { ...server, lastDigestAt: nowIso }, events: [{ type: 'digest.weekly', digest }] };
}
