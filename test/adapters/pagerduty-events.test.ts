import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PagerDutyEvents } from '../../lambda/adapters/channels/pagerduty-events.js';
import type { PagerDutyChannel } from '../../lambda/domain/channels.js';
import { DeliveryError } from '../../lambda/domain/errors.js';
import type { PagerDutyEvent } from '../../lambda/domain/render-pagerduty.js';
import { type PagerDutyStandIn, startPagerDutyStandIn } from '../../local/stand-ins/pagerduty-stand-in.js';

const ROUTING_KEY = 'R0utingKeyS3cretAbCdEf0123456789';
const OTHER_KEY = 'UnknownKeyS3cretAbCdEf0123456789';
const CHANNEL: PagerDutyChannel = { id: 'pd-oncall', kind: 'pagerduty', secret: 'vb365/pagerduty' };
const trigger = (key: string): PagerDutyEvent => ({
  event_action: 'trigger',
  dedup_key: key,
  payload: {
    summary: 'S3 Immutable sync failed on Contoso VB365',
    source: 'vb365.contoso.local',
    severity: 'critical',
  },
  client: 'vb365-sync-monitor',
});

let pd: PagerDutyStandIn;
const secrets = new Map([
  ['vb365/pagerduty', JSON.stringify({ routingKey: ROUTING_KEY })],
  ['vb365/pagerduty-bare', ROUTING_KEY],
  ['vb365/pagerduty-unknown', OTHER_KEY],
  ['vb365/pagerduty-short', 'tooShort'],
]);
const clients: PagerDutyEvents[] = [];

beforeAll(async () => {
  pd = await startPagerDutyStandIn();
  pd.routingKeys.add(ROUTING_KEY);
});

afterAll(async () => {
  await pd.close();
});

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

function client(options: ConstructorParameters<typeof PagerDutyEvents>[1] = {}) {
  const c = new PagerDutyEvents(async (name) => secrets.get(name), {
    url: pd.url,
    ca: pd.caCert,
    random: () => 0,
    ...options,
  });
  clients.push(c);
  return c;
}

async function failure(p: Promise<unknown>): Promise<DeliveryError> {
  try {
    await p;
  } catch (err) {
    return err as DeliveryError;
  }
  throw new Error('expected the call to fail');
}

describe('PagerDutyEvents', () => {
  it('triggers, acknowledges and resolves one alert by dedup key, with the routing key from the secret', async () => {
    await client().send(CHANNEL, trigger('k1'));
    await client().send(
      { ...CHANNEL, secret: 'vb365/pagerduty-bare' },
      { event_action: 'acknowledge', dedup_key: 'k1' },
    );
    await client().send(CHANNEL, { event_action: 'resolve', dedup_key: 'k1' });

    expect(pd.alerts.get('k1')).toMatchObject({ status: 'resolved', opened: 1 });
    expect(pd.alerts.get('k1')?.log.map((e) => [e.event_action, e.routing_key])).toEqual([
      ['trigger', ROUTING_KEY],
      ['acknowledge', ROUTING_KEY],
      ['resolve', ROUTING_KEY],
    ]);
  });

  it('fails an event PagerDuty refuses (400) as not retryable, with its reasons and without the key', async () => {
    const err = await failure(client().send({ ...CHANNEL, secret: 'vb365/pagerduty-unknown' }, trigger('k2')));

    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({ retryable: false, status: 400 });
    expect(err.message).toMatch(
      /^channel pd-oncall: PagerDuty trigger: HTTP 400, the event was refused \(Event object is invalid; Invalid routing key\)/,
    );
    expect(inspect(err, { depth: 5 })).not.toContain('S3cret');
  });

  it('fails a trigger without a summary as not retryable (the stand-in validates like PagerDuty)', async () => {
    const bad = { ...trigger('k3'), payload: { source: 'x', severity: 'critical', summary: '' } } as PagerDutyEvent;

    const err = await failure(client().send(CHANNEL, bad));

    expect(err.message).toContain("'payload.summary' is missing or blank");
  });

  it('waits out a 429 with Retry-After, then sends', async () => {
    pd.inject({ kind: 'rate-limit', retryAfterSeconds: 1 });
    const before = pd.requests.length;

    await client().send(CHANNEL, trigger('k4'));

    expect(pd.requests.slice(before).map((r) => r.status)).toEqual([429, 202]);
    expect(pd.alerts.get('k4')?.status).toBe('triggered');
  });

  it('backs off and retries a 429 without Retry-After and a 5xx (PagerDuty deduplicates)', async () => {
    pd.inject({ kind: 'rate-limit' });
    pd.inject({ kind: 'status', status: 502 });
    const before = pd.requests.length;

    await client().send(CHANNEL, trigger('k5'));

    expect(pd.requests.slice(before).map((r) => r.status)).toEqual([429, 502, 202]);
  });

  it('fails retryably when PagerDuty keeps failing past its retries', async () => {
    for (let i = 0; i < 3; i++) pd.inject({ kind: 'status', status: 500 });

    const err = await failure(client({ maxRetries: 2 }).send(CHANNEL, trigger('k6')));

    expect(err).toMatchObject({ retryable: true, status: 500 });
    expect(pd.alerts.has('k6')).toBe(false);
  });

  it('refuses a secret that holds no routing key, naming the secret but not its value', async () => {
    const err = await failure(client().send({ ...CHANNEL, secret: 'vb365/pagerduty-short' }, trigger('k7')));

    expect(err).toMatchObject({ retryable: false });
    expect(err.message).toContain('secret vb365/pagerduty-short must hold');
    expect(err.message).not.toContain('tooShort');
  });
});
