import { describe, expect, it } from 'vitest';
import { SERVER_TEXT } from '../../lambda/adapters/limits.js';
import {
  normaliseDate,
  normaliseProgress,
  normaliseState,
  parseHealth,
  parseJobList,
  parseJobSessionList,
  parseOrganizationList,
  parseProxyList,
  parseRepository,
  parseRepositoryList,
  parseServiceInstance,
  parseSession,
  parseSessionList,
  resolveLinks,
} from '../../lambda/adapters/vb365/wire.js';

const BASE = 'https://vb365.example:4443/';
const SID = '6f0c1b5e-3a52-4f43-9d4e-6f0e0a4f6d11';
const RID = 'a1d5c0e2-9b7f-4e5c-8f3a-2c9b1e7d4a60';

describe('normaliseState', () => {
  it.each([
    ['Synchronizing', 'Synchronizing'],
    ['synchronizing', 'Synchronizing'],
    [' FAILED ', 'Failed'],
    ['None', 'None'],
    ['Queued', 'Queued'],
    ['PartiallySynchronized', 'PartiallySynchronized'],
    ['', null],
    ['   ', null],
    [null, null],
    [undefined, null],
  ])('maps %j to %j', (raw, expected) => {
    expect(normaliseState(raw)).toBe(expected);
  });
});

describe('normaliseProgress', () => {
  it.each([
    [35, 35],
    [0, 0],
    [100, 100],
    [42.5, 42.5],
    ['35', 35],
    [' 35.5 ', 35.5],
    ['35%', 35],
    [-3, 0],
    [140, 100],
    ['250', 100],
    ['abc', null],
    ['', null],
    [Number.NaN, null],
    [Number.POSITIVE_INFINITY, null],
    [null, null],
    [undefined, null],
  ])('maps %j to %j', (raw, expected) => {
    expect(normaliseProgress(raw as number | string | null | undefined)).toBe(expected);
  });
});

describe('resolveLinks', () => {
  it('resolves absolute (v5) and relative (v6+) hrefs against the server and drops unusable ones', () => {
    const links = resolveLinks(
      {
        self: { href: `https://other.example:4443/v5/RepositorySynchronizeSessions/${SID}` },
        repository: { href: `/v6/backuprepositories/${RID}` },
        empty: { href: null },
        missing: null,
        plain: '/v8/BackupRepositories',
      },
      BASE,
    );

    expect(links).toEqual({
      self: `https://other.example:4443/v5/RepositorySynchronizeSessions/${SID}`,
      repository: `https://vb365.example:4443/v6/backuprepositories/${RID}`,
      plain: 'https://vb365.example:4443/v8/BackupRepositories',
    });
  });
});

describe('parseSession', () => {
  it('parses a v6+ session with relative links and error text', () => {
    const result = parseSession(
      {
        id: SID,
        repositoryId: RID,
        state: 'Failed',
        progressPercent: 61,
        error: 'Object storage is not available',
        _links: { self: { href: `/v6/RepositorySynchronizeSessions/${SID}` } },
      },
      BASE,
    );

    expect(result).toEqual({
      ok: true,
      value: {
        id: SID,
        repositoryId: RID,
        state: 'Failed',
        progressPercent: 61,
        error: 'Object storage is not available',
        links: { self: `https://vb365.example:4443/v6/RepositorySynchronizeSessions/${SID}` },
      },
    });
  });

  it('takes the id from the self link and the repository from its link when the fields are missing', () => {
    const result = parseSession(
      {
        state: 'Synchronizing',
        progressPercent: '12',
        _links: {
          self: { href: `https://h:4443/v5/RepositorySynchronizeSessions/${SID}` },
          repository: { href: `https://h:4443/v5/BackupRepositories/${RID}` },
        },
      },
      BASE,
    );

    expect(result.ok && result.value).toMatchObject({ id: SID, repositoryId: RID, progressPercent: 12, error: null });
  });

  it('uses the requested id when a single-session body has none (v5 GET)', () => {
    const result = parseSession({ repositoryId: RID, state: 'Synchronizing', progressPercent: '0' }, BASE, SID);

    expect(result.ok && result.value.id).toBe(SID);
  });

  it('accepts every field null', () => {
    const result = parseSession(
      { id: SID, repositoryId: null, state: null, progressPercent: null, error: null, _links: null },
      BASE,
    );

    expect(result).toEqual({
      ok: true,
      value: { id: SID, repositoryId: null, state: null, progressPercent: null, error: null, links: {} },
    });
  });

  it.each([
    ['a string', 'not an object', 'expected Object'],
    ['a number state', { id: SID, state: 3 }, 'state'],
    ['an object progress', { id: SID, progressPercent: { value: 3 } }, 'progressPercent'],
    ['no id at all', { state: 'Synchronizing' }, 'id: missing'],
  ])('reports %s as malformed with the field named', (_label, input, fragment) => {
    const result = parseSession(input, BASE);

    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain(fragment);
  });
});

