import { beforeEach, describe, expect, it } from 'vitest';
import { type MonitorAlarm, parseAlarm } from '../../lambda/domain/alarm.js';
import { accepts, type Channel, type PagerDutyChannel, type SlackAppChannel } from '../../lambda/domain/channels.js';
import { bodyFor, deliverAlarm, deliverEvent, forwardOther } from '../../lambda/domain/delivery.js';
import type {
  ChannelPoster,
  ChannelTarget,
  DeliveryDeps,
  PagerDutyApi,
  SlackApi,
  SlackContent,
  SlackMessageRef,
  TopicPoster,
} from '../../lambda/domain/delivery-ports.js';
import { DeliveryError } from '../../lambda/domain/errors.js';
import type { EventType, MonitorEvent } from '../../lambda/domain/events.js';
import type { PagerDutyEvent } from '../../lambda/domain/render-pagerduty.js';
import { eventOrder } from '../../lambda/domain/slack-app-delivery.js';
import { sampleAlarm, sampleEvent } from '../../local/cli/sample-events.js';
import { InMemoryDeliveryLog, InMemorySlackThreads } from '../support/in-memory-delivery-log.js';
import { INCIDENT_KEY, incidentEvent, resyncIncident } from '../support/incident-events.js';

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

  it("gives a tenant's channel its repository's event though a group stands for it, and never the group", async () => {
    const tenant: Channel = { id: 'slack-contoso', kind: 'slack', secret: 's', organizations: ['Contoso'] };
    const contoso = { id: '5d0c4e9a-0000-4000-8000-000000000001', name: 'Contoso' };

    const one = await deliverEvent({ ...member(), organization: contoso }, [channels[0] as Channel, tenant], deps());
    const grouped = await deliverEvent(group(), [tenant], deps());

    expect(one).toMatchObject({ delivered: ['slack-contoso'], grouped: [channels[0]?.id] });
    expect(grouped).toMatchObject({ delivered: [], filtered: ['slack-contoso'] });
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

/** A Slack workspace in memory: messages per channel with threads and edits; faults per method, once each. */
class InMemorySlack implements SlackApi {
  readonly messages: {
    channel: string;
    ts: string;
    threadTs?: string;
    broadcast?: boolean;
    content: SlackContent;
    edits: number;
    deleted?: boolean;
  }[] = [];
  readonly faults: { method: 'post' | 'reply' | 'update'; fault: DeliveryError | 'gone' }[] = [];
  #n = 0;

  #fault(method: 'post' | 'reply' | 'update'): DeliveryError | 'gone' | undefined {
    const i = this.faults.findIndex((f) => f.method === method);
    return i < 0 ? undefined : this.faults.splice(i, 1)[0]?.fault;
  }

  async post(channel: SlackAppChannel, content: SlackContent): Promise<SlackMessageRef> {
    const fault = this.#fault('post');
    if (fault instanceof DeliveryError) throw fault;
    this.#n += 1;
    const ts = `${1_700_000_000 + this.#n}.000100`;
    this.messages.push({ channel: channel.channelId, ts, content, edits: 0 });
    return { channel: channel.channelId, ts };
  }

  async reply(
    channel: SlackAppChannel,
    parent: SlackMessageRef,
    content: SlackContent,
    options: { broadcast?: boolean } = {},
  ): Promise<SlackMessageRef | 'gone'> {
    const fault = this.#fault('reply');
    if (fault instanceof DeliveryError) throw fault;
    if (fault === 'gone' || !this.messages.some((m) => m.ts === parent.ts && !m.deleted)) return 'gone';
    this.#n += 1;
    const ts = `${1_700_000_000 + this.#n}.000100`;
    this.messages.push({
      channel: channel.channelId,
      ts,
      threadTs: parent.ts,
      broadcast: options.broadcast === true,
      content,
      edits: 0,
    });
    return { channel: channel.channelId, ts };
  }

  async update(
    _channel: SlackAppChannel,
    message: SlackMessageRef,
    content: SlackContent,
  ): Promise<'updated' | 'gone'> {
    const fault = this.#fault('update');
    if (fault instanceof DeliveryError) throw fault;
    const m = this.messages.find((x) => x.ts === message.ts && !x.deleted);
    if (fault === 'gone' || !m) return 'gone';
    m.content = content;
    m.edits += 1;
    return 'updated';
  }

  /** Top-level messages in a channel. */
  parents(channel: string) {
    return this.messages.filter((m) => m.channel === channel && m.threadTs === undefined && !m.deleted);
  }

  replies(ts: string) {
    return this.messages.filter((m) => m.threadTs === ts);
  }
}

class RecordingPagerDuty implements PagerDutyApi {
  readonly sent: { channelId: string; event: PagerDutyEvent }[] = [];

  async send(channel: PagerDutyChannel, event: PagerDutyEvent): Promise<void> {
    this.sent.push({ channelId: channel.id, event });
  }
}

/** The card title (the header block) of a Slack message. */
function titleOfSlack(content: SlackContent): string {
  const blocks = (content.attachments as { blocks: { type: string; text?: { text: string } }[] }[])[0]?.blocks ?? [];
  return blocks.find((b) => b.type === 'header')?.text?.text ?? '';
}

describe('accepts (escalation)', () => {
  const escalated = (type: EventType, minutes: number | null) =>
    incidentEvent({
      type,
      at: '2026-11-28T11:40:00.000Z',
      sequence: 4,
      severity: 'warning',
      escalatedAfterMinutes: minutes,
    });
  const channel = (over: Partial<SlackAppChannel> = {}): SlackAppChannel => ({
    id: 'slack-escalation',
    kind: 'slackApp',
    secret: 's',
    channelId: 'C0ESCALATE',
    escalateAfterMinutes: 30,
    ...over,
  });

  it.each([
    ['an incident not escalated', escalated('sync.stalled', null), {}, false],
    ['an incident escalated less far than the channel waits', escalated('incident.escalated', 15), {}, false],
    ['its escalation', escalated('incident.escalated', 30), {}, true],
    ['an escalation past its threshold', escalated('incident.escalated', 60), {}, true],
    [
      'its escalation, whatever eventTypes lists',
      escalated('incident.escalated', 30),
      { eventTypes: ['sync.failed'] },
      true,
    ],
    ['the rest of the escalated incident', escalated('sync.failed', 30), {}, true],
    [
      'the rest, through eventTypes',
      escalated('sync.progress', 30),
      { eventTypes: ['sync.failed'] as EventType[] },
      false,
    ],
    ['an event without an incident', sampleEvent('sync.failed'), {}, false],
    [
      "the monitor's own health (it is blind to a server), escalated or not",
      sampleEvent('monitor.server_not_polled'),
      {},
      true,
    ],
  ] as const)('an escalation channel (30 min) gets %s: %s', (_what, event, over, expected) => {
    expect(accepts(channel(over as Partial<SlackAppChannel>), event)).toBe(expected);
  });

  it.each([
    ['an incident not escalated', escalated('sync.stalled', null), true],
    ['an escalation', escalated('incident.escalated', 30), true],
    ['an event without an incident', sampleEvent('sync.failed'), true],
  ] as const)('a channel without escalateAfterMinutes gets %s as today', (_what, event, expected) => {
    expect(accepts(channel({ escalateAfterMinutes: undefined }), event)).toBe(expected);
  });
});

describe('accepts (PagerDuty with eventTypes)', () => {
  const PD = { id: 'pd', kind: 'pagerduty' as const, secret: 's', eventTypes: ['sync.failed'] as EventType[] };
  const step = (type: EventType, status: 'open' | 'resolved' = 'open') =>
    incidentEvent({ type, at: '2026-11-28T12:10:00.000Z', sequence: 9, severity: 'critical', status });

  it.each([
    ['the trigger it lists', step('sync.failed'), true],
    ['a trigger it does not list', step('sync.stalled'), false],
    ['the acknowledgement of an incident', step('incident.acknowledged'), true],
    ['the event that resolves an incident', step('sync.completed', 'resolved'), true],
    ['an event that resolves nothing', step('sync.completed'), false],
  ] as const)('lets %s through: %s', (_what, event, expected) => {
    expect(accepts(PD, event)).toBe(expected);
  });
});

describe('accepts (a tenant\u2019s channel)', () => {
  const contoso = { id: '5d0c4e9a-1f2b-4c3d-8e7f-a1b2c3d4e5f6', name: 'Contoso' };
  const of = (type: EventType, organization?: { id: string; name: string | null }) => {
    const { organization: _, ...event } = sampleEvent(type);
    return organization === undefined ? event : { ...event, organization };
  };
  const tenant = (organizations: string[], over: Partial<SlackAppChannel> = {}): SlackAppChannel => ({
    id: 'slack-contoso',
    kind: 'slackApp',
    secret: 's',
    channelId: 'C0CONTOSO',
    organizations,
    ...over,
  });

  it.each([
    ['its repository, by name', ['Contoso'], of('sync.failed', contoso), true],
    ['its repository, by name in another case', ['contoso'], of('sync.failed', contoso), true],
    ['its repository, by id in upper case', [contoso.id.toUpperCase()], of('sync.failed', contoso), true],
    ['its repository, one of two organizations', ['Fabrikam', 'Contoso'], of('repository.blocked', contoso), true],
    [
      'its repository, named by id only (no name known)',
      [contoso.id],
      of('sync.failed', { ...contoso, name: null }),
      true,
    ],
    ["another customer's repository", ['Fabrikam'], of('sync.failed', contoso), false],
    ['a repository of no organization', ['Contoso'], of('sync.failed'), false],
    ['a server event', ['Contoso'], of('server.unreachable'), false],
    ["the monitor's word about itself (the MSP's business)", ['Contoso'], of('monitor.server_not_polled'), false],
  ] as const)('gets %s: %s', (_what, organizations, event, expected) => {
    expect(accepts(tenant([...organizations]), event)).toBe(expected);
  });

  it('combines with eventTypes: its repository, and a type it lists', () => {
    const channel = tenant(['Contoso'], { eventTypes: ['sync.failed'] });

    expect(accepts(channel, of('sync.failed', contoso))).toBe(true);
    expect(accepts(channel, of('sync.started', contoso))).toBe(false);
  });
});

describe('eventOrder', () => {
  it('orders by time, then by the sequence of the event id', () => {
    const a = incidentEvent({ type: 'sync.progress', at: '2026-11-28T10:40:00.000Z', sequence: 9, severity: 'info' });
    const b = incidentEvent({
      type: 'sync.stalled',
      at: '2026-11-28T10:40:00.000Z',
      sequence: 10,
      severity: 'warning',
    });
    const c = incidentEvent({ type: 'sync.failed', at: '2026-11-28T10:41:00.000Z', sequence: 1, severity: 'critical' });

    expect([eventOrder(c), eventOrder(b), eventOrder(a)].sort()).toEqual([eventOrder(a), eventOrder(b), eventOrder(c)]);
  });
});

describe('Slack app channels: one thread per incident', () => {
  const SLACK_APP: SlackAppChannel = { id: 'slack-incidents', kind: 'slackApp', secret: 's', channelId: 'C0INCIDENTS' };
  let slack: InMemorySlack;
  let threads: InMemorySlackThreads;
  const slackDeps = (over: Partial<DeliveryDeps> = {}): DeliveryDeps => ({
    ...deps(),
    slack,
    threads,
    sleep: (ms) => new Promise((r) => setTimeout(r, Math.min(ms, 5))),
    ...over,
  });

  beforeEach(() => {
    slack = new InMemorySlack();
    threads = new InMemorySlackThreads();
  });

  it("posts the incident's first event, replies with the others in its thread and keeps the first message current", async () => {
    const events = resyncIncident();

    for (const e of events) await deliverEvent(e, [SLACK_APP], slackDeps());

    const [parent, ...others] = slack.parents('C0INCIDENTS');
    expect(others).toEqual([]);
    expect(slack.replies(parent?.ts ?? '').map((m) => titleOfSlack(m.content))).toEqual(
      events.slice(1).map((e) => titleOfSlack(bodyOf(e))),
    );
    expect(titleOfSlack(parent?.content ?? {})).toBe(titleOfSlack(bodyOf(events.at(-1) as MonitorEvent)));
    expect(JSON.stringify(parent?.content)).toContain('Incident: resolved after 2h 10m');
  });

  it('replies with an older event but leaves the first message showing the newer one (out of order)', async () => {
    const [started, progress, stalled] = resyncIncident() as [MonitorEvent, MonitorEvent, MonitorEvent];

    await deliverEvent(started, [SLACK_APP], slackDeps());
    await deliverEvent(stalled, [SLACK_APP], slackDeps());
    await deliverEvent(progress, [SLACK_APP], slackDeps());

    const [parent] = slack.parents('C0INCIDENTS');
    expect(titleOfSlack(parent?.content ?? {})).toBe(titleOfSlack(bodyOf(stalled)));
    expect(parent?.edits).toBe(1);
    expect(slack.replies(parent?.ts ?? '')).toHaveLength(2);
  });

  it('posts anew, and threads there from then on, when the first message cannot be edited any more', async () => {
    const [started, progress, stalled] = resyncIncident() as [MonitorEvent, MonitorEvent, MonitorEvent];
    await deliverEvent(started, [SLACK_APP], slackDeps());
    slack.faults.push({ method: 'update', fault: 'gone' });

    await deliverEvent(progress, [SLACK_APP], slackDeps());
    await deliverEvent(stalled, [SLACK_APP], slackDeps());

    const parents = slack.parents('C0INCIDENTS');
    expect(parents.map((m) => titleOfSlack(m.content))).toEqual([
      titleOfSlack(bodyOf(started)),
      titleOfSlack(bodyOf(stalled)),
    ]);
    expect(slack.replies(parents[1]?.ts ?? '').map((m) => titleOfSlack(m.content))).toEqual([
      titleOfSlack(bodyOf(stalled)),
    ]);
  });

  it('posts anew when a reply finds the thread gone (its first message deleted)', async () => {
    const [started, progress, stalled] = resyncIncident() as [MonitorEvent, MonitorEvent, MonitorEvent];
    await deliverEvent(started, [SLACK_APP], slackDeps());
    await deliverEvent(stalled, [SLACK_APP], slackDeps());
    const first = slack.parents('C0INCIDENTS')[0];
    if (first) first.deleted = true;

    // Older than what the first message shows: no edit, only a reply, which finds no thread.
    const report = await deliverEvent(progress, [SLACK_APP], slackDeps());

    expect(report.delivered).toEqual(['slack-incidents']);
    const parents = slack.parents('C0INCIDENTS');
    expect(parents.map((m) => titleOfSlack(m.content))).toEqual([titleOfSlack(bodyOf(progress))]);
    expect(await threads.get('slack-incidents', INCIDENT_KEY, new Date(clock))).toMatchObject({
      ref: { ts: parents[0]?.ts },
    });
  });

  it('posts an event without an incident as a message of its own, remembering no thread', async () => {
    await deliverEvent(sampleEvent('sync.failed'), [SLACK_APP], slackDeps());

    expect(slack.parents('C0INCIDENTS')).toHaveLength(1);
    expect(threads.items.size).toBe(0);
  });

  it("broadcasts a critical reply with the channel's mention; other replies and edits carry none", async () => {
    const [started, , stalled, , failed] = resyncIncident() as MonitorEvent[];

    for (const e of [started, stalled, failed] as MonitorEvent[]) await deliverEvent(e, [SLACK_APP], slackDeps());

    const [parent] = slack.parents('C0INCIDENTS');
    const replies = slack.replies(parent?.ts ?? '');
    expect(replies.map((r) => [r.broadcast, String(r.content.text).startsWith('<!here>')])).toEqual([
      [false, false],
      [true, true],
    ]);
    expect(String(parent?.content.text)).not.toContain('<!here>');
  });

  it('posts one thread when two first events of an incident are delivered at once', async () => {
    const [started, progress] = resyncIncident() as [MonitorEvent, MonitorEvent];

    await Promise.all([
      deliverEvent(started, [SLACK_APP], slackDeps()),
      deliverEvent(progress, [SLACK_APP], slackDeps()),
    ]);

    const parents = slack.parents('C0INCIDENTS');
    expect(parents).toHaveLength(1);
    expect(slack.replies(parents[0]?.ts ?? '')).toHaveLength(1);
  });

  it('throws retryably when another attempt holds the claim to post the thread past the wait', async () => {
    await threads.claim('slack-incidents', INCIDENT_KEY, new Date(clock), new Date(clock + 30_000));

    const err = await deliverEvent(
      resyncIncident()[1] as MonitorEvent,
      [SLACK_APP],
      slackDeps({ threadWaitMs: 0 }),
    ).catch((e: unknown) => e);

    expect(err).toMatchObject({ retryable: true });
    expect((err as DeliveryError).message).toMatch(/another attempt is posting the Slack thread of incident/);
    expect(slack.messages).toEqual([]);
  });

  it('edits the first message on the retry of an event whose edit failed', async () => {
    const [started, progress] = resyncIncident() as [MonitorEvent, MonitorEvent];
    await deliverEvent(started, [SLACK_APP], slackDeps());
    slack.faults.push({ method: 'update', fault: new DeliveryError('channel slack-incidents: HTTP 503', true, 503) });

    const err = await deliverEvent(progress, [SLACK_APP], slackDeps()).catch((e: unknown) => e);
    await deliverEvent(progress, [SLACK_APP], slackDeps());

    expect(err).toBeInstanceOf(DeliveryError);
    const [parent] = slack.parents('C0INCIDENTS');
    expect(titleOfSlack(parent?.content ?? {})).toBe(titleOfSlack(bodyOf(progress)));
    expect(slack.replies(parent?.ts ?? '')).toHaveLength(1);
  });

  it('gets the group, not the events it stands for (a channel for people)', async () => {
    const member = incidentEvent({
      type: 'sync.failed',
      at: '2026-11-28T11:50:00.000Z',
      sequence: 5,
      severity: 'critical',
    });

    const report = await deliverEvent(
      { ...member, groupedIn: 'vb365-prod/server/7/monitor.grouped' },
      [SLACK_APP],
      slackDeps(),
    );

    expect(report.grouped).toEqual(['slack-incidents']);
    expect(slack.messages).toEqual([]);
  });

  it('edits the first message of an open thread for an event a group stands for, without a reply', async () => {
    const [started, , stalled] = resyncIncident();
    const completed = resyncIncident().at(-1) as MonitorEvent;
    await deliverEvent(started as MonitorEvent, [SLACK_APP], slackDeps());
    await deliverEvent(stalled as MonitorEvent, [SLACK_APP], slackDeps());

    await deliverEvent({ ...completed, groupedIn: 'vb365-prod/server/9/monitor.grouped' }, [SLACK_APP], slackDeps());

    const [parent, ...others] = slack.parents('C0INCIDENTS');
    expect(others).toEqual([]);
    expect(titleOfSlack(parent?.content ?? {})).toBe(titleOfSlack(bodyOf(completed)));
    expect(slack.replies(parent?.ts ?? '')).toHaveLength(1); // the stall only
  });

  it('starts a thread in the configured channel when the stored one is in another (the channel id was changed)', async () => {
    const [started, progress] = resyncIncident() as [MonitorEvent, MonitorEvent];
    await deliverEvent(started, [SLACK_APP], slackDeps());
    const moved: SlackAppChannel = { ...SLACK_APP, channelId: 'C0MOVEDHERE' };

    await deliverEvent(progress, [moved], slackDeps());

    expect(slack.parents('C0MOVEDHERE').map((m) => titleOfSlack(m.content))).toEqual([titleOfSlack(bodyOf(progress))]);
    expect(slack.messages.filter((m) => m.channel === 'C0INCIDENTS')).toHaveLength(1);
  });

  it('mentions the channel on an escalation as on a critical event, whatever the incident’s severity', async () => {
    const escalation = resyncIncident().find((e) => e.type === 'incident.escalated') as MonitorEvent;

    await deliverEvent(escalation, [SLACK_APP], slackDeps());

    expect(String(slack.messages[0]?.content.text)).toMatch(/^<!here> /);
  });

  it("posts the monitor's alarms as messages of their own", async () => {
    await deliverAlarm(parseAlarm('msg-1', ALARM) as MonitorAlarm, ALARM, [SLACK_APP], slackDeps());

    expect(slack.parents('C0INCIDENTS').map((m) => m.content.text)).toEqual([
      '<!here> 🔴 Monitor alarm: VB365SyncMonitor-MonitorPollNotInvoked1A2B3C4D-Q1W2E3R4T5Y6 is ALARM',
    ]);
  });

  it('fails as not retryable without a Slack client (a wiring fault)', async () => {
    const err = await deliverEvent(sampleEvent('sync.failed'), [SLACK_APP], { ...deps() }).catch((e: unknown) => e);

    expect(err).toMatchObject({ retryable: false });
  });
});

describe('PagerDuty channels', () => {
  const PD: PagerDutyChannel = { id: 'pd-oncall', kind: 'pagerduty', secret: 'pd' };
  let pagerDuty: RecordingPagerDuty;
  const pdDeps = (): DeliveryDeps => ({ ...deps(), pagerDuty });

  beforeEach(() => {
    pagerDuty = new RecordingPagerDuty();
  });

  it('triggers, then resolves one alert per incident; what changes nothing there counts as filtered', async () => {
    const reports = [];
    for (const e of resyncIncident()) reports.push(await deliverEvent(e, [PD], pdDeps()));

    expect(pagerDuty.sent.map((s) => [s.event.event_action, s.event.dedup_key])).toEqual([
      ['trigger', INCIDENT_KEY],
      ['trigger', INCIDENT_KEY],
      ['trigger', INCIDENT_KEY],
      ['resolve', INCIDENT_KEY],
    ]);
    expect(reports.map((r) => (r.delivered.length > 0 ? 'sent' : r.filtered.length > 0 ? 'filtered' : '?'))).toEqual([
      'filtered',
      'filtered',
      'sent',
      'sent',
      'sent',
      'filtered',
      'sent',
    ]);
  });

  it('sends once per event across redeliveries', async () => {
    const failed = resyncIncident()[4] as MonitorEvent;

    await deliverEvent(failed, [PD], pdDeps());
    const again = await deliverEvent(failed, [PD], pdDeps());

    expect(again.duplicates).toEqual(['pd-oncall']);
    expect(pagerDuty.sent).toHaveLength(1);
  });

  it('gets the events a group stands for (a machine consumer; PagerDuty deduplicates)', async () => {
    const member = { ...(resyncIncident()[4] as MonitorEvent), groupedIn: 'vb365-prod/server/7/monitor.grouped' };

    const report = await deliverEvent(member, [PD], pdDeps());

    expect(report.delivered).toEqual(['pd-oncall']);
  });

  it("triggers on the monitor's ALARM, resolves on its OK and ignores INSUFFICIENT_DATA", async () => {
    const insufficient = JSON.stringify(sampleAlarm({ NewStateValue: 'INSUFFICIENT_DATA' }));

    await deliverAlarm(parseAlarm('msg-1', ALARM) as MonitorAlarm, ALARM, [PD], pdDeps());
    await deliverAlarm(parseAlarm('msg-2', OK) as MonitorAlarm, OK, [PD], pdDeps());
    const ignored = await deliverAlarm(parseAlarm('msg-3', insufficient) as MonitorAlarm, insufficient, [PD], pdDeps());

    expect(pagerDuty.sent.map((s) => s.event.event_action)).toEqual(['trigger', 'resolve']);
    expect(ignored.filtered).toEqual(['pd-oncall']);
  });
});

function bodyOf(event: MonitorEvent): SlackContent {
  return JSON.parse(bodyFor({ id: 'x', kind: 'slackApp', secret: 's', channelId: 'C0X' }, event));
}
