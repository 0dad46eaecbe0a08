import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generatePki, type PkiOptions } from '../../local/simulator/certs.js';
import { startSimulator, type Vb365Simulator } from '../../local/simulator/simulator.js';
import { type CliRun, cli, STACK_LINE } from '../support/cli-process.js';

let sim: Vb365Simulator | undefined;
const dir = mkdtempSync(join(tmpdir(), 'vb365-doctor-'));

afterEach(async () => {
  await sim?.close();
  sim = undefined;
});

/** A simulator with two repositories and one running session; `chain` serves the CA certificate after its own. */
async function simulator(pki: PkiOptions & { chain?: boolean } = {}): Promise<Vb365Simulator> {
  const generated = await generatePki(pki);
  sim = await startSimulator({
    pki: pki.chain ? { ...generated, serverCert: `${generated.serverCert.trimEnd()}\n${generated.caCert}` } : generated,
    scenario: {
      name: 'doctor',
      repositories: [
        { id: 'r1', name: 'S3 Archive', isOutOfSync: true },
        { id: 'r2', name: 'Wasabi', isOutOfSync: false },
      ],
      steps: [],
    },
  });
  sim.apply([{ op: 'start', session: 's1', repository: 'r1', progress: 40 }]);
  return sim;
}

const creds = (s: Vb365Simulator, password = s.password) => ({ VB365_USERNAME: s.username, VB365_PASSWORD: password });

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** `name → status` of each check line, in order. */
function checks(run: CliRun): [string, string][] {
  return run.stdout
    .split('\n')
    .map((l) => /^(DNS|TCP|TLS|API version|token|session list|repositories)\s+(ok|FAILED|skipped)\b/.exec(l))
    .filter((m) => m !== null)
    .map((m) => [m[1] as string, m[2] as string]);
}

const ALL_OK = [
  ['DNS', 'ok'],
  ['TCP', 'ok'],
  ['TLS', 'ok'],
  ['API version', 'ok'],
  ['token', 'ok'],
  ['session list', 'ok'],
  ['repositories', 'ok'],
];

/** The statuses when `failed` fails: ok before it, skipped after. */
function failingAt(failed: string): [string, string][] {
  const at = ALL_OK.findIndex(([name]) => name === failed);
  return ALL_OK.map(([name], i) => [name as string, i < at ? 'ok' : i === at ? 'FAILED' : 'skipped']);
}

/** Nothing secret in what the command printed: not the password, not a token the simulator issued. */
function expectNoSecrets(run: CliRun, s: Vb365Simulator, password = s.password): void {
  const output = run.stdout + run.stderr;
  expect(output).not.toContain(password);
  for (const token of s.issuedTokens()) expect(output).not.toContain(token);
  expect(output).not.toMatch(STACK_LINE);
}