describe('parseSessionList', () => {
  it('accepts a JSON array', () => {
    const list = parseSessionList([{ id: SID, state: 'Synchronizing' }], BASE);

    expect(list?.sessions.map((s) => s.id)).toEqual([SID]);
  });

  it('accepts a bare object as a list of one (v4–v6 doc examples)', () => {
    const list = parseSessionList({ id: SID, state: 'Synchronizing', progressPercent: 3 }, BASE);

    expect(list?.sessions).toHaveLength(1);
  });

  it('accepts a page with results', () => {
    const list = parseSessionList({ offset: 0, limit: 30, results: [{ id: SID }] }, BASE);

    expect(list?.sessions).toHaveLength(1);
  });

  it('treats null as an empty list and rejects a scalar', () => {
    expect(parseSessionList(null, BASE)).toEqual({ sessions: [], malformed: [] });
    expect(parseSessionList(42, BASE)).toBeUndefined();
  });

  it('skips and reports malformed items and duplicates; the rest survive', () => {
    const list = parseSessionList(
      [
        { id: 'a', state: 'Synchronizing' },
        'garbage',
        { id: 'b', state: { nested: true } },
        { id: 'c', state: 'Failed', error: 'boom' },
        { id: 'A', state: 'Synchronizing' },
      ],
      BASE,
    );

    expect(list?.sessions.map((s) => s.id)).toEqual(['a', 'c']);
    expect(list?.malformed.map((m) => [m.index, m.id])).toEqual([
      [1, null],
      [2, 'b'],
      [4, 'A'],
    ]);
  });
});

describe('parseRepository', () => {
  it.each([
    [
      { id: RID, name: 'S3 Archive', isOutOfSync: true },
      { id: RID, name: 'S3 Archive', isOutOfSync: true },
    ],
    [
      { name: 'Wasabi', isOutOfSync: 'false' },
      { id: RID, name: 'Wasabi', isOutOfSync: false },
    ],
    [
      { id: RID, name: '', isOutOfSync: null },
      { id: RID, name: null, isOutOfSync: null },
    ],
    [
      { id: RID, name: 'x', isOutOfSync: 'maybe' },
      { id: RID, name: 'x', isOutOfSync: null },
    ],
  ])('parses %j', (input, expected) => {
    expect(parseRepository(input, RID)).toEqual({ ok: true, value: expected });
  });

  it('reports a repository whose name is not a string', () => {
    expect(parseRepository({ id: RID, name: 7 }, RID).ok).toBe(false);
  });
});

