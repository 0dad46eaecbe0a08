import { type ServerEventDraft, withServerEvents } from './emit.js';
import type { ServerRef } from './events.js';
import type { CycleResult } from './lifecycle.js';
import type { Policy } from './policy.js';
import { blockerFindings, type Findings, healthFindings, proxyFindings } from './scan-findings.js';
import type { RepositoryRecord, ServerRecord } from './state.js';
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

  // Health (at once), repository blockers, then proxies (only when read: a proxy list the server refused clears
  // nothing); see scan-findings.ts.
  const apply = (f: Findings) => {
    server = f.server;
    drafts.push(...f.drafts);
  };
  if (reads.health?.available) apply(healthFindings(server, reads.health.value, nowIso));
  apply(blockerFindings(server, reads.repositories, nowIso, due));
  if (reads.proxies?.available) apply(proxyFindings(server, reads.proxies.value, reads.repositories, nowIso, due));

  // The repository cache: filled silently by the first scan, then a repository missing from it is new.
  const cached = new Map(ctx.cache.map((r) => [r.id, r]));
  const learned: RepositoryRecord[] = [];
  // The cache is written after the server record: if that write failed, most listed repositories are missing from it,
  // and none of them is taken for a new one (a day of "repository added" causes) until a scan stores them.
  const stored = reads.repositories.filter((r) => cached.get(r.id)?.seenAt !== undefined).length;
  const filled = server.repositoriesKnown === true && stored >= reads.repositories.length / 2;
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
    const added = filled && prior?.seenAt === undefined && prior?.addedAt === undefined;
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
