import { X509Certificate } from 'node:crypto';
import { generate } from 'selfsigned';

/** A CA and a server certificate it signed, as PEM, plus the server certificate's SHA-256 fingerprint (for pins). */
export interface TestPki {
  readonly caCert: string;
  readonly serverKey: string;
  readonly serverCert: string;
  /** `AB:CD:…`, Node's `fingerprint256` format. */
  readonly serverFingerprint256: string;
}

/**
 * Generates a throw-away CA and a server certificate for `localhost`, `127.0.0.1` and `::1` (EC P-256, SHA-256),
 * the way a VB365 server with an internal CA would present itself. About 50 ms.
 */
export async function generatePki(options: { commonName?: string; validDays?: number } = {}): Promise<TestPki> {
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + (options.validDays ?? 365) * 86_400_000);
  const ca = await generate([{ name: 'commonName', value: 'vb365-simulator test CA' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const server = await generate([{ name: 'commonName', value: options.commonName ?? 'vb365.local' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return {
    caCert: ca.cert,
    serverKey: server.private,
    serverCert: server.cert,
    serverFingerprint256: new X509Certificate(server.cert).fingerprint256,
  };
}
