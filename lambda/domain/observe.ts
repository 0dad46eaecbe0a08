import type pLimit from 'p-limit';
import { messageOf, UpstreamError } from './errors.js';
import { FETCH_FAILED, type Fetched, type Observation, sessionsToLookUp } from './observation.js';
import { repositoryScanDue } from './out-of-sync.js';
import type { Policy } from './policy.js';
import type { CallOptions, Vb365Api } from './ports.js';
import type { ServerRecord, SessionRecord } from './state.js';
import type { Lookup, RepositoryInfo } from './types.js';

/** One problem confined to one session or repository: logged, retried next cycle, never fatal. */
export interface CycleProblem {
  readonly sessionId?: string | undefined;
  readonly repositoryId?: string | undefined;
  readonly message: string;
}

/** Malformed list items listed one by one; the rest are counted in one more problem. */
const MALFORMED_LISTED = 10;

/** What {@link observeServer} needs. */
export interface ObserveInput {
  readonly api: Vb365Api;
  readonly policy: Policy;
  readonly now: Date;
  readonly call: CallOptions;
  readonly limit: ReturnType<typeof pLimit>;
  /** The stored server record (`undefined` before the first cycle). */
  readonly server: ServerRecord | undefined;
  /** The sessions this cycle may change. */
  readonly sessions: readonly SessionRecord[];
  readonly intervalMs?: number | undefined;
  /** The cycle's scheduled time (see `PollDeps.scheduledAt`). */
  readonly scheduledAt?: Date | undefined;
  readonly problem: (problem: CycleProblem) => void;
}

/**
 * Step 2 of a cycle: lists the sessions, GETs only tracked sessions missing from the list, lists the repositories
 * when a scan is due (see `repositoryScanDue`). A failed single GET is a problem of that session and a failed scan
 * one of this cycle, never the cycle's failure; any other `UpstreamError` makes the server unreachable this cycle
 * (an observation, not a throw). Repositories are not fetched here: the rules ask for them (see `evaluate`).
 */
export async function observeServer(input: ObserveInput): Promise<Observation> {
  const { api, call, problem } = input;
  try {
    const list = await api.listSessions(call);
    // Each malformed item is a problem of its own, up to a few: a list of thousands is one line more.
    for (const m of list.malformed.slice(0, MALFORMED_LISTED)) {
      problem({
        sessionId: m.id ?? undefined,
        message: `malformed session in the list (item ${m.index}): ${m.reason}`,
      });
    }
    const unlisted = list.malformed.length - MALFORMED_LISTED;
    if (unlisted > 0) problem({ message: `and ${unlisted} more malformed session(s) in the list` });
    const lookedUp = await fetchEach(
      sessionsToLookUp(input.sessions, list.sessions),
      input.limit,
      (id) => api.getSession(id, call),
      (id, err) => problem({ sessionId: id, message: messageOf(err) }),
    );
    let repositoryList: RepositoryInfo[] | undefined;
    if (repositoryScanDue(input.server, input.scheduledAt ?? input.now, input.policy, input.intervalMs)) {
      try {
        repositoryList = await api.listRepositories(call);
      } catch (err) {
        if (!(err instanceof UpstreamError)) throw err;
        problem({ message: `listing the repositories (out-of-sync check): ${err.message}` });
      }
    }
    return {
      reachable: true,
      listed: list.sessions,
      lookedUp,
      repositories: new Map(),
      certificate: api.certificate(),
      repositoryList,
    };
  } catch (err) {
    if (!(err instanceof UpstreamError)) throw err;
    return { reachable: false, kind: err.kind, reason: err.message };
  }
}

/**
 * Fetches each id with bounded concurrency. A failure is that item's problem: reported through `onError` and recorded
 * as `FETCH_FAILED`, never thrown, so one bad session or repository cannot fail the cycle.
 */
export async function fetchEach<T>(
  ids: readonly string[],
  limit: ReturnType<typeof pLimit>,
  fetch: (id: string) => Promise<Lookup<T>>,
  onError: (id: string, err: unknown) => void,
): Promise<Map<string, Fetched<T>>> {
  const entries = await Promise.all(
    ids.map((id) =>
      limit(async (): Promise<[string, Fetched<T>]> => {
        try {
          return [id, await fetch(id)];
        } catch (err) {
          onError(id, err);
          return [id, FETCH_FAILED];
        }
      }),
    ),
  );
  return new Map(entries);
}
