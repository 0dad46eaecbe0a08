import type { BlockerKind, ProxyProblem } from './contract-repository.js';
import { type ServerEventDraft, secondsBetween } from './emit.js';
import { SUMMARY_LIMIT } from './events.js';
import type { BlockerEntry, ProxyEntry, ServerRecord } from './state.js';
import type { HealthReport, ProxyInfo, RepositoryInfo } from './types.js';

/*
 * What a repository scan finds blocking backups (scan.ts applies them in this order): the server's health check,
 * repository blockers and proxies that take no jobs. Each step takes the server record and returns it updated, with
 * the events it calls for.
 */

/** A step's outcome: the server record updated, and the events to emit (in order). */
export interface Findings {
  readonly server: ServerRecord;
  readonly drafts: readonly ServerEventDraft[];
}

/** The blockers a repository shows, with the server's reason where there is one. */
export function blockersOf(repo: RepositoryInfo): { kind: BlockerKind; reason: string | null }[] {
  const found: { kind: BlockerKind; reason: string | null }[] = [];
  if (repo.isOutdated === true) found.push({ kind: 'outdated', reason: null });
  if (repo.isOutOfOrder === true) found.push({ kind: 'out_of_order', reason: repo.outOfOrderReason ?? null });
  if (repo.isMigrationLocked === true) found.push({ kind: 'migration_locked', reason: null });
  return found;
}

/** Why a proxy takes no jobs, or `null` when it does. */
export function proxyState(proxy: ProxyInfo): ProxyProblem['state'] | null {
  if (proxy.status?.toLowerCase() === 'offline') return 'offline';
  const maintenance = proxy.maintenanceModeState?.toLowerCase();
  return maintenance === 'enabled' || maintenance === 'enabling' ? 'maintenance' : null;
}

/** Health: `server.unhealthy` at once, and once until it passes again (`server.healthy`). */
export function healthFindings(server: ServerRecord, report: HealthReport, nowIso: string): Findings {
  const drafts: ServerEventDraft[] = [];
  const failing = report.entries.filter((e) => e.status.toLowerCase() !== 'healthy');
  if (report.status.toLowerCase() !== 'healthy') {
    if (server.unhealthy === undefined) {
      server = { ...server, unhealthy: { status: report.status, entries: failing, since: nowIso } };
      drafts.push({
        type: 'server.unhealthy',
        health: { status: report.status, entries: failing.slice(0, SUMMARY_LIMIT), since: nowIso, seconds: 0 },
      });
    }
  } else if (server.unhealthy !== undefined) {
    const prior = server.unhealthy;
    const { unhealthy: _, ...rest } = server;
    server = rest;
    drafts.push({
      type: 'server.healthy',
      health: {
        status: report.status,
        entries: prior.entries.slice(0, SUMMARY_LIMIT),
        since: prior.since,
        seconds: secondsBetween(prior.since, nowIso),
      },
    });
  }
  return { server, drafts };
}

/**
 * Repository blockers: `repository.blocked` once one has lasted long enough (`due`) or its reason changed,
 * `repository.unblocked` when an announced one clears or its repository is gone.
 */
export function blockerFindings(
  server: ServerRecord,
  repositories: readonly RepositoryInfo[],
  nowIso: string,
  due: (since: string) => boolean,
): Findings {
  const drafts: ServerEventDraft[] = [];
  const previousBlockers = server.blockers ?? {};
  const blockers: Record<string, BlockerEntry> = {};
  const byId = new Map(repositories.map((r) => [r.id, r]));
  const blockerEvent = (
    entry: BlockerEntry,
    type: 'repository.blocked' | 'repository.unblocked',
  ): ServerEventDraft => ({
    type,
    blocker: {
      id: entry.repositoryId,
      name: entry.name,
      kind: entry.kind,
      reason: entry.reason,
      since: entry.since,
      seconds: secondsBetween(entry.since, nowIso),
    },
  });
  for (const repo of [...repositories].sort((a, b) => a.id.localeCompare(b.id))) {
    for (const { kind, reason } of blockersOf(repo)) {
      const key = `${repo.id}/${kind}`;
      const prior = previousBlockers[key];
      const entry: BlockerEntry = {
        repositoryId: repo.id,
        kind,
        name: repo.name,
        reason,
        since: prior?.since ?? nowIso,
        alerted: prior?.alerted ?? false,
      };
      const changed = prior?.alerted === true && prior.reason !== reason;
      if ((!entry.alerted && due(entry.since)) || changed) {
        drafts.push(blockerEvent(entry, 'repository.blocked'));
        blockers[key] = { ...entry, alerted: true };
      } else blockers[key] = entry;
    }
  }
  for (const [key, prior] of Object.entries(previousBlockers).sort(([a], [b]) => a.localeCompare(b))) {
    if (blockers[key] || !prior.alerted) continue;
    drafts.push(
      blockerEvent({ ...prior, name: byId.get(prior.repositoryId)?.name ?? prior.name }, 'repository.unblocked'),
    );
  }
  server = withEntries(server, 'blockers', blockers);
  return { server, drafts };
}

