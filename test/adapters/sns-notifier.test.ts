import type { SNSClient } from '@aws-sdk/client-sns';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SNS_LIMITS } from '../../lambda/adapters/limits.js';
import { SnsNotifier } from '../../lambda/adapters/sns-notifier.js';
import { NotifierError } from '../../lambda/domain/errors.js';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import { everyEventType, sampleEvent } from '../../local/cli/sample-events.js';
import { type SnsStandIn, startSnsStandIn } from '../../local/stand-ins/sns-stand-in.js';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:vb365-sync-monitor';
let sns: SnsStandIn;
let client: SNSClient;

beforeEach(async () => {
  sns = await startSnsStandIn();
  client = sns.client(1);
});

afterEach(async () => {
  client.destroy();
  await sns.close();
});

function many(n: number): MonitorEvent[] {
  return Array.from({ length: n }, (_, i) => sampleEvent('sync.started', {}, i + 1));
}

/** A `sync.failed` whose error text is `error` (the notifier does not rely on the parser's bound). */
function failedWith(error: string, sequence = 1): MonitorEvent {
  const sample = sampleEvent('sync.failed', {}, sequence);
  return { ...sample, session: { ...(sample.session as NonNullable<MonitorEvent['session']>), error } };
}

/** The summary item of a failed session with a long error. */
function failedItem(i: number, error: string) {
  return {
    sessionId: `s${i}`,
    repositoryId: `r${i}`,
    repositoryName: `Repository ${i}`,
    state: 'Failed',
    progressPercent: 10,
    error,
  };
}

