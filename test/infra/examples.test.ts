import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../infra/config-file.js';
import { type Deployment, deploymentOf, MonitorStack } from '../../infra/monitor-stack.js';
import { type ResolvedConfig, resolveConfig } from '../../lambda/config-schema.js';

const ROOT = join(import.meta.dirname, '../..');
const EXAMPLES = join(ROOT, 'infra/examples');
const env = { account: '123456789012', region: 'eu-west-1' };
// A synth imports and runs much of aws-cdk-lib; on a 2-core CI machine the first one takes its time.

/**
 * An example as `npx cdk synth -c config=infra/examples/FILE` reads it (CA files relative to the project root):
 * resolved, and split into the stack and the construct's props as infra/app.ts splits it.
 */
async function example(file: string): Promise<{ config: ResolvedConfig; deployment: Deployment }> {
  const raw = await loadConfigFile(join(EXAMPLES, file));
  const read = (path: string) => {
    try {
      return readFileSync(join(ROOT, path), 'utf8');
    } catch {
      return undefined;
    }
  };
  return { config: resolveConfig(raw, read), deployment: deploymentOf(raw, read) };
}

/**
 * The example's stack, synthesized with the AwsSolutions pack (synth throws on any unacknowledged finding). The
 * construct reads CA files relative to the working directory: the project root, as under `npx cdk synth`.
 */
function synth({ stackName, props }: Deployment) {
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'cdk-')), context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new MonitorStack(app, stackName, { config: props, env });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
  return Template.fromStack(stack);
}

describe('infra/examples', () => {
  const files = readdirSync(EXAMPLES).filter((f) => /\.(json|ts)$/.test(f));

  it('holds the three documented examples', () => {
    expect(files.sort()).toEqual(['chat-channels.ts', 'msp-fleet.ts', 'single-server-pin.json']);
  });

  it.each(files.filter((f) => f.endsWith('.json')))('%s names config.schema.json as its $schema', (file) => {
    const { $schema } = JSON.parse(readFileSync(join(EXAMPLES, file), 'utf8'));

    expect(resolve(EXAMPLES, $schema)).toBe(join(ROOT, 'config.schema.json'));
  });

  it.each(files)(
    '%s synthesizes, cdk-nag clean',
    async (file) => {
      const { deployment } = await example(file);

      expect(() => synth(deployment)).not.toThrow();
    },
    120_000,
  );

  it('single-server-pin.json: one pinned server, its account in an SSM parameter', async () => {
    const { config } = await example('single-server-pin.json');

    expect(config.servers).toEqual([
      expect.objectContaining({
        id: 'vb365-prod',
        credentials: { parameterName: '/vb365-sync-monitor/vb365-prod' },
        pinSha256: expect.stringMatching(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/),
      }),
    ]);
  });

  it('msp-fleet.ts: 50 servers, CA files read, pins, two VPC placements, one shared secret', async () => {
    const { config } = await example('msp-fleet.ts');
    const { servers } = config;

    expect(servers).toHaveLength(50);
    expect(new Set(servers.map((s) => s.caBundle).filter(Boolean)).size).toBe(3);
    for (const s of servers.filter((s) => s.caBundle)) expect(s.caBundle).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    expect(servers.filter((s) => s.pinSha256)).toHaveLength(3);
    expect(new Set(servers.map((s) => s.vpc?.vpcId).filter(Boolean)).size).toBe(2);
    expect(new Set(servers.map((s) => JSON.stringify(s.credentials)))).toEqual(
      new Set([JSON.stringify({ sharedSecretName: 'vb365-sync-monitor/msp-fleet' })]),
    );
    expect(config.metrics).toBe('fleet');
  });

  it('chat-channels.ts: every kind of channel', async () => {
    const { config, deployment } = await example('chat-channels.ts');
    const n = config.notifications;

    expect(n.emails.every((e) => e.eventTypes !== undefined)).toBe(true);
    expect(n.slackWebhookSecrets.some((s) => s.mentions !== undefined)).toBe(true);
    expect(n.teamsWebhookSecrets).toHaveLength(1);
    expect(n.webhookSecrets).toHaveLength(1);
    expect(n.qDeveloperSlackChannels).toHaveLength(1);
    synth(deployment).resourceCountIs('AWS::Chatbot::SlackChannelConfiguration', 1);
  }, 120_000);
});

describe('infra/examples/certs', () => {
  it.each(readdirSync(join(EXAMPLES, 'certs')))('%s holds certificates only, never a private key', (file) => {
    const pem = readFileSync(join(EXAMPLES, 'certs', file), 'utf8');

    expect(pem).toMatch(/^(-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n)+$/);
  });
});
