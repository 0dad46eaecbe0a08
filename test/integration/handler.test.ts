import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import type { MonitorEvent } from '../../lambda/domain/events.js';
import type { CycleSummary } from '../../lambda/domain/poll.js';
import { ENV, METRICS } from '../../lambda/names.js';
import { startSimulator, type Vb365Simulator } from '../../local/simulator/simulator.js';
import { ensureTable, localClient } from '../../local/stand-ins/embedded-dynamodb.js';
import { type SecretsStandIn, startSecretsStandIn } from '../../local/stand-ins/secrets-stand-in.js';
import { type SnsStandIn, startSnsStandIn } from '../../local/stand-ins/sns-stand-in.js';
import { type FaultProxy, startFaultProxy } from '../harness/fault-proxy.js';
import { captureOutput } from '../support/capture-output.js';
import { CallLog, grantsOf } from '../support/iam-grants.js';

/** A plain-text secret (not JSON): a JSON parser's error would quote its start. */
const PLAIN_TEXT_SECRET = 'zQ8#kXw3!Pv7$Rt2&Ym';
const PLACEHOLDER_PASSWORD = 'gN4^hB9*cV6%jL1@dF5';

/** Every 4-character piece of `secret`. */
const piecesOf = (secret: string) => Array.from({ length: secret.length - 3 }, (_, i) => secret.slice(i, i + 4));

type Handler = (event: { serverId: string }, context: Context) => Promise<CycleSummary>;

let sim: Vb365Simulator;
let sns: SnsStandIn;
let secrets: SecretsStandIn;
/** Every DynamoDB request the function sends passes (and is recorded) here. */
let ddbProxy: FaultProxy;
let handler: Handler;
let capture: ReturnType<typeof captureOutput>;
let output: string[] = [];

function context(id: string): Context {
  return {
    awsRequestId: id,
    functionName: 'vb365-sync-monitor-poll',
    getRemainingTimeInMillis: () => 60_000,
  } as unknown as Context;
}

beforeAll(async () => {
  sim = await startSimulator({
    scenario: { name: 'handler', repositories: [{ id: 'r1', name: 'S3 Archive', isOutOfSync: false }], steps: [] },
  });
  sns = await startSnsStandIn();
  secrets = await startSecretsStandIn();
  secrets.secrets.set('vb365/sim', JSON.stringify({ username: sim.username, password: sim.password }));
  secrets.secrets.set('vb365/plain', PLAIN_TEXT_SECRET);
  secrets.secrets.set('vb365/placeholder', JSON.stringify({ username: 'CHANGE-ME', password: PLACEHOLDER_PASSWORD }));
  ddbProxy = await startFaultProxy(inject('ddbEndpoint'));
  const table = `handler-${process.pid}`;
  const ddb = localClient(inject('ddbEndpoint'));
  await ensureTable(ddb, table);
  ddb.destroy();

  // The configuration file the deployment puts beside the code, in the schema the synth checks.
  const configFile = join(mkdtempSync(join(tmpdir(), 'handler-')), 'monitor-config.json');
  const server = (id: string, name: string, credentials: string | Record<string, string>) => ({
    id,
    name,
    url: sim.url,
    credentials: typeof credentials === 'string' ? { secretName: credentials } : credentials,
    caBundle: sim.pki.caCert,
  });
  const account = { username: sim.username, password: sim.password };
  secrets.secrets.set('vb365/fleet', JSON.stringify({ 'fleet-a': account, 'fleet-b': account }));
  secrets.parameters.set('/vb365/ssm', JSON.stringify(account));
  writeFileSync(
    configFile,
    JSON.stringify({
      servers: [
        server('sim', 'Simulated VB365', 'vb365/sim'),
        server('broken', 'Broken secret', 'vb365/missing'),
        server('plain', 'Plain secret', 'vb365/plain'),
        server('fresh', 'Fresh deployment', 'vb365/placeholder'),
        server('fleet-a', 'Fleet A', { sharedSecretName: 'vb365/fleet' }),
        server('fleet-b', 'Fleet B', { sharedSecretName: 'vb365/fleet' }),
        server('fleet-new', 'Fleet, not yet in the secret', { sharedSecretName: 'vb365/fleet' }),
        server('ssm', 'SSM parameter', { parameterName: '/vb365/ssm' }),
        server('ssm-new', 'SSM parameter not yet stored', { parameterName: '/vb365/ssm-new' }),
      ],
      // An answer the monitor cannot use is announced at once (the secret-echo test below needs a published event).
      policy: { unreachableAfterMinutes: 0 },
    }),
  );
  const env: Record<string, string> = {
    TABLE_NAME: table,
    TOPIC_ARN: 'arn:aws:sns:us-east-1:123456789012:vb365-sync-monitor',
    CONFIG_FILE: configFile,
    // DynamoDB Local keeps one database per access key and region: the same as the client that created the table.
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: ddbProxy.endpoint,
    AWS_ENDPOINT_URL_SNS: sns.endpoint,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_ENDPOINT_URL_SSM: secrets.endpoint,
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
  };
  for (const [k, v] of Object.entries(env)) vi.stubEnv(k, v);
  // Everything the function prints (logs, EMF metrics) is kept to check that no secret appears in it.
  capture = captureOutput();
  output = capture.output;
  vi.resetModules();
  ({ handler } = (await import('../../lambda/handler.js')) as { handler: Handler });
});

