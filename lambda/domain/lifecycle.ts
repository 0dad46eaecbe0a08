import type { HistoryEntry } from './digest.js';
import type { ServerEventDraft } from './emit.js';
import { eventId, type MonitorEvent, SEVERITY, type ServerRef } from './events.js';
import type { Fetched, Observation } from './observation.js';
import { scanOutOfSync } from './out-of-sync.js';
import type { Policy } from './policy.js';
import { checkHealth } from './server-health.js';
import { observeSessions, type SessionChange } from './sessions.js';
import { INITIAL_SERVER, type RepositoryRecord, type ServerRecord, type SessionRecord } from './state.js';
import { baselineOf, startedSummary, weeklyDigest } from './summary.js';
import type { RepositoryInfo } from './types.js';

export interface CycleInput {
  readonly now: Date;
  readonly policy: Policy;
  readonly server: ServerRef;
  /** Stored server record; `undefined` before the first cycle. */
  readonly serverRecord: ServerRecord | undefined;
  /** Stored sessions this cycle may change (those leased by another cycle are left out). */
  readonly sessions: readonly SessionRecord[];
  /** Cached repository names. */
  readonly repositoryNames: readonly RepositoryRecord[];
  readonly observation: Observation;
  /** Finished syncs of the last seven days, given when the weekly digest is due (see `digestDue`). */
  readonly history?: readonly HistoryEntry[] | undefined;
  /**
   * The time between scheduled cycles (ms), when known: repository scans then follow the clock (see
   * `repositoryScanDue`) and `repositoriesScannedAt` is not stored, so a scan that changes nothing writes nothing.
   */
  readonly intervalMs?: number | undefined;
}

export interface CycleResult {
  readonly server: ServerRecord;
  /** Events about the server (`monitor.started`, `server.*`), in order. */
  readonly serverEvents: readonly MonitorEvent[];
  /** Sessions whose record changed (new ones included), with the events emitted for each, in order. */
  readonly sessions: readonly SessionChange[];
  /** Repository names learned this cycle (to cache). */
  readonly learnedNames: readonly RepositoryRecord[];
  /**
   * A baseline cycle (the first, or the first after a long gap): it discovers sessions silently and emits
   * `monitor.started`. Its sessions must be stored before the server record that ends the baseline.
   */
  readonly baseline: boolean;
}

/**
 * What the rules concluded from one cycle. Deciding is two-phase, because repositories are fetched only when a rule
 * needs one: a session that ended needs its repository's fresh in-sync status (it decides completed or stopped), and a
 * session of a repository neither cached nor fetched needs its name.
 *
 * - `needs`: the repository ids the rules need that the observation lacks, in the order the sessions asked for them.
 *   Fetch each (a failed fetch is recorded as `FETCH_FAILED`, which is an answer too) and pass them to
 *   `withRepositories`, which evaluates again with them added to `observation.repositories`. Which ids the rules need
 *   depends only on the sessions, and `needs` lists only ids not fetched yet, so the second evaluation decides.
 * - `decided`: the final result. An unreachable server is always decided at once.
 */
export type Decision =
  | {
      readonly kind: 'needs';
      readonly repositories: readonly string[];
      readonly withRepositories: (fetched: ReadonlyMap<string, Fetched<RepositoryInfo>>) => Decision;
    }
  | { readonly kind: 'decided'; readonly result: CycleResult };

/**
 * The lifecycle rules of DESIGN §3 as one pure function: stored state + what the server showed → new state + events.
 *
 * - First reachable cycle: everything is recorded silently and one `monitor.started` summarises it.
 * - While the server cannot be used nothing about sessions changes (no end event during an outage); after
 *   `unreachableAfterMs` one `server.unreachable` (or at once, `server.auth_failed`), then one `server.recovered`.
 * - A session ends when it goes `Synchronizing` → `None`, or has been missing for `vanishGraceCycles` reachable
 *   cycles; its repository decides: in sync → `sync.completed`; out of sync → `sync.stopped`; unknown →
 *   `sync.completed` with `completionConfirmed: false`.
 * - Feeding the same observation twice emits nothing the second time; event sequence numbers grow per session.
 *
 * The steps: the server's health (`server-health.ts`); nothing more while it is unreachable; whether this is a
 * baseline (`summary.ts`); the sessions (`sessions.ts`, `session-rules.ts`); the out-of-sync detector when the
 * repositories were listed (`out-of-sync.ts`); the weekly digest and a baseline's `monitor.started` (`summary.ts`).
 * Server events are numbered in that order.
 */
