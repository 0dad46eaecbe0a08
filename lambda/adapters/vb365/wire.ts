import * as v from 'valibot';
import {
  type HealthReport,
  type JobInfo,
  type JobSessionInfo,
  KNOWN_SESSION_STATES,
  type MalformedItem,
  type OrganizationInfo,
  type ProxyInfo,
  type RepositoryInfo,
  type ServiceInstance,
  type SessionList,
  type SessionState,
  type SyncSession,
} from '../../domain/types.js';
import { cut, isWellFormed, SERVER_TEXT, utf8Bytes, wellFormed } from '../limits.js';

/*
 * Lenient translation of VB365 JSON into domain types. The API documents every field as nullable, older builds send
 * `progressPercent` as a string, and newer builds add enum values: anything we can make sense of is accepted, a field
 * of an impossible type makes that one item malformed (reported, skipped), and nothing here ever throws on content.
 * Every string that leaves this module is bounded (`SERVER_TEXT`) and well-formed UTF-16: text (names, states, errors,
 * link names, malformed items' reasons and quoted ids) is made well-formed, then cut; an id that is over-long or holds
 * a lone surrogate makes its item malformed; an over-long href is dropped. Ids are refused rather than repaired because
 * a repaired id is another id: `r\uD800` and `r\uDBFF` would both become `r\uFFFD` (one item's state would move to
 * another), and the lookup `GET /BackupRepositories/{id}` would ask for an id the server does not have. A lone
 * surrogate cannot be sent anywhere: the SNS query serializer throws `URIError` on it, failing a whole PublishBatch.
 */

const optionalString = v.nullish(v.string());
/** A field read leniently (converted by hand, a wrong type becoming `null`); absent is fine. */
const anything = v.optional(v.unknown());
const wireLinks = v.nullish(
  v.record(v.string(), v.nullish(v.union([v.looseObject({ href: optionalString }), v.string()]))),
);

const wireSession = v.looseObject({
  id: optionalString,
  repositoryId: optionalString,
  state: optionalString,
  progressPercent: v.nullish(v.union([v.number(), v.string()])),
  error: optionalString,
  _links: wireLinks,
});

/*
 * The blocker fields of a repository (v8) are read with `anything`: a value of the wrong type leaves that one field
 * unknown (`null`) instead of losing the repository, whose name and out-of-sync flag the monitor needs far more.
 */
const wireRepository = v.looseObject({
  id: optionalString,
  name: optionalString,
  isOutOfSync: v.nullish(v.union([v.boolean(), v.string()])),
  isOutdated: anything,
  isOutOfOrder: anything,
  outOfOrderReason: anything,
  isMigrationLocked: anything,
  proxyId: anything,
  organizationId: anything,
  _links: wireLinks,
});

type WireLinks = v.InferOutput<typeof wireLinks>;

/**
 * Canonical spelling of a documented state (any letter case), an unknown one verbatim (cut to `SERVER_TEXT.nameChars`),
 * or `null` for none/empty.
 */
export function normaliseState(raw: string | null | undefined): SessionState {
  if (raw === null || raw === undefined || raw.trim() === '') return null;
  const known = KNOWN_SESSION_STATES.find((s) => s.toLowerCase() === raw.trim().toLowerCase());
  return known ?? cut(wellFormed(raw), SERVER_TEXT.nameChars);
}

/** A number, or a numeric string such as `"35"`, `" 35.5 "` or `"35%"`, clamped to 0..100; anything else is `null`. */
export function normaliseProgress(raw: number | string | null | undefined): number | null {
  if (raw === null || raw === undefined) return null;
  const n = typeof raw === 'number' ? raw : Number(raw.trim().replace(/%$/, '').trim());
  if (typeof raw === 'string' && raw.trim() === '') return null;
  if (!Number.isFinite(n)) return null;
  return Math.min(100, Math.max(0, n));
}

/**
 * HAL links (absolute, or relative to the server) as absolute URLs by name; unusable hrefs (not a URL, longer than
 * `SERVER_TEXT.hrefChars`, holding a lone surrogate, under an over-long name) are left out, and at most
 * `SERVER_TEXT.linksPerItem` are kept. Names are made well-formed. An href with a lone surrogate is dropped rather than
 * repaired: the URL parser would turn it into `%EF%BF%BD`, and the id read from that link would be another id.
 */
