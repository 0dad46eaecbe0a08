import { type EventType, type MonitorEvent, SUMMARY_LIMIT } from './events.js';
import type { CycleResult } from './lifecycle.js';
import type { JobInfo } from './types.js';

/** Events that say something is blocked: they carry the backup jobs that target the repository. */
export const IMPACT_TYPES: ReadonlySet<EventType> = new Set<EventType>([
  'sync.failed',
  'sync.still_failed',
  'sync.stalled',
  'sync.stopped',
  'repository.out_of_sync',
]);

/** Whether a cycle result has an event that should name what it blocks. */
export function needsImpact(result: CycleResult): boolean {
  return [...result.serverEvents, ...result.sessions.flatMap((s) => s.events)].some((e) => IMPACT_TYPES.has(e.type));
}

/** The result with `impact` (jobs targeting the event's repository) on every event that says something is blocked. */
export function withImpact(result: CycleResult, jobs: readonly JobInfo[]): CycleResult {
  const annotate = (e: MonitorEvent): MonitorEvent => {
    if (!IMPACT_TYPES.has(e.type)) return e;
    const repositoryId = e.session?.repositoryId ?? e.repository?.id ?? null;
    if (repositoryId === null) return e;
    const targeting = jobs
      .filter((j) => j.repositoryId !== null && j.repositoryId.toLowerCase() === repositoryId.toLowerCase())
      .sort((a, b) => Number(b.isEnabled) - Number(a.isEnabled) || a.name.localeCompare(b.name));
    return {
      ...e,
      impact: {
        jobs: targeting.slice(0, SUMMARY_LIMIT).map((j) => ({
          id: j.id,
          name: j.name,
          isEnabled: j.isEnabled,
          kind: j.kind ?? 'backup',
          nextRun: j.nextRun ?? null,
          missesNextRun: false,
        })),
        total: targeting.length,
        blockedUntil: null,
        missedRuns: 0,
      },
    };
  };
  return {
    ...result,
    serverEvents: result.serverEvents.map(annotate),
    sessions: result.sessions.map((s) => ({ record: s.record, events: s.events.map(annotate) })),
  };
}
