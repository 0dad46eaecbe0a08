import type { MonitorEvent } from './events.js';
import { repositoriesOf } from './impact.js';
import type { CycleResult } from './lifecycle.js';
import type { RepositoryRecord } from './state.js';
import type { OrganizationInfo } from './types.js';

/*
 * Tenants for MSPs (pure): on v8 a repository may belong to an organization. Every event about one repository carries
 * it (`organization`: id and name), which becomes an SNS message attribute and a per-channel filter, so each customer's
 * channel gets only its repositories. Names come from `/vN/Organizations`, read only when an event names an
 * organization the repository cache has no name for, and cached with the repository. A tenant's event carries no
 * text of the server's own errors (the health check's descriptions): the component's name and status say enough.
 */

/** Organization ids that events of this cycle name and the cache cannot name. */
export function organizationsToName(
  result: CycleResult,
  repositories: ReadonlyMap<string, RepositoryRecord>,
): string[] {
  const missing = new Set<string>();
  for (const e of allEvents(result)) {
    const repo = repositoryOf(e, repositories);
    if (repo?.organizationId && repo.organizationName == null) missing.add(repo.organizationId);
  }
  return [...missing];
}

/** Cache entries given the names of their organizations (only the entries whose name was missing and is now known). */
export function namedOrganizations(
  repositories: ReadonlyMap<string, RepositoryRecord>,
  organizations: readonly OrganizationInfo[],
): RepositoryRecord[] {
  const names = new Map(organizations.map((o) => [o.id.toLowerCase(), o.name]));
  return [...repositories.values()].flatMap((r) => {
    const name = r.organizationId ? names.get(r.organizationId.toLowerCase()) : undefined;
    return name !== undefined && r.organizationName == null ? [{ ...r, organizationName: name }] : [];
  });
}

/** The result with `organization` on every event about one repository that belongs to an organization. */
export function withOrganizations(
  result: CycleResult,
  repositories: ReadonlyMap<string, RepositoryRecord>,
): CycleResult {
  const annotate = (e: MonitorEvent): MonitorEvent => {
    const repo = repositoryOf(e, repositories);
    if (!repo?.organizationId) return e;
    const organization = { id: repo.organizationId, name: repo.organizationName ?? null };
    // A tenant's event reaches the tenant: the server's own error texts (its database's exception) stay the MSP's.
    const cause = e.cause?.map((f) =>
      f.kind === 'unhealthy' ? { ...f, entries: f.entries.map((x) => ({ ...x, description: null })) } : f,
    );
    return { ...e, organization, ...(cause === undefined ? {} : { cause }) };
  };
  return {
    ...result,
    serverEvents: result.serverEvents.map(annotate),
    sessions: result.sessions.map((s) => ({ record: s.record, events: s.events.map(annotate) })),
  };
}

/** The repository an event is about, when it is about exactly one (a proxy's event is about several: none). */
function repositoryOf(
  e: MonitorEvent,
  repositories: ReadonlyMap<string, RepositoryRecord>,
): RepositoryRecord | undefined {
  if (e.proxy) return undefined;
  const [id] = repositoriesOf(e);
  return id === undefined ? undefined : repositories.get(id);
}

function allEvents(result: CycleResult): MonitorEvent[] {
  return [...result.serverEvents, ...result.sessions.flatMap((s) => s.events)];
}
