import { readFileSync } from 'node:fs';
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { checkServerIdentity, createSecureContext, type PeerCertificate, connect as tlsConnect } from 'node:tls';
import type { buildConnector } from 'undici';
import { holdsPrivateKey, normalisePin } from '../../connection-checks.js';

/** Error code of a certificate that is not the pinned one. */
export const PIN_MISMATCH_CODE = 'ERR_VB365_CERT_PIN_MISMATCH';

/**
 * A CA bundle given either as PEM text or as the path of a PEM file. Throws a clear error when the file cannot be read,
 * holds no certificate, or holds a private key (the error never quotes the key).
 */
export function loadCaBundle(pemOrPath: string): string {
  const pem = pemOrPath.includes('-----BEGIN') ? pemOrPath : readPem(pemOrPath);
  if (holdsPrivateKey(pem)) {
    throw new Error(
      'CA bundle holds a private key ("-----BEGIN … PRIVATE KEY-----"): give only the certificates, and treat that key as exposed',
    );
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new Error('CA bundle holds no PEM certificate ("-----BEGIN CERTIFICATE-----" block)');
  }
  return pem;
}

function readPem(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new Error(`cannot read CA bundle file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
}

/** What a server presented in the TLS handshake, kept to say what was refused and how to trust it. */
export interface PresentedCertificate {
  /** `AB:CD:…` */
  readonly fingerprint256: string;
  /** Subject common name, or `''`. */
  readonly subject: string;
  /** Issuer common name, or `''`. */
  readonly issuer: string;
  /** Subject alternative names as Node shows them (`DNS:vb365, IP Address:10.0.0.5`), or `''`. */
  readonly altNames: string;
  /** The host name or address the certificate was checked against (the URL's host). */
  readonly host: string;
  /**
   * Whether the certificate names {@link host} (`tls.checkServerIdentity`). When it does not, trusting its CA is not
   * enough (the host-name check fails next, `ERR_TLS_CERT_ALTNAME_INVALID`): only a pin trusts it at this address.
   */
  readonly namesHost: boolean;
  /** ISO 8601. */
  readonly validFrom: string;
  /** ISO 8601. */
  readonly validTo: string;
}

/**
 * A TLS connection refused while connecting (chain, host name, pin or validity), with the certificate the server
 * presented when there was one. Adapters turn it into a domain error.
 */
export class CertificateRefusedError extends Error {
  override readonly name = 'CertificateRefusedError';
  constructor(
    message: string,
    /** OpenSSL's verification code, Node's `ERR_TLS_*`, or {@link PIN_MISMATCH_CODE}. */
    readonly code: string,
    readonly presented: PresentedCertificate | undefined,
  ) {
    super(message);
  }
}

/** Options of {@link pinningConnector}. */
export interface PinningConnectorOptions {
  /** PEM CA bundle; when set, it is the whole trust store (Node's bundled roots are not used). */
  readonly ca?: string | undefined;
  /** SHA-256 fingerprint of the server's certificate (any format {@link normalisePin} accepts). */
  readonly pinSha256?: string | undefined;
  /** TCP connect plus TLS handshake. */
  readonly timeoutMs: number;
  /** Called with the server's certificate once every check passed, before the socket is handed over. */
  readonly onVerified?: (certificate: PeerCertificate) => void;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * An undici `connect` function that decides trust in the handshake, before undici gets the socket (so before any byte
 * of a request is written), whatever `NODE_TLS_REJECT_UNAUTHORIZED` says:
 *
 * - no pin: the chain must verify (against `ca`, or Node's bundled roots without it) and the certificate must name
 *   the host; `rejectUnauthorized: true` is explicit, so the variable cannot switch it off;
 * - `ca` and a pin: the chain must verify against `ca` and the certificate must be the pinned one; the pin replaces the
 *   host-name check (VB365's certificate names the Windows host, which often differs from the address used);
 * - a pin alone: the certificate must be the pinned one and be within its validity dates; nothing else is trusted.
 *   Chain verification cannot pass for a self-signed certificate or an unknown CA, so here alone OpenSSL's verdict
 *   is not enforced (`rejectUnauthorized: false`) and the fingerprint decides. That is safe: the handshake has proven
 *   that the server holds the private key of the certificate it presented (TLS checks that signature whatever the
 *   verification mode), and a SHA-256 fingerprint names exactly one certificate. A mismatch destroys the socket in the
 *   `secureConnect` handler, where undici has not been given it yet.
 *
 * Failed handshakes report {@link CertificateRefusedError} with the certificate the server presented (captured in the
 * `secure` event, ahead of Node's own check). Connections are not resumed from TLS sessions: every connection is a
 * full handshake, verified anew (the pool keeps connections alive, so this costs little). Plain `http:` origins
 * (development only; the client decides whether they are allowed) get a plain TCP socket.
 *
 * Throws a `TypeError` at once when the pin is not a SHA-256 fingerprint.
 */
export function pinningConnector(options: PinningConnectorOptions): buildConnector.connector {
  const pin = options.pinSha256 === undefined ? undefined : normalisePin(options.pinSha256);
  if (options.pinSha256 !== undefined && pin === undefined) {
    throw new TypeError('certificate pin must be a SHA-256 fingerprint: 64 hex digits, colons optional');
  }
  const pinAlone = pin !== undefined && options.ca === undefined;
  const now = options.now ?? Date.now;
  // The CA bundle parsed once, not at every connection (each cycle after an idle interval opens a new one): a context
  // holding only these CAs, as `ca` would give.
  const trusted = options.ca === undefined ? undefined : createSecureContext({ ca: options.ca });

  return ({ hostname, port, protocol, servername, localAddress }, callback) => {
    const host = hostname.replace(/^\[(.*)\]$/, '$1');
    // The name Node checks the certificate against: the SNI name, or the address itself.
    const identity = servername || host;
    let settled = false;
    let presented: PeerCertificate | undefined;
    const settle = (err: Error | null, socket: Socket | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) callback(err, null);
      else callback(null, socket as Socket);
    };

    let socket: Socket;
    let ready: string;
    if (protocol !== 'https:') {
      socket = netConnect({ host, port: Number(port) || 80, ...(localAddress ? { localAddress } : {}) });
      ready = 'connect';
    } else {
      const name = servername || (isIP(host) === 0 ? host : undefined);
      const tlsSocket = tlsConnect({
        host,
        port: Number(port) || 443,
        ...(name ? { servername: name } : {}),
        ...(localAddress ? { localAddress } : {}),
        ALPNProtocols: ['http/1.1'],
        ...(pinAlone
          ? { rejectUnauthorized: false }
          : {
              rejectUnauthorized: true,
              ...(trusted === undefined ? {} : { secureContext: trusted }),
              checkServerIdentity: pin === undefined ? checkServerIdentity : () => undefined,
            }),
      });
      // Prepended so it runs before Node's own verification, which destroys the socket (and its certificate) on failure.
      tlsSocket.prependOnceListener('secure', () => {
        presented = tlsSocket.getPeerCertificate();
      });
      tlsSocket.once('secureConnect', () => {
        const certificate = tlsSocket.getPeerCertificate();
        const refusal = pin === undefined ? undefined : pinRefusal(certificate, identity, pin, pinAlone, now());
        if (refusal) {
          tlsSocket.destroy();
          settle(refusal, null);
          return;
        }
        options.onVerified?.(certificate);
        settle(null, tlsSocket);
      });
      socket = tlsSocket;
      ready = 'secureConnect';
    }

    socket.setNoDelay(true).setKeepAlive(true, 60_000);
    const timer = setTimeout(() => {
      socket.destroy(
        Object.assign(new Error(`connect to ${host}:${port} timed out after ${options.timeoutMs} ms`), {
          code: 'UND_ERR_CONNECT_TIMEOUT',
        }),
      );
    }, options.timeoutMs);
    if (ready === 'connect') socket.once('connect', () => settle(null, socket));
    socket.on('error', (err: Error & { code?: string }) => {
      settle(
        presented && typeof err.code === 'string'
          ? new CertificateRefusedError(err.message, err.code, presentedCertificate(presented, identity))
          : err,
        null,
      );
    });
  };
}

function pinRefusal(
  certificate: PeerCertificate,
  host: string,
  pin: string,
  pinAlone: boolean,
  now: number,
): CertificateRefusedError | undefined {
  const presented = presentedCertificate(certificate, host);
  if (certificate.fingerprint256?.toUpperCase() !== pin) {
    return new CertificateRefusedError(
      `server certificate SHA-256 ${certificate.fingerprint256 ?? '(none)'} is not the pinned ${pin}`,
      PIN_MISMATCH_CODE,
      presented,
    );
  }
  // With a CA bundle OpenSSL checked the dates; a pin alone skips its verdict, so the dates are checked here.
  if (pinAlone && now > Date.parse(certificate.valid_to)) {
    return new CertificateRefusedError('pinned certificate has expired', 'CERT_HAS_EXPIRED', presented);
  }
  if (pinAlone && now < Date.parse(certificate.valid_from)) {
    return new CertificateRefusedError('pinned certificate is not valid yet', 'CERT_NOT_YET_VALID', presented);
  }
  return undefined;
}

function presentedCertificate(cert: PeerCertificate, host: string): PresentedCertificate | undefined {
  if (!cert.fingerprint256) return undefined;
  const iso = (date: string) => {
    const ms = Date.parse(date);
    return Number.isFinite(ms) ? new Date(ms).toISOString() : date;
  };
  return {
    fingerprint256: cert.fingerprint256,
    subject: firstOf(cert.subject?.CN),
    issuer: firstOf(cert.issuer?.CN),
    altNames: cert.subjectaltname ?? '',
    host,
    namesHost: checkServerIdentity(host, cert) === undefined,
    validFrom: iso(cert.valid_from),
    validTo: iso(cert.valid_to),
  };
}

function firstOf(value: string | string[] | undefined): string {
  return (Array.isArray(value) ? value[0] : value) ?? '';
}