/**
 * Proxies: `proxy.offline` / `proxy.maintenance` once one has lasted long enough (`due`) or turned into the other,
 * `proxy.online` when an announced one takes jobs again or is gone. `repositories`: the scan's, for those it serves.
 */
export function proxyFindings(
  server: ServerRecord,
  proxyList: readonly ProxyInfo[],
  repositories: readonly RepositoryInfo[],
  nowIso: string,
  due: (since: string) => boolean,
): Findings {
  const drafts: ServerEventDraft[] = [];
  const previousProxies = server.proxies ?? {};
  const proxies: Record<string, ProxyEntry> = {};
  const served = (proxyId: string) =>
    repositories
      .filter((r) => r.proxyId?.toLowerCase() === proxyId.toLowerCase())
      .sort((a, b) => (a.name ?? a.id).localeCompare(b.name ?? b.id));
  const proxyEvent = (id: string, entry: ProxyEntry, type: ProxyEventType): ServerEventDraft => {
    const repositories = served(id);
    return {
      type,
      proxy: {
        id,
        name: entry.name,
        state: entry.state,
        status: entry.status,
        maintenanceModeState: entry.maintenanceModeState,
        since: entry.since,
        seconds: secondsBetween(entry.since, nowIso),
        repositories: repositories.slice(0, SUMMARY_LIMIT).map((r) => ({ id: r.id, name: r.name })),
        totalRepositories: repositories.length,
      },
    };
  };
  const seen = new Set<string>();
  for (const proxy of [...proxyList].sort((a, b) => a.id.localeCompare(b.id))) {
    seen.add(proxy.id);
    const state = proxyState(proxy);
    const prior = previousProxies[proxy.id];
    if (state === null) {
      // Back: its state says what it was, its status what the server says now.
      const now = { name: proxy.name, status: proxy.status, maintenanceModeState: proxy.maintenanceModeState };
      if (prior?.alerted) drafts.push(proxyEvent(proxy.id, { ...prior, ...now }, 'proxy.online'));
      continue;
    }
    const entry: ProxyEntry = {
      name: proxy.name,
      state,
      status: proxy.status,
      maintenanceModeState: proxy.maintenanceModeState,
      // Offline after maintenance (or back) is the same outage going on: its start stays.
      since: prior?.since ?? nowIso,
      alerted: prior?.alerted ?? false,
    };
    const changed = prior?.alerted === true && prior.state !== state;
    if ((!entry.alerted && due(entry.since)) || changed) {
      drafts.push(proxyEvent(proxy.id, entry, state === 'offline' ? 'proxy.offline' : 'proxy.maintenance'));
      proxies[proxy.id] = { ...entry, alerted: true };
    } else proxies[proxy.id] = entry;
  }
  for (const [id, prior] of Object.entries(previousProxies).sort(([a], [b]) => a.localeCompare(b))) {
    if (seen.has(id) || !prior.alerted) continue;
    drafts.push(proxyEvent(id, prior, 'proxy.online'));
  }
  server = withEntries(server, 'proxies', proxies);
  return { server, drafts };
}

type ProxyEventType = 'proxy.offline' | 'proxy.maintenance' | 'proxy.online';

/** The record with `field` set to the entries, or without it when there are none (a quiet record stays small). */
function withEntries<K extends 'blockers' | 'proxies'>(
  server: ServerRecord,
  field: K,
  entries: NonNullable<ServerRecord[K]>,
): ServerRecord {
  const { [field]: _, ...rest } = server;
  return (Object.keys(entries).length > 0 ? { ...rest, [field]: entries } : rest) as ServerRecord;
}