describe('vb365-sync-monitor doctor', () => {
  it('passes every check in order against a server trusted by its CA, printing the certificate and what it read', async () => {
    const s = await simulator();
    const ca = file('ca.pem', s.pki.caCert);

    const run = await cli(['doctor', '--server', s.url, '--ca', ca], creds(s));

    expect(run.code).toBe(0);
    expect(checks(run)).toEqual(ALL_OK);
    expect(run.stdout).toContain(`trusted by --ca ${ca}`);
    expect(run.stdout).toContain(`SHA-256 ${s.pki.serverFingerprint256}`);
    expect(run.stdout).toMatch(/valid until \d{4}-\d\d-\d\d \d\d:\d\d UTC \(36\d days left\)/);
    expect(run.stdout).toMatch(/^API version\s+ok\s+v8/m);
    expect(run.stdout).toContain(`password grant accepted for ${s.username}`);
    expect(run.stdout).toMatch(/^session list\s+ok\s+1 sync session listed \(Synchronizing 1\)/m);
    expect(run.stdout).toMatch(/^repositories\s+ok\s+2 backup repositories read, 1 out of sync: S3 Archive, Wasabi/m);
    expect(run.stdout).toContain('all 7 checks passed');
    expect(s.issuedTokens().length).toBeGreaterThan(0);
    expectNoSecrets(run, s);
  });

  it('stops at the token with the fix when the password is wrong, never printing it', async () => {
    const s = await simulator();
    const ca = file('ca-wrong-password.pem', s.pki.caCert);

    const run = await cli(['doctor', '--server', s.url, '--ca', ca], creds(s, 'Wrong-Password-987'));

    expect(run.code).toBe(1);
    expect(checks(run)).toEqual(failingAt('token'));
    expect(run.stdout).toMatch(/^token\s+FAILED\s+POST \/v8\/token \(password grant\) refused: invalid_grant/m);
    expect(run.stdout).toContain('fix: the server refused the user name or the password: check VB365_USERNAME');
    expect(run.stderr).toMatch(/^vb365-sync-monitor: doctor: the token check failed: the server refused/);
    expect(s.counters.listSessions).toBe(0);
    expectNoSecrets(run, s, 'Wrong-Password-987');
  });

  it.each([
    ['a CA that did not issue it', 'wrong-ca', /refused \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/],
    ['no CA bundle and no pin', 'none', /refused \(UNABLE_TO_VERIFY_LEAF_SIGNATURE\)/],
    [
      'a pin of another certificate',
      'wrong-pin',
      /does not match --pin [0-9A-F:]+: the server presents SHA-256 [0-9A-F:]{95}\./,
    ],
  ])('stops at TLS, before any request, when the certificate is not trusted: %s', async (_, trust, reason) => {
    const s = await simulator();
    const other = await generatePki({ caName: 'another CA' });
    const args =
      trust === 'wrong-ca'
        ? ['--ca', file('other-ca.pem', other.caCert)]
        : trust === 'wrong-pin'
          ? ['--pin', other.serverFingerprint256]
          : [];

    const run = await cli(['doctor', '--server', s.url, ...args], creds(s));

    expect(run.code).toBe(1);
    expect(checks(run)).toEqual(failingAt('TLS'));
    expect(run.stdout).toMatch(/^TLS\s+FAILED\s+TLSv1\.3, NOT TRUSTED/m);
    expect(run.stdout).toContain(`SHA-256 ${s.pki.serverFingerprint256}`);
    expect(run.stdout).toMatch(reason);
    expect(run.stdout).toContain(`vb365-sync-monitor cert --server ${s.url} --out vb365.pem`);
    // The monitor's connector refused it in the handshake: not one HTTP request, so no credentials sent.
    expect(s.totalRequests).toBe(0);
    expectNoSecrets(run, s);
  });

  it('trusts a self-signed certificate by its pin alone, and by itself as the CA bundle', async () => {
    const s = await simulator({ selfSigned: true });
    const self = file('self-signed.pem', s.pki.serverCert);

    const pinned = await cli(['doctor', '--server', s.url, '--pin', s.pki.serverFingerprint256], creds(s));
    const bundled = await cli(['doctor', '--server', s.url, '--ca', self], creds(s));

    expect([pinned.code, bundled.code]).toEqual([0, 0]);
    expect(checks(pinned)).toEqual(ALL_OK);
    expect(checks(bundled)).toEqual(ALL_OK);
    expect(pinned.stdout).toContain('trusted by the pin');
    expect(pinned.stdout).toContain('certificate CN=vb365.local (self-signed)');
  });

  it('stops at TCP when nothing listens on the port', async () => {
    const s = await simulator();
    const { url } = s;
    await s.close();
    sim = undefined;

    const run = await cli(['doctor', '--server', url, '--pin', 'ab'.repeat(32)], { VB365_PASSWORD: 'x' });

    expect(run.code).toBe(1);
    expect(checks(run)).toEqual(failingAt('TCP'));
    expect(run.stdout).toMatch(/^TCP\s+FAILED\s+127\.0\.0\.1:\d+: connection refused \(ECONNREFUSED\)/m);
    expect(run.stdout).toContain('Veeam.Archiver.REST.Service');
    expect(run.stderr).not.toMatch(STACK_LINE);
  });

  it('stops at DNS for a name that does not resolve', async () => {
    const run = await cli(['doctor', '--server', 'https://vb365.invalid:4443'], {});

    expect(run.code).toBe(1);
    expect(checks(run)).toEqual(failingAt('DNS'));
    expect(run.stdout).toMatch(/^DNS\s+FAILED\s+vb365\.invalid: /m);
  });

  it('checks the network and TLS without credentials, then says how to set them in bash and PowerShell', async () => {
    const s = await simulator();
    const ca = file('ca-no-credentials.pem', s.pki.caCert);

    const run = await cli(['doctor', '--server', s.url, '--ca', ca], {
      VB365_USERNAME: undefined,
      VB365_PASSWORD: undefined,
    });

    expect(run.code).toBe(1);
    expect(checks(run)).toEqual(failingAt('token'));
    expect(run.stdout).toContain('VB365_USERNAME and VB365_PASSWORD are not set');
    expect(run.stdout).toContain("$env:VB365_USERNAME = 'CONTOSO\\svc-vb365-monitor'");
    expect(s.counters.token).toBe(0);
  });
});

