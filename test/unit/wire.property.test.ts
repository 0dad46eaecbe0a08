import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isWellFormed, SERVER_TEXT, utf8Bytes, wellFormed } from '../../lambda/adapters/limits.js';
import {
  normaliseProgress,
  normaliseState,
  pageItems,
  parseJobList,
  parseRepository,
  parseRepositoryList,
  parseSession,
  parseSessionList,
} from '../../lambda/adapters/vb365/wire.js';
import type { JobInfo, RepositoryInfo, SessionList, SyncSession } from '../../lambda/domain/types.js';

/*
 * Whatever a server sends, the parsers never throw, and everything they return respects SERVER_TEXT and is well-formed
 * UTF-16 (no lone surrogate, which no AWS service can be sent): anything at all (fc.anything, fc.jsonValue), and valid
 * payloads with one field mutated (long, odd Unicode, lone surrogates, wrong type, broken percent-escapes in links), so
 * the interesting cases come up often.
 */

const BASE = 'https://vb365.example:4443/';
const RUNS = { numRuns: 400 };

/** Strings mixing lone high and low surrogates, surrogate pairs and ASCII, in any order. */
const surrogates = fc.string({
  unit: fc.constantFrom('\uD800', '\uDBFF', '\uDC00', '\uDFFF', '😀', 'r', '-'),
  maxLength: 12,
});

/** Strings biased towards the bounds: short, just over a limit, very long, any code unit (lone surrogates too). */
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  surrogates,
  fc.constantFrom('r\uD800', '\uDC00', `${'é'.repeat(SERVER_TEXT.nameChars - 1)}\uD83D`),
  fc.string({ unit: 'grapheme', maxLength: 50 }),
  fc
    .tuple(
      fc.constantFrom('x', 'é', '😀', '"', '\n', '%'),
      fc.constantFrom(255, 256, 257, 1_024, 1_025, 4_096, 4_097, 20_000),
    )
    .map(([c, n]) => c.repeat(n)),
);

/** hrefs with percent signs in every position, relative and absolute, and over-long ones. */
const href = fc.oneof(
  fc
    .array(fc.constantFrom('%', '%E0', '%A4', '%A', '%zz', '%25', 'a', '/', '-', '😀', '..', '?', '#'), {
      maxLength: 12,
    })
    .map((parts) => `/v6/RepositorySynchronizeSessions/${parts.join('')}`),
  fc
    .array(fc.constantFrom('%', '%E0%A4%A', 'b', '/'), { maxLength: 8 })
    .map((parts) => `https://h:4443/v5/BackupRepositories/${parts.join('')}`),
  surrogates.map((id) => `/v6/RepositorySynchronizeSessions/${id}`),
  text,
  fc.webUrl(),
);

const links = fc.dictionary(
  fc.oneof(fc.constantFrom('self', 'repository', '__proto__', 'constructor'), fc.string(), surrogates),
  fc.oneof(fc.record({ href: fc.oneof(href, fc.constant(null)) }), href, fc.constant(null), fc.jsonValue()),
  { maxKeys: 24 },
);

const validSession = fc.record({
  id: fc.uuid(),
  repositoryId: fc.uuid(),
  state: fc.constantFrom('Synchronizing', 'Failed', 'None'),
  progressPercent: fc.integer({ min: 0, max: 100 }),
  error: fc.constantFrom(null, 'Object storage is not available'),
  _links: fc.constant({}),
});

const fieldValue = fc.oneof(text, href, fc.jsonValue(), fc.anything(), links, fc.constant(undefined));

/** A valid session with fields replaced, added or removed. */
const mutatedSession = fc
  .tuple(
    validSession,
    fc.array(
      fc.tuple(
        fc.constantFrom('id', 'repositoryId', 'state', 'progressPercent', 'error', '_links', 'extra'),
        fieldValue,
      ),
      { maxLength: 4 },
    ),
  )
  .map(([session, mutations]) => {
    const out: Record<string, unknown> = { ...session };
    for (const [field, value] of mutations) {
      if (value === undefined) delete out[field];
      else out[field] = value;
    }
    return out;
  });

