import { createHmac, timingSafeEqual } from 'node:crypto';

/** Header names of a signed webhook delivery. */
export const SIGNATURE_HEADER = 'x-signature-256';
export const TIMESTAMP_HEADER = 'x-signature-timestamp';

/**
 * Signs a webhook body: `X-Signature-256: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` with the shared secret,
 * and `X-Signature-Timestamp: <unix seconds>`. Signing the timestamp with the body lets receivers refuse replays.
 */
export function signWebhook(body: string, secret: string, timestampSeconds: number): Record<string, string> {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex');
  return { [SIGNATURE_HEADER]: `sha256=${mac}`, [TIMESTAMP_HEADER]: String(timestampSeconds) };
}

/**
 * The receiver's side (the README's verification recipe): true when the signature matches and the timestamp is within
 * `toleranceSeconds` of `nowSeconds`. Compares in constant time.
 */
export function verifyWebhook(
  body: string,
  headers: Readonly<Record<string, string | undefined>>,
  secret: string,
  nowSeconds: number,
  toleranceSeconds = 300,
): boolean {
  const timestamp = Number(headers[TIMESTAMP_HEADER]);
  const signature = headers[SIGNATURE_HEADER] ?? '';
  if (!Number.isInteger(timestamp) || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(signWebhook(body, secret, timestamp)[SIGNATURE_HEADER] as string);
  const given = Buffer.from(signature);
  return expected.length === given.length && timingSafeEqual(expected, given);
}