describe('vb365-sync-monitor cert', () => {
  it('self-signed: prints the certificate, writes it, and what it prints trusts it (--ca and --pin)', async () => {
    const s = await simulator({ selfSigned: true });
    const out = join(dir, 'vb365-self.pem');

    const run = await cli(['cert', '--server', s.url, '--out', out]);
    const requestsByCert = s.totalRequests;
    const pin = /^ {2}pinSha256: '([0-9A-F:]+)',$/m.exec(run.stdout)?.[1];
    const byCa = await cli(['doctor', '--server', s.url, '--ca', out], creds(s));
    const byPin = await cli(['doctor', '--server', s.url, '--pin', pin ?? '-'], creds(s));

    expect(run.code).toBe(0);
    expect(requestsByCert).toBe(0);
    expect(run.stdout).toMatch(/^ {2}subject\s+CN=vb365\.local$/m);
    expect(run.stdout).toMatch(/^ {2}issuer\s+CN=vb365\.local \(self-signed\)$/m);
    expect(run.stdout).toMatch(
      /^ {2}valid\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC to \d{4}-\d\d-\d\d \d\d:\d\d UTC: 36\d days left$/m,
    );
    expect(run.stdout).toMatch(
      /^ {2}names\s+DNS:localhost, IP Address:127\.0\.0\.1.* \(127\.0\.0\.1 is one of them\)$/m,
    );
    expect(run.stdout).toContain(`SHA-256     ${s.pki.serverFingerprint256}`);
    expect(run.stdout).toContain(`  caBundleFile: '${out}',`);
    expect(run.stdout).toContain(`  npx vb365-sync-monitor run --server ${s.url} --ca ${out}`);
    expect(pin).toBe(s.pki.serverFingerprint256);
    expect(new X509Certificate(readFileSync(out)).fingerprint256).toBe(s.pki.serverFingerprint256);
    expect([byCa.code, byPin.code]).toEqual([0, 0]);
  });

  it('a CA that sends its chain: writes the chain, which trusts the server as a CA bundle', async () => {
    const s = await simulator({ chain: true, caName: 'Contoso Issuing CA' });
    const out = join(dir, 'vb365-chain.pem');

    const run = await cli(['cert', '--server', s.url, '--out', out]);
    const requestsByCert = s.totalRequests;
    const byCa = await cli(['doctor', '--server', s.url, '--ca', out], creds(s));

    expect(run.code).toBe(0);
    expect(requestsByCert).toBe(0);
    expect(run.stdout).toMatch(/^ {2}issuer\s+CN=Contoso Issuing CA$/m);
    expect(run.stdout).toContain('the server sent 2 certificates: "CN=vb365.local" <- "CN=Contoso Issuing CA"');
    expect(run.stdout).toContain('the chain as presented: the server certificate, then the CA "CN=Contoso Issuing CA"');
    expect(readFileSync(out, 'utf8').match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(2);
    expect(byCa.code).toBe(0);
    expect(checks(byCa)).toEqual(ALL_OK);
  });

  it('a CA that does not send its certificate: says so, and offers the pin, which works', async () => {
    const s = await simulator({ caName: 'Contoso Issuing CA' });

    const run = await cli(['cert', '--server', s.url]);
    const pin = /^ {2}pinSha256: '([0-9A-F:]+)',$/m.exec(run.stdout)?.[1];
    const byPin = await cli(['doctor', '--server', s.url, '--pin', pin ?? '-'], creds(s));

    expect(run.code).toBe(0);
    expect(run.stdout).toContain('-----BEGIN CERTIFICATE-----');
    expect(run.stdout).not.toMatch(/^ {2}caBundleFile:/m);
    expect(run.stdout).toContain('the server did not send the certificate of its issuing CA "CN=Contoso Issuing CA"');
    expect(byPin.code).toBe(0);
  });

  it('a certificate naming another host (VB365 reached by IP): only the pin, which works', async () => {
    const s = await simulator({ selfSigned: true, hosts: ['vb365-prod.corp.example'] });

    const run = await cli(['cert', '--server', s.url, '--out', join(dir, 'other-name.pem')]);
    const pin = /^ {2}pinSha256: '([0-9A-F:]+)',$/m.exec(run.stdout)?.[1];
    const byPin = await cli(['doctor', '--server', s.url, '--pin', pin ?? '-'], creds(s));

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^ {2}names\s+DNS:vb365-prod\.corp\.example \(not 127\.0\.0\.1\)$/m);
    expect(run.stdout).not.toMatch(/^ {2}caBundleFile:/m);
    expect(run.stdout).toContain('with a CA bundle the host-name check would fail');
    expect(byPin.code).toBe(0);
  });

  it('exits 1 with one line when nothing listens there', async () => {
    const s = await simulator();
    const { url } = s;
    await s.close();
    sim = undefined;

    const run = await cli(['cert', '--server', url]);

    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^vb365-sync-monitor: cert: 127\.0\.0\.1:\d+: connection refused: nothing listens/);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});
