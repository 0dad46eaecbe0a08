import { beforeEach, describe, expect, it } from 'vitest';
import { type MonitorAlarm, parseAlarm } from '../../lambda/domain/alarm.js';
import {
  bodyFor,
  type Channel,
  type ChannelPoster,
  type ChannelTarget,
  deliverAlarm,
  deliverEvent,
  forwardOther,
  type TopicPoster,
} from '../../lambda/domain/delivery.js';
import { DeliveryError } from '../../lambda/domain/errors.js';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import { sampleAlarm, sampleEvent } from '../../local/sample-events.js';
import { InMemoryDeliveryLog } from '../fakes/in-memory-delivery-log.js';

/** Poster that records what it posted and fails for channels told to. */
class RecordingPoster implements ChannelPoster {
  readonly posts: { channelId: string; url: string; body: string }[] = [];
  readonly failing = new Map<string, DeliveryError>();

  async post(channelId: string, target: ChannelTarget, body: string): Promise<void> {
    const failure = this.failing.get(channelId);
    if (failure) throw failure;
    this.posts.push({ channelId, url: target.url, body });
  }
}

const channels: Channel[] = [
  { id: 'slack-ops', kind: 'slack', secret: 'vb365/slack-ops' },
  { id: 'teams-backup', kind: 'teams', secret: 'vb365/teams', eventTypes: ['sync.failed', 'sync.completed'] },
  { id: 'siem', kind: 'webhook', secret: 'vb365/siem' },
];

/** Topic publisher that records what it published. */
class RecordingTopics implements TopicPoster {
  readonly published: { channelId: string; topicArn: string; body: string }[] = [];
  failure: DeliveryError | undefined;

  async publish(channelId: string, topicArn: string, body: string): Promise<void> {
    if (this.failure) throw this.failure;
    this.published.push({ channelId, topicArn, body });
  }
}

const Q: Channel = { id: 'q-ops', kind: 'qdeveloper', topicArn: 'arn:aws:sns:eu-west-1:123456789012:q-ops' };

let log: InMemoryDeliveryLog;
let topics: RecordingTopics;
let poster: RecordingPoster;
let clock: number;

function deps() {
  return {
    log,
    poster,
    topics,
    targets: { target: async (c: Channel) => ({ url: `https://hooks.example/${c.id}` }) },
    now: () => new Date(clock),
  };
}

beforeEach(() => {
  log = new InMemoryDeliveryLog();
  poster = new RecordingPoster();
  topics = new RecordingTopics();
  clock = Date.parse('2026-11-28T12:00:00Z');
});

