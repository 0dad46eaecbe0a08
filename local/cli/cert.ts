import { X509Certificate } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity, type DetailedPeerCertificate, connect as tlsConnect } from 'node:tls';
import { parseArgs } from 'node:util';
import { serverUrl, UsageError } from './cli-args.js';

/*
 * `vb365-sync-monitor cert`: what certificate a VB365 server presents, and how to trust it. The one read here that
 * trusts nothing: a TLS handshake, then the connection is closed. No HTTP request is made, so no credentials can be
 * sent (there are none to send: this module never reads them).
 */

export const CERT_USAGE = `usage: vb365-sync-monitor cert --server https://HOST:4443 [--out FILE]
  shows the certificate the VB365 REST API presents (subject, issuer, validity, names, SHA-256 fingerprint), writes
  its PEM, and prints the configuration lines and the --ca / --pin options that trust it. It only makes a TLS
  handshake: no HTTP request, no credentials sent, nothing trusted.
  --server URL   the REST API, https://HOST:4443
  --out FILE     write the PEM to FILE (default: print it)`;

/** A certificate as presented by a server, in the terms an admin meets it. */
export interface CertificateFacts {
  /** `CN=vb365.local` or the full subject on one line. */
  readonly subject: string;
  readonly issuer: string;
  readonly validFrom: Date;
  readonly validTo: Date;
  /** `DNS:vb365, IP Address:10.0.0.5`, or `''`. */
  readonly altNames: string;
  /** `AB:CD:…`, the form `pinSha256` and `--pin` take. */
  readonly fingerprint256: string;
  readonly selfSigned: boolean;
  readonly pem: string;
}

/** What one TLS handshake with the server showed. */
export interface ServerCertificates {
  readonly host: string;
  readonly port: number;
  /** `TLSv1.3`, … */
  readonly protocol: string;
  /** The server's certificate first, then its issuers as far as they are known (sent by the server). */
  readonly chain: readonly CertificateFacts[];
  /** Whether the certificate names the host of the URL (the host-name check a CA bundle relies on). */
  readonly namesHost: boolean;
  /** Verified by Node's bundled CAs and naming the host: trusted with no CA bundle and no pin. */
  readonly trustedByDefault: boolean;
  /** OpenSSL's reason when the chain did not verify against Node's bundled CAs (`DEPTH_ZERO_SELF_SIGNED_CERT`, …). */
  readonly verifyError: string | undefined;
}

/** A read that failed: connection or handshake, with what to check. */
export class CertificateReadError extends Error {
  override readonly name = 'CertificateReadError';
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** Plain words for the failures of a TCP connection, with what to check. */
export const CONNECT_WORDS: Record<string, string> = {
  ECONNREFUSED:
    'connection refused: nothing listens on that port; check that the VB365 REST API is enabled and its service (Veeam.Archiver.REST.Service) runs, and the port (default 4443)',
  ECONNRESET: 'connection reset: a firewall or proxy may be closing it',
  ETIMEDOUT: 'no answer in time: a firewall drops the connection, or there is no route (VPN?)',
  EHOSTUNREACH: 'host unreachable: no route from this machine to the server',
  ENETUNREACH: 'network unreachable: no route from this machine to the server',
  ENOTFOUND: 'host name not found: check the name, or use the server address with --pin',
  EAI_AGAIN: 'host name lookup failed: check the DNS of this machine',
};

/**
 * Connects to `host:port`, makes a TLS handshake trusting nothing (`rejectUnauthorized: false`, only to see what is
 * presented) and closes the connection. Throws {@link CertificateReadError}.
 */
export function readServerCertificates(url: URL, timeoutMs = 10_000): Promise<ServerCertificates> {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(url.port) || 443;
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({
      host,
      port,
      ...(isIP(host) === 0 ? { servername: host } : {}),
      ALPNProtocols: ['http/1.1'],
      rejectUnauthorized: false,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new CertificateReadError(`${host}:${port}: ${CONNECT_WORDS.ETIMEDOUT} (${timeoutMs} ms)`, 'ETIMEDOUT'));
    }, timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      try {
        const peer = socket.getPeerCertificate(true);
        const chain = chainOf(peer);
        const namesHost = checkServerIdentity(host, peer) === undefined;
        const authorizationError = socket.authorizationError as unknown;
        const verifyError =
          authorizationError === null || authorizationError === undefined
            ? undefined
            : String((authorizationError as { code?: string }).code ?? authorizationError);
        if (chain.length === 0) throw new CertificateReadError(`${host}:${port} presented no certificate`, undefined);
        resolve({
          host,
          port,
          protocol: socket.getProtocol() ?? 'TLS',
          chain,
          namesHost,
          trustedByDefault: socket.authorized && namesHost,
          verifyError,
        });
      } catch (err) {
        reject(err);
      } finally {
        socket.end();
      }
    });
    socket.once('error', (err: Error & { code?: string }) => {
      clearTimeout(timer);
      const code = err.code;
      const tls = code?.startsWith('ERR_SSL_') || code === 'EPROTO' || code === 'ECONNRESET';
      reject(
        new CertificateReadError(
          code && CONNECT_WORDS[code] && !(tls && code === 'ECONNRESET')
            ? `${host}:${port}: ${CONNECT_WORDS[code]} (${code})`
            : tls
              ? `${host}:${port}: no TLS handshake (${code}): check that this port serves the VB365 REST API over HTTPS`
              : `${host}:${port}: ${code ?? err.message}`,
          code,
        ),
      );
    });
  });
}

