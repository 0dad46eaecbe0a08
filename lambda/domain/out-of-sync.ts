import type { RepositoryProblem } from './contract-repository.js';
import type { ServerEventDraft } from './emit.js';
import { secondsBetween as seconds } from './emit.js';
import type { Policy } from './policy.js';
import type { ServerRecord, SessionRecord } from './state.js';
import type { RepositoryInfo } from './types.js';

/*
 * The out-of-sync detector (DESIGN §3): repositories out of sync with nothing syncing them, found by listing every
 * repository now and then (a scan), alerted once they have been so for `outOfSyncAfterMs`, and cleared.
 */

/** How often the repositories are listed for the out-of-sync detector. */
export const REPOSITORY_SCAN_MS = 15 * 60_000;

/**
 * Whether this cycle should list the repositories (the out-of-sync detector is on, and a scan period, the shorter of
 * `REPOSITORY_SCAN_MS` and `outOfSyncAfterMs`, has passed).
 *
 * With `intervalMs` (the schedule's rate: the Lambda) the period follows the clock: a cycle scans when it is the first
 * one in its period-long slot of the clock (or the server's first cycle), which needs nothing stored, so a quiet scan
 * writes nothing. `now` is then the cycle's scheduled time: the schedule's flexible window runs a cycle up to half an
 * interval late, and judged by the time it ran, a slot could be scanned twice or not at all; scheduled times are
 * exactly one interval apart. Without `intervalMs` (local runs at any pace), the time of the last scan is stored
 * (`repositoriesScannedAt`).
 */
export function repositoryScanDue(
  server: ServerRecord | undefined,
  now: Date,
  policy: Policy,
  intervalMs?: number,
): boolean {
  if (policy.outOfSyncAfterMs === null) return false;
  const period = Math.min(REPOSITORY_SCAN_MS, policy.outOfSyncAfterMs);
  const t = now.getTime();
  if (intervalMs !== undefined) {
    if (server === undefined || intervalMs >= period) return true;
    return Math.floor(t / period) !== Math.floor((t - intervalMs) / period);
  }
  const last = server?.repositoriesScannedAt;
  return last === undefined || t - Date.parse(last) >= period;
}

/**
 * The server record after a scan (its out-of-sync state; without `intervalMs`, the time of the scan too) and the
 * events it raises, in repository id order.
 */
export function scanOutOfSync(
  server: ServerRecord,
  repositories: readonly RepositoryInfo[],
  sessions: readonly SessionRecord[],
  now: Date,
  policy: Policy,
  intervalMs: number | undefined,
): { server: ServerRecord; events: readonly ServerEventDraft[] } {
  const scan = detectOutOfSync(server.outOfSync ?? {}, repositories, sessions, now, policy);
  const { outOfSync: _, ...rest } = server;
  return {
    server: {
      ...rest,
      ...(intervalMs === undefined ? { repositoriesScannedAt: now.toISOString() } : {}),
      ...(Object.keys(scan.state).length > 0 ? { outOfSync: scan.state } : {}),
    },
    events: scan.events,
  };
}

type OutOfSyncState = NonNullable<ServerRecord['outOfSync']>;

/**
 * Repositories out of sync with nothing syncing them: once one has been so for `outOfSyncAfterMs`,
 * `repository.out_of_sync` (once); `repository.in_sync` when it clears. A repository with a running session, or with
 * a failed one still listed (its failure and reminders speak for it), is not counted.
 */
function detectOutOfSync(
  previous: OutOfSyncState,
  repositories: readonly RepositoryInfo[],
  sessions: readonly SessionRecord[],
  now: Date,
  policy: Policy,
): { state: OutOfSyncState; events: { type: ServerEventDraft['type']; repository: RepositoryProblem }[] } {
  const busy = new Set(sessions.filter((s) => s.phase !== 'ended').map((s) => s.repositoryId));
  const state: Record<string, OutOfSyncState[string]> = {};
  const events: { type: ServerEventDraft['type']; repository: RepositoryProblem }[] = [];
  const problem = (id: string, name: string | null, since: string): RepositoryProblem => ({
    id,
    name,
    outOfSyncSince: since,
    outOfSyncSeconds: seconds(since, now.toISOString()),
  });
  const byId = new Map(repositories.map((r) => [r.id, r]));
  for (const repo of [...repositories].sort((a, b) => a.id.localeCompare(b.id))) {
    const prior = previous[repo.id];
    if (repo.isOutOfSync !== true || busy.has(repo.id)) continue;
    const since = prior?.since ?? now.toISOString();
    let alerted = prior?.alerted ?? false;
    if (!alerted && now.getTime() - Date.parse(since) >= (policy.outOfSyncAfterMs ?? Number.POSITIVE_INFINITY)) {
      events.push({ type: 'repository.out_of_sync', repository: problem(repo.id, repo.name, since) });
      alerted = true;
    }
    state[repo.id] = { since, name: repo.name, alerted };
  }
  for (const [id, prior] of Object.entries(previous).sort(([a], [b]) => a.localeCompare(b))) {
    if (state[id] || !prior.alerted) continue;
    const repo = byId.get(id);
    // Cleared, or a session now syncs it (its own events take over), or the repository is gone.
    if (repo?.isOutOfSync === true) continue;
    events.push({ type: 'repository.in_sync', repository: problem(id, repo?.name ?? prior.name, prior.since) });
  }
  return { state, events };
}
