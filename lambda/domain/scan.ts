import type { BlockerKind, ProxyProblem } from './contract-repository.js';
import { type ServerEventDraft, secondsBetween, withServerEvents } from './emit.js';
import { type ServerRef, SUMMARY_LIMIT } from './events.js';
import type { CycleResult } from './lifecycle.js';
import type { Policy } from './policy.js';
import type { BlockerEntry, ProxyEntry, RepositoryRecord, ServerRecord } from './state.js';
import type { HealthReport, Optional, ProxyInfo, RepositoryInfo, ServiceInstance } from './types.js';

/*
 * What blocks backups besides a sync, seen by the repository scan (pure; API reference §6). VB365 raises no alert for
 * any of it:
 *
 * - repository blockers (v8): Out of Date after an upgrade, Invalid (out of order, with the server's reason), locked by
 *   a data migration: `repository.blocked` once it has lasted `outOfSyncAfterMs` (the out-of-sync detector's delay and
 *   cadence), again if its reason changes, `repository.unblocked` when it clears or the repository is gone;
 * - proxies offline or in maintenance, with the repositories they serve: `proxy.offline` / `proxy.maintenance` after
 *   the same delay, again when one turns into the other, `proxy.online` when it takes jobs again or is gone;
 * - the server's health check (v8, anonymous): `server.unhealthy` at once (the configuration database holds every
 *   repository's cache: a fault there puts them all out of sync), `server.healthy` when it passes again;
 * - the product build: a change is an upgrade, kept a day as a likely cause (see `cause.ts`);
 * - the repository cache: every repository as last listed (name, proxy, organization); one missing from a filled
 *   cache is new (`addedAt`, a likely cause too). Entries are renewed before the cache forgets them (30 days).
 *
 * Every read but the repository list is optional: a read the server lacks keeps what was known (nothing clears).
 */

/** The optional reads of a cycle, by name (`unavailable` in the server record is keyed by these). */
export const OPTIONAL_READS = ['proxies', 'health', 'build', 'copyJobs', 'jobSessions', 'organizations'] as const;
export type OptionalRead = (typeof OPTIONAL_READS)[number];

/** An unavailable read is tried again this long after it was found so (and at once after an upgrade). */
export const UNAVAILABLE_RETRY_MS = 86_400_000;
/** An upgrade, and a new repository, count as a likely cause this long. */
export const RECENT_MS = 86_400_000;
/** A cached repository is stored again when its last store is this old (the cache forgets after 30 days). */
export const CACHE_RENEW_MS = 10 * 86_400_000;

/** What one repository scan read. An optional read left `undefined` was not tried this cycle. */
export interface ScanReads {
  readonly repositories: readonly RepositoryInfo[];
  readonly proxies?: Optional<ProxyInfo[]> | undefined;
  readonly health?: Optional<HealthReport> | undefined;
  readonly build?: Optional<ServiceInstance> | undefined;
}

/** Whether to try an optional read this cycle: not within a day of finding it unavailable. */
export function shouldRead(server: ServerRecord | undefined, read: OptionalRead, now: Date): boolean {
  const off = server?.unavailable?.[read];
  return off === undefined || now.getTime() - Date.parse(off.at) >= UNAVAILABLE_RETRY_MS;
}

/**
 * Records which optional reads answered: an available one is forgotten as unavailable, an unavailable one is stored
 * (its time renewed a day later, when it was tried again). Returns the reads newly found unavailable, to report once.
 */