describe('bounds on server text', () => {
  it('cuts a 300 KB error to 4,096 characters ending with an ellipsis', () => {
    const result = parseSession(
      { id: SID, state: 'Failed', error: `Object storage refused: ${'x'.repeat(300_000)}` },
      BASE,
    );

    const error = result.ok ? result.value.error : null;
    expect(error).toHaveLength(SERVER_TEXT.errorChars);
    expect(error?.startsWith('Object storage refused: xxx')).toBe(true);
    expect(error?.endsWith('…')).toBe(true);
  });

  it('keeps an error of exactly 4,096 characters as it is', () => {
    const text = 'e'.repeat(4_096);

    const result = parseSession({ id: SID, state: 'Failed', error: text }, BASE);

    expect(result.ok && result.value.error).toBe(text);
  });

  it('never splits a surrogate pair when cutting', () => {
    const result = parseSession({ id: SID, state: 'Failed', error: '☁️😀'.repeat(3_000) }, BASE);

    const error = (result.ok && result.value.error) || '';
    expect(error.length).toBeLessThanOrEqual(SERVER_TEXT.errorChars);
    expect(error).not.toMatch(/[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  });

  it('cuts an unknown state value and a repository name to 256 characters', () => {
    const session = parseSession({ id: SID, state: `Queued${'q'.repeat(2_000)}` }, BASE);
    const repository = parseRepository({ id: RID, name: `Archive ${'n'.repeat(5_000)}` }, RID);

    expect(session.ok && session.value.state?.length).toBe(SERVER_TEXT.nameChars);
    expect(repository.ok && repository.value.name?.length).toBe(SERVER_TEXT.nameChars);
    expect(repository.ok && repository.value.name?.endsWith('…')).toBe(true);
  });

  it('reports a 2,000-character session id as malformed, quoting it cut, and keeps the rest of the list', () => {
    const longId = 'L'.repeat(2_000);

    const list = parseSessionList(
      [
        { id: longId, state: 'Synchronizing' },
        { id: SID, state: 'Synchronizing' },
      ],
      BASE,
    );

    expect(list?.sessions.map((s) => s.id)).toEqual([SID]);
    expect(list?.malformed).toHaveLength(1);
    expect(list?.malformed[0]?.index).toBe(0);
    expect(list?.malformed[0]?.reason).toMatch(/^id: 2000 characters \(2000 bytes\), over the 256-byte limit/);
    expect(list?.malformed[0]?.id?.length).toBeLessThanOrEqual(SERVER_TEXT.quotedIdChars);
  });

  it('counts an id in UTF-8 bytes: 100 four-byte characters are over the limit', () => {
    const result = parseSession({ id: '😀'.repeat(100), state: 'Synchronizing' }, BASE);

    expect(result.ok).toBe(false);
  });

  it('reports a session whose repositoryId is over the id limit as malformed', () => {
    const result = parseSession({ id: SID, repositoryId: 'r'.repeat(1_025), state: 'Synchronizing' }, BASE);

    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(/^repositoryId: 1025 characters/);
  });

  it('skips repositories and jobs whose id is over the id limit, and cuts job names', () => {
    const repositories = parseRepositoryList([
      { id: 'R'.repeat(2_000), name: 'huge' },
      { id: RID, name: 'ok' },
    ]);
    const jobs = parseJobList([
      { id: 'J'.repeat(2_000), name: 'huge', repositoryId: RID },
      { id: 'j1', name: `Nightly ${'n'.repeat(1_000)}`, repositoryId: RID },
      { id: 'j2', name: 'other', repositoryId: 'R'.repeat(2_000) },
    ]);

    expect(repositories?.map((r) => r.id)).toEqual([RID]);
    expect(parseRepository({ id: 'R'.repeat(2_000) }, RID).ok).toBe(false);
    expect(jobs?.map((j) => j.id)).toEqual(['j1']);
    expect(jobs?.[0]?.name).toHaveLength(SERVER_TEXT.nameChars);
  });

  it('drops an href over 2,048 characters and keeps at most 16 links', () => {
    const links = resolveLinks(
      {
        self: { href: `/v6/RepositorySynchronizeSessions/${'a'.repeat(3_000)}` },
        ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`l${i}`, `/v8/x/${i}`])),
      },
      BASE,
    );

    expect(links.self).toBeUndefined();
    expect(Object.keys(links)).toHaveLength(SERVER_TEXT.linksPerItem);
  });

  it('cuts the reason of a malformed item', () => {
    const result = parseSession({ id: SID, state: { [`k${'k'.repeat(5_000)}`]: 1 }, progressPercent: [] }, BASE);

    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason.length).toBeLessThanOrEqual(SERVER_TEXT.reasonChars);
  });
});

