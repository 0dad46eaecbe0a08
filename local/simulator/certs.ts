import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { type CertificateExtension, generate } from 'selfsigned';

/** A CA and a server certificate it signed, as PEM, plus the server certificate's SHA-256 fingerprint (for pins). */
export interface TestPki {
  /** The CA's certificate; for a self-signed server certificate, that certificate itself. */
  readonly caCert: string;
  readonly serverKey: string;
  readonly serverCert: string;
  /** `AB:CD:…`, Node's `fingerprint256` format. */
  readonly serverFingerprint256: string;
}

/** Options of {@link generatePki}. */
export interface PkiOptions {
  /** Subject CN of the server certificate. @default 'vb365.local' */
  readonly commonName?: string;
  /** Host names and IP addresses the server certificate names. @default localhost, 127.0.0.1, ::1 */
  readonly hosts?: readonly string[];
  /** Subject CN of the CA (two CAs of one name are told apart by signature only). @default 'vb365-simulator test CA' */
  readonly caName?: string;
  /** A self-signed server certificate (VB365's default), no CA. @default false */
  readonly selfSigned?: boolean;
  /** Start of validity. @default a minute ago */
  readonly notBefore?: Date;
  /** Days of validity from `notBefore`. @default 365 */
  readonly validDays?: number;
}

/**
 * Generates a throw-away CA and a server certificate for `localhost`, `127.0.0.1` and `::1` (EC P-256, SHA-256),
 * the way a VB365 server with an internal CA would present itself, or a self-signed one as VB365 makes by default.
 * About 50 ms.
 */
export async function generatePki(options: PkiOptions = {}): Promise<TestPki> {
  const notBeforeDate = options.notBefore ?? new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + (options.validDays ?? 365) * 86_400_000);
  const altNames = (options.hosts ?? ['localhost', '127.0.0.1', '::1']).map((h) =>
    isIP(h) === 0 ? { type: 2 as const, value: h } : { type: 7 as const, ip: h },
  );
  const serverExtensions: CertificateExtension[] = [
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
  ];
  // Every certificate here: an EC P-256 key, SHA-256, the same validity.
  const keyAndValidity = { keyType: 'ec', curve: 'P-256', algorithm: 'sha256', notBeforeDate, notAfterDate } as const;
  const subject = [{ name: 'commonName', value: options.commonName ?? 'vb365.local' }];
  if (options.selfSigned) {
    const server = await generate(subject, {
      ...keyAndValidity,
      extensions: serverExtensions,
    });
    return {
      caCert: server.cert,
      serverKey: server.private,
      serverCert: server.cert,
      serverFingerprint256: new X509Certificate(server.cert).fingerprint256,
    };
  }
  const ca = await generate([{ name: 'commonName', value: options.caName ?? 'vb365-simulator test CA' }], {
    ...keyAndValidity,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    ],
  });
  const server = await generate(subject, {
    ...keyAndValidity,
    ca: { key: ca.private, cert: ca.cert },
    extensions: serverExtensions,
  });
  return {
    caCert: ca.cert,
    serverKey: server.private,
    serverCert: server.cert,
    serverFingerprint256: new X509Certificate(server.cert).fingerprint256,
  };
}
