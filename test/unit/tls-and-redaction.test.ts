import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { Redactor } from '../../lambda/adapters/http/redact.js';
import { retryAfterMs } from '../../lambda/adapters/http/retry-policy.js';
import { loadCaBundle } from '../../lambda/adapters/vb365/tls.js';
import { credentialsInUrl, normalisePin, pinProblem, withoutUserinfo } from '../../lambda/connection-checks.js';

const HEX = 'ab'.repeat(32);
const COLONS = Array.from({ length: 32 }, () => 'AB').join(':');

describe('normalisePin', () => {
  it.each([
    [HEX, COLONS],
    [COLONS, COLONS],
    [`sha256:${HEX}`, COLONS],
    [`SHA256/${COLONS.toLowerCase()}`, COLONS],
    [` ${HEX} `, COLONS],
    ['ab'.repeat(20), undefined],
    ['zz'.repeat(32), undefined],
    ['', undefined],
  ])('normalises %j', (pin, expected) => {
    expect(normalisePin(pin)).toBe(expected);
  });
});

describe('pinProblem', () => {
  it('accepts 64 hex digits with or without colons, in any case', () => {
    expect([HEX, COLONS, COLONS.toLowerCase(), HEX.toUpperCase()].map(pinProblem)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
  });

  it.each([
    ['ab'.repeat(20), 'it has 20 bytes (a SHA-1 fingerprint?), not 32; use the SHA-256 fingerprint'],
    ['ab'.repeat(33), 'it has 33 bytes, not 32'],
    ['zz'.repeat(32), 'it is not hex bytes; use the SHA-256 fingerprint'],
    ['abc', 'it is not hex bytes'],
  ])('explains what is wrong with %j', (pin, expected) => {
    expect(pinProblem(pin)).toContain(expected);
  });
});

describe('withoutUserinfo', () => {
  it.each([
    ['https://admin:S3cret!@vb365:4443/api', 'https://***@vb365:4443/api'],
    ['https://admin:p@ss@vb365:4443', 'https://***@vb365:4443'],
    ['https://admin:pa ss@vb365:4443', 'https://***@vb365:4443'],
    ['https://admin@vb365:4443', 'https://***@vb365:4443'],
    // Unparseable: the password holds "/", "?" or "#", which would end the authority of a URL.
    ['https://admin:pa/ss@vb:4443', 'https://***@vb:4443'],
    ['https://admin:p?ss@vb:4443', 'https://***@vb:4443'],
    ['https://admin:p#ss@vb:4443', 'https://***@vb:4443'],
    // An "@" in a path cannot be told from a password holding "/": masked up to it too.
    ['https://vb365:4443/a@b', 'https://***@b'],
    [' https://admin:pw@vb', ' https://***@vb'],
    ['https:admin:pw@vb', 'https:***@vb'],
    ['//admin:pw@vb', '//***@vb'],
    ['admin:pa/ss@vb:4443', 'admin:***@vb:4443'],
    ['https://vb365:4443/api', 'https://vb365:4443/api'],
    ['not a url', 'not a url'],
  ])('shows %j as %j', (url, shown) => {
    expect(withoutUserinfo(url)).toBe(shown);
  });
});

describe('credentialsInUrl', () => {
  it.each([
    ['https://admin:pw@vb:4443', 'userinfo'],
    ['https://admin@vb:4443', 'userinfo'],
    // A password starting with digits and holding "/" parses as a port and a path.
    ['https://admin:1234/x@vb:4443', 'at-sign'],
    ['https://vb:4443/api?x=a@b', 'at-sign'],
    ['https://vb:4443/api', undefined],
  ])('finds credentials in %j: %j', (raw, expected) => {
    expect(credentialsInUrl(raw, new URL(raw))).toBe(expected);
  });
});

describe('loadCaBundle', () => {
  const pem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

  it('accepts PEM text and a PEM file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ca-'));
    writeFileSync(join(dir, 'ca.pem'), pem);

    expect(loadCaBundle(pem)).toBe(pem);
    expect(loadCaBundle(join(dir, 'ca.pem'))).toBe(pem);
  });

  it('throws naming the file when it cannot be read', () => {
    expect(() => loadCaBundle('/nonexistent/ca.pem')).toThrow(
      /cannot read CA bundle file \/nonexistent\/ca.pem: ENOENT/,
    );
  });

  it('throws on a bundle holding a private key, without quoting the key', () => {
    const key = '-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIKeySecretMaterial\n-----END EC PRIVATE KEY-----\n';

    let message = '';
    try {
      loadCaBundle(`${pem}${key}`);
    } catch (err) {
      message = (err as Error).message;
    }

    expect(message).toMatch(/^CA bundle holds a private key .*give only the certificates/);
    expect(message).not.toContain('KeySecretMaterial');
  });

  it('throws when the text holds no certificate', () => {
    expect(() => loadCaBundle('-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----')).toThrow(/no PEM certificate/);
  });
});

describe('Redactor', () => {
  it('removes registered secrets in plain, URL- and form-encoded form, and bearer values', () => {
    const r = new Redactor();
    r.add('p@ss word+1', 'tok', undefined, null);

    const out = r.text(
      'pw=p@ss word+1 enc=p%40ss%20word%2B1 form=p%40ss+word%2B1 short=tok Authorization: Bearer abc.def',
    );

    expect(out).toBe('pw=[redacted] enc=[redacted] form=[redacted] short=tok Authorization: Bearer [redacted]');
  });

  it('builds a cause that keeps name and code but no secret and no original object', () => {
    const r = new Redactor();
    r.add('hunter22');
    const original = Object.assign(new Error('login hunter22 failed'), {
      code: 'E_X',
      request: { headers: { authorization: 'Bearer hunter22' } },
    });

    const cause = r.cause(original);

    expect(cause).toMatchObject({ name: 'Error', code: 'E_X', message: 'login [redacted] failed' });
    expect(inspect(cause, { depth: 10 })).not.toContain('hunter22');
  });
});

describe('retryAfterMs', () => {
  const now = Date.parse('2026-11-28T10:00:00Z');

  it.each([
    ['3', 3000],
    ['0', 0],
    ['Sat, 28 Nov 2026 10:00:05 GMT', 5000],
    ['Sat, 28 Nov 2026 09:00:00 GMT', 0],
    ['soon', undefined],
    [undefined, undefined],
    [['2', '9'], 2000],
  ])('reads %j as %j ms', (header, expected) => {
    expect(retryAfterMs(header as string | string[] | undefined, now)).toBe(expected);
  });
});