describe('malformed links', () => {
  const badSelf = { state: 'Synchronizing', _links: { self: { href: '/v6/RepositorySynchronizeSessions/%E0%A4%A' } } };

  it('reports a session whose only id is a self link with a malformed escape, and keeps the rest of the list', () => {
    const list = parseSessionList([badSelf, { id: SID, state: 'Synchronizing' }], BASE);

    expect(list?.sessions.map((s) => s.id)).toEqual([SID]);
    expect(list?.malformed).toEqual([
      { index: 0, id: null, reason: 'id: missing, and no self link names the session' },
    ]);
  });

  it('leaves the repository unknown when its link has a malformed escape', () => {
    const result = parseSession(
      { id: SID, state: 'Synchronizing', _links: { repository: { href: '/v6/backuprepositories/%zz' } } },
      BASE,
    );

    expect(result.ok && result.value.repositoryId).toBeNull();
  });
});

describe('lone UTF-16 surrogates from the server', () => {
  it('reports a session whose id or repositoryId holds a lone surrogate as malformed, and keeps the rest of the list', () => {
    const list = parseSessionList(
      [
        { id: 's\uD800', state: 'Synchronizing' },
        { id: SID, repositoryId: 'r\uD800', state: 'Synchronizing' },
        { id: 'fine', repositoryId: RID, state: 'Synchronizing' },
      ],
      BASE,
    );

    expect(list?.sessions.map((s) => s.id)).toEqual(['fine']);
    expect(list?.malformed).toEqual([
      { index: 0, id: 's\uFFFD', reason: expect.stringMatching(/^id: holds a lone UTF-16 surrogate/) },
      { index: 1, id: SID, reason: expect.stringMatching(/^repositoryId: holds a lone UTF-16 surrogate/) },
    ]);
  });

  it('replaces lone surrogates in error, state and link names with U+FFFD', () => {
    const result = parseSession(
      {
        id: SID,
        state: 'Pending\uDC00',
        error: 'disk \uD83D full \uD83D\uDE00',
        _links: { 'self\uD800': { href: `/v6/RepositorySynchronizeSessions/${SID}` } },
      },
      BASE,
    );

    expect(result.ok && result.value.error).toBe('disk \uFFFD full 😀');
    expect(result.ok && result.value.state).toBe('Pending\uFFFD');
    expect(result.ok && Object.keys(result.value.links)).toEqual(['self\uFFFD']);
  });

  it('drops an href holding a lone surrogate, so no id is read from a repaired link', () => {
    const result = parseSession(
      { state: 'Synchronizing', _links: { self: { href: '/v6/RepositorySynchronizeSessions/s\uD800' } } },
      BASE,
    );

    expect(result).toEqual({ ok: false, id: null, reason: 'id: missing, and no self link names the session' });
  });

  it('quotes a malformed item well-formed, reason included', () => {
    const result = parseSession({ id: 'x\uDBFF', progressPercent: { 'k\uD800': 1 } }, BASE);

    expect(result).toEqual({ ok: false, id: 'x\uFFFD', reason: expect.stringContaining('progressPercent') });
    expect(!result.ok && result.reason).not.toMatch(/[\uD800-\uDFFF]/);
  });

  it('skips repositories and jobs whose id holds a lone surrogate, and repairs their names', () => {
    const repositories = parseRepositoryList([
      { id: 'R\uD800', name: 'bad' },
      { id: RID, name: 'Ok \uDC00' },
    ]);
    const jobs = parseJobList([
      { id: 'J\uD800', name: 'bad', repositoryId: RID },
      { id: 'j1', name: 'Nightly \uD800', repositoryId: RID },
      { id: 'j2', name: 'other', repositoryId: 'R\uDFFF' },
    ]);

    expect(repositories).toEqual([{ id: RID, name: 'Ok \uFFFD', isOutOfSync: null }]);
    expect(parseRepository({ id: 'R\uD800' }, RID)).toMatchObject({ ok: false, id: 'R\uFFFD' });
    expect(jobs?.map((j) => [j.id, j.name])).toEqual([['j1', 'Nightly \uFFFD']]);
  });
});

