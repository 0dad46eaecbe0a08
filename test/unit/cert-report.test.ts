import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CertificateFacts, certificateReport, factsOf, type ServerCertificates } from '../../local/cli/cert.js';
import { generatePki, type TestPki } from '../../local/simulator/certs.js';

const NOW = new Date('2026-06-01T12:00:00Z');
const URL_ = new URL('https://127.0.0.1:4443');

let selfSigned: TestPki;
let issued: TestPki;
let expiring: TestPki;

beforeAll(async () => {
  selfSigned = await generatePki({ selfSigned: true, notBefore: new Date('2026-01-01T00:00:00Z'), validDays: 365 });
  issued = await generatePki({ caName: 'Contoso Issuing CA', notBefore: new Date('2026-01-01T00:00:00Z') });
  expiring = await generatePki({ selfSigned: true, notBefore: new Date('2025-06-11T12:00:00Z'), validDays: 365 });
});

const facts = (pem: string): CertificateFacts => factsOf(new X509Certificate(pem));

function seen(chain: CertificateFacts[], overrides: Partial<ServerCertificates> = {}): ServerCertificates {
  return {
    host: '127.0.0.1',
    port: 4443,
    protocol: 'TLSv1.3',
    chain,
    namesHost: true,
    trustedByDefault: false,
    verifyError: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    ...overrides,
  };
}

describe('certificateReport: what cert prints and writes', () => {
  it.each([
    {
      name: 'self-signed, naming the host: the certificate itself, as CA bundle or pin',
      make: () => seen([facts(selfSigned.serverCert)]),
      pem: () => selfSigned.serverCert,
      contains: [
        '  issuer      CN=vb365.local (self-signed)',
        'Wrote vb365-prod.pem: the certificate itself (self-signed: it is its own CA).',
        "To trust it, set one of these in the server's entry of the configuration:",
        "  caBundleFile: 'vb365-prod.pem',",
        '  npx vb365-sync-monitor run --server https://127.0.0.1:4443 --ca vb365-prod.pem',
      ],
      absent: ['(not caBundleFile'],
    },
    {
      name: 'self-signed, naming another host: the pin only, and why',
      make: () => seen([facts(selfSigned.serverCert)], { namesHost: false }),
      pem: () => selfSigned.serverCert,
      contains: [
        '(not 127.0.0.1)',
        '(not caBundleFile: it names DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, not 127.0.0.1',
        "To trust it, set this in the server's entry of the configuration:",
        '  npx vb365-sync-monitor run --server https://127.0.0.1:4443 --pin ',
      ],
      absent: ["  caBundleFile: '"],
    },
    {
      name: 'issued by a CA the server sends: the chain, trusted through the CA',
      make: () => seen([facts(issued.serverCert), facts(issued.caCert)], { verifyError: 'SELF_SIGNED_CERT_IN_CHAIN' }),
      pem: () => `${new X509Certificate(issued.serverCert).toString()}${new X509Certificate(issued.caCert).toString()}`,
      contains: [
        '  issuer      CN=Contoso Issuing CA',
        '  chain       the server sent 2 certificates: "CN=vb365.local" <- "CN=Contoso Issuing CA"',
        'the chain as presented: the server certificate, then the CA "CN=Contoso Issuing CA"; as a CA bundle it trusts that CA',
        "  caBundleFile: 'vb365-prod.pem',",
      ],
      absent: ['(not caBundleFile'],
    },
    {
      name: 'issued by a CA the server does not send: the pin, and where to get the CA',
      make: () => seen([facts(issued.serverCert)], { verifyError: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }),
      pem: () => issued.serverCert,
      contains: [
        '  trusted     not without a CA bundle or a pin (UNABLE_TO_VERIFY_LEAF_SIGNATURE)',
        '(not caBundleFile: the server did not send the certificate of its issuing CA "CN=Contoso Issuing CA"',
      ],
      absent: ["  caBundleFile: '"],
    },
    {
      name: 'trusted by the bundled CAs: nothing to set',
      make: () => seen([facts(issued.serverCert)], { trustedByDefault: true, verifyError: undefined }),
      pem: () => issued.serverCert,
      contains: [
        "  trusted     yes, by Node's bundled CAs: no CA bundle and no pin needed",
        'Trusted as it is: the configuration needs no caBundleFile and no pinSha256.',
        '  npx vb365-sync-monitor run --server https://127.0.0.1:4443\n',
      ],
      absent: ["  caBundleFile: '", '--ca '],
    },
    {
      name: 'expiring in 10 days: says to renew it',
      make: () => seen([facts(expiring.serverCert)]),
      pem: () => expiring.serverCert,
      contains: [': 10 days left', 'It expires in 10 days: renew it on the VB365 server soon, then run cert again.'],
      absent: [],
    },
  ])('$name', ({ make, pem, contains, absent }) => {
    const report = certificateReport(URL_, make(), NOW, 'vb365-prod.pem');

    expect(report.pem.replace(/\r/g, '').trim()).toBe(pem().replace(/\r/g, '').trim());
    for (const text of contains) expect(report.text).toContain(text);
    for (const text of absent) expect(report.text).not.toContain(text);
    expect(report.text).toMatch(/^ {2}pinSha256: '[0-9A-F]{2}(:[0-9A-F]{2}){31}',$/m);
  });

  it('without --out: prints the PEM and names the file to save it as', () => {
    const report = certificateReport(URL_, seen([facts(selfSigned.serverCert)]), NOW, undefined);

    expect(report.text).toContain(
      `PEM: the certificate itself (self-signed: it is its own CA):\n${report.pem.trimEnd()}\n`,
    );
    expect(report.text).toContain("  caBundleFile: 'vb365.pem', // the PEM above, saved as vb365.pem");
  });

  it('an expired certificate: EXPIRED, days ago', () => {
    const report = certificateReport(
      URL_,
      seen([facts(expiring.serverCert)]),
      new Date('2026-07-01T12:00:00Z'),
      'x.pem',
    );

    expect(report.text).toContain('EXPIRED 20 days ago');
    expect(report.text).toContain(
      'It has EXPIRED: renew it on the VB365 server (REST API settings) before trusting it.',
    );
  });
});
