import { inspect } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SlackWebApi } from '../../lambda/adapters/channels/slack-web-api.js';
import type { SlackAppChannel } from '../../lambda/domain/channels.js';
import { DeliveryError } from '../../lambda/domain/errors.js';
import { type SlackApiStandIn, startSlackApiStandIn } from '../../local/stand-ins/slack-api-stand-in.js';

const TOKEN = 'xoxb-111111111-222222222-SecretTokenValue';
const CHANNEL: SlackAppChannel = {
  id: 'slack-incidents',
  kind: 'slackApp',
  secret: 'vb365/slack-app',
  channelId: 'C0INCIDENTS',
};
const content = { text: 'hello', attachments: [{ color: '#D92D20', blocks: [] }] };

let slack: SlackApiStandIn;
let secrets: Map<string, string>;
const apis: SlackWebApi[] = [];

beforeAll(async () => {
  slack = await startSlackApiStandIn();
  slack.tokens.add(TOKEN);
  slack.channels.add('C0INCIDENTS');
  slack.notJoined.add('C0NOTJOINED');
});

afterAll(async () => {
  await slack.close();
});

beforeEach(() => {
  secrets = new Map([
    ['vb365/slack-app', JSON.stringify({ token: TOKEN })],
    ['vb365/slack-bare', TOKEN],
    ['vb365/slack-revoked', 'xoxb-999999999-revokedToken'],
  ]);
});

afterEach(async () => {
  await Promise.all(apis.splice(0).map((a) => a.close()));
});

function api(options: ConstructorParameters<typeof SlackWebApi>[1] = {}) {
  const a = new SlackWebApi(async (name) => secrets.get(name), {
    baseUrl: slack.baseUrl,
    ca: slack.caCert,
    random: () => 0,
    ...options,
  });
  apis.push(a);
  return a;
}

async function failure(p: Promise<unknown>): Promise<DeliveryError> {
  try {
    await p;
  } catch (err) {
    return err as DeliveryError;
  }
  throw new Error('expected the call to fail');
}

describe('SlackWebApi', () => {
  it('posts with the bot token, replies in the thread and edits the first message', async () => {
    const first = await api().post(CHANNEL, content);
    const reply = await api().reply(CHANNEL, first, { text: 'reply' }, { broadcast: true });
    const edited = await api().update(CHANNEL, first, { text: 'now', attachments: [] });

    expect(first).toEqual({ channel: 'C0INCIDENTS', ts: expect.stringMatching(/^\d{10}\.\d{6}$/) });
    expect(reply).toMatchObject({ channel: 'C0INCIDENTS' });
    expect(edited).toBe('updated');
    expect(slack.message('C0INCIDENTS', first.ts)).toMatchObject({ text: 'now', edits: 1 });
    expect(slack.thread('C0INCIDENTS', first.ts)).toMatchObject([{ text: 'reply', replyBroadcast: true }]);
    expect(slack.requests.at(-3)?.body).toMatchObject({ channel: 'C0INCIDENTS', unfurl_links: false });
  });

  it('reads a bare token as well as {"token"}', async () => {
    const ref = await api().post({ ...CHANNEL, secret: 'vb365/slack-bare' }, content);

    expect(ref.channel).toBe('C0INCIDENTS');
  });

  it('answers "gone" when the first message was deleted (update) or the thread is gone (reply)', async () => {
    const first = await api().post(CHANNEL, content);
    slack.delete('C0INCIDENTS', first.ts);

    expect(await api().update(CHANNEL, first, content)).toBe('gone');
    expect(await api().reply(CHANNEL, first, content)).toBe('gone');
  });

  it.each(['cant_update_message', 'edit_window_closed'])(
    'answers "gone" for an edit refused with %s',
    async (error) => {
      const first = await api().post(CHANNEL, content);
      slack.inject({ kind: 'error', error }, 'chat.update');

      expect(await api().update(CHANNEL, first, content)).toBe('gone');
    },
  );

  it.each([
    ['invalid_auth', { ...CHANNEL, secret: 'vb365/slack-revoked' }, /invalid_auth \(the bot token is not valid/],
    [
      'channel_not_found',
      { ...CHANNEL, channelId: 'C0MISSING' },
      /channel_not_found \(the Slack channel does not exist/,
    ],
    ['not_in_channel', { ...CHANNEL, channelId: 'C0NOTJOINED' }, /not_in_channel \(the app is not a member/],
  ] as const)(
    'fails %s as not retryable, naming the channel and the error, never the token',
    async (_code, channel, text) => {
      const err = await failure(api().post(channel, content));

      expect(err).toBeInstanceOf(DeliveryError);
      expect(err.retryable).toBe(false);
      expect(err.message).toMatch(/^channel slack-incidents: Slack chat\.postMessage failed: /);
      expect(err.message).toMatch(text);
      expect(inspect(err, { depth: 5 })).not.toContain('SecretTokenValue');
      expect(inspect(err, { depth: 5 })).not.toContain('revokedToken');
    },
  );

  it.each(['token_revoked', 'account_inactive', 'is_archived', 'missing_scope'])(
    'fails %s as not retryable',
    async (error) => {
      slack.inject({ kind: 'error', error });

      const err = await failure(api().post(CHANNEL, content));

      expect(err).toMatchObject({ retryable: false });
      expect(err.message).toContain(error);
    },
  );

  it.each(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable'])(
    'fails %s as retryable',
    async (error) => {
      slack.inject({ kind: 'error', error });

      const err = await failure(api().post(CHANNEL, content));

      expect(err).toMatchObject({ retryable: true });
    },
  );

  it('fails an HTTP 5xx as retryable without posting it again itself (it may have been posted)', async () => {
    slack.inject({ kind: 'status', status: 503 });
    const before = slack.requests.length;

    const err = await failure(api().post(CHANNEL, content));

    expect(err).toMatchObject({ retryable: true, status: 503 });
    expect(slack.requests.length - before).toBe(1);
  });

  it('waits out a 429 Retry-After, then posts', async () => {
    slack.inject({ kind: 'rate-limit', retryAfterSeconds: 1 }, 'chat.postMessage');
    const before = slack.requests.length;

    const ref = await api().post(CHANNEL, content);

    expect(slack.requests.slice(before).map((r) => r.status)).toEqual([429, 200]);
    expect(slack.message('C0INCIDENTS', ref.ts)).toBeDefined();
  });

  it('does not wait for a Retry-After beyond its limit: a retryable failure now', async () => {
    slack.inject({ kind: 'rate-limit', retryAfterSeconds: 120 });

    const err = await failure(api().post(CHANNEL, content));

    expect(err).toMatchObject({ retryable: true, status: 429 });
  });

  it('refuses a secret without a bot token, naming the secret but not its value', async () => {
    secrets.set('vb365/slack-app', 'https://hooks.slack.com/services/T0/B0/webhookSecretPath');

    const err = await failure(api().post(CHANNEL, content));

    expect(err).toMatchObject({ retryable: false });
    expect(err.message).toContain('secret vb365/slack-app must hold');
    expect(err.message).not.toContain('webhookSecretPath');
  });

  it('refuses a server whose certificate it cannot verify', async () => {
    const err = await failure(api({ ca: undefined }).post(CHANNEL, content));

    expect(err).toMatchObject({ retryable: true });
    expect(err.message).not.toContain('SecretTokenValue');
  });
});
