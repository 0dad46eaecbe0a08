import { readFileSync } from 'node:fs';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';

/** Error code of a certificate that verifies against the CA but is not the pinned one. */
export const PIN_MISMATCH_CODE = 'ERR_VB365_CERT_PIN_MISMATCH';

/**
 * Normalises a SHA-256 certificate fingerprint to upper-case hex with colons (Node's `fingerprint256` format).
 * Accepts `AB:CD:…`, `abcd…`, or either prefixed with `sha256:`/`sha256/`. Returns `undefined` when it is not
 * 32 bytes of hex.
 */
export function normalisePin(pin: string): string | undefined {
  const hex = pin
    .trim()
    .replace(/^sha256[:/]/i, '')
    .replace(/[\s:]/g, '')
    .toUpperCase();
  if (!/^[0-9A-F]{64}$/.test(hex)) return undefined;
  return hex.match(/../g)?.join(':');
}

/**
 * `checkServerIdentity` for TLS connect options. Chain verification stays on in every case (the CA bundle decides
 * trust). Without a pin the usual host-name check applies. With a pin, the leaf certificate must be exactly the pinned
 * one, and that identity check replaces the host-name check: VB365's self-generated certificate names the Windows
 * host, which often differs from the address the monitor uses.
 */
export function serverIdentityCheck(pin: string | undefined) {
  const expected = pin === undefined ? undefined : normalisePin(pin);
  if (pin !== undefined && expected === undefined) {
    throw new Error('certificate pin must be a SHA-256 fingerprint: 64 hex digits, colons optional');
  }
  return (host: string, cert: PeerCertificate): Error | undefined => {
    if (expected === undefined) return checkServerIdentity(host, cert);
    if (cert.fingerprint256?.toUpperCase() === expected) return undefined;
    return Object.assign(
      new Error(`server certificate SHA-256 ${cert.fingerprint256 ?? '(none)'} does not match the pinned ${expected}`),
      { code: PIN_MISMATCH_CODE },
    );
  };
}

/**
 * A CA bundle given either as PEM text or as the path of a PEM file. Throws a clear error when the file cannot be read
 * or holds no certificate.
 */
export function loadCaBundle(pemOrPath: string): string {
  const pem = pemOrPath.includes('-----BEGIN') ? pemOrPath : readPem(pemOrPath);
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

/** Whether a URL points at this machine (`localhost`, `127.0.0.0/8`, `::1`). */
export function isLoopback(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
}