describe('normaliseDate', () => {
  it.each([
    ['2026-11-30T10:00:00Z', '2026-11-30T10:00:00.000Z'],
    ['2026-11-30T10:00:00.1234567Z', '2026-11-30T10:00:00.123Z'],
    ['2026-11-30T10:00:00', '2026-11-30T10:00:00.000Z'],
    ['2026-11-30T10:00', '2026-11-30T10:00:00.000Z'],
    ['2026-11-30 10:00:00', '2026-11-30T10:00:00.000Z'],
    ['2026-11-30T12:00:00+02:00', '2026-11-30T10:00:00.000Z'],
    ['2026-11-30T05:30:00-0430', '2026-11-30T10:00:00.000Z'],
    ['2026-12-01T00:30:00+01:00', '2026-11-30T23:30:00.000Z'],
    [' 2026-11-30T10:00:00z ', '2026-11-30T10:00:00.000Z'],
    ['0001-01-01T00:00:00', null],
    ['2026-02-30T10:00:00Z', null],
    ['2026-13-01T10:00:00Z', null],
    ['2026-11-30T24:00:00Z', null],
    ['30/11/2026 10:00', null],
    ['Mon, 30 Nov 2026 10:00:00 GMT', null],
    ['', null],
    [null, null],
    [1796032800000, null],
  ])('maps %j to %j', (raw, expected) => {
    expect(normaliseDate(raw)).toBe(expected);
  });
});

describe('parseRepository (v8 blocker fields)', () => {
  const PROXY = 'b1f0c3d2-1111-4a5b-8c6d-000000000001';
  it.each([
    [
      'v8 fields',
      {
        id: RID,
        name: 'S3',
        isOutOfSync: false,
        isOutdated: true,
        isOutOfOrder: true,
        outOfOrderReason: 'Bucket not found',
        isMigrationLocked: false,
        proxyId: PROXY,
        organizationId: null,
      },
      {
        id: RID,
        name: 'S3',
        isOutOfSync: false,
        isOutdated: true,
        isOutOfOrder: true,
        outOfOrderReason: 'Bucket not found',
        isMigrationLocked: false,
        proxyId: PROXY,
        organizationId: null,
      },
    ],
    [
      'v6/v7: absent fields stay absent',
      { id: RID, name: 'S3', isOutOfSync: true },
      { id: RID, name: 'S3', isOutOfSync: true },
    ],
    [
      'wrong types are unknown, not malformed',
      { id: RID, name: 'S3', isOutdated: 7, isOutOfOrder: 'TRUE', outOfOrderReason: ['x'], proxyId: 12 },
      {
        id: RID,
        name: 'S3',
        isOutOfSync: null,
        isOutdated: null,
        isOutOfOrder: true,
        outOfOrderReason: null,
        proxyId: null,
      },
    ],
    [
      'the empty GUID and an over-long id name nothing',
      { id: RID, name: 'S3', proxyId: '00000000-0000-0000-0000-000000000000', organizationId: 'O'.repeat(2_000) },
      { id: RID, name: 'S3', isOutOfSync: null, proxyId: null, organizationId: null },
    ],
  ])('%s', (_, input, expected) => {
    expect(parseRepository(input, RID)).toStrictEqual({ ok: true, value: expected });
  });

  it('cuts a long out-of-order reason and makes it well-formed', () => {
    const parsed = parseRepository({ id: RID, outOfOrderReason: `bad \uD800 ${'r'.repeat(10_000)}` }, RID);

    const reason = parsed.ok ? parsed.value.outOfOrderReason : undefined;
    expect(reason).toHaveLength(SERVER_TEXT.errorChars);
    expect(reason?.startsWith('bad \uFFFD ')).toBe(true);
  });
});

