import * as v from 'valibot';
import { describe, expect, it } from 'vitest';
import exampleConfig from '../../infra/monitor-config.js';
import {
  createdSecretName,
  credentialsRefOf,
  MAX_CREATED_SECRETS,
  type MonitorConfig,
  MonitorConfigError,
  policyOf,
  resolveConfig,
  runtimeConfigOf,
} from '../../lambda/config-schema.js';
import { DEFAULT_POLICY, POLICY_SETTINGS, toPolicy } from '../../lambda/domain/policy.js';
import { nearestName } from '../../lambda/domain/validation.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const files: Record<string, string> = {
  'certs/ok.pem': PEM,
  'certs/key.pem': '-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----',
  'certs/server-with-key.pem': `${PEM}-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIKeyMaterialNotToBeShown\n-----END EC PRIVATE KEY-----\n`,
  'certs/public-key.pem': '-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----',
};
const read = (path: string) => files[path];
const server = { id: 'vb365-prod', url: 'https://vb365.example.local:4443', credentials: { secretName: 'vb365/prod' } };
const base: MonitorConfig = { servers: [server] };
const TEAMS = {
  tenantId: '8a7d3c52-1f4e-4b6a-9c2d-0e5f7a8b9c10',
  teamId: '2b4c6d8e-0a1b-4c3d-8e5f-6a7b8c9d0e1f',
  channelId: '19:abcdef0123456789@thread.tacv2',
};

/** Every 4-character piece of `secret`: none may appear in a problem. */
function piecesOf(secret: string): string[] {
  return Array.from({ length: secret.length - 3 }, (_, i) => secret.slice(i, i + 4));
}

