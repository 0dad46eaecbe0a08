import { describe, expect, it } from 'vitest';
import { ConfigError, DELIVERER_ENV, ENV, loadConfig, loadDelivererConfig } from '../../lambda/config.js';
import { parseRunArgs, UsageError } from '../../local/cli-args.js';

const server = {
  id: 'vb365-prod',
  name: 'Contoso VB365',
  url: 'https://vb365.contoso.local:4443',
  credentialsSecret: 'vb365/prod',
};
const valid = {
  [ENV.tableName]: 'vb365-sync-monitor-state',
  [ENV.topicArn]: 'arn:aws:sns:eu-west-1:123456789012:vb365-sync-monitor',
  [ENV.servers]: JSON.stringify([server]),
};

/** Passwords that make a URL unparseable (`/`, `?`, `#` end the authority) or hold the `@` that ends userinfo. */
const URL_PASSWORDS = ['pa/ss', 'p#ss', 'p?ss', 'p@ss'];

/** Every 4-character piece of `secret`: none may appear in a message. */
function piecesOf(secret: string): string[] {
  return Array.from({ length: secret.length - 3 }, (_, i) => secret.slice(i, i + 4));
}

function problems(env: Record<string, string | undefined>): readonly string[] {
  try {
    loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('reads a minimal configuration with DESIGN defaults for the policy', () => {
    const config = loadConfig(valid);

    expect(config).toEqual({
      tableName: 'vb365-sync-monitor-state',
      topicArn: 'arn:aws:sns:eu-west-1:123456789012:vb365-sync-monitor',
      servers: [{ ...server, apiVersion: 'auto', caBundle: undefined, pinSha256: undefined }],
      policy: {
        milestones: [],
        stallAfterMs: 3_600_000,
        vanishGraceCycles: 2,
        unreachableAfterMs: 900_000,
        finishedRetentionMs: 30 * 86_400_000,
        recoverAfterCycles: 2,
        certificateWarningMs: 14 * 86_400_000,
        remindEveryMs: 24 * 3_600_000,
        maxReminders: 3,
        outOfSyncAfterMs: 30 * 60_000,
        digest: { weekday: 1, time: '08:00', timeZone: 'UTC' },
        historyRetentionMs: 90 * 86_400_000,
        quietHours: null,
        maintenanceWindows: [],
        groupThreshold: 10,
      },
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads the policy tunables', () => {
    const config = loadConfig({
      ...valid,
      [ENV.milestones]: '75,25,50',
      [ENV.stallAfterMinutes]: '90',
      [ENV.vanishGraceCycles]: '3',
      [ENV.unreachableAfterMinutes]: '0',
      [ENV.finishedRetentionDays]: '7',
      [ENV.recoverAfterCycles]: '3',
      [ENV.certificateWarningDays]: '30',
      [ENV.remindEveryHours]: '0',
      [ENV.maxReminders]: '5',
      [ENV.groupThreshold]: '0',
      [ENV.outOfSyncAfterMinutes]: '0',
      [ENV.digest]: JSON.stringify({ weekday: 5, time: '16:30', timeZone: 'Europe/Paris' }),
      [ENV.historyRetentionDays]: '30',
      [ENV.quietHours]: JSON.stringify({ timeZone: 'Europe/Berlin', start: '22:00', end: '07:00' }),
      [ENV.maintenanceWindows]: JSON.stringify([
        {
          start: '2026-12-05T20:00:00+01:00',
          end: '2026-12-05T23:00:00+01:00',
          note: 'upgrade',
          servers: ['vb365-prod'],
        },
      ]),
    });

    expect(config.policy).toEqual({
      milestones: [25, 50, 75],
      stallAfterMs: 5_400_000,
      vanishGraceCycles: 3,
      unreachableAfterMs: 0,
      finishedRetentionMs: 7 * 86_400_000,
      recoverAfterCycles: 3,
      certificateWarningMs: 30 * 86_400_000,
      remindEveryMs: null,
      maxReminders: 5,
      groupThreshold: null,
      outOfSyncAfterMs: null,
      digest: { weekday: 5, time: '16:30', timeZone: 'Europe/Paris' },
      historyRetentionMs: 30 * 86_400_000,
      quietHours: { timeZone: 'Europe/Berlin', start: '22:00', end: '07:00' },
      maintenanceWindows: [
        {
          start: '2026-12-05T20:00:00+01:00',
          end: '2026-12-05T23:00:00+01:00',
          note: 'upgrade',
          servers: ['vb365-prod'],
        },
      ],
    });
  });

  it.each([
    [{ [ENV.tableName]: undefined }, 'TABLE_NAME is not set'],
    [{ [ENV.topicArn]: 'my-topic' }, 'TOPIC_ARN=my-topic is not an SNS topic ARN'],
    [{ [ENV.servers]: '{not json' }, 'SERVERS is not valid JSON'],
    [{ [ENV.servers]: '[]' }, 'SERVERS must be a non-empty JSON array'],
    [{ [ENV.servers]: JSON.stringify([{ ...server, id: 'bad id!' }]) }, 'SERVERS[0].id "bad id!" must be 1-64 letters'],
    [{ [ENV.servers]: JSON.stringify([server, server]) }, 'SERVERS[1].id "vb365-prod" is used twice'],
    [
      { [ENV.servers]: JSON.stringify([{ ...server, url: 'http://vb365:4443' }]) },
      'SERVERS[0].url http://vb365:4443 must use https://',
    ],
    [{ [ENV.servers]: JSON.stringify([{ ...server, url: 'vb365' }]) }, 'SERVERS[0].url "vb365" is not a URL'],
    [
      { [ENV.servers]: JSON.stringify([{ ...server, url: 'http://127.0.0.1:4443' }]) },
      'SERVERS[0].url http://127.0.0.1:4443 must use https:// (plain http only to a loopback address with ALLOW_HTTP_LOOPBACK=true, for development)',
    ],
    [
      { [ENV.servers]: JSON.stringify([{ ...server, url: 'http://vb365:4443' }]), ALLOW_HTTP_LOOPBACK: 'true' },
      'SERVERS[0].url http://vb365:4443 must use https://',
    ],
    [
      { [ENV.quietHours]: '{"timeZone":"Mars/Olympus","start":"22:00","end":"07:00"}' },
      'QUIET_HOURS.timeZone: "Mars/Olympus" — use an IANA time zone',
    ],
    [{ [ENV.quietHours]: '{"timeZone":"UTC","end":"07:00"}' }, 'QUIET_HOURS.start is required'],
    [
      { [ENV.maintenanceWindows]: '[{"start":"2026-12-05T20:00:00Z","end":"2026-12-05T19:00:00Z"}]' },
      'MAINTENANCE_WINDOWS[0].end: "2026-12-05T19:00:00Z" — must be after start',
    ],
    [{ [ENV.remindEveryHours]: '-1' }, 'REMIND_EVERY_HOURS=-1 must be a number of at least 0'],
    [
      { [ENV.digest]: '{"weekday":7,"time":"08:00","timeZone":"UTC"}' },
      'DIGEST.weekday: 7 — use 0 (Sunday) to 6 (Saturday)',
    ],
    [{ [ENV.servers]: JSON.stringify([{ ...server, apiVersion: 'v9' }]) }, 'SERVERS[0].apiVersion "v9" must be one of'],
    [
      { [ENV.servers]: JSON.stringify([{ ...server, pinSha256: 'abc' }]) },
      'SERVERS[0].pinSha256 must be a SHA-256 fingerprint',
    ],
    [{ [ENV.servers]: JSON.stringify([{ ...server, caBundle: 'not pem' }]) }, 'SERVERS[0].caBundle must be PEM text'],
    [{ [ENV.servers]: JSON.stringify([{ id: 'x', url: 'https://x' }]) }, 'SERVERS[0].credentialsSecret is required'],
    [{ [ENV.milestones]: '50,120' }, 'MILESTONES=50,120 must be percentages between 1 and 99'],
    [{ [ENV.stallAfterMinutes]: 'soon' }, 'STALL_AFTER_MINUTES=soon must be a number of at least 1'],
    [{ [ENV.vanishGraceCycles]: '1.5' }, 'VANISH_GRACE_CYCLES=1.5 must be a whole number of at least 1'],
  ])('reports %j', (override, message) => {
    expect(problems({ ...valid, ...override })).toEqual([expect.stringContaining(message)]);
  });

  it('reports every problem at once', () => {
    const found = problems({ [ENV.topicArn]: 'x', [ENV.vanishGraceCycles]: '0' });

    expect(found).toHaveLength(4);
    expect(found.join('\n')).toMatch(/TABLE_NAME[\s\S]*TOPIC_ARN[\s\S]*SERVERS[\s\S]*VANISH_GRACE_CYCLES/);
  });
});

const CERT = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAKeyMaterialNotToBeShown\n-----END PRIVATE KEY-----\n';

describe('loadConfig — server URL, CA bundle and pin', () => {
  it('throws on a URL carrying user:password@, without showing the password', () => {
    const found = problems({
      ...valid,
      [ENV.servers]: JSON.stringify([{ ...server, url: 'https://admin:Pa55-w0rd!@vb365.contoso.local:4443' }]),
    });

    expect(found).toEqual([
      'SERVERS[0].url https://***@vb365.contoso.local:4443 must not carry "user:password@": the account belongs in the secret vb365/prod',
    ]);
    expect(found.join('\n')).not.toContain('Pa55-w0rd!');
  });

  it('never shows a password in any URL problem', () => {
    const found = problems({
      ...valid,
      [ENV.servers]: JSON.stringify([
        { ...server, id: 'a', url: 'http://admin:Pa55-w0rd!@vb365:4443' },
        { ...server, id: 'b', url: 'https://admin:Pa55 w0rd!@vb 365:4443' },
      ]),
    });

    expect(found.length).toBeGreaterThanOrEqual(2);
    expect(found.join('\n')).not.toContain('Pa55');
  });

  it.each(URL_PASSWORDS)(
    'never shows a password holding %j (the URL does not parse), nor the user name',
    (password) => {
      const found = problems({
        ...valid,
        [ENV.servers]: JSON.stringify([{ ...server, url: `https://admin:${password}@vb:4443` }]),
      });

      expect(found).toEqual([expect.stringMatching(/^SERVERS\[0\]\.url "?https:\/\/\*\*\*@vb:4443"? /)]);
      for (const piece of piecesOf(password)) expect(found.join('\n')).not.toContain(piece);
      expect(found.join('\n')).not.toContain('admin');
    },
  );

  it('throws on a URL holding "@" elsewhere, which a password with "/" leaves after a port (admin:1234/x@vb)', () => {
    const found = problems({
      ...valid,
      [ENV.servers]: JSON.stringify([{ ...server, url: 'https://admin:1234/x9z8@vb:4443' }]),
    });

    expect(found).toEqual([
      'SERVERS[0].url https://***@vb:4443 must not hold "@" (a VB365 URL has none; a password with "/" reads as a path): the account belongs in the secret vb365/prod',
    ]);
  });

  it('throws on a CA bundle holding a private key, without quoting the key', () => {
    const found = problems({ ...valid, [ENV.servers]: JSON.stringify([{ ...server, caBundle: `${CERT}${KEY}` }]) });

    expect(found).toEqual([
      expect.stringMatching(/^SERVERS\[0\]\.caBundle holds a private key .*give only certificates/),
    ]);
    expect(found.join('\n')).not.toContain('KeyMaterialNotToBeShown');
  });

  it('throws on a pin of another length, naming it', () => {
    const found = problems({
      ...valid,
      [ENV.servers]: JSON.stringify([{ ...server, pinSha256: `${'AB:'.repeat(19)}AB` }]),
    });

    expect(found).toEqual([
      'SERVERS[0].pinSha256 must be a SHA-256 fingerprint: it has 20 bytes (a SHA-1 fingerprint?), not 32; use the SHA-256 fingerprint: 32 bytes, 64 hex digits, colons optional',
    ]);
  });

  it('accepts a pin alone, in any case, with or without colons', () => {
    const pin = 'ab'.repeat(32);

    const config = loadConfig({ ...valid, [ENV.servers]: JSON.stringify([{ ...server, pinSha256: pin }]) });

    expect(config.servers[0]).toMatchObject({ pinSha256: pin, caBundle: undefined });
  });
});

describe('loadDelivererConfig — DELIVERY_CA_BUNDLE', () => {
  it('reads extra CA certificates', () => {
    expect(
      loadDelivererConfig({ [DELIVERER_ENV.tableName]: 't', [DELIVERER_ENV.deliveryCaBundle]: CERT }).caBundle,
    ).toBe(CERT.trim());
  });

  it('throws on a bundle holding a private key, without quoting the key', () => {
    let message = '';
    try {
      loadDelivererConfig({ [DELIVERER_ENV.tableName]: 't', [DELIVERER_ENV.deliveryCaBundle]: `${CERT}${KEY}` });
    } catch (err) {
      message = (err as Error).message;
    }

    expect(message).toMatch(/DELIVERY_CA_BUNDLE holds a private key/);
    expect(message).not.toContain('KeyMaterialNotToBeShown');
  });
});

describe('parseRunArgs — server, pin', () => {
  const credentials = { VB365_USERNAME: 'svc-monitor', VB365_PASSWORD: 'x' };
  function usageError(args: string[]): string {
    try {
      parseRunArgs(args, credentials);
    } catch (err) {
      if (err instanceof UsageError) return err.message;
      throw err;
    }
    throw new Error('expected a UsageError');
  }

  it('accepts --pin alone, without --ca', () => {
    const opts = parseRunArgs(['--server', 'https://10.0.0.5:4443', '--pin', 'AB'.repeat(32)], credentials);

    expect(opts).toMatchObject({ ca: undefined, pin: 'AB'.repeat(32) });
  });

  it('throws on a --server URL carrying user:password@, without showing the password', () => {
    const message = usageError(['--server', 'https://admin:Pa55-w0rd!@vb365:4443']);

    expect(message).toBe(
      '--server https://***@vb365:4443 must not carry "user:password@": set VB365_USERNAME and VB365_PASSWORD instead',
    );
  });

  it.each(URL_PASSWORDS)('never shows a --server password holding %j, nor the user name', (password) => {
    const message = usageError(['--server', `https://admin:${password}@vb:4443`]);

    expect(message).toMatch(/^--server "?https:\/\/\*\*\*@vb:4443"? /);
    for (const piece of piecesOf(password)) expect(message).not.toContain(piece);
    expect(message).not.toContain('admin');
  });

  it('throws on a --pin that is not 32 bytes, naming its length', () => {
    const message = usageError(['--server', 'https://vb365:4443', '--pin', 'ab'.repeat(20)]);

    expect(message).toContain('it has 20 bytes (a SHA-1 fingerprint?), not 32');
  });
});
