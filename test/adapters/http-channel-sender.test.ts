import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import tls, { type ConnectionOptions } from 'node:tls';
import { inspect } from 'node:util';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { HttpChannelSender } from '../../lambda/adapters/channels/http-channel-sender.js';
import { verifyWebhook } from '../../lambda/adapters/channels/webhook-signature.js';
import { DeliveryError } from '../../lambda/domain/errors.js';
import { generatePki, type TestPki } from '../../local/simulator/certs.js';

/** What the receiver does with each request, in order; the last one repeats. */
type Reply = { status: number; retryAfter?: string; delayMs?: number };

let pki: TestPki;
let server: Server;
let url: string;
let replies: Reply[];
const received: { path: string; headers: IncomingMessage['headers']; body: string }[] = [];
const senders: HttpChannelSender[] = [];

beforeAll(async () => {
  pki = await generatePki();
});

beforeEach(async () => {
  received.length = 0;
  replies = [{ status: 200 }];
  server = createServer({ key: pki.serverKey, cert: pki.serverCert }, (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      const reply = (replies.length > 1 ? replies.shift() : replies[0]) as Reply;
      setTimeout(() => {
        res.writeHead(reply.status, reply.retryAfter ? { 'retry-after': reply.retryAfter } : {});
        res.end(reply.status < 300 ? 'ok' : 'rate_limited');
      }, reply.delayMs ?? 0);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  // A Slack-like URL: its path is the secret.
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/services/T0000/B0000/XXXXsecretXXXX`;
});

afterEach(async () => {
  await Promise.all(senders.splice(0).map((s) => s.close()));
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

function sender(options: ConstructorParameters<typeof HttpChannelSender>[0] = {}) {
  const s = new HttpChannelSender({ ca: pki.caCert, random: () => 0, ...options });
  senders.push(s);
  return s;
}

async function failure(p: Promise<unknown>): Promise<DeliveryError> {
  try {
    await p;
  } catch (err) {
    return err as DeliveryError;
  }
  throw new Error('expected the delivery to fail');
}

describe('HttpChannelSender', () => {
  it('posts the JSON body and accepts 200 and 202', async () => {
    replies = [{ status: 200 }, { status: 202 }];

    await sender().post('ops-slack', { url }, '{"text":"hello"}');
    await sender().post('ops-teams', { url }, '{"type":"message"}');

    expect(received.map((r) => [r.path, r.headers['content-type'], r.body])).toEqual([
      ['/services/T0000/B0000/XXXXsecretXXXX', 'application/json', '{"text":"hello"}'],
      ['/services/T0000/B0000/XXXXsecretXXXX', 'application/json', '{"type":"message"}'],
    ]);
  });

  it('signs generic webhooks so the receiver can verify them', async () => {
    await sender().post('siem', { url, signingSecret: 'whsec_0123456789' }, '{"type":"sync.failed"}');

    const [r] = received;
    expect(
      r &&
        verifyWebhook(r.body, r.headers as Record<string, string>, 'whsec_0123456789', Math.floor(Date.now() / 1000)),
    ).toBe(true);
  });

  it('waits as long as Retry-After says on a 429, then delivers', async () => {
    replies = [{ status: 429, retryAfter: '1' }, { status: 200 }];
    const started = performance.now();

    await sender().post('ops-slack', { url }, '{}');

    expect(received).toHaveLength(2);
    expect(performance.now() - started).toBeGreaterThanOrEqual(950);
  });

  it('does not wait for a Retry-After beyond its limit: a retryable failure now', async () => {
    replies = [{ status: 429, retryAfter: '120' }];

    const err = await failure(sender().post('ops-slack', { url }, '{}'));

    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({ retryable: true, status: 429 });
    expect(received).toHaveLength(1);
  });

  it('does not retry a 500 itself (the message may have been processed); the failure is retryable', async () => {
    replies = [{ status: 500 }];

    const err = await failure(sender().post('ops-slack', { url }, '{}'));

    expect(err).toMatchObject({ retryable: true, status: 500, message: 'channel ops-slack: HTTP 500' });
    expect(received).toHaveLength(1);
  });

  it('reports a refusal (404) as not retryable, with the fix', async () => {
    replies = [{ status: 404 }];

    const err = await failure(sender().post('ops-slack', { url }, '{}'));

    expect(err).toMatchObject({ retryable: false, status: 404 });
    expect(err.message).toMatch(/check its URL in the secret/);
  });

  it('gives up at its deadline when the receiver does not answer', async () => {
    replies = [{ status: 200, delayMs: 3_000 }];

    const err = await failure(sender({ deadlineMs: 300 }).post('ops-slack', { url }, '{}'));

    expect(err).toMatchObject({ retryable: true });
    expect(err.message).toMatch(/no answer within 300 ms/);
  });

  it('refuses a receiver whose certificate it cannot verify', async () => {
    const err = await failure(sender({ ca: undefined }).post('ops-slack', { url }, '{}'));

    expect(err).toBeInstanceOf(DeliveryError);
    expect(received).toHaveLength(0);
  });

  it('refuses a receiver whose certificate it cannot verify even with NODE_TLS_REJECT_UNAUTHORIZED=0', async () => {
    const saved = process.env.NODE_TLS_REJECT_UNAUTHORIZED;
    process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
    let err: DeliveryError;
    try {
      err = await failure(sender({ ca: undefined }).post('ops-slack', { url }, '{}'));
    } finally {
      if (saved === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
      else process.env.NODE_TLS_REJECT_UNAUTHORIZED = saved;
    }

    expect(err).toBeInstanceOf(DeliveryError);
    expect(err.message).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    expect(received).toHaveLength(0);
  });

  it('trusts the extra CA in addition to the root store, not instead of it', async () => {
    // Stands for a public receiver (its CA among the roots) and a self-hosted one (its CA given as the extra bundle).
    const internal = await generatePki({ caName: 'Example Corp internal CA' });
    const selfHosted = createServer({ key: internal.serverKey, cert: internal.serverCert }, (req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => selfHosted.listen(0, '127.0.0.1', () => r()));
    const selfHostedUrl = `https://127.0.0.1:${(selfHosted.address() as AddressInfo).port}/hook`;
    const s = sender({ ca: internal.caCert, trustedRoots: [pki.caCert] });

    try {
      await s.post('public-slack', { url }, '{}');
      await s.post('self-hosted', { url: selfHostedUrl }, '{}');
    } finally {
      selfHosted.closeAllConnections();
      await new Promise<void>((r) => selfHosted.close(() => r()));
    }

    expect(received).toHaveLength(1);
  });

  it("trusts the extra CA in addition to Node's default roots when none are injected (the production path)", async () => {
    // Arrange: a receiver signed by the extra CA only, and what undici hands to tls.connect.
    const internal = await generatePki({ caName: 'Example Corp internal CA' });
    const selfHosted = createServer({ key: internal.serverKey, cert: internal.serverCert }, (req, res) => {
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => selfHosted.listen(0, '127.0.0.1', () => r()));
    const selfHostedUrl = `https://127.0.0.1:${(selfHosted.address() as AddressInfo).port}/hook`;
    const connect = vi.spyOn(tls, 'connect');
    const s = sender({ ca: internal.caCert });

    // Act: the self-hosted receiver, then the receiver of the test CA, which is neither a default root nor the extra.
    let untrusted: DeliveryError;
    let trusted: unknown[];
    try {
      await s.post('self-hosted', { url: selfHostedUrl }, '{}');
      untrusted = await failure(s.post('other', { url }, '{}'));
    } finally {
      // Read before the spy is restored, which forgets its calls.
      trusted = connect.mock.calls.map(([options]) => (options as ConnectionOptions).ca);
      connect.mockRestore();
      selfHosted.closeAllConnections();
      await new Promise<void>((r) => selfHosted.close(() => r()));
    }

    // Assert
    expect(trusted).toHaveLength(2);
    for (const ca of trusted) {
      expect(ca).toEqual(expect.arrayContaining([...tls.rootCertificates, internal.caCert]));
      expect((ca as string[]).at(-1)).toBe(internal.caCert);
    }
    expect(untrusted.message).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE/);
    expect(received).toHaveLength(0);
  });

  it('never shows the webhook URL or the signing secret in an error', async () => {
    replies = [{ status: 500 }];
    const errors = [
      await failure(sender().post('a', { url, signingSecret: 'whsec_0123456789' }, '{}')),
      await failure(sender({ ca: undefined }).post('b', { url }, '{}')),
      await failure(sender().post('c', { url: `${url.replace('https', 'http')}` }, '{}')),
    ];

    for (const e of errors) {
      const shown = `${inspect(e, { depth: 10 })}\n${e.stack}\n${JSON.stringify(e)}`;
      expect(shown).not.toContain('XXXXsecretXXXX');
      expect(shown).not.toContain('whsec_0123456789');
    }
  });
});
