import type { CauseFinding } from './contract-repository.js';
import type { EventType, MonitorEvent } from './events.js';
import type { CycleResult } from './lifecycle.js';
import { RECENT_MS } from './scan.js';
import type { RepositoryRecord } from './state.js';
import type { HealthReport } from './types.js';

/*
 * The likely cause (pure): the first event of a repository incident (it went out of sync, or a sync started, failed
 * or stopped) carries what the monitor could see that may explain it: the server's health check failing (v8: the
 * configuration database holds every repository's cache), an upgrade within the last day, the repository's proxy
 * offline or in maintenance, the repository added within the last day. Facts, in that order; none: no `cause`.
 * A group of such events (storm control) carries the findings they all share (`storm.ts`).
 */

/** Whether an event opens a repository incident (the one a cause is attached to). */
export function opensRepositoryIncident(e: MonitorEvent): boolean {
  return (
    CAUSE_TYPES.has(e.type) &&
    e.incident?.subject === 'repository' &&
    e.incident.latest === null &&
    e.incident.status === 'open'
  );
}

/**
 * The events a cause may open an incident with (the contract's list): not a reminder (`sync.still_failed` of a failure
 * whose repository's incident a later sync ended) nor an end.
 */
const CAUSE_TYPES: ReadonlySet<EventType> = new Set<EventType>([
  'repository.out_of_sync',
  'sync.started',
  'sync.progress',
  'sync.stalled',
  'sync.resumed',
  'sync.failed',
  'sync.stopped',
  'sync.state_changed',
]);

/** Whether the cycle opens a repository incident: a health report is then worth reading if none was this cycle. */
export function needsCause(result: CycleResult): boolean {
  return [...result.serverEvents, ...result.sessions.flatMap((s) => s.events)].some(opensRepositoryIncident);
}

/**
 * The result with `cause` on the first event of every repository incident it opens. `repositories`: what is known of
 * each repository (proxy, when added); `health`: a health report read this cycle, if any (else the server record's
 * outstanding `server.unhealthy` speaks).
 */
export function withCauses(
  result: CycleResult,
  ctx: {
    readonly now: Date;
    readonly repositories: ReadonlyMap<string, RepositoryRecord>;
    readonly health?: HealthReport | undefined;
  },
): CycleResult {
  const server = result.server;
  const recent = (iso: string | undefined) => iso !== undefined && ctx.now.getTime() - Date.parse(iso) <= RECENT_MS;
  const shared: CauseFinding[] = [];
  const failing = ctx.health
    ? ctx.health.entries.filter((e) => e.status.toLowerCase() !== 'healthy')
    : (server.unhealthy?.entries ?? []);
  const unhealthy = ctx.health ? ctx.health.status.toLowerCase() !== 'healthy' : server.unhealthy !== undefined;
  if (unhealthy) shared.push({ kind: 'unhealthy', entries: failing });
  if (server.upgrade !== undefined && recent(server.upgrade.at)) shared.push({ kind: 'upgrade', ...server.upgrade });

  const annotate = (e: MonitorEvent): MonitorEvent => {
    if (!opensRepositoryIncident(e)) return e;
    const findings = [...shared];
    const id = e.incident?.repository?.id ?? null;
    const repo = id === null ? undefined : ctx.repositories.get(id);
    const proxyId = repo?.proxyId ?? null;
    const proxy =
      proxyId === null
        ? undefined
        : Object.entries(server.proxies ?? {}).find(([id]) => id.toLowerCase() === proxyId.toLowerCase())?.[1];
    if (proxyId !== null && proxy !== undefined) {
      findings.push({ kind: 'proxy', proxyId, proxyName: proxy.name, state: proxy.state });
    }
    if (repo?.addedAt !== undefined && recent(repo.addedAt)) {
      findings.push({ kind: 'new_repository', addedAt: repo.addedAt });
    }
    return findings.length === 0 ? e : { ...e, cause: findings };
  };
  return {
    ...result,
    serverEvents: result.serverEvents.map(annotate),
    sessions: result.sessions.map((s) => ({ record: s.record, events: s.events.map(annotate) })),
  };
}