export function evaluate(input: CycleInput): Decision {
  const { now, policy, observation } = input;
  const health = checkHealth(input.serverRecord ?? INITIAL_SERVER, observation, now, policy);
  if (!observation.reachable) return decided(input, health, [health], { sessions: [], learnedNames: [] }, false);

  const { firstCycle, server: alive } = baselineOf(health.server, now, policy);
  const seen = observeSessions({ ...input, observation, firstCycle });
  if (seen.kind === 'needs') {
    const withRepositories = (fetched: ReadonlyMap<string, Fetched<RepositoryInfo>>) =>
      evaluate({
        ...input,
        observation: { ...observation, repositories: new Map([...observation.repositories, ...fetched]) },
      });
    return { kind: 'needs', repositories: seen.repositories, withRepositories };
  }

  // Every tracked session as this cycle leaves it.
  const sessionsNow = new Map(input.sessions.map((r) => [r.id, r]));
  for (const c of seen.changed) sessionsNow.set(c.record.id, c.record);
  const scan = observation.repositoryList
    ? scanOutOfSync(alive, observation.repositoryList, [...sessionsNow.values()], now, policy, input.intervalMs)
    : { server: alive, events: [] };
  const digest = weeklyDigest(scan.server, input.history, [...sessionsNow.values()], now, policy);
  const started = firstCycle ? startedSummary(digest.server, seen.present) : { server: digest.server, events: [] };
  const sessions = { sessions: seen.changed, learnedNames: seen.learnedNames };
  return decided(input, started, [health, scan, digest, started], sessions, firstCycle);
}

/**
 * Both phases of {@link Decision}: evaluates the rules and, while they need repositories, fetches those
 * (`fetchRepositories` never throws: a failed fetch is `FETCH_FAILED`) and lets them decide with them. Each round
 * fetches only ids not fetched yet, so this ends; in practice after one round. `lookups`: repositories fetched.
 */
export async function decide(
  input: CycleInput,
  fetchRepositories: (ids: readonly string[]) => Promise<ReadonlyMap<string, Fetched<RepositoryInfo>>>,
): Promise<{ readonly result: CycleResult; readonly lookups: number }> {
  let decision = evaluate(input);
  let lookups = 0;
  while (decision.kind === 'needs') {
    lookups += decision.repositories.length;
    decision = decision.withRepositories(await fetchRepositories(decision.repositories));
  }
  return { result: decision.result, lookups };
}

/** The final result: the server record `last` with the drafts of every step numbered, in order, as server events. */
function decided(
  input: CycleInput,
  last: { readonly server: ServerRecord },
  steps: readonly { readonly events: readonly ServerEventDraft[] }[],
  sessions: Pick<CycleResult, 'sessions' | 'learnedNames'>,
  baseline: boolean,
): Decision {
  let sequence = last.server.sequence;
  const occurredAt = input.now.toISOString();
  const serverEvents = steps.flatMap((s) =>
    s.events.map(({ type, ...extra }): MonitorEvent => {
      sequence += 1;
      return {
        schemaVersion: 1,
        eventId: eventId(input.server.id, 'server', sequence, type),
        type,
        severity: SEVERITY[type],
        occurredAt,
        server: input.server,
        ...extra,
      };
    }),
  );
  const server = serverEvents.length > 0 ? { ...last.server, sequence } : last.server;
  return { kind: 'decided', result: { server, serverEvents, ...sessions, baseline } };
}