describe('deliverEvent', () => {
  it('posts each channel its own rendering, skipping channels whose filter excludes the type', async () => {
    const report = await deliverEvent(sampleEvent('sync.stalled'), channels, deps());

    expect(report).toEqual({
      delivered: expect.arrayContaining(['slack-ops', 'siem']),
      duplicates: [],
      filtered: ['teams-backup'],
      grouped: [],
    });
    const siem = poster.posts.find((p) => p.channelId === 'siem');
    expect(JSON.parse(siem?.body ?? '{}')).toEqual(sampleEvent('sync.stalled'));
    expect(JSON.parse(poster.posts.find((p) => p.channelId === 'slack-ops')?.body ?? '{}')).toHaveProperty(
      'attachments',
    );
  });

  it.each(['monitor.server_not_polled', 'monitor.server_polled_again'] as const)(
    'delivers %s to every channel whatever its filter (the health of the monitor itself)',
    async (type) => {
      const report = await deliverEvent(sampleEvent(type), channels, deps());

      expect(report.filtered).toEqual([]);
      expect([...report.delivered].sort()).toEqual(['siem', 'slack-ops', 'teams-backup']);
    },
  );

  it('drops a redelivered event per channel (SNS at-least-once)', async () => {
    const event = sampleEvent('sync.failed');

    await deliverEvent(event, channels, deps());
    const again = await deliverEvent(event, channels, deps());

    expect(poster.posts).toHaveLength(3);
    expect([...again.duplicates].sort()).toEqual(['siem', 'slack-ops', 'teams-backup']);
  });

  it('delivers to the others, then throws naming the failed channel; a retry posts only what is missing', async () => {
    const event = sampleEvent('sync.failed');
    poster.failing.set('teams-backup', new DeliveryError('channel teams-backup: HTTP 503', true, 503));

    const err = await deliverEvent(event, channels, deps()).catch((e: unknown) => e);
    poster.failing.clear();
    const retry = await deliverEvent(event, channels, deps());

    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as DeliveryError).message).toBe(
      `event ${event.eventId} not delivered to 1 channel(s): channel teams-backup: HTTP 503`,
    );
    expect((err as DeliveryError).retryable).toBe(true);
    expect(retry).toMatchObject({ delivered: ['teams-backup'] });
    expect(poster.posts.map((p) => p.channelId).sort()).toEqual(['siem', 'slack-ops', 'teams-backup']);
  });

  it('treats a claim held by a live attempt as busy, and takes over once its lease expired (crash mid-send)', async () => {
    const event: MonitorEvent = sampleEvent('sync.completed');
    await log.claim('slack-ops', event.eventId, new Date(clock), new Date(clock + 120_000)); // a crashed attempt

    const busy = await deliverEvent(event, [channels[0] as Channel], deps()).catch((e: unknown) => e);
    clock += 121_000;
    const later = await deliverEvent(event, [channels[0] as Channel], deps());

    expect((busy as DeliveryError).message).toMatch(/another attempt is delivering/);
    expect(later.delivered).toEqual(['slack-ops']);
  });

  it('renders per kind: Slack attachments, Teams Adaptive Card, the event JSON for webhooks', () => {
    const event = sampleEvent('sync.failed');

    expect(Object.keys(JSON.parse(bodyFor(channels[0] as Channel, event)))).toEqual(['text', 'attachments']);
    expect(JSON.parse(bodyFor(channels[1] as Channel, event)).type).toBe('message');
    expect(JSON.parse(bodyFor(channels[2] as Channel, event))).toEqual(event);
  });

  it('publishes an Amazon Q Developer custom notification to the channel topic, once', async () => {
    const event = sampleEvent('sync.failed');

    const first = await deliverEvent(event, [...channels, Q], deps());
    const again = await deliverEvent(event, [...channels, Q], deps());

    expect(first.delivered).toContain('q-ops');
    expect(again.duplicates).toContain('q-ops');
    expect(topics.published).toHaveLength(1);
    expect(topics.published[0]?.topicArn).toBe('arn:aws:sns:eu-west-1:123456789012:q-ops');
    expect(JSON.parse(topics.published[0]?.body ?? '{}')).toMatchObject({ version: '1.0', source: 'custom' });
  });

  it('fails a Q Developer channel without a topic publisher as not retryable (a wiring fault)', async () => {
    const err = await deliverEvent(sampleEvent('sync.failed'), [Q], { ...deps(), topics: undefined }).catch(
      (e: unknown) => e,
    );

    expect((err as DeliveryError).retryable).toBe(false);
    expect((err as DeliveryError).message).toMatch(/channel q-ops: no topic publisher/);
  });
});

describe('monitor.grouped and the events it stands for', () => {
  const group = () => sampleEvent('monitor.grouped', {}, 7);
  const member = () => sampleEvent('sync.failed', { groupedIn: group().eventId }, 8);

  it('sends an event a group stands for to webhooks only: people get the group instead', async () => {
    const report = await deliverEvent(member(), [...channels, Q], deps());

    expect(report).toEqual({
      delivered: ['siem'],
      duplicates: [],
      filtered: [],
      grouped: ['slack-ops', 'teams-backup', 'q-ops'],
    });
    expect(poster.posts.map((p) => p.channelId)).toEqual(['siem']);
    expect(JSON.parse(poster.posts[0]?.body ?? '{}')).toEqual(member());
    expect(topics.published).toEqual([]);
  });

  it('sends the group to every channel, webhooks included, once', async () => {
    const first = await deliverEvent(group(), [...channels, Q], deps());
    const again = await deliverEvent(group(), [...channels, Q], deps());

    expect([...first.delivered].sort()).toEqual(['q-ops', 'siem', 'slack-ops', 'teams-backup']);
    expect([...again.duplicates].sort()).toEqual(['q-ops', 'siem', 'slack-ops', 'teams-backup']);
    expect(JSON.parse(poster.posts.find((p) => p.channelId === 'siem')?.body ?? '{}')).toEqual(group());
    expect(poster.posts.find((p) => p.channelId === 'slack-ops')?.body).toContain('Syncs failed (40)');
    expect(JSON.parse(topics.published[0]?.body ?? '{}').content.description).toContain('*Syncs failed (40)*');
  });

  it("lets a group through a channel's filter when the filter names the grouped type", async () => {
    const onlyStalled: Channel = { id: 'slack-stalls', kind: 'slack', secret: 's', eventTypes: ['sync.stalled'] };
    const onlyGroups: Channel = { id: 'slack-groups', kind: 'slack', secret: 's', eventTypes: ['monitor.grouped'] };

    const report = await deliverEvent(group(), [channels[1] as Channel, onlyStalled, onlyGroups], deps());

    expect([...report.delivered].sort()).toEqual(['slack-groups', 'teams-backup']);
    expect(report.filtered).toEqual(['slack-stalls']);
  });
});