function problems(config: unknown): readonly string[] {
  try {
    resolveConfig(config as MonitorConfig, read);
  } catch (err) {
    if (err instanceof MonitorConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('resolveConfig', () => {
  it('accepts the shipped example configuration', () => {
    expect(problems(exampleConfig)).toEqual([]);
  });

  it('applies the documented defaults and reads CA bundles', () => {
    const resolved = resolveConfig({ servers: [{ ...server, caBundleFile: 'certs/ok.pem' }] }, read);

    expect(resolved).toMatchObject({
      stackName: 'Vb365SyncMonitor',
      pollEveryMinutes: 5,
      policy: {
        milestones: [],
        stallAfterMinutes: 60,
        vanishGraceCycles: 2,
        unreachableAfterMinutes: 15,
        finishedRetentionDays: 30,
      },
      logRetentionDays: 90,
      heartbeatIntervals: 3,
      servers: [{ id: 'vb365-prod', name: 'vb365-prod', caBundle: PEM }],
    });
  });

  it.each<[string, unknown, string]>([
    ['servers (empty)', { servers: [] }, 'servers: [] — list at least one VB365 server'],
    [
      'servers[].id',
      { servers: [{ ...server, id: 'prod server' }] },
      'servers[0].id: "prod server" — use 1-64 letters',
    ],
    [
      'servers[].id (duplicate)',
      { servers: [server, server] },
      'servers[1].id: "vb365-prod" — server ids must be unique',
    ],
    [
      'servers[].url',
      { servers: [{ ...server, url: 'vb365 port 4443' }] },
      'servers[0].url: "vb365 port 4443" — use the REST API URL',
    ],
    [
      'servers[].url (http)',
      { servers: [{ ...server, url: 'http://vb365:4443' }] },
      'servers[0].url: "http://vb365:4443" — use https://',
    ],
    [
      'servers[].apiVersion',
      { servers: [{ ...server, apiVersion: 'v9' }] },
      'servers[0].apiVersion: "v9" — use v5, v6, v7, v8 or auto',
    ],
    [
      'servers[].credentials (none)',
      { servers: [{ ...server, credentials: {} }] },
      'servers[0].credentials: {} — give exactly one of',
    ],
    [
      'servers[].credentials (two)',
      { servers: [{ ...server, credentials: { secretName: 'a', create: true } }] },
      'give exactly one of',
    ],
    [
      'servers[].credentials.secretName',
      { servers: [{ ...server, credentials: { secretName: ' ' } }] },
      'servers[0].credentials.secretName: " " — name an existing',
    ],
    [
      'servers[].credentials.secretArn',
      { servers: [{ ...server, credentials: { secretArn: 'arn:aws:secretsmanager:eu-west-1:1:secret:x' } }] },
      'use the complete secret ARN',
    ],
    [
      'servers[].credentials.create',
      { servers: [{ ...server, credentials: { create: 'yes' } }] },
      'servers[0].credentials.create: "yes" — use { create: true }',
    ],
    [
      'servers[].caBundleFile (missing)',
      { servers: [{ ...server, caBundleFile: 'certs/nope.pem' }] },
      'servers[0].caBundleFile: "certs/nope.pem" — the file cannot be read',
    ],
    [
      'servers[].caBundleFile (not a certificate)',
      { servers: [{ ...server, caBundleFile: 'certs/public-key.pem' }] },
      'the file holds no PEM certificate',
    ],
    [
      'servers[].caBundleFile (a private key)',
      { servers: [{ ...server, caBundleFile: 'certs/key.pem' }] },
      'servers[0].caBundleFile: "certs/key.pem" — the file holds a private key',
    ],
    [
      'servers[].pinSha256',
      { servers: [{ ...server, pinSha256: 'AB:CD' }] },
      'servers[0].pinSha256: "AB:CD" — it has 2 bytes, not 32; use the SHA-256 fingerprint',
    ],
    [
      'servers[].pinSha256 (SHA-1)',
      { servers: [{ ...server, pinSha256: 'ab'.repeat(20) }] },
      `servers[0].pinSha256: "${'ab'.repeat(20)}" — it has 20 bytes (a SHA-1 fingerprint?), not 32`,
    ],
    [
      'servers[].url (credentials)',
      { servers: [{ ...server, url: 'https://admin:Pa55-w0rd!@vb365.example.local:4443' }] },
      'servers[0].url: "https://***@vb365.example.local:4443" — remove "user:password@" from the URL',
    ],
    [
      'servers[].vpc.vpcId',
      {
        servers: [
          {
            ...server,
            vpc: { vpcId: 'default', subnetIds: ['subnet-0aaaaaaaaaaaaaaaa'], availabilityZones: ['eu-west-1a'] },
          },
        ],
      },
      'servers[0].vpc.vpcId: "default"',
    ],
    [
      'servers[].vpc.subnetIds',
      {
        servers: [
          {
            ...server,
            vpc: { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['sn-1'], availabilityZones: ['eu-west-1a'] },
          },
        ],
      },
      'servers[0].vpc.subnetIds[0]: "sn-1" — list subnet ids',
    ],
    [
      'servers[].vpc.availabilityZones',
      {
        servers: [
          {
            ...server,
            vpc: { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0aaaaaaaaaaaaaaaa'], availabilityZones: [] },
          },
        ],
      },
      'one availability zone per subnet',
    ],
    ['pollEveryMinutes', { ...base, pollEveryMinutes: 0 }, 'pollEveryMinutes: 0 — use a whole number from 1 to 60'],
    [
      'policy.milestones',
      { ...base, policy: { milestones: [50, 100] } },
      'policy.milestones[1]: 100 — use percentages between 1 and 99',
    ],
    [
      'policy.stallAfterMinutes',
      { ...base, policy: { stallAfterMinutes: 2.5 } },
      'policy.stallAfterMinutes: 2.5 — use a whole number',
    ],
    [
      'policy.stallAfterMinutes (below the interval)',
      { ...base, pollEveryMinutes: 30, policy: { stallAfterMinutes: 20 } },
      'use at least pollEveryMinutes (30)',
    ],
    ['policy.vanishGraceCycles', { ...base, policy: { vanishGraceCycles: 0 } }, 'policy.vanishGraceCycles: 0'],
    [
      'policy.unreachableAfterMinutes',
      { ...base, policy: { unreachableAfterMinutes: -5 } },
      'policy.unreachableAfterMinutes: -5',
    ],
    [
      'policy.finishedRetentionDays',
      { ...base, policy: { finishedRetentionDays: 0 } },
      'policy.finishedRetentionDays: 0',
    ],
    [
      'notifications.emails[].address',
      { ...base, notifications: { emails: [{ address: 'ops' }] } },
      'notifications.emails[0].address: "ops" — use an email address',
    ],
    [
      'notifications.emails[].eventTypes',
      { ...base, notifications: { emails: [{ address: 'a@b.co', eventTypes: ['sync.exploded'] }] } },
      'notifications.emails[0].eventTypes[0]: "sync.exploded" — use event types from',
    ],
    [
      'notifications.slackWebhookSecrets',
      { ...base, notifications: { slackWebhookSecrets: [''] } },
      'notifications.slackWebhookSecrets[0]: "" — name a Secrets Manager secret',
    ],
    [
      'notifications.teamsWebhookSecrets',
      { ...base, notifications: { teamsWebhookSecrets: [''] } },
      'notifications.teamsWebhookSecrets[0]',
    ],
    [
      'notifications.webhookSecrets',
      { ...base, notifications: { webhookSecrets: [''] } },
      'notifications.webhookSecrets[0]',
    ],
    [
      'notifications.qDeveloperSlackChannels[].workspaceId',
      { ...base, notifications: { qDeveloperSlackChannels: [{ workspaceId: 'acme', channelId: 'C0123456789' }] } },
      'workspaceId: "acme" — use the Slack workspace id',
    ],
    [
      'notifications.qDeveloperSlackChannels[].channelId',
      { ...base, notifications: { qDeveloperSlackChannels: [{ workspaceId: 'T0123456789', channelId: '#ops' }] } },
      'channelId: "#ops" — use the Slack channel id',
    ],
    [
      'notifications.slackWebhookSecrets[].secretName',
      { ...base, notifications: { slackWebhookSecrets: [{ secretName: ' ' }] } },
      'notifications.slackWebhookSecrets[0].secretName: " " — name a Secrets Manager secret',
    ],
    [
      'notifications.webhookSecrets[].eventTypes',
      { ...base, notifications: { webhookSecrets: [{ secretName: 'siem', eventTypes: ['sync.done'] }] } },
      'notifications.webhookSecrets[0].eventTypes[0]: "sync.done" — use event types from',
    ],
    [
      'notifications.teamsWebhookSecrets[].eventTypes (empty)',
      { ...base, notifications: { teamsWebhookSecrets: [{ secretName: 'teams', eventTypes: [] }] } },
      'notifications.teamsWebhookSecrets[0].eventTypes: [] — list at least one event type',
    ],
    [
      'notifications.slackWebhookSecrets[].mentions',
      { ...base, notifications: { slackWebhookSecrets: [{ secretName: 's', mentions: { critical: '@here' } }] } },
      'notifications.slackWebhookSecrets[0].mentions.critical: "@here" — use <!here>, <!channel>',
    ],
    [
      'notifications.slackAppChannels[].channelId',
      { ...base, notifications: { slackAppChannels: [{ secretName: 'bot', channelId: '#vb365' }] } },
      'notifications.slackAppChannels[0].channelId: "#vb365" — use the Slack channel id (C…)',
    ],
    [
      'notifications.pagerDutySecrets[].escalateAfterMinutes',
      { ...base, notifications: { pagerDutySecrets: [{ secretName: 'pd', escalateAfterMinutes: 0 }] } },
      'notifications.pagerDutySecrets[0].escalateAfterMinutes: 0 — use a whole number from 1 to 10080',
    ],
    [
      'notifications.emails[].escalateAfterMinutes',
      { ...base, notifications: { emails: [{ address: 'a@b.co', escalateAfterMinutes: 7.5 }] } },
      'notifications.emails[0].escalateAfterMinutes: 7.5 — use a whole number',
    ],
    [
      'runbooks (event type)',
      { ...base, runbooks: { 'sync.exploded': 'https://wiki.example.com/x' } },
      'runbooks.sync.exploded',
    ],
    [
      'runbooks (link)',
      { ...base, runbooks: { 'sync.failed': 'http://wiki.example.com/x' } },
      'runbooks.sync.failed: "http://wiki.example.com/x" — use an https:// link to your runbook page',
    ],
    [
      'notifications.slackWebhookSecrets[].mentions (severity)',
      { ...base, notifications: { slackWebhookSecrets: [{ secretName: 's', mentions: { fatal: '<!here>' } }] } },
      'notifications.slackWebhookSecrets[0].mentions.fatal: "<!here>" — use the severities info, warning or critical',
    ],
    [
      'notifications.qDeveloperSlackChannels[].eventTypes',
      {
        ...base,
        notifications: {
          qDeveloperSlackChannels: [{ workspaceId: 'T0123456789', channelId: 'C0123456789', eventTypes: ['x'] }],
        },
      },
      'notifications.qDeveloperSlackChannels[0].eventTypes[0]: "x"',
    ],
    [
      'notifications.qDeveloperTeamsChannels[].tenantId',
      { ...base, notifications: { qDeveloperTeamsChannels: [{ ...TEAMS, tenantId: 'contoso' }] } },
      'notifications.qDeveloperTeamsChannels[0].tenantId: "contoso" — use the Microsoft Entra tenant id',
    ],
    [
      'notifications.qDeveloperTeamsChannels[].teamId',
      { ...base, notifications: { qDeveloperTeamsChannels: [{ ...TEAMS, teamId: 'Backup' }] } },
      'notifications.qDeveloperTeamsChannels[0].teamId: "Backup" — use the team id',
    ],
    [
      'notifications.qDeveloperTeamsChannels[].channelId',
      { ...base, notifications: { qDeveloperTeamsChannels: [{ ...TEAMS, channelId: 'General' }] } },
      'notifications.qDeveloperTeamsChannels[0].channelId: "General" — use the channel id from the channel link',
    ],
    [
      'notifications (too many channels)',
      { ...base, notifications: { webhookSecrets: Array.from({ length: 21 }, (_, i) => `hook-${i}`) } },
      'use at most 20 chat and webhook channels',
    ],
    [
      'policy.recoverAfterCycles',
      { ...base, policy: { recoverAfterCycles: 0 } },
      'policy.recoverAfterCycles: 0 — use a whole number from 1 to 20',
    ],
    [
      'policy.remindEveryHours',
      { ...base, policy: { remindEveryHours: 1.5 } },
      'policy.remindEveryHours: 1.5 — use a whole number from 0',
    ],
    ['policy.maxReminders', { ...base, policy: { maxReminders: -1 } }, 'policy.maxReminders: -1'],
    [
      'policy.certificateWarningDays',
      { ...base, policy: { certificateWarningDays: 400 } },
      'policy.certificateWarningDays: 400',
    ],
    [
      'quietHours.timeZone',
      { ...base, quietHours: { timeZone: 'CET+1', start: '22:00', end: '07:00' } },
      'quietHours.timeZone: "CET+1" — use an IANA time zone',
    ],
    [
      'quietHours.start',
      { ...base, quietHours: { timeZone: 'Europe/Paris', start: '10pm', end: '07:00' } },
      'quietHours.start: "10pm" — use a 24-hour local time HH:MM',
    ],
    [
      'maintenanceWindows[].end',
      { ...base, maintenanceWindows: [{ start: '2026-12-05T20:00:00Z', end: '2026-12-05T18:00:00Z' }] },
      'maintenanceWindows[0].end: "2026-12-05T18:00:00Z" — must be after start',
    ],
    [
      'maintenanceWindows[].servers',
      {
        ...base,
        maintenanceWindows: [{ start: '2026-12-05T20:00:00Z', end: '2026-12-05T23:00:00Z', servers: ['vb365-test'] }],
      },
      'maintenanceWindows[0].servers: "vb365-test" — name a server id of this configuration',
    ],
    ['logRetentionDays', { ...base, logRetentionDays: 10 }, 'logRetentionDays: 10 — use one of 1, 3, 5'],
    ['heartbeatIntervals', { ...base, heartbeatIntervals: 0 }, 'heartbeatIntervals: 0'],
    ['stackName', { ...base, stackName: '1-bad_name' }, 'stackName: "1-bad_name" — use letters, digits and "-"'],
  ])('names %s, its value and the fix', (_field, config, message) => {
    const found = problems(config);

    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });

  it('never shows the password of a URL or the private key of a CA file in a problem', () => {
    const found = problems({
      servers: [
        { ...server, id: 'a', url: 'https://admin:Pa55-w0rd!@vb365.example.local:4443' },
        { ...server, id: 'b', url: 'http://admin:Pa55-w0rd!@vb365.example.local:4443' },
        { ...server, id: 'c', url: 'https://admin:Pa55 w0rd!@vb365 example:4443' },
        { ...server, id: 'd', caBundleFile: 'certs/server-with-key.pem' },
      ],
    });

    expect(found).toHaveLength(5);
    expect(found.join('\n')).not.toMatch(/Pa55|KeyMaterialNotToBeShown/);
  });

  it.each(['pa/ss', 'p#ss', 'p?ss', 'p@ss'])(
    'never shows a URL password holding %j (the URL does not parse), nor the user name',
    (password) => {
      const url = `https://admin:${password}@vb:4443`;
      const found = problems({ servers: [{ ...server, url }] });
      const notAList = problems({ servers: { ...server, url } });

      expect(found).toEqual([expect.stringMatching(/^servers\[0\]\.url: "https:\/\/\*\*\*@vb:4443" — /)]);
      expect(notAList).toEqual([expect.stringContaining('"url":"https://***@vb:4443"')]);
      for (const piece of piecesOf(password)) expect([...found, ...notAList].join('\n')).not.toContain(piece);
      expect([...found, ...notAList].join('\n')).not.toContain('admin');
    },
  );

  it('refuses a URL holding "@" after a port, as a password with "/" leaves it (admin:1234/x@vb)', () => {
    const found = problems({ servers: [{ ...server, url: 'https://admin:1234/x9z8@vb:4443' }] });

    expect(found).toEqual([
      'servers[0].url: "https://***@vb:4443" — remove the "@": a VB365 URL has none (a password with "/" reads as a path); the account goes in the credentials secret',
    ]);
  });

  it('accepts a pin alone, with or without colons, in any case', () => {
    const resolved = resolveConfig({ servers: [{ ...server, pinSha256: `${'Ab:'.repeat(31)}aB` }] }, read);

    expect(resolved.servers[0]).not.toHaveProperty('caBundle');
    expect(resolved.servers[0]?.pinSha256).toBe(`${'Ab:'.repeat(31)}aB`);
  });

  it('accepts channels as secret names or objects with filters and mentions, and encodes Teams channel ids', () => {
    const resolved = resolveConfig(
      {
        ...base,
        notifications: {
          slackWebhookSecrets: [
            'vb365/slack',
            {
              secretName: 'vb365/mgmt',
              eventTypes: ['sync.failed'],
              mentions: { critical: '<!here> <@U012AB3CD>', warning: '' },
            },
          ],
          qDeveloperTeamsChannels: [TEAMS, { ...TEAMS, channelId: '19%3aabcdef0123456789%40thread.tacv2' }],
        },
      },
      read,
    );

    expect(resolved.notifications.slackWebhookSecrets).toEqual([
      { secretName: 'vb365/slack' },
      {
        secretName: 'vb365/mgmt',
        eventTypes: ['sync.failed'],
        mentions: { critical: '<!here> <@U012AB3CD>', warning: '' },
      },
    ]);
    expect(resolved.notifications.qDeveloperTeamsChannels.map((c) => c.channelId)).toEqual([
      '19%3Aabcdef0123456789%40thread.tacv2',
      '19%3Aabcdef0123456789%40thread.tacv2',
    ]);
  });

  it('reports every problem at once', () => {
    const found = problems({
      servers: [{ id: '', url: 'http://x', credentials: {} }],
      pollEveryMinutes: 99,
      logRetentionDays: 2,
    });

    expect(found).toHaveLength(5);
  });

  it.each<[string, unknown, string]>([
    [
      'a misspelt top-level key',
      { ...base, pollEveryMinute: 5 },
      'pollEveryMinute: unknown key — did you mean pollEveryMinutes?',
    ],
    [
      'a misspelt server key',
      { servers: [{ ...server, pinSha: 'ab'.repeat(32) }] },
      'servers[0].pinSha: unknown key — did you mean pinSha256?',
    ],
    [
      'a misspelt credentials key',
      { servers: [{ ...server, credentials: { secretname: 'vb365/prod' } }] },
      'servers[0].credentials.secretname: unknown key — did you mean secretName?',
    ],
    [
      'a misspelt notifications key',
      { ...base, notifications: { email: [{ address: 'ops@example.com' }] } },
      'notifications.email: unknown key — did you mean emails?',
    ],
    [
      'a key like none',
      { ...base, policy: { colour: 'red' } },
      'policy.colour: unknown key — use one of milestones, stallAfterMinutes,',
    ],
  ])('names %s and the nearest valid name', (_case, config, message) => {
    const found = problems(config);

    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });

  it.each([
    ['stalAfterMinutes', 'stallAfterMinutes'],
    ['STALLAFTERMINUTES', 'stallAfterMinutes'],
    ['pollEvery', undefined],
    ['x', undefined],
  ])('nearestName(%j) is %j', (key, expected) => {
    expect(nearestName(key, Object.keys(POLICY_SETTINGS.entries))).toBe(expected);
  });

  it('takes the top-level credentials for servers without their own, and resolves each kind to where it is read', () => {
    const resolved = resolveConfig(
      {
        stackName: 'Fleet',
        credentials: { sharedSecretName: 'vb365/fleet' },
        servers: [
          { id: 'a', url: 'https://a:4443' },
          { id: 'b', url: 'https://b:4443', credentials: { parameterName: '/vb365/b' } },
          { id: 'c', url: 'https://c:4443', credentials: { create: true } },
          { id: 'd', url: 'https://d:4443', credentials: { secretName: 'vb365/d' } },
        ],
      },
      read,
    );

    expect(resolved.servers.map((s) => credentialsRefOf(s, resolved.stackName))).toEqual([
      { kind: 'secret', secretId: 'vb365/fleet', key: 'a' },
      { kind: 'parameter', name: '/vb365/b' },
      { kind: 'secret', secretId: createdSecretName('Fleet', 'c') },
      { kind: 'secret', secretId: 'vb365/d' },
    ]);
    expect(createdSecretName('Fleet', 'c')).toBe('vb365-sync-monitor/Fleet/c');
  });

  it.each<[string, unknown, string]>([
    [
      'no credentials anywhere',
      { servers: [{ id: 'a', url: 'https://a:4443' }] },
      'servers[0].credentials: undefined — give { secretName }, { secretArn }, { create: true }, { sharedSecretName } or { parameterName }, here or as the top-level credentials',
    ],
    [
      'a parameter name with spaces',
      { servers: [{ ...server, credentials: { parameterName: 'vb365 prod' } }] },
      'servers[0].credentials.parameterName: "vb365 prod" — use an SSM parameter name such as /vb365/prod',
    ],
    [
      'an empty shared secret name',
      { ...base, credentials: { sharedSecretName: '' } },
      'credentials.sharedSecretName: "" — name an existing Secrets Manager secret',
    ],
    [
      'two kinds at the top level',
      { ...base, credentials: { sharedSecretName: 'a', parameterName: '/b' } },
      'credentials: {"sharedSecretName":"a","parameterName":"/b"} — give exactly one of',
    ],
    [
      `more than ${MAX_CREATED_SECRETS} created secrets`,
      {
        credentials: { create: true },
        servers: Array.from({ length: MAX_CREATED_SECRETS + 1 }, (_, i) => ({ id: `s${i}`, url: 'https://s:4443' })),
      },
      `servers: "${MAX_CREATED_SECRETS + 1} servers with credentials { create: true }" — create at most ${MAX_CREATED_SECRETS} secrets`,
    ],
    [
      'more than 1,000 servers',
      { ...base, servers: Array.from({ length: 1001 }, (_, i) => ({ ...server, id: `s${i}` })) },
      'servers: [',
    ],
    [
      'a CA bundle as text holding a private key',
      { servers: [{ ...server, caBundle: files['certs/server-with-key.pem'] }] },
      'servers[0].caBundle: ',
    ],
    [
      'a CA bundle as text without a certificate',
      { servers: [{ ...server, caBundle: 'MIIB' }] },
      'servers[0].caBundle: "MIIB" — give PEM text with at least one "-----BEGIN CERTIFICATE-----" block',
    ],
    [
      'both a CA file and CA text',
      { servers: [{ ...server, caBundle: PEM, caBundleFile: 'certs/ok.pem' }] },
      'servers[0].caBundleFile: "certs/ok.pem" — give caBundleFile or caBundle, not both',
    ],
    [
      'an ARN given as a secret name',
      {
        servers: [
          { ...server, credentials: { secretName: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:vb365/prod' } },
        ],
      },
      'servers[0].credentials.secretName: "arn:aws:secretsmanager:eu-west-1:123456789012:secret:vb365/prod" — give an ARN as { secretArn }',
    ],
    [
      'two servers of one VPC in different subnets',
      {
        servers: [
          {
            ...server,
            id: 'a',
            vpc: {
              vpcId: 'vpc-0123456789abcdef0',
              subnetIds: ['subnet-0aaaaaaaaaaaaaaaa'],
              availabilityZones: ['eu-west-1a'],
            },
          },
          {
            ...server,
            id: 'b',
            vpc: {
              vpcId: 'vpc-0123456789abcdef0',
              subnetIds: ['subnet-0bbbbbbbbbbbbbbbb'],
              availabilityZones: ['eu-west-1b'],
            },
          },
        ],
      },
      'servers[1].vpc: {"vpcId":"vpc-0123456789abcdef0","subnetIds":["subnet-0bbbbbbbbbbbbbbbb"],"availabilityZones":["eu-west-1b"]} — use the same subnetIds and availabilityZones as servers[0]',
    ],
    [
      'metrics',
      { ...base, metrics: 'all' },
      'metrics: "all" — use fleet (a fixed handful for the deployment) or perServer',
    ],
    ['dashboard', { ...base, dashboard: 'yes' }, 'dashboard: "yes" — '],
    [
      'reservedConcurrency',
      { ...base, reservedConcurrency: 0 },
      'reservedConcurrency: 0 — use a whole number from 1 to 1000',
    ],
    [
      'quietHours.end',
      { ...base, quietHours: { timeZone: 'UTC', start: '07:00', end: '07:00' } },
      'quietHours.end: "07:00" — must differ from start',
    ],
    [
      'maintenanceWindows[].start',
      { ...base, maintenanceWindows: [{ start: '2026-12-05 20:00', end: '2026-12-05T23:00:00Z' }] },
      'maintenanceWindows[0].start: "2026-12-05 20:00" — use ISO-8601 with an offset',
    ],
    ['digest.timeZone', { ...base, digest: { weekday: 'Monday', time: '08:00', timeZone: 'Mars/Olympus' } }, 'digest'],
  ])('names %s, its value and the fix', (_case, config, message) => {
    const found = problems(config);

    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });

  it.each<[string, unknown, string]>([
    [
      'an empty organizations list',
      { ...base, notifications: { emails: [{ address: 'it@contoso.example', organizations: [] }] } },
      'notifications.emails[0].organizations: [] — list at least one organization, or leave the field out for every event',
    ],
    [
      'an empty organization',
      { ...base, notifications: { webhookSecrets: [{ secretName: 'vb365/psa', organizations: [' '] }] } },
      'notifications.webhookSecrets[0].organizations[0]: " " — list organization ids (GUIDs) or names as VB365 shows them',
    ],
  ])('names %s on a tenant channel, its value and the fix', (_case, config, message) => {
    const found = problems(config);

    expect(found).toHaveLength(1);
    expect(found[0]).toContain(message);
  });

  it('accepts organizations on every kind of channel', () => {
    const organizations = ['Contoso', '5d0c4e9a-0000-4000-8000-000000000001'];
    expect(
      problems({
        ...base,
        notifications: {
          emails: [{ address: 'it@contoso.example', organizations }],
          slackWebhookSecrets: [{ secretName: 's', organizations }],
          teamsWebhookSecrets: [{ secretName: 't', organizations }],
          webhookSecrets: [{ secretName: 'w', organizations }],
          slackAppChannels: [{ secretName: 'a', channelId: 'C0123ABCDEF', organizations }],
          pagerDutySecrets: [{ secretName: 'p', organizations }],
          qDeveloperSlackChannels: [{ workspaceId: 'T0123ABCDEF', channelId: 'C0123ABCDEF', organizations }],
        },
      }),
    ).toEqual([]);
  });

  it('never quotes the private key of a CA bundle given as text', () => {
    const found = problems({ servers: [{ ...server, caBundle: files['certs/server-with-key.pem'] }] });

    expect(found.join('\n')).not.toContain('KeyMaterialNotToBeShown');
  });

  it('defaults: fleet metrics, no dashboard, no reserved concurrency', () => {
    const resolved = resolveConfig(base, read);

    expect(resolved).toMatchObject({ metrics: 'fleet', dashboard: false, reservedConcurrency: undefined });
  });

  it('writes a runtime file that the same schema reads back to the same servers, policy and credentials', () => {
    const resolved = resolveConfig(
      {
        stackName: 'Prod',
        servers: [
          { ...server, caBundleFile: 'certs/ok.pem', credentials: { create: true } },
          { ...server, id: 'b', pinSha256: 'ab'.repeat(32), credentials: { parameterName: '/vb365/b' } },
          {
            ...server,
            id: 'c',
            credentials: { secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:vb365/c-AbCdEf' },
          },
        ],
        policy: { stallAfterMinutes: 90, milestones: [75, 25] },
        digest: { weekday: 'Friday', time: '16:30', timeZone: 'Europe/Paris' },
        quietHours: { timeZone: 'Europe/Berlin', start: '22:00', end: '07:00' },
        notifications: {
          emails: [{ address: 'ops@example.com' }, { address: 'duty@example.com', escalateAfterMinutes: 60 }],
          pagerDutySecrets: [{ secretName: 'pd/key', escalateAfterMinutes: 30 }],
        },
        runbooks: { 'sync.failed': 'https://wiki.example.com/vb365/sync-failed' },
      },
      read,
    );
    const file = JSON.parse(JSON.stringify(runtimeConfigOf(resolved)));
    const reread = resolveConfig(file);

    // The poll function escalates at every channel's minutes and stamps the runbook links: both travel in the file.
    expect(policyOf(reread)).toMatchObject({
      escalateAfterMinutes: [30, 60],
      runbooks: { 'sync.failed': 'https://wiki.example.com/vb365/sync-failed' },
    });
    expect(file.servers[0]).toMatchObject({
      caBundle: PEM,
      credentials: { secretName: 'vb365-sync-monitor/Prod/vb365-prod' },
    });
    expect(file.servers[0]).not.toHaveProperty('caBundleFile');
    expect(reread.servers.map((s) => credentialsRefOf(s, reread.stackName))).toEqual(
      resolved.servers.map((s) => credentialsRefOf(s, resolved.stackName)),
    );
    expect(reread.servers.map((s) => s.caBundle)).toEqual([PEM, undefined, undefined]);
    expect(reread.policy).toEqual(resolved.policy);
    expect(reread.digest).toEqual({ weekday: 5, time: '16:30', timeZone: 'Europe/Paris' });
    expect(reread.quietHours).toEqual(resolved.quietHours);
  });
});

describe('the runtime file', () => {
  it.each<[string, Record<string, unknown>]>([
    ['secretName', { secretName: 'vb365/prod' }],
    ['secretArn', { secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:vb365/prod-AbCdEf' }],
    ['create', { create: true }],
    ['sharedSecretName', { sharedSecretName: 'vb365/fleet' }],
    ['parameterName', { parameterName: '/vb365/prod' }],
  ])('reads credentials given as %s back to where they are read', (_kind, credentials) => {
    const resolved = resolveConfig({ stackName: 'Prod', servers: [{ ...server, credentials }] }, read);
    const reread = resolveConfig(JSON.parse(JSON.stringify(runtimeConfigOf(resolved))));

    expect(credentialsRefOf(reread.servers[0] as never, 'Prod')).toEqual(
      credentialsRefOf(resolved.servers[0] as never, 'Prod'),
    );
  });

  it('carries every setting the Lambda uses', () => {
    const resolved = resolveConfig(
      {
        ...base,
        digest: false,
        metrics: 'perServer',
        heartbeatIntervals: 5,
        pollEveryMinutes: 10,
        maintenanceWindows: [{ start: '2026-12-05T20:00:00Z', end: '2026-12-05T23:00:00Z', servers: ['vb365-prod'] }],
      },
      read,
    );
    const reread = resolveConfig(JSON.parse(JSON.stringify(runtimeConfigOf(resolved))));

    expect(reread).toMatchObject({
      digest: null,
      metrics: 'perServer',
      heartbeatIntervals: 5,
      pollEveryMinutes: 10,
      maintenanceWindows: resolved.maintenanceWindows,
    });
  });
});

describe('policy defaults, one table', () => {
  it("DEFAULT_POLICY is the settings' defaults in the rules' units", () => {
    expect(DEFAULT_POLICY).toEqual(toPolicy({ policy: v.parse(POLICY_SETTINGS, {}) }));
    expect(DEFAULT_POLICY).toMatchObject({
      milestones: [],
      stallAfterMs: 60 * 60_000,
      vanishGraceCycles: 2,
      unreachableAfterMs: 15 * 60_000,
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
    });
  });

  it('turns 0 into off and sorts milestones', () => {
    const policy = toPolicy({
      policy: v.parse(POLICY_SETTINGS, {
        remindEveryHours: 0,
        outOfSyncAfterMinutes: 0,
        groupThreshold: 0,
        milestones: [75, 25],
      }),
      digest: false,
    });

    expect(policy).toMatchObject({
      remindEveryMs: null,
      outOfSyncAfterMs: null,
      groupThreshold: null,
      digest: null,
      milestones: [25, 75],
    });
  });
});
