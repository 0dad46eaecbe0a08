import type { FirstBackup } from './contract-repository.js';
import { type ServerEventDraft, secondsBetween, withServerEvents } from './emit.js';
import { type IncidentRef, SEVERITY, type ServerRef, SUMMARY_LIMIT } from './events.js';
import type { CycleResult } from './lifecycle.js';
import type { FirstBackupWatch } from './state.js';
import type { JobInfo, JobSessionInfo, Optional } from './types.js';

/*
 * The first backup after a resync (pure): a sync that completed starts a watch on its repository; each repository scan
 * then looks at the first run, after the completion, of every enabled backup and backup copy job that targets it, and
 * reports once: `repository.first_backup_failed` as soon as one failed (or was stopped), `repository.first_backup_ok`
 * once every one succeeded (Success or Warning). A repository no enabled job targets is not watched; a watch ends
 * unreported after {@link WATCH_MS}. Runs come from `/v8/JobSessions`; a server without it (v6/v7, or refused) is
 * judged by each job's last run and status, which is the first run when the scan comes before the second.
 * The result joins the resync's incident (same key: the same Slack thread), as news after it ended.
 */

/** A watch ends unreported this long after the sync completed (a weekly job has run by then). */
export const WATCH_MS = 8 * 86_400_000;

const OK = new Set(['success', 'warning']);
const FAILED = new Set(['failed', 'stopped']);

/** The result with a watch started for every repository whose sync completed in this cycle. */
export function watchCompletions(result: CycleResult): CycleResult {
  const started: Record<string, FirstBackupWatch> = {};
  for (const e of result.sessions.flatMap((s) => s.events)) {
    if (e.type !== 'sync.completed' || !e.session?.repositoryId) continue;
    started[e.session.repositoryId] = {
      name: e.session.repositoryName,
      completedAt: e.occurredAt,
      incidentKey: e.incident?.key ?? null,
    };
  }
  if (Object.keys(started).length === 0) return result;
  return {
    ...result,
    server: { ...result.server, firstBackupWatch: { ...(result.server.firstBackupWatch ?? {}), ...started } },
  };
}

/** The jobs whose runs a scan should read: enabled ones targeting a watched repository. */
export function watchedJobs(
  watch: Readonly<Record<string, FirstBackupWatch>> | undefined,
  jobs: readonly JobInfo[],
): { job: JobInfo; since: string }[] {
  if (watch === undefined) return [];
  const byRepository = new Map(Object.entries(watch).map(([id, w]) => [id.toLowerCase(), w]));
  return jobs.flatMap((job) => {
    const w = job.isEnabled && job.repositoryId !== null ? byRepository.get(job.repositoryId.toLowerCase()) : undefined;
    return w === undefined ? [] : [{ job, since: w.completedAt }];
  });
}

type Run = FirstBackup['jobs'][number];

/** The first finished run of a job after `since`: from its sessions when read, else from its last run. */
function firstRun(job: JobInfo, since: string, sessions: Optional<JobSessionInfo[]> | undefined): Run | null {
  const at = (iso: string | null | undefined) => iso != null && Date.parse(iso) >= Date.parse(since);
  const final = (status: string | null | undefined) =>
    status != null && (OK.has(status.toLowerCase()) || FAILED.has(status.toLowerCase()));
  const kind = job.kind ?? 'backup';
  if (sessions?.available) {
    // A run that began before the completion is not a run after it; a failure VB365 retries is not its last word.
    const run = sessions.value
      .filter((s) => at(s.endTime) && (s.creationTime === null || at(s.creationTime)) && final(s.status))
      .filter((s) => !(s.willBeRetried === true && FAILED.has((s.status as string).toLowerCase())))
      .sort((a, b) => (a.endTime as string).localeCompare(b.endTime as string))[0];
    return run ? { id: job.id, name: job.name, kind, status: run.status as string, endedAt: run.endTime } : null;
  }
  return at(job.lastRun) && final(job.lastStatus)
    ? { id: job.id, name: job.name, kind, status: job.lastStatus as string, endedAt: job.lastRun ?? null }
    : null;
}

/**
 * Checks every watch against the jobs and their runs: reports and ends the watches whose result is known, ends the
 * ones no enabled job targets or that waited too long, keeps the others.
 */
export function checkWatches(
  result: CycleResult,
  reads: { readonly jobs: readonly JobInfo[]; readonly runs: ReadonlyMap<string, Optional<JobSessionInfo[]>> },
  now: Date,
  ref: ServerRef,
): CycleResult {
  const watch = result.server.firstBackupWatch;
  if (watch === undefined) return result;
  const kept: Record<string, FirstBackupWatch> = {};
  const drafts: ServerEventDraft[] = [];
  for (const [repositoryId, w] of Object.entries(watch).sort(([a], [b]) => a.localeCompare(b))) {
    const jobs = watchedJobs({ [repositoryId]: w }, reads.jobs).map((j) => j.job);
    if (jobs.length === 0 || now.getTime() - Date.parse(w.completedAt) > WATCH_MS) continue;
    const runs = jobs.map((j) => firstRun(j, w.completedAt, reads.runs.get(j.id)));
    const known = runs.filter((r): r is Run => r !== null);
    const failed = known.some((r) => FAILED.has(r.status.toLowerCase()));
    if (!failed && known.length < jobs.length) {
      kept[repositoryId] = w;
      continue;
    }
    const type = failed ? 'repository.first_backup_failed' : 'repository.first_backup_ok';
    const ordered = [...known].sort(
      (a, b) => Number(FAILED.has(b.status.toLowerCase())) - Number(FAILED.has(a.status.toLowerCase())),
    );
    drafts.push({
      type,
      firstBackup: {
        repositoryId,
        repositoryName: w.name,
        syncCompletedAt: w.completedAt,
        jobs: ordered.slice(0, SUMMARY_LIMIT),
        // Every job the resync had blocked; `jobs` lists the runs known (a failure is reported before the rest ran).
        total: jobs.length,
      },
      ...(w.incidentKey === null ? {} : { incident: resolvedIncident(w, repositoryId, type) }),
    });
  }
  const { firstBackupWatch: _, ...rest } = result.server;
  const server = Object.keys(kept).length > 0 ? { ...rest, firstBackupWatch: kept } : rest;
  return withServerEvents(result, server, drafts, now, ref);
}

/** The resync's incident, ended at the completion: the result is news in its conversation, not a new problem. */
function resolvedIncident(w: FirstBackupWatch, repositoryId: string, type: ServerEventDraft['type']): IncidentRef {
  const key = w.incidentKey as string;
  const openedAt = key.slice(key.lastIndexOf('/') + 1);
  return {
    key,
    subject: 'repository',
    openedAt,
    status: 'resolved',
    severity: SEVERITY[type],
    repository: { id: repositoryId, name: w.name },
    acknowledged: null,
    escalatedAfterMinutes: null,
    durationSeconds: secondsBetween(openedAt, w.completedAt),
    latest: null,
  };
}