const ALARM = JSON.stringify(sampleAlarm());
const OK = JSON.stringify(sampleAlarm({ NewStateValue: 'OK', OldStateValue: 'ALARM' }));

describe('parseAlarm', () => {
  it('reads a CloudWatch alarm notification', () => {
    expect(parseAlarm('msg-1', ALARM)).toEqual({
      messageId: 'msg-1',
      name: 'VB365SyncMonitor-MonitorPollNotInvoked1A2B3C4D-Q1W2E3R4T5Y6',
      description:
        'The poll Lambda was not invoked for 3 intervals: its schedules are not running, nothing is watched.',
      state: 'ALARM',
      previousState: 'OK',
      reason:
        'Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [Breaching].',
      changedAt: '2026-11-28T12:30:00.000Z',
      region: 'EU (Ireland)',
      accountId: '123456789012',
      arn: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:VB365SyncMonitor-MonitorPollNotInvoked1A2B3C4D-Q1W2E3R4T5Y6',
    });
  });

  it.each([
    ['not JSON', 'ALARM: "PollNotInvoked" in EU (Ireland)'],
    ['a monitor event', JSON.stringify(sampleEvent('sync.failed'))],
    ['JSON without a state', '{"AlarmName":"x"}'],
    ['a JSON array', '[1]'],
  ])('returns undefined for %s', (_what, message) => {
    expect(parseAlarm('msg-1', message)).toBeUndefined();
  });
});