/** The presented certificate and its issuers, leaf first, each once. */
function chainOf(peer: DetailedPeerCertificate): CertificateFacts[] {
  const chain: CertificateFacts[] = [];
  const seen = new Set<string>();
  for (
    let c: DetailedPeerCertificate | undefined = peer;
    c?.raw && !seen.has(c.fingerprint256);
    c = c.issuerCertificate
  ) {
    seen.add(c.fingerprint256);
    chain.push(factsOf(new X509Certificate(c.raw)));
  }
  return chain;
}

export function factsOf(x509: X509Certificate): CertificateFacts {
  return {
    subject: oneLineName(x509.subject),
    issuer: oneLineName(x509.issuer),
    validFrom: new Date(x509.validFrom),
    validTo: new Date(x509.validTo),
    altNames: x509.subjectAltName ?? '',
    fingerprint256: x509.fingerprint256,
    // Not checkIssued: it also wants keyCertSign, which VB365's self-signed certificate (a server certificate) lacks.
    selfSigned: x509.subject === x509.issuer && x509.verify(x509.publicKey),
    pem: x509.toString(),
  };
}

/** `CN=a\nO=b` (Node's form) as `CN=a, O=b`. */
function oneLineName(name: string): string {
  return name.split('\n').filter(Boolean).join(', ');
}

