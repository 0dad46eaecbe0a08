import { needsCause, withCauses } from './cause.js';
import { messageOf, UpstreamError } from './errors.js';
import type { ServerRef } from './events.js';
import { checkWatches, watchCompletions, watchedJobs } from './first-backup.js';
import { needsForecast, withForecasts } from './forecast.js';
import { needsImpact, withImpact } from './impact.js';
import { withIncidents } from './incidents.js';
import type { CycleResult } from './lifecycle.js';
import { namedOrganizations, organizationsToName, withOrganizations } from './organizations.js';
import type { Policy } from './policy.js';
import type { CallOptions, StateStore, Vb365Api } from './ports.js';
import { noteAvailability, type OptionalRead, shouldRead, withScan } from './scan.js';
import type { AckRequest, RepositoryRecord } from './state.js';
import type { HealthReport, JobInfo, JobSessionInfo, Optional, RepositoryInfo } from './types.js';

/*
 * What a cycle adds to the lifecycle rules' result before it is committed (DESIGN §10): each step reads only when
 * its events need it, and every read but the repository list and the backup jobs is optional (see `Optional`): a
 * server that lacks it or refuses it loses that feature (reported once, tried again a day later), never the cycle; a
 * read that fails is a problem of this cycle (retried next time), never the cycle's failure.
 *
 * 1. the repository scan (when due): blockers, proxies, health, build, the repository cache (`scan.ts`);
 * 2. the forecast of every sync that starts (the history of finished syncs, `forecast.ts`);
 * 3. what each problem blocks, with the jobs' next runs (`impact.ts`), and the first backup after each resync
 *    (`first-backup.ts`, at scans);
 * 4. incidents, acknowledgements and escalation (`incidents.ts`), then a watch on every completed resync;
 * 5. the likely cause on the first event of each repository incident (`cause.ts`);
 * 6. the organization (tenant) of each repository event (`organizations.ts`).
 */

/** What the cycle knows when it enriches its result. */
export interface EnrichInput {
  readonly api: Vb365Api;
  readonly store: StateStore;
  readonly policy: Policy;
  readonly server: ServerRef;
  readonly now: Date;
  readonly call: CallOptions;
  /** The repository cache as loaded, and what the rules learned this cycle. */
  readonly cache: readonly RepositoryRecord[];
  /** Every repository, when the scan listed them this cycle. */
  readonly repositoryList: readonly RepositoryInfo[] | undefined;
  readonly acks: readonly AckRequest[] | undefined;
  /** Records a problem of this cycle (logged; never fatal). */
  readonly problem: (message: string) => void;
}

