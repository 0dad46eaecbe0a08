/*
 * Checks of a server's connection settings (URL, CA bundle, certificate pin), shared by the configuration schema, the
 * Lambda's configuration, the CLI and the VB365 client. Pure functions: the synth loads them without any adapter.
 */

/** A PEM private-key block of any kind (`PRIVATE KEY`, `RSA PRIVATE KEY`, `EC PRIVATE KEY`, `ENCRYPTED PRIVATE KEY`, …). */
const PRIVATE_KEY_PEM = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/;

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
 * Why `pin` is not a usable SHA-256 fingerprint, with the fix; `undefined` when it is one. Names the length, since the
 * usual mistake is a SHA-1 fingerprint (20 bytes) copied from a certificate dialog.
 */
export function pinProblem(pin: string): string | undefined {
  if (normalisePin(pin) !== undefined) return undefined;
  const hex = pin
    .trim()
    .replace(/^sha256[:/]/i, '')
    .replace(/[\s:]/g, '');
  const fix = 'use the SHA-256 fingerprint: 32 bytes, 64 hex digits, colons optional';
  if (!/^[0-9A-Fa-f]*$/.test(hex) || hex.length % 2 !== 0) return `it is not hex bytes; ${fix}`;
  const bytes = hex.length / 2;
  return `it has ${bytes} byte${bytes === 1 ? '' : 's'}${bytes === 20 ? ' (a SHA-1 fingerprint?)' : ''}, not 32; ${fix}`;
}

/** Whether PEM text holds a private key, which has no place in a CA bundle (it would be deployed and logged as one). */
export function holdsPrivateKey(pem: string): boolean {
  return PRIVATE_KEY_PEM.test(pem);
}

/** Whether a URL points at this machine (`localhost`, `127.0.0.0/8`, `::1`). */
export function isLoopback(url: URL): boolean {
  return url.hostname === 'localhost' || url.hostname === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(url.hostname);
}

/**
 * Text quoting a URL, made safe to show: its userinfo (user name and password, everything between `scheme://` and the
 * last `@`) becomes `***`; the scheme and what follows the last `@` (normally the host) stay. Meant for text that may
 * not parse as a URL, which is exactly what an error message echoes: a password holding `/`, `?` or `#`
 * (`https://admin:pa/ss@vb:4443`) makes the URL unparseable, and where such userinfo ends cannot be told, so everything
 * up to the last `@` is masked (an `@` in a path hides the host as well; a VB365 URL has none). Text without a scheme
 * (`admin:pw@host`, `//admin:pw@host`) is masked the same way; text without `@` is returned as it is.
 */
export function withoutUserinfo(text: string): string {
  return text.replace(/^(\s*(?:[a-z][a-z0-9+.-]*:)?[\\/]*)[\s\S]*@/i, '$1***@');
}

/**
 * Why a server URL that parsed must still be refused for holding credentials, or `undefined`: `user:password@`, or an
 * `@` anywhere else, which no VB365 URL has and which is most likely a password holding `/` read as a path
 * (`https://admin:1234/x@vb` parses as host `admin`, port 1234, path `/x@vb`).
 */
export function credentialsInUrl(raw: string, url: URL): 'userinfo' | 'at-sign' | undefined {
  if (url.username !== '' || url.password !== '') return 'userinfo';
  return raw.includes('@') ? 'at-sign' : undefined;
}