export function resolveLinks(links: WireLinks, baseUrl: string): Record<string, string> {
  const out: Record<string, string> = {};
  let kept = 0;
  for (const [name, link] of Object.entries(links ?? {})) {
    if (kept >= SERVER_TEXT.linksPerItem) break;
    const href = typeof link === 'string' ? link : link?.href;
    // A `__proto__` key (an own property after JSON.parse) would set the prototype of `out` instead of a link.
    if (
      !href ||
      href.length > SERVER_TEXT.hrefChars ||
      !isWellFormed(href) ||
      name.length > SERVER_TEXT.nameChars ||
      name === '__proto__'
    ) {
      continue;
    }
    try {
      out[wellFormed(name)] = new URL(href, baseUrl).toString();
      kept += 1;
    } catch {
      // An href that is not a URL carries no information we can use.
    }
  }
  return out;
}

/**
 * The last path segment after `collection` (case-insensitive) in a resolved link, e.g. the id in
 * `/v6/backuprepositories/{id}`; `null` when the link names none or its escapes are not valid percent-encoding.
 */
function idFromLink(href: string | undefined, collection: string): string | null {
  if (!href) return null;
  const segments = new URL(href).pathname.split('/').filter(Boolean);
  const at = segments.findIndex((s) => s.toLowerCase() === collection.toLowerCase());
  const id = at >= 0 ? segments[at + 1] : undefined;
  if (!id) return null;
  try {
    return decodeURIComponent(id);
  } catch {
    // A malformed escape (`%E0%A4%A`): the link names nothing usable, and only this item is affected.
    return null;
  }
}

/**
 * Why `id` cannot be used as an id (a lone surrogate, or too long for the keys it ends up in), or `undefined` when it
 * can.
 */
function idProblem(field: string, id: string | null): string | undefined {
  if (id === null) return undefined;
  if (!isWellFormed(id)) {
    return `${field}: holds a lone UTF-16 surrogate (not valid Unicode); an id is not repaired, since that would name another item`;
  }
  const bytes = utf8Bytes(id);
  if (bytes <= SERVER_TEXT.idBytes) return undefined;
  return `${field}: ${id.length} characters (${bytes} bytes), over the ${SERVER_TEXT.idBytes}-byte limit for ids`;
}

/** An id as quoted in a malformed item's report: well-formed, and cut so a huge id does not flood the logs. */
function quotedId(id: string | null): string | null {
  return id === null ? null : cut(wellFormed(id), SERVER_TEXT.quotedIdChars);
}

function describeIssues(issues: readonly v.BaseIssue<unknown>[]): string {
  const text = issues
    .map((issue) => {
      const path = v.getDotPath(issue);
      const received = issue.received;
      return `${path ?? 'item'}: expected ${issue.expected ?? 'a valid value'}, got ${received}`;
    })
    .join('; ');
  // Paths and received values quote the server's keys and strings, lone surrogates included.
  return cut(wellFormed(text), SERVER_TEXT.reasonChars);
}

type ParseResult<T> = { ok: true; value: T } | { ok: false; id: string | null; reason: string };

/**
 * One session object. `fallbackId` is the id that was requested (single GET), because the single-session body of
 * some versions carries no `id`.
 */