describe('parseJobList (schedule)', () => {
  it.each([
    [
      'backup',
      {
        id: 'j1',
        name: 'Nightly',
        repositoryId: RID,
        nextRun: '2026-12-01T02:00:00Z',
        lastRun: null,
        lastStatus: 'Warning',
      },
      { nextRun: '2026-12-01T02:00:00.000Z', lastRun: null, lastStatus: 'Warning', kind: 'backup' },
    ],
    [
      'copy',
      { id: 'c1', name: 'Copy', repositoryId: RID, nextRun: 'soon', lastRun: '2026-11-30T02:00:00', lastStatus: 3 },
      { nextRun: null, lastRun: '2026-11-30T02:00:00.000Z', lastStatus: null, kind: 'copy' },
    ],
  ] as const)('reads a %s job schedule leniently', (kind, input, expected) => {
    expect(parseJobList([input], kind)?.[0]).toMatchObject(expected);
  });
});

describe('parseProxyList', () => {
  const PID = 'b1f0c3d2-1111-4a5b-8c6d-000000000001';
  it.each([
    [
      'v8',
      { id: PID, hostName: 'proxy-01', status: 'Online', maintenanceModeState: 'Enabling', version: '8.1.0.305' },
      { id: PID, name: 'proxy-01', status: 'Online', maintenanceModeState: 'Enabling', version: '8.1.0.305' },
    ],
    [
      'v6/v7',
      { id: PID, hostName: 'proxy-01', status: 'Offline', port: 9193 },
      { id: PID, name: 'proxy-01', status: 'Offline', maintenanceModeState: null, version: null },
    ],
    [
      'no host name',
      { id: PID, fqdn: 'proxy-01.corp.example', status: 'SomethingNew' },
      { id: PID, name: 'proxy-01.corp.example', status: 'SomethingNew', maintenanceModeState: null, version: null },
    ],
    ['no name at all', { id: PID }, { id: PID, name: PID, status: null, maintenanceModeState: null, version: null }],
  ])('parses %s', (_, input, expected) => {
    expect(parseProxyList({ offset: 0, limit: 100, results: [input] })).toEqual([expected]);
  });

  it('skips items without a usable id, and rejects a body that is not a list', () => {
    expect(
      parseProxyList([{ hostName: 'x' }, { id: 7 }, { id: 'p\uD800' }, 'x', { id: 'ok' }])?.map((p) => p.id),
    ).toEqual(['ok']);
    expect(parseProxyList({ results: 'nope' })).toBeUndefined();
  });
});

describe('parseOrganizationList', () => {
  it.each([
    [
      { id: 'o1', name: 'Contoso', officeName: 'contoso.onmicrosoft.com' },
      { id: 'o1', name: 'Contoso' },
    ],
    [
      { id: 'o1', name: '', officeName: 'contoso.onmicrosoft.com' },
      { id: 'o1', name: 'contoso.onmicrosoft.com' },
    ],
    [{ id: 'o1' }, { id: 'o1', name: 'o1' }],
    [
      { id: 'o1', name: 'n'.repeat(1_000) },
      { id: 'o1', name: `${'n'.repeat(SERVER_TEXT.nameChars - 1)}…` },
    ],
  ])('parses %j', (input, expected) => {
    expect(parseOrganizationList([input])).toEqual([expected]);
  });
});

