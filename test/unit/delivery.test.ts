import { beforeEach, describe, expect, it } from 'vitest';
import {
  bodyFor,
  type Channel,
  type ChannelPoster,
  type ChannelTarget,
  deliverEvent,
} from '../../lambda/domain/delivery.js';
import { DeliveryError } from '../../lambda/domain/errors.js';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import { sampleEvent } from '../../local/sample-events.js';
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

let log: InMemoryDeliveryLog;
let poster: RecordingPoster;
let clock: number;

function deps() {
  return {
    log,
    poster,
    targets: { target: async (c: Channel) => ({ url: `https://hooks.example/${c.id}` }) },
    now: () => new Date(clock),
  };
}

beforeEach(() => {
  log = new InMemoryDeliveryLog();
  poster = new RecordingPoster();
  clock = Date.parse('2026-11-28T12:00:00Z');
});

describe('deliverEvent', () => {
  it('posts each channel its own rendering, skipping channels whose filter excludes the type', async () => {
    const report = await deliverEvent(sampleEvent('sync.stalled'), channels, deps());

    expect(report).toEqual({
      delivered: expect.arrayContaining(['slack-ops', 'siem']),
      duplicates: [],
      filtered: ['teams-backup'],
    });
    const siem = poster.posts.find((p) => p.channelId === 'siem');
    expect(JSON.parse(siem?.body ?? '{}')).toEqual(sampleEvent('sync.stalled'));
    expect(JSON.parse(poster.posts.find((p) => p.channelId === 'slack-ops')?.body ?? '{}')).toHaveProperty(
      'attachments',
    );
  });

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
});