export function parseSession(input: unknown, baseUrl: string, fallbackId?: string): ParseResult<SyncSession> {
  // The shape every server sends is checked by hand (a list of thousands, every cycle); anything else goes to valibot.
  const parsed = isCommonSession(input) ? { success: true as const, output: input } : v.safeParse(wireSession, input);
  if (!parsed.success) {
    const rawId = isRecord(input) && typeof input.id === 'string' ? input.id : null;
    return { ok: false, id: quotedId(rawId ?? fallbackId ?? null), reason: describeIssues(parsed.issues) };
  }
  const wire = parsed.output;
  const links = resolveLinks(wire._links, baseUrl);
  const id = nonEmpty(wire.id) ?? idFromLink(links.self, 'RepositorySynchronizeSessions') ?? fallbackId ?? null;
  if (id === null) return { ok: false, id: null, reason: 'id: missing, and no self link names the session' };
  const repositoryId = nonEmpty(wire.repositoryId) ?? idFromLink(links.repository, 'BackupRepositories');
  const problem = idProblem('id', id) ?? idProblem('repositoryId', repositoryId);
  if (problem !== undefined) return { ok: false, id: quotedId(id), reason: problem };
  const error = nonEmpty(wire.error);
  return {
    ok: true,
    value: {
      id,
      repositoryId,
      state: normaliseState(wire.state),
      progressPercent: normaliseProgress(wire.progressPercent),
      error: error === null ? null : cut(wellFormed(error), SERVER_TEXT.errorChars),
      links,
    },
  };
}

/**
 * The session list: a JSON array (v6–v8 spec), a bare object (v4–v6 doc examples), or a page `{ results: [...] }`
 * (defensive: v8 pages other collections). Each malformed item is reported and skipped; the others survive.
 * Returns `undefined` when the body is none of these shapes.
 */
export function parseSessionList(body: unknown, baseUrl: string): SessionList | undefined {
  let items: unknown[];
  if (Array.isArray(body)) items = body;
  else if (isRecord(body) && Array.isArray(body.results)) items = body.results;
  else if (isRecord(body)) items = [body];
  else if (body === null) items = [];
  else return undefined;

  const sessions: SyncSession[] = [];
  const malformed: MalformedItem[] = [];
  const seen = new Set<string>();
  // An index loop, not forEach: a hole in a sparse array is an item too (reported, not silently skipped).
  for (let index = 0; index < items.length; index++) {
    const result = parseSession(items[index], baseUrl);
    if (!result.ok) {
      malformed.push({ index, id: result.id, reason: result.reason });
    } else if (seen.has(result.value.id.toLowerCase())) {
      malformed.push({ index, id: result.value.id, reason: 'id: duplicate of an earlier item' });
    } else {
      seen.add(result.value.id.toLowerCase());
      sessions.push(result.value);
    }
  }
  return { sessions, malformed };
}

/**
 * One backup repository; `requestedId` stands in for a missing `id`. An id over `SERVER_TEXT.idBytes`, or holding a
 * lone surrogate, is malformed.
 */
export function parseRepository(input: unknown, requestedId: string): ParseResult<RepositoryInfo> {
  const parsed = v.safeParse(wireRepository, input);
  if (!parsed.success) return { ok: false, id: quotedId(requestedId), reason: describeIssues(parsed.issues) };
  const wire = parsed.output;
  const id = nonEmpty(wire.id) ?? requestedId;
  const problem = idProblem('id', id);
  if (problem !== undefined) return { ok: false, id: quotedId(id), reason: problem };
  const name = nonEmpty(wire.name);
  return {
    ok: true,
    value: definedOnly({
      id,
      name: name === null ? null : cut(wellFormed(name), SERVER_TEXT.nameChars),
      isOutOfSync: toBool(wire.isOutOfSync),
      // Absent before v8 (and `proxyId` on some builds): left out rather than reported as `null`.
      isOutdated: ifPresent(wire.isOutdated, boolOf),
      isOutOfOrder: ifPresent(wire.isOutOfOrder, boolOf),
      outOfOrderReason: ifPresent(wire.outOfOrderReason, (raw) => textOf(raw, SERVER_TEXT.errorChars)),
      isMigrationLocked: ifPresent(wire.isMigrationLocked, boolOf),
      proxyId: ifPresent(wire.proxyId, refIdOf),
      organizationId: ifPresent(wire.organizationId, refIdOf),
    }),
  };
}

const wireJob = v.looseObject({
  id: optionalString,
  name: optionalString,
  repositoryId: optionalString,
  isEnabled: v.nullish(v.union([v.boolean(), v.string()])),
  nextRun: anything,
  lastRun: anything,
  lastStatus: anything,
});