describe('SnsNotifier', () => {
  it('publishes one message per event in batches of 10, JSON for machines and text for email', async () => {
    const events = many(23);

    const result = await new SnsNotifier(client, TOPIC).publish(events);

    expect(result.delivered.size).toBe(23);
    expect(sns.requests.map((r) => [r.action, r.entries])).toEqual([
      ['PublishBatch', 10],
      ['PublishBatch', 10],
      ['PublishBatch', 3],
    ]);
    expect(sns.defaults()).toEqual(events);
    const first = sns.received[0];
    expect(first?.messageStructure).toBe('json');
    expect(JSON.parse(first?.message ?? '{}').email).toContain(
      'Repository synchronization started for S3 Immutable (eu-west-1).',
    );
    expect(first?.attributes).toEqual({
      type: 'sync.started',
      severity: 'info',
      serverId: 'vb365-prod',
      repositoryId: '3f6a2b1c-8d4e-4f5a-9b6c-7d8e9f0a1b2c',
    });
  });

  it('gives every event type an ASCII subject of at most 100 characters', async () => {
    const events = [
      ...everyEventType(),
      sampleEvent('sync.failed', {
        session: {
          ...(sampleEvent('sync.failed').session as NonNullable<MonitorEvent['session']>),
          repositoryName: `Sauvegarde Société Générale ☁️ ${'x'.repeat(120)}`,
        },
      }),
    ];

    await new SnsNotifier(client, TOPIC).publish(events);

    const subjects = sns.received.map((m) => m.subject ?? '');
    expect(subjects).toHaveLength(events.length);
    for (const s of subjects) {
      expect(s.length).toBeLessThanOrEqual(100);
      expect(s).toMatch(/^\[VB365\] [\x20-\x7e]+$/);
    }
    expect(subjects.at(-1)).toMatch(/^\[VB365\] Sauvegarde Societe Generale \?\?? x+\.\.\.$/);
  });

  it('names the repository and the organization of a blocker in attributes (the organization lower case, id and name)', async () => {
    const blocked = {
      ...sampleEvent('repository.blocked'),
      organization: { id: '5D0C4E9A-1F2B-4C3D-8E7F-A1B2C3D4E5F6', name: 'Contoso' },
    };
    await new SnsNotifier(client, TOPIC).publish([blocked, { ...blocked, organization: { id: 'org-2', name: null } }]);

    expect(sns.received[0]?.attributes).toMatchObject({
      repositoryId: blocked.blocker?.id,
      organization: JSON.stringify(['5d0c4e9a-1f2b-4c3d-8e7f-a1b2c3d4e5f6', 'contoso']),
    });
    expect(sns.received[1]?.attributes.organization).toBe(JSON.stringify(['org-2']));
  });

  it('names no repository on a proxy event (it is about several)', async () => {
    await new SnsNotifier(client, TOPIC).publish([sampleEvent('proxy.offline')]);

    expect(sns.received[0]?.attributes.repositoryId).toBeUndefined();
  });

  it('leaves out repositoryId for server events (SNS refuses empty attributes)', async () => {
    await new SnsNotifier(client, TOPIC).publish([sampleEvent('server.unreachable')]);

    expect(sns.received[0]?.attributes).toEqual({
      type: 'server.unreachable',
      severity: 'critical',
      serverId: 'vb365-prod',
    });
  });

  it('retries entries SNS failed on its side once', async () => {
    sns.inject({ kind: 'entries', fail: (m) => m.attributes.type === 'sync.started', code: 'InternalError' });

    const result = await new SnsNotifier(client, TOPIC).publish([
      sampleEvent('sync.started'),
      sampleEvent('sync.failed'),
    ]);

    expect([...result.delivered].sort()).toEqual(['vb365-prod/s1/1/sync.failed', 'vb365-prod/s1/1/sync.started']);
    expect(result.failed).toEqual([]);
    expect(sns.requests.map((r) => r.entries)).toEqual([2, 1]);
  });

  it('reports entries that keep failing, and does not retry sender faults', async () => {
    sns.inject({ kind: 'entries', fail: () => true, code: 'KMSAccessDenied', senderFault: true });

    const result = await new SnsNotifier(client, TOPIC).publish([sampleEvent('sync.started')]);

    expect(result.delivered.size).toBe(0);
    expect(result.failed).toEqual([{ eventId: 'vb365-prod/s1/1/sync.started', reason: 'KMSAccessDenied: injected' }]);
    expect(sns.requests).toHaveLength(1);
  });

  it('reports a failed batch when another batch got through', async () => {
    sns.inject({ kind: 'error', status: 400, code: 'Throttling', message: 'Rate exceeded' });

    const result = await new SnsNotifier(client, TOPIC).publish(many(12));

    expect(result.delivered.size).toBe(2);
    expect(result.failed).toHaveLength(10);
    expect(result.failed[0]?.reason).toMatch(/Throttling/);
  });

  it('throws NotifierError when nothing gets through', async () => {
    sns.inject({ kind: 'error', status: 404, code: 'NotFound', message: 'Topic does not exist' }, 5);

    const err = await new SnsNotifier(client, TOPIC).publish(many(3)).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(NotifierError);
    expect((err as Error).message).toMatch(/NotFound.*Topic does not exist/);
  });

  it('shrinks a message that would exceed 256 KiB: a 150 KB error is cut, the JSON stays valid', async () => {
    const event = failedWith(`Object storage said: ${'x'.repeat(150_000)}`);

    const result = await new SnsNotifier(client, TOPIC).publish([event]);

    expect(result).toEqual({ delivered: new Set([event.eventId]), failed: [] });
    expect(sns.received[0]?.bytes).toBeLessThanOrEqual(SNS_LIMITS.messageBytes);
    const [published] = sns.defaults<MonitorEvent>();
    expect(published?.eventId).toBe(event.eventId);
    expect(published?.session?.error?.length).toBeLessThanOrEqual(1_024);
    expect(published?.session?.error).toMatch(/^Object storage said: x+…$/);
    expect(JSON.parse(sns.received[0]?.message ?? '{}').email).toContain('Object storage said: xxx');
  });

  it('shrinks the lists of a large summary and keeps its totals', async () => {
    const items = Array.from({ length: 25 }, (_, i) => failedItem(i, 'é'.repeat(4_096)));
    const event = sampleEvent('monitor.started', {
      summary: { running: [], failed: items, other: [], totals: { running: 0, failed: 60, other: 0 } },
    });

    await new SnsNotifier(client, TOPIC).publish([event]);

    const [published] = sns.defaults<MonitorEvent>();
    expect(sns.received[0]?.bytes).toBeLessThanOrEqual(SNS_LIMITS.messageBytes);
    expect(published?.summary?.totals).toEqual({ running: 0, failed: 60, other: 0 });
    expect(published?.summary?.failed.length).toBeGreaterThan(0);
    expect(published?.summary?.failed.length).toBeLessThan(25);
    expect(published?.summary?.failed[0]?.sessionId).toBe('s0');
    expect(JSON.parse(sns.received[0]?.message ?? '{}').email).toMatch(/\.\.\. and \d+ more/);
  });

  it('leaves a message that fits as it is', async () => {
    const event = failedWith('e'.repeat(4_096));

    await new SnsNotifier(client, TOPIC).publish([event]);

    expect(sns.defaults()).toEqual([event]);
  });

  it('splits batches by size: no PublishBatch is over 256 KiB in all, every event delivered in order', async () => {
    const events = Array.from({ length: 10 }, (_, i) => failedWith(`${i}:${'y'.repeat(30_000)}`, i + 1));

    const result = await new SnsNotifier(client, TOPIC).publish(events);

    expect(result.delivered.size).toBe(10);
    expect(result.failed).toEqual([]);
    expect(sns.requests.length).toBeGreaterThanOrEqual(3);
    for (const r of sns.requests) {
      expect(r.refused).toBeUndefined();
      expect(r.bytes).toBeLessThanOrEqual(SNS_LIMITS.batchBytes);
    }
    expect(sns.defaults<MonitorEvent>().map((e) => e.eventId)).toEqual(events.map((e) => e.eventId));
    expect(sns.defaults()).toEqual(events);
  });

  it('marks an event a monitor.grouped event stands for with the attribute grouped=true', async () => {
    const grouped = { ...sampleEvent('sync.failed'), groupedIn: 'vb365-prod/server/4/monitor.grouped' };
    const alone = sampleEvent('sync.started');

    await new SnsNotifier(client, TOPIC).publish([grouped, alone]);

    expect(sns.received.map((m) => m.attributes.grouped)).toEqual(['true', undefined]);
    expect(sns.received[0]?.attributes).toMatchObject({ type: 'sync.failed', severity: 'critical' });
  });

  it('names the type a monitor.grouped event stands for in the attribute groupType', async () => {
    await new SnsNotifier(client, TOPIC).publish([sampleEvent('monitor.grouped'), sampleEvent('sync.failed')]);

    expect(sns.received.map((m) => m.attributes.groupType)).toEqual(['sync.failed', undefined]);
  });

  it('sends at most 10 attributes, none empty, for every event type', async () => {
    const events = everyEventType().map((e) => ({ ...e, groupedIn: 'vb365-prod/server/9/monitor.grouped' }));

    const result = await new SnsNotifier(client, TOPIC).publish(events);

    expect(result.failed).toEqual([]);
    for (const m of sns.received) {
      expect(Object.keys(m.attributes).length).toBeLessThanOrEqual(SNS_LIMITS.attributes);
      expect(Object.values(m.attributes).every((v) => v !== '')).toBe(true);
    }
  });

  it('reports an event that cannot fit even shrunk, sends nothing for it, and delivers the others', async () => {
    const huge = sampleEvent('server.unreachable', {
      server: { id: 'vb365-prod', name: 'n'.repeat(300_000), url: 'https://vb365.contoso.local:4443' },
    });
    const fine = sampleEvent('sync.started');

    const result = await new SnsNotifier(client, TOPIC).publish([huge, fine]);

    expect([...result.delivered]).toEqual([fine.eventId]);
    expect(result.failed).toEqual([
      { eventId: huge.eventId, reason: expect.stringMatching(/^too large for SNS even shrunk \(over 262144 bytes\)/) },
    ]);
    expect(sns.requests.every((r) => r.refused === undefined)).toBe(true);
  });

  it('publishes an event with lone surrogates in repositoryId and error as U+FFFD, and the rest of its batch', async () => {
    const sample = sampleEvent('sync.failed', {}, 7);
    const session = sample.session as NonNullable<MonitorEvent['session']>;
    const poisoned: MonitorEvent = {
      ...sample,
      session: { ...session, repositoryId: 'r\uD800', repositoryName: 'Repo \uDC00', error: 'disk \uDBFF full' },
    };
    const events = [...many(2), poisoned, ...many(3).slice(2)];

    const result = await new SnsNotifier(client, TOPIC).publish(events);

    expect(result).toEqual({ delivered: new Set(events.map((e) => e.eventId)), failed: [] });
    expect(sns.requests).toEqual([{ action: 'PublishBatch', entries: 4, bytes: expect.any(Number) }]);
    const published = sns.received[2];
    expect(published?.attributes.repositoryId).toBe('r\uFFFD');
    expect(published?.subject).toMatch(/^\[VB365\] [\x20-\x7e]+$/);
    expect(sns.defaults<MonitorEvent>()[2]?.session).toMatchObject({
      repositoryId: 'r\uFFFD',
      repositoryName: 'Repo \uFFFD',
      error: 'disk \uFFFD full',
    });
    expect(JSON.parse(published?.message ?? '{}').email).toContain('disk \uFFFD full');
  });
});