const mutatedRepository = fc
  .tuple(
    fc.record({ id: fc.uuid(), name: fc.string(), isOutOfSync: fc.boolean() }),
    fc.array(fc.tuple(fc.constantFrom('id', 'name', 'isOutOfSync', '_links'), fieldValue), { maxLength: 3 }),
  )
  .map(([repository, mutations]) => {
    const out: Record<string, unknown> = { ...repository };
    for (const [field, value] of mutations) out[field] = value;
    return out;
  });

const mutatedJob = fc
  .tuple(
    fc.record({ id: fc.uuid(), name: fc.string(), repositoryId: fc.uuid(), isEnabled: fc.boolean() }),
    fc.array(fc.tuple(fc.constantFrom('id', 'name', 'repositoryId', 'isEnabled'), fieldValue), { maxLength: 3 }),
  )
  .map(([job, mutations]) => {
    const out: Record<string, unknown> = { ...job };
    for (const [field, value] of mutations) out[field] = value;
    return out;
  });

/** A list body in every shape a server might send: an array, a v8 page, a bare object, or anything at all. */
function listBody(item: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.array(item, { maxLength: 8 }),
    fc.record({ offset: fc.nat(), limit: fc.nat(), results: fc.array(item, { maxLength: 8 }) }),
    item,
    fc.jsonValue(),
    fc.anything(),
    fc.anything({
      withNullPrototype: true,
      withBoxedValues: true,
      withSparseArray: true,
      withBigInt: true,
      withDate: true,
      withMap: true,
      withSet: true,
      withTypedArray: true,
    }),
  );
}

/** `String.prototype.toWellFormed` (Node 20; ES2024, beyond the project's `lib`): the reference `wellFormed` must match. */
function toWellFormed(s: string): string {
  return (s as string & { toWellFormed(): string }).toWellFormed();
}

/** Every string in `value`, keys included, is well-formed: `str === str.toWellFormed()`. */
function expectWellFormed(value: unknown): void {
  if (typeof value === 'string') expect(value).toBe(toWellFormed(value));
  else if (typeof value === 'object' && value !== null) {
    for (const [key, v] of Object.entries(value)) {
      expect(key).toBe(toWellFormed(key));
      expectWellFormed(v);
    }
  }
}

function idWithinBounds(id: string | null): boolean {
  return id === null || (id.trim() !== '' && utf8Bytes(id) <= SERVER_TEXT.idBytes);
}

function expectBoundedSession(s: SyncSession): void {
  expectWellFormed(s);
  expect(s.id.trim()).not.toBe('');
  expect(idWithinBounds(s.id)).toBe(true);
  expect(idWithinBounds(s.repositoryId)).toBe(true);
  if (s.state !== null) expect(s.state.length).toBeLessThanOrEqual(SERVER_TEXT.nameChars);
  if (s.error !== null) expect(s.error.length).toBeLessThanOrEqual(SERVER_TEXT.errorChars);
  if (s.progressPercent !== null) expect(s.progressPercent >= 0 && s.progressPercent <= 100).toBe(true);
  expect(Object.keys(s.links).length).toBeLessThanOrEqual(SERVER_TEXT.linksPerItem);
  for (const [name, url] of Object.entries(s.links)) {
    expect(name.length).toBeLessThanOrEqual(SERVER_TEXT.nameChars);
    expect(() => new URL(url)).not.toThrow();
  }
}

function expectBoundedList(list: SessionList, items: number): void {
  for (const s of list.sessions) expectBoundedSession(s);
  expect(list.sessions.length + list.malformed.length).toBe(items);
  for (const m of list.malformed) {
    expectWellFormed(m);
    expect(m.index >= 0 && m.index < items).toBe(true);
    expect(m.reason.length).toBeLessThanOrEqual(SERVER_TEXT.reasonChars);
    if (m.id !== null) expect(m.id.length).toBeLessThanOrEqual(SERVER_TEXT.quotedIdChars);
  }
}

function expectBoundedRepository(r: RepositoryInfo): void {
  expectWellFormed(r);
  expect(idWithinBounds(r.id)).toBe(true);
  if (r.name !== null) expect(r.name.length).toBeLessThanOrEqual(SERVER_TEXT.nameChars);
}