/** The items of a list body: a plain array (v5–v7), or a v8 page `{ results: [...] }`; `undefined` otherwise. */
export function pageItems(body: unknown): unknown[] | undefined {
  if (Array.isArray(body)) return body;
  if (isRecord(body) && Array.isArray(body.results)) return body.results;
  return undefined;
}

/** Repositories of a list body; malformed items are skipped (they never fail the list). */
export function parseRepositoryList(body: unknown): RepositoryInfo[] | undefined {
  const items = pageItems(body);
  if (items === undefined) return undefined;
  return items.flatMap((item) => {
    const parsed = parseRepository(item, '');
    return parsed.ok && parsed.value.id !== '' ? [parsed.value] : [];
  });
}

/**
 * Backup jobs (`/vN/Jobs`, `kind` `backup`) or backup copy jobs (`/vN/CopyJobs`, `kind` `copy`: the same fields) of a
 * list body: id, name, target repository, schedule (`nextRun`, `lastRun`, `lastStatus`). Malformed items (including an
 * id or repository id over `SERVER_TEXT.idBytes` or holding a lone surrogate) are skipped; a schedule field of the
 * wrong type is `null`.
 */
export function parseJobList(body: unknown, kind: 'backup' | 'copy' = 'backup'): JobInfo[] | undefined {
  return listOf(body, (item) => {
    const parsed = v.safeParse(wireJob, item);
    if (!parsed.success) return undefined;
    const id = nonEmpty(parsed.output.id);
    const repositoryId = nonEmpty(parsed.output.repositoryId);
    if (id === null || idProblem('id', id) || idProblem('repositoryId', repositoryId)) return undefined;
    return {
      id,
      name: cut(wellFormed(nonEmpty(parsed.output.name) ?? id), SERVER_TEXT.nameChars),
      repositoryId,
      isEnabled: toBool(parsed.output.isEnabled) ?? true,
      kind,
      nextRun: normaliseDate(parsed.output.nextRun),
      lastRun: normaliseDate(parsed.output.lastRun),
      lastStatus: textOf(parsed.output.lastStatus, SERVER_TEXT.nameChars),
    };
  });
}

const wireProxy = v.looseObject({
  id: optionalString,
  hostName: anything,
  fqdn: anything,
  status: anything,
  maintenanceModeState: anything,
  version: anything,
});

/** Backup proxies (`/vN/Proxies`): named by `hostName` (else `fqdn`, else the id); malformed items are skipped. */
export function parseProxyList(body: unknown): ProxyInfo[] | undefined {
  return itemsOf(body, wireProxy, (wire, id) => {
    return {
      id,
      name: textOf(wire.hostName, SERVER_TEXT.nameChars) ?? textOf(wire.fqdn, SERVER_TEXT.nameChars) ?? quoted(id),
      status: textOf(wire.status, SERVER_TEXT.nameChars),
      maintenanceModeState: textOf(wire.maintenanceModeState, SERVER_TEXT.nameChars),
      version: textOf(wire.version, SERVER_TEXT.nameChars),
    };
  });
}

const wireOrganization = v.looseObject({ id: optionalString, name: anything, officeName: anything });

/** Organizations (`/vN/Organizations`): named by `name` (else `officeName`, else the id); malformed items are skipped. */
export function parseOrganizationList(body: unknown): OrganizationInfo[] | undefined {
  return itemsOf(body, wireOrganization, ({ name, officeName }, id) => {
    return {
      id,
      name: textOf(name, SERVER_TEXT.nameChars) ?? textOf(officeName, SERVER_TEXT.nameChars) ?? quoted(id),
    };
  });
}

const wireJobSession = v.looseObject({
  id: optionalString,
  jobId: anything,
  status: anything,
  creationTime: anything,
  endTime: anything,
  jobWillBeRetried: anything,
});

/** Runs of jobs (`/vN/JobSessions`, a page in every version), in the server's order; malformed items are skipped. */
export function parseJobSessionList(body: unknown): JobSessionInfo[] | undefined {
  return itemsOf(body, wireJobSession, (wire, id) => {
    return {
      id,
      jobId: refIdOf(wire.jobId),
      status: textOf(wire.status, SERVER_TEXT.nameChars),
      creationTime: normaliseDate(wire.creationTime),
      endTime: normaliseDate(wire.endTime),
      ...(boolOf(wire.jobWillBeRetried) === null ? {} : { willBeRetried: boolOf(wire.jobWillBeRetried) }),
    };
  });
}

