import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Context, SNSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { verifyWebhook } from '../../lambda/adapters/channels/webhook-signature.js';
import type { DeliveryReport } from '../../lambda/domain/delivery-ports.js';
import { sampleAlarm, sampleEvent } from '../../local/cli/sample-events.js';
import { generatePki } from '../../local/simulator/certs.js';
import { ensureTable, localClient } from '../../local/stand-ins/embedded-dynamodb.js';
import { type SecretsStandIn, startSecretsStandIn } from '../../local/stand-ins/secrets-stand-in.js';
import { type SnsStandIn, startSnsStandIn } from '../../local/stand-ins/sns-stand-in.js';
import { type FaultProxy, startFaultProxy } from '../harness/fault-proxy.js';
import { captureOutput } from '../support/capture-output.js';
import { CallLog, grantsOf } from '../support/iam-grants.js';
import { snsEvent } from '../support/sns-event.js';

type Handler = (event: SNSEvent, context: Context) => Promise<DeliveryReport[]>;

let receiver: Server;
let base: string;
let secrets: SecretsStandIn;
let snsStandIn: SnsStandIn;
/** Every DynamoDB request the function sends passes (and is recorded) here. */
let ddbProxy: FaultProxy;
const Q_TOPIC = 'arn:aws:sns:us-east-1:123456789012:vb365-qdeveloper-1';
let handler: Handler;
const posts: { path: string; body: string; headers: IncomingMessage['headers'] }[] = [];
const failing = new Set<string>();
let capture: ReturnType<typeof captureOutput>;
let output: string[] = [];