describe('deliverAlarm', () => {
  const alarm = (message = ALARM, id = 'msg-1') => parseAlarm(id, message) as MonitorAlarm;

  it('renders the alarm for every channel whatever its filter, once per SNS message', async () => {
    const first = await deliverAlarm(alarm(), ALARM, [...channels, Q], deps());
    const again = await deliverAlarm(alarm(), ALARM, [...channels, Q], deps());
    const ok = await deliverAlarm(alarm(OK, 'msg-2'), OK, [...channels, Q], deps());

    expect([...first.delivered].sort()).toEqual(['q-ops', 'siem', 'slack-ops', 'teams-backup']);
    expect(first.filtered).toEqual([]);
    expect([...again.duplicates].sort()).toEqual(['q-ops', 'siem', 'slack-ops', 'teams-backup']);
    expect(ok.delivered).toHaveLength(4);
    expect(poster.posts).toHaveLength(6);
    expect(topics.published.map((p) => p.body)).toEqual([ALARM, OK]); // Q Developer renders alarms natively
  });

  it('posts Slack and Teams a message of their own: critical for ALARM with the mention, info for OK', async () => {
    await deliverAlarm(alarm(), ALARM, channels, deps());
    await deliverAlarm(alarm(OK, 'msg-2'), OK, channels, deps());

    const slack = poster.posts.filter((p) => p.channelId === 'slack-ops').map((p) => JSON.parse(p.body));
    const teams = poster.posts.filter((p) => p.channelId === 'teams-backup').map((p) => JSON.parse(p.body));
    expect(slack.map((m) => m.text)).toEqual([
      '<!here> 🔴 Monitor alarm: VB365SyncMonitor-MonitorPollNotInvoked1A2B3C4D-Q1W2E3R4T5Y6 is ALARM',
      '🔵 Monitor alarm: VB365SyncMonitor-MonitorPollNotInvoked1A2B3C4D-Q1W2E3R4T5Y6 is OK',
    ]);
    expect(slack.map((m) => m.attachments[0].color)).toEqual(['#D92D20', '#2E90FA']);
    expect(JSON.stringify(slack[0])).toContain('Reason: Threshold Crossed');
    expect(JSON.stringify(slack[0])).toContain(
      'Next: Nothing invoked the poll function for several intervals: no server is watched.',
    );
    expect(teams.map((m) => m.attachments[0].content.body[0].style)).toEqual(['attention', 'accent']);
  });

  it('posts webhooks a JSON body of its own, kind "alarm", with the values as CloudWatch sent them', async () => {
    await deliverAlarm(alarm(), ALARM, channels, deps());

    const body = JSON.parse(poster.posts.find((p) => p.channelId === 'siem')?.body ?? '{}');
    expect(body).toEqual({
      kind: 'alarm',
      id: 'msg-1',
      severity: 'critical',
      title: 'Monitor alarm: VB365SyncMonitor-MonitorPollNotInvoked1A2B3C4D-Q1W2E3R4T5Y6 is ALARM',
      alarm: {
        name: 'VB365SyncMonitor-MonitorPollNotInvoked1A2B3C4D-Q1W2E3R4T5Y6',
        description:
          'The poll Lambda was not invoked for 3 intervals: its schedules are not running, nothing is watched.',
        state: 'ALARM',
        previousState: 'OK',
        reason:
          'Threshold Crossed: no datapoints were received for 1 period and 1 missing datapoint was treated as [Breaching].',
        changedAt: '2026-11-28T12:30:00.000Z',
        region: 'EU (Ireland)',
        accountId: '123456789012',
        arn: 'arn:aws:cloudwatch:eu-west-1:123456789012:alarm:VB365SyncMonitor-MonitorPollNotInvoked1A2B3C4D-Q1W2E3R4T5Y6',
      },
    });
    expect(body).not.toHaveProperty('schemaVersion');
  });

  it('delivers to the others, then throws naming the failed channel; a retry posts only that one', async () => {
    poster.failing.set('slack-ops', new DeliveryError('channel slack-ops: HTTP 503', true, 503));

    const err = await deliverAlarm(alarm(), ALARM, [...channels, Q], deps()).catch((e: unknown) => e);
    poster.failing.clear();
    const retry = await deliverAlarm(alarm(), ALARM, [...channels, Q], deps());

    expect((err as DeliveryError).message).toBe(
      'event alarm/msg-1 not delivered to 1 channel(s): channel slack-ops: HTTP 503',
    );
    expect(retry.delivered).toEqual(['slack-ops']);
    expect(poster.posts.map((p) => p.channelId).sort()).toEqual(['siem', 'slack-ops', 'teams-backup']);
  });
});

describe('forwardOther', () => {
  const other = 'a message that is neither an event nor an alarm';

  it('forwards any other message as it is to Q Developer channels only, once per SNS message', async () => {
    const first = await forwardOther('msg-1', other, [...channels, Q], deps());
    const again = await forwardOther('msg-1', other, [...channels, Q], deps());

    expect(first).toEqual({
      delivered: ['q-ops'],
      duplicates: [],
      filtered: ['slack-ops', 'teams-backup', 'siem'],
      grouped: [],
    });
    expect(again.duplicates).toEqual(['q-ops']);
    expect(topics.published.map((p) => p.body)).toEqual([other]);
    expect(poster.posts).toEqual([]);
  });

  it('throws when the topic refuses, so SNS retries the message', async () => {
    topics.failure = new DeliveryError('channel q-ops: SNS publish failed (ThrottlingException 400)', true, 400);

    const err = await forwardOther('msg-3', other, [Q], deps()).catch((e: unknown) => e);

    expect((err as DeliveryError).message).toBe(
      'event alarm/msg-3 not delivered to 1 channel(s): channel q-ops: SNS publish failed (ThrottlingException 400)',
    );
    expect((err as DeliveryError).retryable).toBe(true);
  });
});