/**
 * `GET /v8/Health` (ASP.NET health checks): `{ status, entries: { <name>: { status, description } } }`, the entries as a
 * list in the server's order (at most `SERVER_TEXT.healthEntries`; one without a status is left out). `undefined` when
 * the body is not that shape (a 503 from something else, say).
 */
export function parseHealth(body: unknown): HealthReport | undefined {
  if (!isRecord(body)) return undefined;
  const status = textOf(body.status, SERVER_TEXT.nameChars);
  const rawEntries = body.entries;
  if (status === null || (rawEntries !== undefined && rawEntries !== null && !isRecord(rawEntries))) return undefined;
  const entries: HealthReport['entries'][number][] = [];
  for (const [name, entry] of Object.entries(rawEntries ?? {})) {
    if (entries.length >= SERVER_TEXT.healthEntries) break;
    const entryStatus = isRecord(entry) ? textOf(entry.status, SERVER_TEXT.nameChars) : null;
    if (!isRecord(entry) || entryStatus === null) continue;
    entries.push({
      name: cut(wellFormed(name), SERVER_TEXT.nameChars),
      status: entryStatus,
      description: textOf(entry.description, SERVER_TEXT.descriptionChars),
    });
  }
  return { status, entries };
}

/** `GET /vN/ServiceInstance`: `{ installationId, version }`; `undefined` when the body is not an object. */
export function parseServiceInstance(body: unknown): ServiceInstance | undefined {
  return isRecord(body) ? { version: textOf(body.version, SERVER_TEXT.nameChars) } : undefined;
}

/** Date-time as VB365 sends it: `2026-11-30T10:00:00Z`, with up to 7 fraction digits (.NET), an offset, or no zone. */
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?\s*(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * A date-time from the server as ISO-8601 UTC (`2026-11-30T10:00:00.000Z`), or `null` when absent, not a date-time, not
 * a calendar date, or before 1971: .NET sends `0001-01-01T00:00:00` (`DateTime.MinValue`) for "never".
 *
 * A time without a zone is taken as UTC: VB365 requires every one of its components to run on the same UTC clock, its
 * REST API serialises UTC `DateTime`s, and a zoneless value has no other zone to refer to (not this monitor's, which
 * runs in UTC anyway in Lambda). An offset (`+02:00`, older examples) is applied.
 */
export function normaliseDate(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const m = DATE_TIME.exec(raw.trim());
  if (!m) return null;
  const [, year, month, day, hour, minute, second = '00', fraction = '', zone] = m;
  if (Number(hour) > 23 || Number(minute) > 59 || Number(second) > 59) return null;
  const calendar = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day)));
  if (calendar.getUTCMonth() !== Number(month) - 1 || calendar.getUTCDate() !== Number(day)) return null;
  const offset = zone === undefined || zone.toUpperCase() === 'Z' ? 'Z' : `${zone.slice(0, 3)}:${zone.slice(-2)}`;
  const ms = Date.parse(
    `${year}-${month}-${day}T${hour}:${minute}:${second}.${fraction.padEnd(3, '0').slice(0, 3)}${offset}`,
  );
  if (!Number.isFinite(ms)) return null;
  const date = new Date(ms);
  return date.getUTCFullYear() < 1971 ? null : date.toISOString();
}

/** The items of a list body parsed one by one; an item `parse` refuses (or a hole) is skipped. */
function listOf<T>(body: unknown, parse: (item: unknown) => T | undefined): T[] | undefined {
  const items = pageItems(body);
  if (items === undefined) return undefined;
  const out: T[] = [];
  for (let index = 0; index < items.length; index++) {
    const parsed = parse(items[index]);
    if (parsed !== undefined) out.push(parsed);
  }
  return out;
}

/**
 * The items of a list body that match `schema` and carry a usable `id`, each built by `build`; the others are skipped
 * (malformed items never fail the list).
 */