afterAll(async () => {
  capture.restore();
  vi.unstubAllEnvs();
  await Promise.all([sim.close(), sns.close(), secrets.close(), ddbProxy.close()]);
});

describe('poll handler (real SDK clients, local stand-ins)', () => {
  it('runs cycles for a server and publishes its events through SNS', async () => {
    const first = await handler({ serverId: 'sim' }, context('req-1'));
    sim.apply([{ op: 'start', session: 's1', repository: 'r1', progress: 3 }]);
    const second = await handler({ serverId: 'sim' }, context('req-2'));

    expect(first).toMatchObject({ status: 'ok', eventsPublished: 1 });
    expect(second).toMatchObject({ status: 'ok', eventsPublished: 1, sessionsTracked: 1 });
    expect(sns.defaults<MonitorEvent>().map((e) => e.type)).toEqual(['monitor.started', 'sync.started']);
    expect(secrets.requests).toBe(1); // cached per container
  });

  it('emits one fleet metric (METRICS.fleet) without a per-server dimension (the default), and one structured log line per cycle', () => {
    const lines = output
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'));
    const metrics = lines.map((l) => JSON.parse(l)).filter((j) => j._aws?.CloudWatchMetrics);
    const logs = lines.map((l) => JSON.parse(l)).filter((j) => j.message === 'cycle completed');
    const definitions = metrics.flatMap((m) => m._aws.CloudWatchMetrics);

    expect(metrics).toHaveLength(2);
    expect(new Set(definitions.flatMap((d) => d.Metrics.map((x: { Name: string }) => x.Name)))).toEqual(
      new Set([METRICS.fleet]),
    );
    expect(definitions.every((d) => d.Namespace === METRICS.namespace)).toBe(true);
    expect(
      definitions.every((d) => JSON.stringify(d.Dimensions) === JSON.stringify([[METRICS.dimensions.service]])),
    ).toBe(true);
    expect(metrics.every((m) => m.ServerUsable === 1 && !('ServerId' in m))).toBe(true);
    expect(logs).toHaveLength(2);
    expect(logs[0]).toMatchObject({ level: 'INFO', service: 'vb365-sync-monitor', function_request_id: 'req-1' });
  });

  it('logs a quiet cycle at DEBUG, and a cycle that published at INFO', async () => {
    const from = output.length;

    const quiet = await handler({ serverId: 'sim' }, context('req-quiet'));
    const lines = output
      .slice(from)
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .filter((j) => j.message === 'cycle completed');
    const earlier = output
      .slice(0, from)
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .filter((j) => j.message === 'cycle completed');

    expect(quiet).toMatchObject({ status: 'ok', eventsPublished: 0, eventsPending: 0 });
    expect(lines.map((l) => l.level)).toEqual(['DEBUG']);
    expect(earlier.map((l) => l.level)).toEqual(['INFO', 'INFO']);
  });

  it('reports a missing credentials secret as an authentication problem, once', async () => {
    const summary = await handler({ serverId: 'broken' }, context('req-3'));

    expect(summary).toMatchObject({ status: 'auth', reason: expect.stringMatching(/credentials unavailable/) });
    expect(sns.defaults<MonitorEvent>().at(-1)).toMatchObject({ type: 'server.auth_failed', server: { id: 'broken' } });
    const metrics = output
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l));
    // Fleet metrics: a cycle whose server could not be used counts 0.
    expect(metrics.at(-1)).toMatchObject({ ServerUsable: 0 });
  });

  it('answers a server id that is not configured (the last firing of a removed server) without failing, and says so', async () => {
    const published = sns.received.length;
    const from = output.length;

    const answer = await handler({ serverId: 'nope' }, context('req-4'));

    expect(answer).toMatchObject({ status: 'unconfigured', serverId: 'nope' });
    expect(output.slice(from).join('')).toMatch(
      /"message":"unconfigured server".*no server with id \\"nope\\" is configured/,
    );
    expect(sns.received.length).toBe(published);
  });

  it('throws for an input that is neither a poll nor a fleet check', async () => {
    await expect(handler({} as { serverId: string }, context('req-4b'))).rejects.toThrow(
      /the input must be \{"serverId": "…"\} or \{"fleetCheck": true\}/,
    );
  });

  it('keeps the password and tokens out of events, summaries, logs and metrics, even when the server echoes them', async () => {
    const token = sim.issuedTokens()[0] ?? '';
    const echo = JSON.stringify({
      message: `upstream said: password=${sim.password} token=${token} Authorization: Bearer ${token}`,
    });
    sim.inject({ route: 'listSessions', fault: { kind: 'status', status: 400, body: echo }, times: Infinity });
    const before = sns.received.length;
    const summaries = [];
    try {
      summaries.push(await handler({ serverId: 'sim' }, context('req-5')));
    } finally {
      sim.clearFaults();
    }
    const printed = output.join('');
    const published = JSON.stringify(sns.received);

    // The server's message is quoted (it helps), with the secrets cut out, in the summary and the published alert.
    expect(summaries[0]).toMatchObject({ reason: expect.stringContaining('upstream said: password=[redacted]') });
    expect(sns.defaults<MonitorEvent>().slice(before)).toMatchObject([
      { type: 'server.unreachable', problem: { reason: expect.stringContaining('password=[redacted]') } },
    ]);
    expect(printed.length).toBeGreaterThan(500);
    expect(token.length).toBeGreaterThan(10);
    for (const secret of [sim.password, token, ...sim.issuedTokens()]) {
      expect(printed).not.toContain(secret);
      expect(published).not.toContain(secret);
      expect(JSON.stringify(summaries)).not.toContain(secret);
    }
  });

  it('never shows any part of a plain-text credentials secret: events, email text, logs, metrics, summary', async () => {
    const start = output.join('').length;
    const before = sns.received.length;

    const summary = await handler({ serverId: 'plain' }, context('req-6'));

    const printed = output.join('').slice(start);
    const published = JSON.stringify(sns.received.slice(before));
    expect(summary).toMatchObject({ status: 'auth', reason: expect.stringContaining('vb365/plain is not JSON') });
    expect(sns.defaults<MonitorEvent>().at(-1)).toMatchObject({ type: 'server.auth_failed', server: { id: 'plain' } });
    expect(printed).toContain('vb365/plain is not JSON');
    expect(published).toContain('"username'); // the expected form is named
    for (const piece of piecesOf(PLAIN_TEXT_SECRET)) {
      expect(printed).not.toContain(piece);
      expect(published).not.toContain(piece);
      expect(JSON.stringify(summary)).not.toContain(piece);
    }
  });

  it('says once, as information, that a created secret still holds its placeholder, and never sends it', async () => {
    const before = sns.received.length;
    const tokenRequests = sim.counters.token;

    const first = await handler({ serverId: 'fresh' }, context('req-7'));
    const second = await handler({ serverId: 'fresh' }, context('req-8'));

    expect([first.status, second.status]).toEqual(['setup', 'setup']);
    expect(sns.defaults<MonitorEvent>().slice(before)).toMatchObject([
      {
        type: 'server.setup_required',
        severity: 'info',
        problem: { reason: expect.stringContaining('vb365/placeholder still holds the placeholder') },
      },
    ]);
    expect(sim.counters.token).toBe(tokenRequests);
    expect(JSON.stringify(sns.received.slice(before))).not.toContain(PLACEHOLDER_PASSWORD);
  });

  it('logs each problem of a session with its reason', async () => {
    const start = output.join('').length;
    sim.inject({
      route: 'listSessions',
      fault: { kind: 'body', json: [{ id: 'ok-1', state: 'Synchronizing' }, { state: 42 }] },
    });

    await handler({ serverId: 'sim' }, context('req-9'));

    const problems = output
      .join('')
      .slice(start)
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .filter((j) => j.message === 'session problem');
    expect(problems).toEqual([
      expect.objectContaining({
        level: 'WARN',
        reason: expect.stringContaining('malformed session in the list (item 1)'),
      }),
    ]);
  });

  it('records a finished sync in the history when it completes', async () => {
    sim.apply([
      { op: 'state', session: 's1', state: 'None', progress: 100 },
      { op: 'inSync', repository: 'r1' },
    ]);
    await handler({ serverId: 'sim' }, context('req-10'));
    await handler({ serverId: 'sim' }, context('req-11'));

    expect(sns.defaults<MonitorEvent>().map((e) => e.type)).toContain('sync.completed');
    expect(ddbProxy.requests.filter((r) => r.operation === 'BatchWriteItem').length).toBeGreaterThanOrEqual(2);
  });

  it('judges the 15-minute repository scan by the scheduled time the schedule passes, not by when the cycle ran', async () => {
    const quarter = 15 * 60_000;
    const slot = Math.floor(Date.now() / quarter) * quarter;
    const at = (minutes: number) => new Date(slot + minutes * 60_000).toISOString();
    const scans = async (scheduledTime: unknown, id: string) => {
      const before = sim.counters.listRepositories;
      const summary = await handler({ serverId: 'sim', scheduledTime } as { serverId: string }, context(id));
      expect(summary).toMatchObject({ status: 'ok' });
      return sim.counters.listRepositories - before;
    };

    // Scheduled 11 minutes into this slot: the cycle before was scheduled in it too. Then 16 minutes in: the first
    // of the next slot, however early it runs (the wall clock, unchanged, would say the same slot).
    expect(await scans(at(11), 'req-slot-1')).toBe(0);
    expect(await scans(at(16), 'req-slot-2')).toBe(1);
    expect(await scans(at(21), 'req-slot-3')).toBe(0);
    // A scheduled time that is not a time (a manual invocation with the placeholder) still runs the cycle.
    await scans('<aws.scheduler.scheduled-time>', 'req-slot-4');
  });

  it('reads one shared secret once for the servers in it, and a SecureString parameter decrypted', async () => {
    const secretReads = () => secrets.calls.filter((c) => c.secretId === 'vb365/fleet').length;

    const a = await handler({ serverId: 'fleet-a' }, context('req-fleet-a'));
    const b = await handler({ serverId: 'fleet-b' }, context('req-fleet-b'));
    const ssm = await handler({ serverId: 'ssm' }, context('req-ssm'));

    expect([a.status, b.status, ssm.status]).toEqual(['ok', 'ok', 'ok']);
    expect(secretReads()).toBe(1);
    expect(secrets.calls.filter((c) => c.operation === 'GetParameter')).toEqual([
      { operation: 'GetParameter', secretId: '/vb365/ssm', decrypt: true },
    ]);
  });

  it.each([
    [
      'fleet-new',
      /the shared credentials secret vb365\/fleet has no entry "fleet-new": add \{"fleet-new": \{"username"/,
    ],
    [
      'ssm-new',
      /the credentials parameter \/vb365\/ssm-new does not exist: store the VB365 account with aws ssm put-parameter --type SecureString --name \/vb365\/ssm-new/,
    ],
  ])('says once what to store when %s has no account yet, and sends nothing to the server', async (serverId, fix) => {
    const grants = sim.counters.token;

    const summary = await handler({ serverId }, context(`req-${serverId}`));
    await handler({ serverId }, context(`req-${serverId}-again`));

    expect(summary.status).toBe('setup');
    const setup = sns.defaults<MonitorEvent>().filter((e) => e.server.id === serverId);
    expect(setup.map((e) => e.type)).toEqual(['server.setup_required']);
    expect(setup[0]?.problem?.reason).toMatch(fix);
    expect(sim.counters.token).toBe(grants);
  });

  it('reads the server partition with a consistent read in every cycle', () => {
    const loads = ddbProxy.requests.filter(
      (r) => r.operation === 'Query' && JSON.stringify(r.body).includes('"SERVER#'),
    );

    expect(loads.length).toBeGreaterThanOrEqual(8);
    expect(loads.every((r) => r.body.ConsistentRead === true)).toBe(true);
  });

  it('is granted exactly the DynamoDB, SNS, Secrets Manager and SSM actions it sends, on exactly its resources', async () => {
    // The fleet check is the same function's other job: its calls count too.
    await handler({ fleetCheck: true } as unknown as { serverId: string }, context('req-fleet-check'));

    const credentialsOf: Record<string, Record<string, string>> = {
      sim: { secretName: 'vb365/sim' },
      broken: { secretName: 'vb365/missing' },
      plain: { secretName: 'vb365/plain' },
      fresh: { secretName: 'vb365/placeholder' },
      'fleet-a': { sharedSecretName: 'vb365/fleet' },
      'fleet-b': { sharedSecretName: 'vb365/fleet' },
      'fleet-new': { sharedSecretName: 'vb365/fleet' },
      ssm: { parameterName: '/vb365/ssm' },
      'ssm-new': { parameterName: '/vb365/ssm-new' },
    };
    const granted = grantsOf(
      {
        servers: Object.entries(credentialsOf).map(([id, credentials]) => ({
          id,
          url: 'https://vb365.example.local:4443',
          credentials,
        })),
        notifications: { emails: [{ address: 'ops@example.com' }] },
      },
      ENV.topicArn,
    );
    // What the function sent, as IAM actions (PublishBatch is authorised by sns:Publish), and on what.
    const sent = new CallLog();
    for (const r of ddbProxy.requests) sent.add(`dynamodb:${r.operation}`, 'the state table');
    for (const r of sns.requests)
      sent.add(r.action === 'PublishBatch' ? 'sns:Publish' : `sns:${r.action}`, 'the topic');
    for (const c of secrets.calls) {
      if (c.operation === 'GetParameter') sent.add('ssm:GetParameter', `parameter ${c.secretId.replace(/^\//, '')}`);
      else sent.add(`secretsmanager:${c.operation}`, `secret ${c.secretId}`);
    }

    expect(granted).toEqual(sent.toJSON());
  });
});