/** The result enriched, and the repository cache entries to store (learned by the rules, the scan and names). */
export async function enrich(
  initial: CycleResult,
  input: EnrichInput,
): Promise<{ result: CycleResult; learned: RepositoryRecord[] }> {
  const { api, now, call, policy } = input;
  const before = initial.server;
  const outcomes: Partial<Record<OptionalRead, Optional<unknown>>> = {};
  const optional = async <T>(read: OptionalRead, fn: () => Promise<Optional<T>>): Promise<Optional<T> | undefined> => {
    if (!shouldRead(before, read, now)) return undefined;
    try {
      const outcome = await fn();
      outcomes[read] = outcome;
      return outcome;
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      input.problem(`${READ_LABEL[read]} (retried next cycle): ${err.message}`);
      return undefined;
    }
  };
  // A repository the rules looked up that the filled cache lacks is new (its sync starts before a scan lists it):
  // while the scans keep the cache (the detector is on), so an entry the cache forgot is not taken for a new one.
  const filled = before.repositoriesKnown === true && policy.outOfSyncAfterMs !== null;
  const cached = new Set(input.cache.map((r) => r.id));
  const learned = new Map<string, RepositoryRecord>(
    initial.learnedNames.map((r) => [
      r.id,
      filled && !cached.has(r.id) && r.addedAt === undefined ? { ...r, addedAt: now.toISOString() } : r,
    ]),
  );
  const known = () => new Map([...input.cache.map((r): [string, RepositoryRecord] => [r.id, r]), ...learned]);
  let result = initial;

  // 1. The scan.
  let health: HealthReport | undefined;
  const scanning = input.repositoryList !== undefined;
  if (input.repositoryList !== undefined) {
    const [proxies, healthRead, build] = await Promise.all([
      optional('proxies', () => api.listProxies(call)),
      optional('health', () => api.health(call)),
      optional('build', () => api.serviceInstance(call)),
    ]);
    if (healthRead?.available) health = healthRead.value;
    const scan = withScan(
      result,
      { repositories: input.repositoryList, proxies, health: healthRead, build },
      { now, server: input.server, policy, cache: [...known().values()] },
    );
    result = scan.result;
    for (const r of scan.learned) learned.set(r.id, r);
  }

  // 2. Forecasts.
  if (needsForecast(result)) {
    try {
      const since = new Date(now.getTime() - policy.historyRetentionMs).toISOString();
      result = withForecasts(result, await input.store.history(input.server.id, since, call));
    } catch (err) {
      input.problem(`reading the sync history (forecast): ${messageOf(err)}`);
    }
  }

  // 3. Impact, and the first backup after each resync.
  const watching = scanning && result.server.firstBackupWatch !== undefined;
  if (needsImpact(result) || watching) {
    let jobs: JobInfo[] | undefined;
    let copiesFailed = false;
    try {
      const copies = await optional('copyJobs', () => api.listCopyJobs(call));
      // Tried and failed: a repository only copy jobs target would look targeted by none (its watch dropped).
      copiesFailed = copies === undefined && shouldRead(before, 'copyJobs', now);
      jobs = [...(await api.listJobs(call)), ...(copies?.available ? copies.value : [])];
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      input.problem(`listing the backup jobs (impact): ${err.message}`);
    }
    if (jobs !== undefined) {
      result = withImpact(result, jobs, now, input.repositoryList);
      if (watching) {
        const runs = new Map<string, Optional<JobSessionInfo[]>>();
        let readFailed = false;
        for (const { job, since } of watchedJobs(result.server.firstBackupWatch, jobs)) {
          const read = await optional('jobSessions', () => api.listJobSessions(job.id, since, call));
          if (read !== undefined) runs.set(job.id, read);
          // Tried and failed: the job's last run may not be its first after the resync; the next scan judges.
          else if (shouldRead(before, 'jobSessions', now)) readFailed = true;
        }
        if (!readFailed && !copiesFailed) result = checkWatches(result, { jobs, runs }, now, input.server);
      }
    }
  }

  // 4. Incidents (every event gets its key before noise control holds any), then watches on completed resyncs.
  result = withIncidents(result, { now, server: input.server, policy, acks: input.acks });
  result = watchCompletions(result);

  // 5. Likely cause.
  if (needsCause(result)) {
    if (health === undefined && !scanning) {
      const read = await optional('health', () => api.health(call));
      if (read?.available) health = read.value;
    }
    result = withCauses(result, { now, repositories: known(), health });
  }

  // 6. Tenants.
  if (organizationsToName(result, known()).length > 0) {
    const read = await optional('organizations', () => api.listOrganizations(call));
    if (read?.available) for (const r of namedOrganizations(known(), read.value)) learned.set(r.id, r);
  }
  result = withOrganizations(result, known());

  const noted = noteAvailability(result.server, outcomes, now);
  for (const { read, reason } of noted.newlyUnavailable) {
    input.problem(
      `${READ_LABEL[read]} is not available on this server (${reason}): ${FEATURE[read]} is off; tried again in a day`,
    );
  }
  return { result: { ...result, server: noted.server }, learned: [...learned.values()] };
}

const READ_LABEL: Readonly<Record<OptionalRead, string>> = {
  proxies: 'listing the backup proxies',
  health: 'reading the health check',
  build: 'reading the product build',
  copyJobs: 'listing the backup copy jobs',
  jobSessions: 'listing job sessions',
  organizations: 'listing the organizations',
};

const FEATURE: Readonly<Record<OptionalRead, string>> = {
  proxies: 'proxy monitoring',
  health: 'the health check (server.unhealthy, and as a likely cause)',
  build: 'upgrade detection',
  copyJobs: 'backup copy jobs in impact',
  jobSessions: 'job sessions for the first backup after a resync (each job\u2019s last run is used instead)',
  organizations: 'organization names',
};