function expectBoundedJob(j: JobInfo): void {
  expectWellFormed(j);
  expect(idWithinBounds(j.id)).toBe(true);
  expect(idWithinBounds(j.repositoryId)).toBe(true);
  expect(j.name.length).toBeLessThanOrEqual(SERVER_TEXT.nameChars);
}

/** What a list parser saw as items (the same rule as `parseSessionList`). */
function itemCount(body: unknown): number {
  if (Array.isArray(body)) return body.length;
  if (typeof body === 'object' && body !== null && Array.isArray((body as { results?: unknown }).results)) {
    return (body as { results: unknown[] }).results.length;
  }
  return body === null ? 0 : 1;
}

describe('wire parsers on arbitrary input', () => {
  it('parseSessionList never throws and returns only bounded sessions, every item accounted for', () => {
    fc.assert(
      fc.property(listBody(fc.oneof(mutatedSession, fc.jsonValue())), (body) => {
        const list = parseSessionList(body, BASE);

        if (list === undefined) {
          expect(typeof body !== 'object' || body === null).toBe(true);
          return;
        }
        expectBoundedList(list, itemCount(body));
      }),
      RUNS,
    );
  });

  it('parseSession never throws; a result is bounded, a failure has a bounded reason', () => {
    fc.assert(
      fc.property(
        fc.oneof(mutatedSession, fc.jsonValue(), fc.anything()),
        fc.option(fc.uuid(), { nil: undefined }),
        (input, fallbackId) => {
          const result = parseSession(input, BASE, fallbackId);

          if (result.ok) expectBoundedSession(result.value);
          else {
            expectWellFormed(result);
            expect(result.reason.length).toBeLessThanOrEqual(SERVER_TEXT.reasonChars);
            if (result.id !== null) expect(result.id.length).toBeLessThanOrEqual(SERVER_TEXT.quotedIdChars);
          }
        },
      ),
      RUNS,
    );
  });

  it('parseRepository and parseRepositoryList never throw and return only bounded repositories', () => {
    fc.assert(
      fc.property(listBody(fc.oneof(mutatedRepository, fc.jsonValue())), fc.uuid(), (body, requestedId) => {
        const one = parseRepository(body, requestedId);
        const list = parseRepositoryList(body);

        if (one.ok) expectBoundedRepository(one.value);
        else {
          expectWellFormed(one);
          expect(one.reason.length).toBeLessThanOrEqual(SERVER_TEXT.reasonChars);
        }
        if (list === undefined) expect(pageItems(body)).toBeUndefined();
        else {
          expect(list.length).toBeLessThanOrEqual(itemCount(body));
          for (const r of list) expectBoundedRepository(r);
        }
      }),
      RUNS,
    );
  });

  it('parseJobList never throws and returns only bounded jobs', () => {
    fc.assert(
      fc.property(listBody(fc.oneof(mutatedJob, fc.jsonValue())), (body) => {
        const jobs = parseJobList(body);

        if (jobs === undefined) expect(pageItems(body)).toBeUndefined();
        else for (const j of jobs) expectBoundedJob(j);
      }),
      RUNS,
    );
  });

  it('normaliseState and normaliseProgress never throw and stay in range', () => {
    fc.assert(
      fc.property(fc.oneof(text, fc.constant(null), fc.constant(undefined)), fc.oneof(text, fc.double()), (s, p) => {
        const state = normaliseState(s);
        const progress = normaliseProgress(p);

        if (state !== null) expect(state.length).toBeLessThanOrEqual(SERVER_TEXT.nameChars);
        expectWellFormed(state);
        if (progress !== null) expect(progress >= 0 && progress <= 100).toBe(true);
      }),
      RUNS,
    );
  });

  it('wellFormed is String.prototype.toWellFormed, and isWellFormed says whether it changes anything', () => {
    fc.assert(
      fc.property(fc.oneof(text, surrogates), (s) => {
        const fixed = wellFormed(s);

        expect(fixed).toBe(toWellFormed(s));
        expect(isWellFormed(s)).toBe(fixed === s);
      }),
      RUNS,
    );
  });
});
