import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { Context, SNSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { DeliveryReport } from '../../lambda/domain/delivery-ports.js';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import { DEFAULT_POLICY } from '../../lambda/domain/policy.js';
import { pollOnce } from '../../lambda/domain/poll.js';
import type { SyncSession } from '../../lambda/domain/types.js';
import { generatePki } from '../../local/simulator/certs.js';
import { ensureTable, localClient } from '../../local/stand-ins/embedded-dynamodb.js';
import { type PagerDutyStandIn, startPagerDutyStandIn } from '../../local/stand-ins/pagerduty-stand-in.js';
import { type SecretsStandIn, startSecretsStandIn } from '../../local/stand-ins/secrets-stand-in.js';
import {
  type SlackApiStandIn,
  type SlackStandInMessage,
  startSlackApiStandIn,
} from '../../local/stand-ins/slack-api-stand-in.js';
import { captureOutput } from '../support/capture-output.js';
import { CallLog, grantsOf } from '../support/iam-grants.js';
import { InMemoryStateStore } from '../support/in-memory-state-store.js';
import { INCIDENT_KEY, incidentEvent, OPENED_AT, resyncIncident } from '../support/incident-events.js';
import { RecordingNotifier } from '../support/recording-notifier.js';
import { snsEvent } from '../support/sns-event.js';
import { StubVb365Api } from '../support/stub-vb365-api.js';

/*
 * Incidents through the real deliverer: the Lambda handler with its real adapters (Slack Web API and PagerDuty Events
 * API clients over TLS to loopback stand-ins of both APIs, Secrets Manager through the SDK to its stand-in, the
 * delivery log and the Slack threads in the DynamoDB engine of the integration tests).
 */

type Handler = (event: SNSEvent, context: Context) => Promise<DeliveryReport[]>;

const TOKEN = 'xoxb-4242424242-4242424242-IncidentBotTokenSecret';
const ROUTING_KEY = 'PdRoutingKeySecret0123456789abcd';
const context = {
  awsRequestId: 'req',
  functionName: 'deliverer',
  getRemainingTimeInMillis: () => 30_000,
} as unknown as Context;

let slack: SlackApiStandIn;
let pagerDuty: PagerDutyStandIn;
let secrets: SecretsStandIn;
let handler: Handler;
let table: string;
let capture: ReturnType<typeof captureOutput>;
let sequence = 0;

function sns(event: MonitorEvent): SNSEvent {
  sequence += 1;
  return snsEvent(JSON.stringify(event), `m-${sequence}`);
}

/** The channel's messages that start threads (not replies, broadcast or not). */
function parents(channel: string): SlackStandInMessage[] {
  return (slack.messages.get(channel) ?? []).filter((m) => m.threadTs === undefined && !m.deleted);
}

/** The header of a message's card: its title as Slack shows it. */
function header(m: SlackStandInMessage | undefined): string {
  const blocks = (m?.attachments as { blocks: { type: string; text?: { text: string } }[] }[] | undefined)?.[0]?.blocks;
  return blocks?.find((b) => b.type === 'header')?.text?.text ?? '';
}

/** The title a card of `event` has. */
function titleOf(event: MonitorEvent): string {
  return header({ attachments: slackMessage(event).attachments as unknown[] } as SlackStandInMessage);
}

let slackMessage: (event: MonitorEvent) => Record<string, unknown>;

beforeAll(async () => {
  const pki = await generatePki();
  slack = await startSlackApiStandIn(pki);
  pagerDuty = await startPagerDutyStandIn(pki);
  secrets = await startSecretsStandIn();
  slack.tokens.add(TOKEN);
  for (const c of ['C0INCIDENTS', 'C0ESCALATE', 'C0RACE0001']) slack.channels.add(c);
  pagerDuty.routingKeys.add(ROUTING_KEY);
  secrets.secrets.set('vb365/slack-app', JSON.stringify({ token: TOKEN }));
  secrets.secrets.set('vb365/pagerduty', JSON.stringify({ routingKey: ROUTING_KEY }));
  table = `incidents-${process.pid}`;
  const ddb = localClient(inject('ddbEndpoint'));
  await ensureTable(ddb, table);
  ddb.destroy();
  const env: Record<string, string> = {
    TABLE_NAME: table,
    CHANNELS: JSON.stringify([
      { id: 'slack-incidents', kind: 'slackApp', secret: 'vb365/slack-app', channelId: 'C0INCIDENTS' },
      { id: 'pd-oncall', kind: 'pagerduty', secret: 'vb365/pagerduty' },
      {
        id: 'slack-escalation',
        kind: 'slackApp',
        secret: 'vb365/slack-app',
        channelId: 'C0ESCALATE',
        escalateAfterMinutes: 30,
      },
    ]),
    DELIVERY_CA_BUNDLE: pki.caCert,
    SLACK_API_URL: slack.baseUrl,
    PAGERDUTY_EVENTS_URL: pagerDuty.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: inject('ddbEndpoint'),
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
  };
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  capture = captureOutput();
  vi.resetModules();
  ({ handler } = (await import('../../lambda/deliverer.js')) as { handler: Handler });
  ({ slackMessage } = await import('../../lambda/domain/render-slack.js'));
});

afterAll(async () => {
  capture.restore();
  vi.unstubAllEnvs();
  await slack.close();
  await pagerDuty.close();
  await secrets.close();
});

describe('incidents through the deliverer (real adapters, DynamoDB engine, loopback Slack and PagerDuty APIs)', () => {
  const events = resyncIncident();

  it('makes a resync that stalls, fails, restarts and completes one Slack thread and one PagerDuty alert, delivering each SNS message twice', async () => {
    const reports: DeliveryReport[] = [];
    for (const e of events) {
      reports.push(...(await handler(sns(e), context)));
      // SNS redelivers: nothing is posted twice.
      reports.push(...(await handler(sns(e), context)));
    }

    const [thread, ...others] = parents('C0INCIDENTS');
    expect(others).toEqual([]);
    // The first message shows the incident's current state: resolved.
    expect(header(thread)).toBe(titleOf(events.at(-1) as MonitorEvent));
    expect(JSON.stringify(thread?.attachments)).toContain('Incident: resolved after 2h 10m');
    expect(thread?.edits).toBe(events.length - 1);
    expect(slack.thread('C0INCIDENTS', thread?.ts ?? '').map(header)).toEqual(events.slice(1).map(titleOf));
    // PagerDuty: one alert, triggered by the stall, the escalation and the failure, resolved by the completion.
    expect([...pagerDuty.alerts.keys()]).toEqual([INCIDENT_KEY]);
    expect(pagerDuty.alerts.get(INCIDENT_KEY)).toMatchObject({ status: 'resolved', opened: 1 });
    expect(
      pagerDuty.alerts.get(INCIDENT_KEY)?.log.map((e) => [e.event_action, (e.payload as { class?: string })?.class]),
    ).toEqual([
      ['trigger', 'sync.stalled'],
      ['trigger', 'incident.escalated'],
      ['trigger', 'sync.failed'],
      ['resolve', undefined],
    ]);
    expect(reports.filter((_, i) => i % 2 === 1).every((r) => r.delivered.length === 0)).toBe(true);
    expect(reports.filter((_, i) => i % 2 === 1).map((r) => [...r.duplicates].sort())).toEqual(
      reports.filter((_, i) => i % 2 === 0).map((r) => [...r.delivered].sort()),
    );
  });

  it('keeps the escalation channel quiet until the escalation, then gives it the rest of the incident', () => {
    const [thread, ...others] = parents('C0ESCALATE');

    expect(others).toEqual([]);
    expect(
      slack.requests.filter(
        (r) => r.body.channel === 'C0ESCALATE' && r.method === 'chat.postMessage' && !r.body.thread_ts,
      ),
    ).toHaveLength(1);
    expect(slack.thread('C0ESCALATE', thread?.ts ?? '').map(header)).toEqual(events.slice(4).map(titleOf));
    expect(header(thread)).toBe(titleOf(events.at(-1) as MonitorEvent));
    expect((slack.messages.get('C0ESCALATE') ?? []).some((m) => header(m) === titleOf(events[2] as MonitorEvent))).toBe(
      false,
    );
  });

  it('stores the thread beside the delivery log, kept 30 days', async () => {
    const ddb = localClient(inject('ddbEndpoint'));
    const { Item } = await ddb.send(
      new GetItemCommand({ TableName: table, Key: { pk: { S: 'THREAD#slack-incidents' }, sk: { S: INCIDENT_KEY } } }),
    );
    ddb.destroy();

    expect(Item).toMatchObject({
      status: { S: 'ready' },
      channel: { S: 'C0INCIDENTS' },
      ts: { S: parents('C0INCIDENTS')[0]?.ts },
    });
    const days = (Number(Item?.expiresAt?.N) * 1000 - Date.now()) / 86_400_000;
    expect(Math.round(days)).toBe(30);
  });

  it('posts one thread for two first events delivered at once, and its first message shows the newest event whatever the order', async () => {
    const key = `vb365-prod/repository/race/${OPENED_AT}`;
    const step = (type: MonitorEvent['type'], at: string, seq: number, severity: MonitorEvent['severity']) =>
      incidentEvent({ type, at, sequence: seq, severity, key, session: 'race-session' });
    const started = step('sync.started', '2026-11-28T10:00:00.000Z', 1, 'info');
    const stalled = step('sync.stalled', '2026-11-28T10:30:00.000Z', 2, 'warning');
    const progress = step('sync.progress', '2026-11-28T10:20:00.000Z', 3, 'warning');
    const race = JSON.stringify([
      { id: 'slack-race', kind: 'slackApp', secret: 'vb365/slack-app', channelId: 'C0RACE0001' },
    ]);
    vi.stubEnv('CHANNELS', race);
    vi.resetModules();
    const { handler: raceHandler } = (await import('../../lambda/deliverer.js')) as { handler: Handler };

    await Promise.all([raceHandler(sns(stalled), context), raceHandler(sns(started), context)]);
    await raceHandler(sns(progress), context);

    const threads = parents('C0RACE0001');
    expect(threads).toHaveLength(1);
    expect(slack.thread('C0RACE0001', threads[0]?.ts ?? '')).toHaveLength(2);
    expect(header(threads[0])).toBe(titleOf(stalled));
  });

  it('posts anew when the first message was deleted, and threads there from then on', async () => {
    const key = `vb365-prod/repository/deleted/${OPENED_AT}`;
    const step = (type: MonitorEvent['type'], at: string, seq: number) =>
      incidentEvent({ type, at, sequence: seq, severity: 'warning', key, session: 'deleted-session' });
    await handler(sns(step('sync.stalled', '2026-11-28T10:30:00.000Z', 1)), context);
    const first = parents('C0INCIDENTS').at(-1);
    slack.delete('C0INCIDENTS', first?.ts ?? '');

    await handler(sns(step('sync.resumed', '2026-11-28T10:40:00.000Z', 2)), context);
    await handler(sns(step('sync.progress', '2026-11-28T10:50:00.000Z', 3)), context);

    const latest = parents('C0INCIDENTS').at(-1);
    expect(latest?.ts).not.toBe(first?.ts);
    expect(header(latest)).toBe(titleOf(step('sync.progress', '2026-11-28T10:50:00.000Z', 3)));
    expect(slack.thread('C0INCIDENTS', latest?.ts ?? '')).toHaveLength(1);
  });

  it('never logs the bot token or the routing key, and sends them only in the places the APIs ask for', () => {
    const printed = capture.output.join('');

    expect(printed).toContain('event delivered');
    expect(printed).not.toContain(TOKEN);
    expect(printed).not.toContain(ROUTING_KEY);
    expect(JSON.stringify(slack.requests)).not.toContain(TOKEN);
  });
});

describe('incidents from the real poll cycle to Slack and PagerDuty', () => {
  it('turns a sync that starts, stalls, fails, is acknowledged, restarts under a new id and completes into one thread and one alert', async () => {
    const api = new StubVb365Api();
    const store = new InMemoryStateStore();
    const notifier = new RecordingNotifier();
    const server = { id: 'vb365-prod', name: 'Contoso VB365', url: 'https://vb365.contoso.local:4443' };
    const repo = { id: '0c9e7a51-4b2d-4e6f-8a1b-2c3d4e5f6a7b', name: 'Wasabi Archive' };
    api.repositories.set(repo.id, { ...repo, isOutOfSync: true });
    let clock = Date.parse('2026-11-30T06:00:00.000Z');
    const policy = {
      ...DEFAULT_POLICY,
      outOfSyncAfterMs: null,
      digest: null,
      escalateAfterMinutes: [30],
      runbooks: { 'sync.failed': 'https://wiki.example.com/vb365/sync-failed' },
    };
    let n = 0;
    const cycle = async (minutes: number, sessions?: SyncSession[]) => {
      clock += minutes * 60_000;
      if (sessions) api.sessions = sessions;
      n += 1;
      await pollOnce({ api, store, notifier, policy, server, now: () => new Date(clock), owner: `c${n}` });
    };
    const session = (id: string, o: Partial<SyncSession> = {}): SyncSession => ({
      id,
      repositoryId: repo.id,
      state: 'Synchronizing',
      progressPercent: 5,
      error: null,
      links: {},
      ...o,
    });
    await cycle(0, []);
    await cycle(5, [session('s-first', { progressPercent: 10 })]); // 06:05 sync.started
    await cycle(65); // 07:10 sync.stalled
    await cycle(30); // 07:40 incident.escalated (30 minutes after the stall)
    await cycle(5, [session('s-first', { state: 'Failed', progressPercent: 10, error: 'S3 403' })]); // sync.failed
    const key = `vb365-prod/repository/${repo.id}/2026-11-30T06:05:00.000Z`;
    await store.requestAck('vb365-prod', {
      key,
      by: 'ana',
      reason: 'bucket policy fixed, restarting',
      at: new Date(clock).toISOString(),
    });
    await cycle(5); // incident.acknowledged
    await cycle(5, [session('s-second', { progressPercent: 0 })]); // the restart: sync.started
    api.repositories.set(repo.id, { ...repo, isOutOfSync: false });
    await cycle(60, [session('s-second', { state: 'None', progressPercent: 100 })]); // sync.completed
    const events = notifier.delivered.filter((e) => e.type !== 'monitor.started');

    for (const e of events) {
      await handler(sns(JSON.parse(JSON.stringify(e)) as MonitorEvent), context);
      await handler(sns(JSON.parse(JSON.stringify(e)) as MonitorEvent), context);
    }

    expect(events.map((e) => e.type)).toEqual([
      'sync.started',
      'sync.stalled',
      'incident.escalated',
      'sync.failed',
      'incident.acknowledged',
      'sync.started',
      'sync.completed',
    ]);
    expect(new Set(events.map((e) => e.incident?.key))).toEqual(new Set([key]));
    const threads = parents('C0INCIDENTS').filter((m) => JSON.stringify(m.attachments).includes('Wasabi Archive'));
    expect(threads).toHaveLength(1);
    const thread = threads[0];
    expect(header(thread)).toBe(titleOf(events.at(-1) as MonitorEvent));
    expect(JSON.stringify(thread?.attachments)).toContain('resolved after 2h 50m, acknowledged by ana');
    const replies = slack.thread('C0INCIDENTS', thread?.ts ?? '');
    expect(replies.map(header)).toEqual(events.slice(1).map(titleOf));
    expect(JSON.stringify(replies[3]?.attachments)).toContain('bucket policy fixed, restarting');
    expect(JSON.stringify(replies[2]?.attachments)).toContain('https://wiki.example.com/vb365/sync-failed');
    // The escalation channel: from the escalation to the end, in a thread of its own.
    const escalated = parents('C0ESCALATE').filter((m) => JSON.stringify(m.attachments).includes('Wasabi Archive'));
    expect(escalated).toHaveLength(1);
    expect(slack.thread('C0ESCALATE', escalated[0]?.ts ?? '').map(header)).toEqual(events.slice(3).map(titleOf));
    // PagerDuty: one alert, triggered, acknowledged by ana's ack, resolved by the completion.
    expect(pagerDuty.alerts.get(key)).toMatchObject({ status: 'resolved', opened: 1 });
    expect(pagerDuty.alerts.get(key)?.log.map((e) => e.event_action)).toEqual([
      'trigger',
      'trigger',
      'trigger',
      'acknowledge',
      'resolve',
    ]);
  });
});

describe('the deliverer’s grants for Slack apps and PagerDuty', () => {
  it('is granted exactly the secrets it read, read-only', () => {
    const granted = grantsOf(
      {
        servers: [
          { id: 'vb365-prod', url: 'https://vb365.example.local:4443', credentials: { secretName: 'vb365/x' } },
        ],
        notifications: {
          slackAppChannels: [
            { secretName: 'vb365/slack-app', channelId: 'C0INCIDENTS' },
            { secretName: 'vb365/slack-app', channelId: 'C0ESCALATE', escalateAfterMinutes: 30 },
          ],
          pagerDutySecrets: ['vb365/pagerduty'],
        },
      },
      'CHANNELS',
    );
    const sent = new CallLog();
    for (const c of secrets.calls) sent.add(`secretsmanager:${c.operation}`, `secret ${c.secretId}`);

    expect(granted['secretsmanager:GetSecretValue']).toEqual(sent.toJSON()['secretsmanager:GetSecretValue']);
    expect(Object.keys(granted).filter((a) => a.startsWith('secretsmanager:'))).toEqual([
      'secretsmanager:GetSecretValue',
    ]);
  });
});
