import { describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook } from '../../lambda/adapters/channels/webhook-signature.js';

const SECRET = 'whsec_test_0123456789';
const BODY = '{"schemaVersion":1,"type":"sync.failed"}';
const NOW = 1_795_000_000;

describe('webhook signatures', () => {
  it('signs "<timestamp>.<body>" with HMAC-SHA256 (known vector)', () => {
    // Independently: printf '1795000000.{"schemaVersion":1,"type":"sync.failed"}' | openssl dgst -sha256 -hmac whsec_test_0123456789
    expect(signWebhook(BODY, SECRET, NOW)).toEqual({
      'x-signature-256': 'sha256=3ae4dbf14b54a8feae0189557dd9022a280dcf33844cbf79dc0b530e752944f9',
      'x-signature-timestamp': '1795000000',
    });
  });

  it('verifies a genuine delivery', () => {
    expect(verifyWebhook(BODY, signWebhook(BODY, SECRET, NOW), SECRET, NOW + 10)).toBe(true);
  });

  it.each([
    ['a changed body', `${BODY} `, signWebhook(BODY, SECRET, NOW), NOW],
    ['another secret', BODY, signWebhook(BODY, 'other-secret', NOW), NOW],
    ['a stale timestamp (replay)', BODY, signWebhook(BODY, SECRET, NOW), NOW + 301],
    ['a missing signature', BODY, { 'x-signature-timestamp': String(NOW) }, NOW],
  ])('refuses %s', (_label, body, headers, now) => {
    expect(verifyWebhook(body, headers, SECRET, now)).toBe(false);
  });
});
