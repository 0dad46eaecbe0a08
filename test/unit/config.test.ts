import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loadDelivererConfig } from '../../lambda/config.js';
import { DEFAULT_POLICY } from '../../lambda/domain/policy.js';
import { CONFIG_FILE_NAME, DELIVERER_ENV, ENV } from '../../lambda/names.js';
import { parseRunArgs, UsageError } from '../../local/cli/cli-args.js';

const server = {
  id: 'vb365-prod',
  name: 'Contoso VB365',
  url: 'https://vb365.contoso.local:4443',
  credentials: { secretName: 'vb365/prod' },
};
const names = {
  [ENV.tableName]: 'vb365-sync-monitor-state',
  [ENV.topicArn]: 'arn:aws:sns:eu-west-1:123456789012:vb365-sync-monitor',
  [ENV.configFile]: '/config/monitor-config.json',
};

/** Passwords that make a URL unparseable (`/`, `?`, `#` end the authority) or hold the `@` that ends userinfo. */
const URL_PASSWORDS = ['pa/ss', 'p#ss', 'p?ss', 'p@ss'];

/** Every 4-character piece of `secret`: none may appear in a message. */
function piecesOf(secret: string): string[] {
  return Array.from({ length: secret.length - 3 }, (_, i) => secret.slice(i, i + 4));
}

/** `loadConfig` with the configuration file's text (or a read error). */
function load(file: unknown, env: Record<string, string | undefined> = names) {
  return loadConfig(env, (path) => {
    if (path !== (env[ENV.configFile] ?? CONFIG_FILE_NAME))
      throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    if (file instanceof Error) throw file;
    return typeof file === 'string' ? file : JSON.stringify(file);
  });
}