function itemsOf<S extends v.GenericSchema<unknown, { readonly id?: string | null | undefined }>, T>(
  body: unknown,
  schema: S,
  build: (wire: v.InferOutput<S>, id: string) => T,
): T[] | undefined {
  return listOf(body, (item) => {
    const parsed = v.safeParse(schema, item);
    if (!parsed.success) return undefined;
    const id = usableId(parsed.output.id);
    return id === null ? undefined : build(parsed.output, id);
  });
}

/** An item's own id when it can be used as one (see {@link idProblem}); `null` otherwise. */
function usableId(raw: string | null | undefined): string | null {
  const id = nonEmpty(raw);
  return id === null || idProblem('id', id) !== undefined ? null : id;
}

/** Every digit zero: what .NET sends for "no such reference" (`Guid.Empty`). */
const EMPTY_GUID = /^0{8}-0{4}-0{4}-0{4}-0{12}$/;

/**
 * A reference to another item (a proxy, an organization, a job): the id, or `null` when absent, not a string, the empty
 * GUID, or unusable as an id. An unusable reference loses only itself, never the item that holds it.
 */
function refIdOf(raw: unknown): string | null {
  if (typeof raw !== 'string') return null;
  const id = nonEmpty(raw);
  return id === null || EMPTY_GUID.test(id) || idProblem('ref', id) !== undefined ? null : id;
}

/** Server text: well-formed and cut to `max`; `null` when absent, empty or not a string. */
function textOf(raw: unknown, max: number): string | null {
  return typeof raw === 'string' && raw.trim() !== '' ? cut(wellFormed(raw), max) : null;
}

/** A boolean, or `"true"`/`"false"` in any case; `null` otherwise. */
function boolOf(raw: unknown): boolean | null {
  return typeof raw === 'boolean' || typeof raw === 'string' ? toBool(raw) : null;
}

/** `convert(raw)`, or `undefined` when the server did not send the field at all. */
function ifPresent<T>(raw: unknown, convert: (raw: unknown) => T): T | undefined {
  return raw === undefined ? undefined : convert(raw);
}

/** The object without its `undefined` properties (fields a version does not have stay absent). */
function definedOnly<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, value]) => value !== undefined)) as T;
}

/** An id used as a display name: cut like any name (a usable id is at most `SERVER_TEXT.idBytes`, longer in chars). */
function quoted(id: string): string {
  return cut(id, SERVER_TEXT.nameChars);
}

function toBool(raw: boolean | string | null | undefined): boolean | null {
  if (typeof raw === 'boolean') return raw;
  if (typeof raw === 'string') {
    const s = raw.trim().toLowerCase();
    if (s === 'true') return true;
    if (s === 'false') return false;
  }
  return null;
}

function nonEmpty(s: string | null | undefined): string | null {
  return s === null || s === undefined || s.trim() === '' ? null : s;
}

const optionalStringOk = (x: unknown) => x === undefined || x === null || typeof x === 'string';

/**
 * Whether `input` is a session as `wireSession` accepts it, in the usual form (links objects with a string `href`, or
 * strings, under ordinary names): then valibot's output holds the same values, and `input` is used as it is.
 */
function isCommonSession(input: unknown): input is v.InferOutput<typeof wireSession> {
  if (!isRecord(input)) return false;
  const p = input.progressPercent;
  if (
    !optionalStringOk(input.id) ||
    !optionalStringOk(input.repositoryId) ||
    !optionalStringOk(input.state) ||
    !optionalStringOk(input.error) ||
    !(p === undefined || p === null || typeof p === 'number' || typeof p === 'string')
  ) {
    return false;
  }
  const links = input._links;
  if (links === undefined || links === null) return true;
  if (!isRecord(links)) return false;
  for (const name in links) {
    // valibot's record leaves these names out of its output.
    if (name === '__proto__' || name === 'constructor' || name === 'prototype' || !Object.hasOwn(links, name)) {
      return false;
    }
    const link = links[name];
    if (typeof link !== 'string' && !(isRecord(link) && typeof link.href === 'string')) return false;
  }
  return true;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}
