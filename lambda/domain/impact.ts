import type { ImpactJob } from './contract-repository.js';
import { type EventType, type MonitorEvent, SUMMARY_LIMIT } from './events.js';
import type { CycleResult } from './lifecycle.js';
import type { JobInfo, RepositoryInfo } from './types.js';

/*
 * What a repository problem blocks (pure): the backup and backup copy jobs that target the repository, and which of
 * them miss their next run. A job misses it when it is enabled and its next run falls before the problem is expected
 * to end: the sync's estimated finish (the live estimate, else the forecast from previous syncs), or, when nothing
 * says when it ends (a failure, an out-of-sync repository, a blocker, a proxy), any scheduled run.
 */

/** Events that say something is blocked: they carry the jobs that target the repository (or the proxy's ones). */
export const IMPACT_TYPES: ReadonlySet<EventType> = new Set<EventType>([
  'sync.started',
  'sync.failed',
  'sync.still_failed',
  'sync.stalled',
  'sync.stopped',
  'repository.out_of_sync',
  'repository.blocked',
  'proxy.offline',
  'proxy.maintenance',
]);

/** Whether a cycle result has an event that should name what it blocks. */
export function needsImpact(result: CycleResult): boolean {
  return [...result.serverEvents, ...result.sessions.flatMap((s) => s.events)].some((e) => IMPACT_TYPES.has(e.type));
}

/**
 * The repositories an event is about (a proxy's: the ones it serves, as listed in the event; an `incident.*` event's:
 * its incident's).
 */
export function repositoriesOf(e: MonitorEvent): string[] {
  const one =
    e.session?.repositoryId ??
    e.repository?.id ??
    e.blocker?.id ??
    e.firstBackup?.repositoryId ??
    e.incident?.repository?.id ??
    null;
  if (one !== null) return [one];
  return e.proxy?.repositories.map((r) => r.id) ?? [];
}

/** Until when the event's problem is expected to last: the sync's estimated or forecast finish; `null`: unknown. */
export function blockedUntilOf(e: MonitorEvent): string | null {
  if (e.type !== 'sync.started') return null;
  return e.estimate?.estimatedFinishAt ?? e.forecast?.expectedFinishAt ?? null;
}

/** The result with `impact` (jobs targeting the event's repositories) on every event that says something is blocked. */
export function withImpact(
  result: CycleResult,
  jobs: readonly JobInfo[],
  now: Date,
  /** Every repository this cycle's scan listed: a proxy event counts all those it serves, not the 25 it lists. */
  listed?: readonly RepositoryInfo[],
): CycleResult {
  const servedBy = (proxyId: string) =>
    listed?.filter((r) => r.proxyId?.toLowerCase() === proxyId.toLowerCase()).map((r) => r.id);
  const annotate = (e: MonitorEvent): MonitorEvent => {
    if (!IMPACT_TYPES.has(e.type)) return e;
    const ids = (e.proxy && servedBy(e.proxy.id)) || repositoriesOf(e);
    const repositories = new Set(ids.map((id) => id.toLowerCase()));
    if (repositories.size === 0) return e;
    const blockedUntil = blockedUntilOf(e);
    const targeting = jobs
      .filter((j) => j.repositoryId !== null && repositories.has(j.repositoryId.toLowerCase()))
      .map((j) => impactJob(j, blockedUntil, now))
      .sort(
        (a, b) =>
          Number(b.missesNextRun) - Number(a.missesNextRun) ||
          Number(b.isEnabled) - Number(a.isEnabled) ||
          byNextRun(a.nextRun, b.nextRun) ||
          a.name.localeCompare(b.name),
      );
    return {
      ...e,
      impact: {
        jobs: targeting.slice(0, SUMMARY_LIMIT),
        total: targeting.length,
        blockedUntil,
        missedRuns: targeting.filter((j) => j.missesNextRun).length,
      },
    };
  };
  return {
    ...result,
    serverEvents: result.serverEvents.map(annotate),
    sessions: result.sessions.map((s) => ({ record: s.record, events: s.events.map(annotate) })),
  };
}

/** Earlier next runs first, none last (ISO times compare as strings; `localeCompare` would put a sentinel first). */
function byNextRun(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return a < b ? -1 : 1;
}

function impactJob(job: JobInfo, blockedUntil: string | null, now: Date): ImpactJob {
  const nextRun = job.nextRun ?? null;
  const upcoming = nextRun !== null && Date.parse(nextRun) >= now.getTime() - 60_000;
  return {
    id: job.id,
    name: job.name,
    isEnabled: job.isEnabled,
    kind: job.kind ?? 'backup',
    nextRun,
    missesNextRun:
      job.isEnabled && upcoming && (blockedUntil === null || Date.parse(nextRun) < Date.parse(blockedUntil)),
  };
}