describe('parseJobSessionList', () => {
  it.each([
    [
      {
        id: 's1',
        jobId: 'j1',
        status: 'Success',
        creationTime: '2026-11-30T10:00:00Z',
        endTime: '2026-11-30T10:05:00Z',
      },
      {
        id: 's1',
        jobId: 'j1',
        status: 'Success',
        creationTime: '2026-11-30T10:00:00.000Z',
        endTime: '2026-11-30T10:05:00.000Z',
      },
    ],
    [
      { id: 's2', status: 'Running', creationTime: '2026-11-30T11:00:00+01:00', endTime: null },
      { id: 's2', jobId: null, status: 'Running', creationTime: '2026-11-30T10:00:00.000Z', endTime: null },
    ],
    [
      { id: 's3', jobId: 42, status: null, creationTime: 'now' },
      { id: 's3', jobId: null, status: null, creationTime: null, endTime: null },
    ],
    [
      { id: 's4', status: 'Failed', creationTime: null, endTime: null, jobWillBeRetried: true },
      { id: 's4', jobId: null, status: 'Failed', creationTime: null, endTime: null, willBeRetried: true },
    ],
  ])('parses %j', (input, expected) => {
    expect(parseJobSessionList({ results: [input] })).toEqual([expected]);
  });

  it('skips items without a usable id', () => {
    expect(
      parseJobSessionList([{ status: 'Success' }, { id: 'x'.repeat(300) }, { id: 'ok' }])?.map((s) => s.id),
    ).toEqual(['ok']);
  });
});

describe('parseHealth', () => {
  it.each([
    [
      'Healthy, entries in server order',
      {
        status: 'Healthy',
        entries: { PostgreSQL: { status: 'Healthy' }, NATS: { status: 'Healthy', description: '' } },
      },
      {
        status: 'Healthy',
        entries: [
          { name: 'PostgreSQL', status: 'Healthy', description: null },
          { name: 'NATS', status: 'Healthy', description: null },
        ],
      },
    ],
    [
      'Unhealthy with a description; an entry without a status left out',
      {
        status: 'Unhealthy',
        totalDuration: '00:00:01',
        entries: { PostgreSQL: { status: 'Unhealthy', description: 'connection refused' }, Broken: 'x', Other: {} },
      },
      {
        status: 'Unhealthy',
        entries: [{ name: 'PostgreSQL', status: 'Unhealthy', description: 'connection refused' }],
      },
    ],
    ['no entries', { status: 'Degraded' }, { status: 'Degraded', entries: [] }],
    ['no status: not a report', { entries: {} }, undefined],
    ['entries not a map: not a report', { status: 'Healthy', entries: [] }, undefined],
    ['an error body: not a report', { message: 'Service Unavailable' }, undefined],
    ['not an object', 'Healthy', undefined],
  ])('%s', (_, input, expected) => {
    expect(parseHealth(input)).toEqual(expected);
  });

  it('bounds the entries, their names and descriptions', () => {
    const entries = Object.fromEntries(
      Array.from({ length: 100 }, (_, i) => [
        `${'n'.repeat(300)}${i}`,
        { status: 'Healthy', description: 'd'.repeat(5_000) },
      ]),
    );

    const report = parseHealth({ status: 'Healthy', entries });

    expect(report?.entries).toHaveLength(SERVER_TEXT.healthEntries);
    expect(report?.entries[0]?.name).toHaveLength(SERVER_TEXT.nameChars);
    expect(report?.entries[0]?.description).toHaveLength(SERVER_TEXT.descriptionChars);
  });
});

describe('parseServiceInstance', () => {
  it.each([
    [{ installationId: RID, version: '8.1.0.305' }, { version: '8.1.0.305' }],
    [{ installationId: RID }, { version: null }],
    [{ version: 8 }, { version: null }],
    [[], undefined],
    [null, undefined],
  ])('parses %j', (input, expected) => {
    expect(parseServiceInstance(input)).toEqual(expected);
  });
});