function problems(file: unknown, env: Record<string, string | undefined> = names): readonly string[] {
  try {
    load(file, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it("reads names from the environment and the rest from the configuration file, with the schema's defaults", () => {
    const config = load({ servers: [server] });

    expect(config).toEqual({
      tableName: 'vb365-sync-monitor-state',
      topicArn: 'arn:aws:sns:eu-west-1:123456789012:vb365-sync-monitor',
      servers: [
        {
          id: 'vb365-prod',
          name: 'Contoso VB365',
          url: 'https://vb365.contoso.local:4443',
          apiVersion: 'auto',
          credentials: { kind: 'secret', secretId: 'vb365/prod' },
          caBundle: undefined,
          pinSha256: undefined,
        },
      ],
      policy: DEFAULT_POLICY,
      pollEveryMinutes: 5,
      heartbeatIntervals: 3,
      metrics: 'fleet',
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('reads monitor-config.json from the working directory when CONFIG_FILE is not set', () => {
    const { [ENV.configFile]: _, ...withoutFile } = names;

    expect(load({ servers: [server] }, withoutFile).servers).toHaveLength(1);
  });

  it("reads the policy in the rules' units, and every kind of credentials", () => {
    const config = load({
      stackName: 'Prod',
      servers: [
        server,
        { ...server, id: 'b', credentials: { sharedSecretName: 'vb365/fleet' } },
        { ...server, id: 'c', credentials: { parameterName: '/vb365/c' } },
        {
          ...server,
          id: 'd',
          credentials: { secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:d-AbCdEf' },
        },
      ],
      policy: {
        milestones: [75, 25, 50],
        stallAfterMinutes: 90,
        vanishGraceCycles: 3,
        unreachableAfterMinutes: 0,
        finishedRetentionDays: 7,
        recoverAfterCycles: 3,
        certificateWarningDays: 30,
        remindEveryHours: 0,
        maxReminders: 5,
        groupThreshold: 0,
        outOfSyncAfterMinutes: 0,
        historyRetentionDays: 30,
      },
      digest: { weekday: 'Friday', time: '16:30', timeZone: 'Europe/Paris' },
      quietHours: { timeZone: 'Europe/Berlin', start: '22:00', end: '07:00' },
      maintenanceWindows: [
        {
          start: '2026-12-05T20:00:00+01:00',
          end: '2026-12-05T23:00:00+01:00',
          note: 'upgrade',
          servers: ['vb365-prod'],
        },
      ],
      pollEveryMinutes: 10,
      heartbeatIntervals: 4,
      metrics: 'perServer',
      notifications: {
        slackAppChannels: [{ secretName: 'slack/bot', channelId: 'C0123456789', escalateAfterMinutes: 15 }],
        pagerDutySecrets: [{ secretName: 'pd/key', escalateAfterMinutes: 45 }, 'pd/other'],
        emails: [{ address: 'boss@example.com', escalateAfterMinutes: 45 }],
      },
      runbooks: { 'repository.out_of_sync': 'https://wiki.example.com/vb365#out-of-sync' },
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
      runbooks: { 'repository.out_of_sync': 'https://wiki.example.com/vb365#out-of-sync' },
      escalateAfterMinutes: [15, 45],
    });
    expect(config.servers.map((s) => s.credentials)).toEqual([
      { kind: 'secret', secretId: 'vb365/prod' },
      { kind: 'secret', secretId: 'vb365/fleet', key: 'b' },
      { kind: 'parameter', name: '/vb365/c' },
      { kind: 'secret', secretId: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:d-AbCdEf' },
    ]);
    expect(config).toMatchObject({ pollEveryMinutes: 10, heartbeatIntervals: 4, metrics: 'perServer' });
  });

  it.each<[string, unknown, Record<string, string | undefined>, string]>([
    ['no table', { servers: [server] }, { ...names, [ENV.tableName]: undefined }, 'TABLE_NAME is not set'],
    [
      'a topic name',
      { servers: [server] },
      { ...names, [ENV.topicArn]: 'my-topic' },
      'TOPIC_ARN=my-topic is not an SNS topic ARN',
    ],
    [
      'no file',
      Object.assign(new Error('ENOENT'), { code: 'ENOENT' }),
      names,
      '/config/monitor-config.json: cannot be read (ENOENT): the deployment puts it beside the code; set CONFIG_FILE to another path',
    ],
    ['a file that is not JSON', '{"servers": [', names, '/config/monitor-config.json: is not valid JSON'],
    ['no servers', { servers: [] }, names, '/config/monitor-config.json: servers: [] — list at least one VB365 server'],
    [
      'a misspelt key',
      { servers: [server], policy: { stalAfterMinutes: 60 } },
      names,
      '/config/monitor-config.json: policy.stalAfterMinutes: unknown key — did you mean stallAfterMinutes?',
    ],
    [
      'a bound the synth also enforces',
      { servers: [server], policy: { vanishGraceCycles: 1.5 } },
      names,
      '/config/monitor-config.json: policy.vanishGraceCycles: 1.5 — use a whole number from 1 to 100',
    ],
    [
      'plain http',
      { servers: [{ ...server, url: 'http://127.0.0.1:4443' }] },
      names,
      'servers[0].url: "http://127.0.0.1:4443" — use https://',
    ],
    [
      'plain http to another host, even in development',
      { servers: [{ ...server, url: 'http://vb365:4443' }] },
      { ...names, ALLOW_HTTP_LOOPBACK: 'true' },
      'servers[0].url: "http://vb365:4443" — use https://',
    ],
    [
      'a secret the deployment should have named',
      { servers: [{ ...server, credentials: { create: true } }] },
      names,
      'servers[0].credentials: {"create":true} — the deployment names the created secret; deploy again',
    ],
    [
      'a CA file (the deployment inlines CA bundles)',
      { servers: [{ ...server, caBundleFile: 'certs/a.pem' }] },
      names,
      'servers[0].caBundleFile: "certs/a.pem" — the file cannot be read',
    ],
  ])('reports %s', (_case, file, env, message) => {
    expect(problems(file, env)).toEqual([expect.stringContaining(message)]);
  });

  it('admits plain http to a loopback address only with ALLOW_HTTP_LOOPBACK=true (development)', () => {
    const config = load(
      { servers: [{ ...server, url: 'http://127.0.0.1:4443' }] },
      { ...names, ALLOW_HTTP_LOOPBACK: 'true' },
    );

    expect(config.servers[0]?.url).toBe('http://127.0.0.1:4443');
  });

  it('reports every problem at once', () => {
    const found = problems(
      { servers: [{ ...server, id: 'bad id' }], policy: { vanishGraceCycles: 0 } },
      { [ENV.topicArn]: 'x', [ENV.configFile]: names[ENV.configFile] },
    );

    expect(found).toHaveLength(4);
    expect(found.join('\n')).toMatch(/TABLE_NAME[\s\S]*TOPIC_ARN[\s\S]*servers\[0\]\.id[\s\S]*vanishGraceCycles/);
  });

  it.each(URL_PASSWORDS)('never shows a URL password holding %j, nor the user name', (password) => {
    const found = problems({ servers: [{ ...server, url: `https://admin:${password}@vb:4443` }] });

    expect(found).toEqual([expect.stringMatching(/servers\[0\]\.url: "https:\/\/\*\*\*@vb:4443" — /)]);
    for (const piece of piecesOf(password)) expect(found.join('\n')).not.toContain(piece);
    expect(found.join('\n')).not.toContain('admin');
  });
});

const CERT = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ\n-----END CERTIFICATE-----\n';
const KEY = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAKeyMaterialNotToBeShown\n-----END PRIVATE KEY-----\n';

describe('loadConfig — CA bundle', () => {
  it('throws on a CA bundle holding a private key, without quoting the key', () => {
    const found = problems({ servers: [{ ...server, caBundle: `${CERT}${KEY}` }] });

    expect(found).toEqual([
      expect.stringMatching(/servers\[0\]\.caBundle: "<PEM text, \d+ characters>" — it holds a private key/),
    ]);
    expect(found.join('\n')).not.toContain('KeyMaterialNotToBeShown');
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