const context = {
  awsRequestId: 'req',
  functionName: 'deliverer',
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;

function sns(message: string, subject = 'x', messageId = 'm1'): SNSEvent {
  return snsEvent(message, messageId, subject);
}

beforeAll(async () => {
  const pki = await generatePki();
  receiver = createServer({ key: pki.serverKey, cert: pki.serverCert }, (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      if ([...failing].some((f) => path.includes(f))) {
        res.writeHead(503).end('unavailable');
        return;
      }
      posts.push({ path, body: Buffer.concat(chunks).toString('utf8'), headers: req.headers });
      res.writeHead(path.includes('teams') ? 202 : 200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  base = `https://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  secrets = await startSecretsStandIn();
  snsStandIn = await startSnsStandIn();
  secrets.secrets.set('vb365/slack', `${base}/slack/T000/B000/slacksecretpath`);
  secrets.secrets.set('vb365/teams', JSON.stringify({ url: `${base}/teams/workflows/teamssecretpath` }));
  secrets.secrets.set(
    'vb365/siem',
    JSON.stringify({ url: `${base}/siem/hook`, signingSecret: 'whsec_siem_0123456789' }),
  );
  ddbProxy = await startFaultProxy(inject('ddbEndpoint'));
  const table = `deliverer-${process.pid}`;
  const ddb = localClient(inject('ddbEndpoint'));
  await ensureTable(ddb, table);
  ddb.destroy();
  const env: Record<string, string> = {
    TABLE_NAME: table,
    CHANNELS: JSON.stringify([
      { id: 'slack-ops', kind: 'slack', secret: 'vb365/slack' },
      { id: 'teams-backup', kind: 'teams', secret: 'vb365/teams', eventTypes: ['sync.failed'] },
      { id: 'siem', kind: 'webhook', secret: 'vb365/siem' },
      { id: 'qdeveloper-1', kind: 'qdeveloper', topicArn: Q_TOPIC, eventTypes: ['sync.failed', 'sync.stalled'] },
    ]),
    DELIVERY_CA_BUNDLE: pki.caCert,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: ddbProxy.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_ENDPOINT_URL_SNS: snsStandIn.endpoint,
  };
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  // Everything the function prints (logs, EMF metrics) is kept to check that no secret appears in it.
  capture = captureOutput();
  output = capture.output;
  vi.resetModules();
  ({ handler } = (await import('../../lambda/deliverer.js')) as { handler: Handler });
});

afterAll(async () => {
  capture.restore();
  vi.unstubAllEnvs();
  receiver.closeAllConnections();
  await new Promise<void>((r) => receiver.close(() => r()));
  await secrets.close();
  await snsStandIn.close();
  await ddbProxy.close();
});

describe('deliverer handler (real SDK, DynamoDB Local, loopback HTTPS receivers)', () => {
  it('posts Slack, Teams and a signed webhook, each once even when SNS redelivers', async () => {
    const event = sampleEvent('sync.failed', {}, 41);

    const [first] = await handler(sns(JSON.stringify(event)), context);
    const [again] = await handler(sns(JSON.stringify(event)), context);

    expect([...(first?.delivered ?? [])].sort()).toEqual(['qdeveloper-1', 'siem', 'slack-ops', 'teams-backup']);
    expect([...(again?.duplicates ?? [])].sort()).toEqual(['qdeveloper-1', 'siem', 'slack-ops', 'teams-backup']);
    expect(posts.map((p) => p.path.split('/')[1]).sort()).toEqual(['siem', 'slack', 'teams']);
    const siem = posts.find((p) => p.path === '/siem/hook');
    expect(JSON.parse(siem?.body ?? '{}')).toEqual(event);
    expect(
      siem &&
        verifyWebhook(
          siem.body,
          siem.headers as Record<string, string>,
          'whsec_siem_0123456789',
          Math.floor(Date.now() / 1000),
        ),
    ).toBe(true);
    // Amazon Q Developer: one custom notification on the channel's topic, threaded by session.
    expect(snsStandIn.received).toHaveLength(1);
    expect(snsStandIn.received[0]?.topicArn).toBe(Q_TOPIC);
    expect(JSON.parse(snsStandIn.received[0]?.message ?? '{}')).toMatchObject({
      version: '1.0',
      source: 'custom',
      content: { description: expect.stringContaining('FAILED') },
      metadata: { threadId: event.session?.id },
    });
  });

  it('throws when a channel fails, and a retry posts only to that channel', async () => {
    posts.length = 0;
    failing.add('teams');
    const event = sampleEvent('sync.failed', {}, 42);

    const err = await handler(sns(JSON.stringify(event)), context).catch((e: unknown) => e);
    failing.clear();
    await handler(sns(JSON.stringify(event)), context);

    expect((err as Error).message).toMatch(/not delivered to 1 channel\(s\): channel teams-backup: HTTP 503/);
    expect(snsStandIn.received.filter((m) => m.message.includes(event.eventId))).toHaveLength(1);
    expect(posts.map((p) => p.path.split('/')[1]).sort()).toEqual(['siem', 'slack', 'teams']);
  });

  it('respects channel filters', async () => {
    posts.length = 0;
    snsStandIn.received.length = 0;

    const [report] = await handler(sns(JSON.stringify(sampleEvent('sync.completed', {}, 43))), context);

    expect(report).toEqual({
      delivered: expect.arrayContaining(['siem', 'slack-ops']),
      duplicates: [],
      filtered: ['teams-backup', 'qdeveloper-1'],
      grouped: [],
    });
    expect(posts.map((p) => p.path.split('/')[1]).sort()).toEqual(['siem', 'slack']);
    expect(snsStandIn.received).toEqual([]);
  });

  it("renders the monitor's alarm and its OK for Slack, Teams and a signed webhook, and forwards them to Q Developer, once each", async () => {
    posts.length = 0;
    snsStandIn.received.length = 0;
    const alarm = sampleAlarm();
    const ok = {
      ...alarm,
      NewStateValue: 'OK',
      OldStateValue: 'ALARM',
      StateChangeTime: '2026-11-28T12:45:00.000+0000',
    };

    const [first] = await handler(sns(JSON.stringify(alarm), 'ALARM: "PollNotInvoked"', 'alarm-1'), context);
    const [again] = await handler(sns(JSON.stringify(alarm), 'ALARM: "PollNotInvoked"', 'alarm-1'), context);
    const [cleared] = await handler(sns(JSON.stringify(ok), 'OK: "PollNotInvoked"', 'alarm-2'), context);

    const channels = ['qdeveloper-1', 'siem', 'slack-ops', 'teams-backup'];
    expect([...(first?.delivered ?? [])].sort()).toEqual(channels);
    expect([...(again?.duplicates ?? [])].sort()).toEqual(channels);
    expect([...(cleared?.delivered ?? [])].sort()).toEqual(channels);
    const bodies = (channel: string) =>
      posts.filter((p) => p.path.split('/')[1] === channel).map((p) => JSON.parse(p.body));
    expect(bodies('slack').map((m) => m.text)).toEqual([
      '<!here> 🔴 Monitor alarm: VB365SyncMonitor-MonitorPollNotInvoked1A2B3C4D-Q1W2E3R4T5Y6 is ALARM',
      '🔵 Monitor alarm: VB365SyncMonitor-MonitorPollNotInvoked1A2B3C4D-Q1W2E3R4T5Y6 is OK',
    ]);
    expect(bodies('teams').map((m) => m.attachments[0].content.body[0].items[0].text)).toEqual([
      '🔴 Monitor alarm: VB365SyncMonitor-MonitorPollNotInvoked1A2B3C4D-Q1W2E3R4T5Y6 is ALARM',
      '🔵 Monitor alarm: VB365SyncMonitor-MonitorPollNotInvoked1A2B3C4D-Q1W2E3R4T5Y6 is OK',
    ]);
    expect(bodies('siem').map((b) => [b.kind, b.id, b.severity, b.alarm.state])).toEqual([
      ['alarm', 'alarm-1', 'critical', 'ALARM'],
      ['alarm', 'alarm-2', 'info', 'OK'],
    ]);
    for (const siem of posts.filter((p) => p.path === '/siem/hook'))
      expect(
        verifyWebhook(
          siem.body,
          siem.headers as Record<string, string>,
          'whsec_siem_0123456789',
          Math.floor(Date.now() / 1000),
        ),
      ).toBe(true);
    expect(snsStandIn.received.map((m) => JSON.parse(m.message))).toEqual([alarm, ok]);
  });

  it('forwards a message that is neither an event nor an alarm to Q Developer only', async () => {
    posts.length = 0;
    snsStandIn.received.length = 0;

    const [report] = await handler(sns('plain text', 'x', 'other-1'), context);

    expect(report).toEqual({
      delivered: ['qdeveloper-1'],
      duplicates: [],
      filtered: ['slack-ops', 'teams-backup', 'siem'],
      grouped: [],
    });
    expect(posts).toEqual([]);
  });

  it('sends the events a group stands for to the webhook only, and the group to every channel', async () => {
    posts.length = 0;
    snsStandIn.received.length = 0;
    const group = sampleEvent('monitor.grouped', {}, 44);
    const members = [45, 46].map((n) => sampleEvent('sync.failed', { groupedIn: group.eventId }, n));

    const reports = await handler(
      {
        Records: [...members, group].map(
          (e, i) => sns(JSON.stringify(e), 'x', `grouped-${i}`).Records[0] as SNSEvent['Records'][number],
        ),
      },
      context,
    );

    expect(reports.map((r) => r.grouped.length)).toEqual([3, 3, 0]);
    expect(posts.filter((p) => p.path === '/siem/hook').map((p) => JSON.parse(p.body).eventId)).toEqual([
      ...members.map((e) => e.eventId),
      group.eventId,
    ]);
    expect(
      posts
        .filter((p) => p.path !== '/siem/hook')
        .map((p) => p.path.split('/')[1])
        .sort(),
    ).toEqual(['slack', 'teams']);
    expect(posts.find((p) => p.path.startsWith('/slack'))?.body).toContain('Syncs failed (40)');
    expect(snsStandIn.received.map((m) => JSON.parse(m.message).id)).toEqual([group.eventId]);
  });

  it('never logs a webhook URL or signing secret', () => {
    const printed = output.join('');

    expect(printed).toContain('event delivered');
    expect(printed).toContain('alarm delivered');
    for (const secret of ['slacksecretpath', 'teamssecretpath', 'whsec_siem_0123456789'])
      expect(printed).not.toContain(secret);
  });

  it('is granted exactly the DynamoDB, SNS and Secrets Manager actions it sends, on exactly its resources', () => {
    const granted = grantsOf(
      {
        servers: [
          { id: 'vb365-prod', url: 'https://vb365.example.local:4443', credentials: { secretName: 'vb365/x' } },
        ],
        notifications: {
          emails: [],
          slackWebhookSecrets: ['vb365/slack'],
          teamsWebhookSecrets: [{ secretName: 'vb365/teams', eventTypes: ['sync.failed'] }],
          webhookSecrets: ['vb365/siem'],
          qDeveloperSlackChannels: [{ workspaceId: 'T0123ABCDE', channelId: 'C0123ABCDEF' }],
        },
      },
      'CHANNELS',
    );
    const sent = new CallLog();
    for (const r of ddbProxy.requests) sent.add(`dynamodb:${r.operation}`, 'the state table');
    for (const r of snsStandIn.requests) sent.add(`sns:${r.action}`, 'a Q Developer topic');
    for (const c of secrets.calls) sent.add(`secretsmanager:${c.operation}`, `secret ${c.secretId}`);

    expect(granted).toEqual(sent.toJSON());
  });
});