/** `2026-11-28 10:00 UTC`. */
export function utcMinute(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Whole days from `now` to `to` (negative once past). */
export function daysLeft(to: Date, now: Date): number {
  return Math.floor((to.getTime() - now.getTime()) / 86_400_000);
}

/** Which PEM to keep and what it is for. */
interface PemChoice {
  readonly pem: string;
  /** What the file holds. */
  readonly what: string;
  /** Whether, as a CA bundle (`caBundleFile`, `--ca`), it makes the certificate trusted at this URL. */
  readonly worksAsCaBundle: boolean;
  /** Why not, and what to do instead. */
  readonly why?: string;
}

function pemChoice(seen: ServerCertificates): PemChoice {
  const [leaf, ...issuers] = seen.chain as [CertificateFacts, ...CertificateFacts[]];
  const nameProblem = seen.namesHost
    ? undefined
    : `it names ${leaf.altNames || leaf.subject}, not ${seen.host}: with a CA bundle the host-name check would fail; pin it, or use a URL with a name it holds`;
  if (leaf.selfSigned) {
    return {
      pem: leaf.pem,
      what: 'the certificate itself (self-signed: it is its own CA)',
      worksAsCaBundle: seen.namesHost,
      ...(nameProblem ? { why: nameProblem } : {}),
    };
  }
  const top = issuers.at(-1);
  const pem = seen.chain.map((c) => c.pem).join('');
  if (top?.selfSigned) {
    return {
      pem,
      what: `the chain as presented: the server certificate, then ${issuers.length === 1 ? 'the CA' : 'its CAs up to the root'} "${top.subject}"; as a CA bundle it trusts that CA`,
      worksAsCaBundle: seen.namesHost,
      ...(nameProblem ? { why: nameProblem } : {}),
    };
  }
  return {
    pem,
    what: `the ${seen.chain.length === 1 ? 'server certificate' : 'chain as presented'} (issued by "${(issuers.at(-1) ?? leaf).issuer}", whose certificate the server did not send)`,
    worksAsCaBundle: seen.trustedByDefault,
    why: `the server did not send the certificate of its issuing CA "${(issuers.at(-1) ?? leaf).issuer}": for a CA bundle, get that certificate from whoever runs the CA (or the VB365 server's Windows certificate store); or pin the certificate`,
  };
}

/** The report `cert` prints, and the PEM to write. */
export function certificateReport(
  url: URL,
  seen: ServerCertificates,
  now: Date,
  out: string | undefined,
): { text: string; pem: string } {
  const [leaf] = seen.chain as [CertificateFacts];
  const left = daysLeft(leaf.validTo, now);
  const choice = pemChoice(seen);
  const origin = url.origin;
  const lines = [
    `Certificate of ${origin} (${seen.protocol}):`,
    `  subject     ${leaf.subject}`,
    `  issuer      ${leaf.selfSigned ? `${leaf.issuer} (self-signed)` : leaf.issuer}`,
    `  valid       ${utcMinute(leaf.validFrom)} to ${utcMinute(leaf.validTo)}: ${left < 0 ? `EXPIRED ${-left} days ago` : `${left} days left`}`,
    `  names       ${leaf.altNames || '(no alternative names)'}${seen.namesHost ? ` (${seen.host} is one of them)` : ` (not ${seen.host})`}`,
    `  SHA-256     ${leaf.fingerprint256}`,
    `  chain       the server sent ${seen.chain.length === 1 ? 'this certificate alone' : `${seen.chain.length} certificates: ${seen.chain.map((c) => `"${c.subject}"`).join(' <- ')}`}`,
    `  trusted     ${seen.trustedByDefault ? "yes, by Node's bundled CAs: no CA bundle and no pin needed" : `not without a CA bundle or a pin (${seen.verifyError ?? 'host name'})`}`,
    '',
    out ? `Wrote ${out}: ${choice.what}.` : `PEM: ${choice.what}:`,
  ];
  if (!out) lines.push(choice.pem.trimEnd());
  const file = out ?? 'vb365.pem';
  const pin = leaf.fingerprint256;
  const caBundle = choice.worksAsCaBundle && !seen.trustedByDefault;
  if (seen.trustedByDefault) {
    lines.push(
      '',
      'Trusted as it is: the configuration needs no caBundleFile and no pinSha256. To pin it all the same:',
    );
  } else
    lines.push(
      '',
      `To trust it, set ${caBundle ? 'one of these' : 'this'} in the server's entry of the configuration:`,
    );
  if (caBundle) lines.push(`  caBundleFile: '${file}',${out ? '' : ` // the PEM above, saved as ${file}`}`);
  lines.push(`  pinSha256: '${pin}',`);
  if (!choice.worksAsCaBundle && choice.why) lines.push(`(not caBundleFile: ${choice.why})`);
  const trust = caBundle ? `--ca ${file}` : seen.trustedByDefault ? '' : `--pin ${pin}`;
  lines.push(
    'and on the command line (doctor checks the rest: the login and the reads):',
    `  npx vb365-sync-monitor doctor --server ${origin} ${trust}`.trimEnd(),
    `  npx vb365-sync-monitor run --server ${origin} ${trust}`.trimEnd(),
  );
  if (caBundle) lines.push(`  (or --pin ${pin} instead of --ca ${file})`);
  if (left < 30)
    lines.push(
      '',
      left < 0
        ? 'It has EXPIRED: renew it on the VB365 server (REST API settings) before trusting it.'
        : `It expires in ${left} days: renew it on the VB365 server soon, then run cert again.`,
    );
  return { text: `${lines.join('\n')}\n`, pem: choice.pem };
}

/** `vb365-sync-monitor cert`. */
export async function certCommand(args: readonly string[], now: () => Date = () => new Date()): Promise<number> {
  let values: { server?: string; out?: string };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { server: { type: 'string' }, out: { type: 'string' } },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(`cert: ${(err as Error).message}`);
  }
  const problems: string[] = [];
  const url = serverUrl(values.server, problems);
  if (values.out === '') problems.push('--out needs a file name, e.g. --out vb365.pem');
  if (!url || problems.length > 0) throw new UsageError(`cert: ${problems.join('\n')}`);
  let seen: ServerCertificates;
  try {
    seen = await readServerCertificates(url);
  } catch (err) {
    if (!(err instanceof CertificateReadError)) throw err;
    process.stderr.write(`vb365-sync-monitor: cert: ${err.message}\n`);
    return 1;
  }
  const report = certificateReport(url, seen, now(), values.out);
  if (values.out) writeFileSync(values.out, report.pem);
  process.stdout.write(report.text);
  return 0;
}