describe('poll handler with metrics: perServer', () => {
  it('emits each server its own metrics (dimension ServerId) and events by type, every one named in METRICS', async () => {
    const configFile = join(mkdtempSync(join(tmpdir(), 'handler-')), 'monitor-config.json');
    writeFileSync(
      configFile,
      JSON.stringify({
        servers: [{ id: 'sim2', url: sim.url, credentials: { secretName: 'vb365/sim' }, caBundle: sim.pki.caCert }],
        metrics: 'perServer',
      }),
    );
    vi.stubEnv('CONFIG_FILE', configFile);
    vi.resetModules();
    const perServer = (await import('../../lambda/handler.js')) as { handler: Handler };
    const from = output.length;

    await perServer.handler({ serverId: 'sim2' }, context('req-per-server'));
    const metrics = output
      .slice(from)
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l))
      .filter((j) => j._aws?.CloudWatchMetrics);
    const definitions = metrics.flatMap((m) => m._aws.CloudWatchMetrics);

    // The construct's dashboard and alarms read these constants (test/infra/names.test.ts): a metric renamed on one
    // side only fails here or there.
    expect(new Set(definitions.flatMap((d) => d.Metrics.map((x: { Name: string }) => x.Name)))).toEqual(
      new Set(Object.values(METRICS.perServer)),
    );
    expect(new Set(definitions.map((d) => d.Namespace))).toEqual(new Set([METRICS.namespace]));
    expect(new Set(definitions.flatMap((d) => d.Dimensions.flat()))).toEqual(
      new Set(Object.values(METRICS.dimensions)),
    );
    expect(metrics.some((m) => m.CycleSucceeded === 1 && m.ApiErrors === 0 && m.ServerId === 'sim2')).toBe(true);
    expect(metrics.some((m) => m.EventType === 'monitor.started' && m.Events === 1 && m.ServerId === 'sim2')).toBe(
      true,
    );
    expect(metrics.some((m) => 'ServerUsable' in m)).toBe(false);
  });
});