export function noteAvailability(
  server: ServerRecord,
  outcomes: Partial<Record<OptionalRead, Optional<unknown> | undefined>>,
  now: Date,
): { server: ServerRecord; newlyUnavailable: { read: OptionalRead; reason: string }[] } {
  const unavailable = { ...(server.unavailable ?? {}) };
  const newlyUnavailable: { read: OptionalRead; reason: string }[] = [];
  for (const read of OPTIONAL_READS) {
    const outcome = outcomes[read];
    if (outcome === undefined) continue;
    if (outcome.available) delete unavailable[read];
    else {
      if (unavailable[read] === undefined) newlyUnavailable.push({ read, reason: outcome.reason });
      unavailable[read] = { reason: outcome.reason, at: now.toISOString() };
    }
  }
  const { unavailable: _, ...rest } = server;
  return {
    server: Object.keys(unavailable).length > 0 ? { ...rest, unavailable } : rest,
    newlyUnavailable,
  };
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

/**
 * Applies one repository scan to the cycle's result: the blockers, proxies, health and build it shows (events and the
 * server record), and the repository cache entries to store (`learned`).
 */
export function withScan(
  result: CycleResult,
  reads: ScanReads,
  ctx: {
    readonly now: Date;
    readonly server: ServerRef;
    readonly policy: Policy;
    readonly cache: readonly RepositoryRecord[];
  },
): { result: CycleResult; learned: RepositoryRecord[] } {
  const { now, policy } = ctx;
  const nowIso = now.toISOString();
  const delayMs = policy.outOfSyncAfterMs ?? 0;
  const due = (since: string) => now.getTime() - Date.parse(since) >= delayMs;
  const drafts: ServerEventDraft[] = [];
  let server = result.server;

  // The build: a change is an upgrade (and reads found unavailable are tried again: the new build may serve them).
  if (reads.build?.available && reads.build.value.version !== null) {
    const version = reads.build.value.version;
    if (server.build !== undefined && server.build !== version) {
      const { unavailable: _, ...rest } = server;
      server = { ...rest, upgrade: { from: server.build, to: version, at: nowIso } };
    }
    server = { ...server, build: version };
  }
  if (server.upgrade !== undefined && now.getTime() - Date.parse(server.upgrade.at) > RECENT_MS) {
    const { upgrade: _, ...rest } = server;
    server = rest;
  }

  // Health: at once, and once until it passes again.
  if (reads.health?.available) {
    const report = reads.health.value;
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
  }

  // Repository blockers.
  const previousBlockers = server.blockers ?? {};
  const blockers: Record<string, BlockerEntry> = {};
  const byId = new Map(reads.repositories.map((r) => [r.id, r]));
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
  for (const repo of [...reads.repositories].sort((a, b) => a.id.localeCompare(b.id))) {
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

  // Proxies (only when read: a proxy list the server refused clears nothing).
  if (reads.proxies?.available) {
    const previousProxies = server.proxies ?? {};
    const proxies: Record<string, ProxyEntry> = {};
    const served = (proxyId: string) =>
      reads.repositories
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
    for (const proxy of [...reads.proxies.value].sort((a, b) => a.id.localeCompare(b.id))) {
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
  }

  // The repository cache: filled silently by the first scan, then a repository missing from it is new.
  const cached = new Map(ctx.cache.map((r) => [r.id, r]));
  const learned: RepositoryRecord[] = [];
  for (const repo of reads.repositories) {
    const prior = cached.get(repo.id);
    const proxyId = repo.proxyId ?? null;
    const organizationId = repo.organizationId ?? null;
    const stale = prior?.seenAt === undefined || now.getTime() - Date.parse(prior.seenAt) >= CACHE_RENEW_MS;
    if (
      prior !== undefined &&
      !stale &&
      prior.name === repo.name &&
      (prior.proxyId ?? null) === proxyId &&
      (prior.organizationId ?? null) === organizationId
    )
      continue;
    const sameOrganization = prior !== undefined && (prior.organizationId ?? null) === organizationId;
    // New: no scan stored it yet. A session's name lookup may have cached it first (a new repository syncs at once),
    // without `seenAt`: that does not make it known.
    const added = server.repositoriesKnown === true && prior?.seenAt === undefined && prior?.addedAt === undefined;
    learned.push({
      id: repo.id,
      name: repo.name,
      proxyId,
      organizationId,
      ...(sameOrganization && prior.organizationName !== undefined ? { organizationName: prior.organizationName } : {}),
      ...(prior?.addedAt !== undefined ? { addedAt: prior.addedAt } : {}),
      ...(added ? { addedAt: nowIso } : {}),
      seenAt: nowIso,
    });
  }
  if (server.repositoriesKnown !== true) server = { ...server, repositoriesKnown: true };

  return { result: withServerEvents(result, server, drafts, now, ctx.server), learned };
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
