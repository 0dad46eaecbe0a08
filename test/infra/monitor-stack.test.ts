import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { App, type CfnElement, Stack, aws_sqs as sqs, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { MonitorStack } from '../../infra/monitor-stack.js';
import { Vb365SyncMonitor } from '../../infra/sync-monitor.js';
import { loadConfig, loadDelivererConfig } from '../../lambda/config.js';
import {
  createdSecretName,
  type MonitorConfig,
  MonitorConfigError,
  policyOf,
  resolveConfig,
} from '../../lambda/config-schema.js';
import { EVENT_TYPES } from '../../lambda/domain/events.js';
import { CONFIG_FILE_NAME, DELIVERER_ENV, ENV, METRICS } from '../../lambda/names.js';
import { grantsOf } from '../support/iam-grants.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUQ\n-----END CERTIFICATE-----\n';
const env = { account: '123456789012', region: 'eu-west-1' };
/** A CA bundle file, given by absolute path (a relative one is read from the working directory). */
const CA_FILE = join(mkdtempSync(join(tmpdir(), 'ca-')), 'a.pem');
writeFileSync(CA_FILE, PEM);

const one: MonitorConfig = {
  servers: [
    {
      id: 'vb365-prod',
      name: 'VB365 production',
      url: 'https://vb365.example.local:4443',
      credentials: { create: true },
    },
  ],
  notifications: {
    emails: [
      { address: 'ops@example.com', eventTypes: ['sync.failed', 'server.unreachable'] },
      { address: 'all@example.com' },
    ],
  },
};

const three: MonitorConfig = {
  servers: [
    {
      id: 'tenant-a',
      url: 'https://a.example.local:4443',
      credentials: { secretName: 'vb365/tenant-a' },
      caBundleFile: CA_FILE,
    },
    {
      id: 'tenant-b',
      url: 'https://b.example.local:4443',
      credentials: { secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:vb365/b-AbCdEf' },
      pinSha256: 'ab'.repeat(32),
    },
    {
      id: 'tenant-c',
      url: 'https://10.0.12.5:4443',
      credentials: { create: true },
      vpc: {
        vpcId: 'vpc-0123456789abcdef0',
        subnetIds: ['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb'],
        availabilityZones: ['eu-west-1a', 'eu-west-1b'],
      },
    },
  ],
  pollEveryMinutes: 10,
};

/** A CloudFormation string value as text, with each token (Ref, GetAtt) shown as `<token>`. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map(text).join(join[0]);
  return '<token>';
}

function synth(config: MonitorConfig) {
  const app = new App({
    outdir: mkdtempSync(join(tmpdir(), 'cdk-')),
    // No bundling (fast); the asset metadata says where each function's code was staged.
    context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-asset-metadata': true },
  });
  const stack = new MonitorStack(app, 'TestMonitor', { config, env });
  return { app, stack, template: Template.fromStack(stack) };
}

/** The logical id of a construct's CloudFormation resource. */
function logicalId(stack: Stack, construct: IConstruct): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

/** The properties of the SNS subscriptions of one topic (by logical id) with this protocol. */
function subscriptionsOf(template: Template, topic: string, protocol: string): Record<string, unknown>[] {
  return Object.values(
    template.findResources('AWS::SNS::Subscription', { Properties: { TopicArn: { Ref: topic }, Protocol: protocol } }),
  ).map((r) => r.Properties as Record<string, unknown>);
}

interface FunctionResource {
  Metadata: { 'aws:asset:path': string };
  Properties: { Environment: { Variables: Record<string, unknown> }; ReservedConcurrentExecutions?: number };
}

/** The poll functions' resources, by placement. */
function pollFunctions(synthed: ReturnType<typeof synth>): Map<string, FunctionResource> {
  const { stack, template } = synthed;
  const resources = template.toJSON().Resources as Record<string, FunctionResource>;
  return new Map(
    [...stack.monitor.functions].map(([placement, fn]) => [
      placement,
      resources[logicalId(stack, fn)] as FunctionResource,
    ]),
  );
}

/** The configuration file in a function's code, as synthesized (read from the staged asset). */
function configFileOf(synthed: ReturnType<typeof synth>, fn: FunctionResource): string {
  return readFileSync(join(synthed.app.outdir, fn.Metadata['aws:asset:path'], CONFIG_FILE_NAME), 'utf8');
}

interface ScheduleProps {
  ScheduleExpression: string;
  FlexibleTimeWindow: { Mode: string; MaximumWindowInMinutes?: number };
  Target: { Arn: unknown; Input: string; RetryPolicy: unknown; DeadLetterConfig: unknown };
}

/** Every schedule: the servers' from the nested stacks, then the parent's (the fleet check). */
function schedulesOf(synthed: ReturnType<typeof synth>): ScheduleProps[] {
  const { stack, template } = synthed;
  return [...stack.monitor.scheduleStacks.map((s) => Template.fromStack(s)), template].flatMap((t) =>
    Object.values(t.findResources('AWS::Scheduler::Schedule')).map((r) => r.Properties as ScheduleProps),
  );
}

describe('MonitorStack — one server', () => {
  const synthed = synth(one);
  const { stack, template } = synthed;

  it('keeps state in an on-demand table with PITR, TTL and retention', () => {
    template.hasResource('AWS::DynamoDB::Table', {
      DeletionPolicy: 'Retain',
      Properties: Match.objectLike({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      }),
    });
  });

  it('encrypts the topic with a rotating key and refuses non-TLS publishing', () => {
    template.hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
  });

  it('lets CloudWatch use the key only for alarms of this account and region', () => {
    const keys = Object.values(template.findResources('AWS::KMS::Key')) as {
      Properties: {
        KeyPolicy: {
          Statement: {
            Principal?: { Service?: unknown };
            Action: unknown;
            Condition?: Record<string, Record<string, unknown>>;
          }[];
        };
      };
    }[];
    const grants = keys.flatMap((k) =>
      k.Properties.KeyPolicy.Statement.filter((st) => st.Principal?.Service === 'cloudwatch.amazonaws.com'),
    );

    expect(grants).toHaveLength(1);
    expect(grants[0]?.Action).toEqual(['kms:Decrypt', 'kms:GenerateDataKey*']);
    expect(grants[0]?.Condition?.StringEquals).toEqual({ 'aws:SourceAccount': env.account });
    expect(Object.keys(grants[0]?.Condition?.ArnLike ?? {})).toEqual(['aws:SourceArn']);
    expect(text(grants[0]?.Condition?.ArnLike?.['aws:SourceArn'])).toBe(
      `arn:<token>:cloudwatch:${env.region}:${env.account}:alarm:*`,
    );
  });

  it('subscribes emails to the events topic with a filter on the event type', () => {
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
      FilterPolicy: {
        $or: [
          {
            grouped: [{ exists: false }],
            type: ['sync.failed', 'server.unreachable', 'monitor.server_not_polled', 'monitor.server_polled_again'],
          },
          { groupType: ['sync.failed'] },
        ],
      },
    });
  });

  it('keeps events that a monitor.grouped message stands for out of every email subscription', () => {
    const gets = emailsGet(stack, template, MESSAGES);

    // ops@ chose sync.failed and server.unreachable; all@ chose nothing (everything). Both get the monitor's word
    // about its own health (a server not polled), whatever they chose.
    expect(gets).toEqual({
      'ops@example.com': [
        'sync.failed',
        'group of sync.failed',
        'server.unreachable',
        'monitor.server_not_polled',
        'monitor.server_polled_again',
        'sync.failed, escalated at 30',
      ],
      'all@example.com': [
        'sync.failed',
        'group of sync.failed',
        'group of sync.started',
        'server.unreachable',
        'sync.started',
        'monitor.server_not_polled',
        'monitor.server_polled_again',
        'sync.failed, escalated at 30',
        'incident.escalated at 30',
        'incident.escalated at 120',
        'sync.completed, escalated at 120',
      ],
    });
  });

  it('gives an escalation recipient only incidents nobody acknowledged for that long, from their escalation on', () => {
    const { stack, template } = synth({
      ...one,
      notifications: {
        emails: [
          { address: 'duty@example.com', escalateAfterMinutes: 60 },
          { address: 'cio@example.com', escalateAfterMinutes: 120, eventTypes: ['sync.completed'] },
        ],
      },
    });
    const gets = emailsGet(stack, template, MESSAGES);

    expect(gets).toEqual({
      'duty@example.com': ['incident.escalated at 120', 'sync.completed, escalated at 120'],
      'cio@example.com': ['incident.escalated at 120', 'sync.completed, escalated at 120'],
    });
  });

  it("gives a tenant's recipient only its organization's repositories, by id or name, grouped or escalated alike", () => {
    const { stack, template } = synth({
      ...one,
      notifications: {
        emails: [
          { address: 'it@contoso.example', organizations: ['Contoso'] },
          {
            address: 'noc@fabrikam.example',
            organizations: ['7E1D0F5A-0000-4000-8000-000000000002'],
            eventTypes: ['sync.failed'],
          },
          { address: 'duty@contoso.example', organizations: ['contoso'], escalateAfterMinutes: 60 },
        ],
      },
    });
    const gets = emailsGet(stack, template, TENANT_MESSAGES);

    expect(gets).toEqual({
      // A tenant gets its repositories' events one by one, grouped or not, never a group (it lists every tenant's).
      'it@contoso.example': [
        'sync.failed of Contoso',
        'sync.failed of Contoso, grouped',
        'incident.escalated at 120 of Contoso',
      ],
      'noc@fabrikam.example': ['sync.failed of Fabrikam'],
      'duty@contoso.example': ['incident.escalated at 120 of Contoso'],
    });
  });

  it('refuses an email recipient whose filter SNS would refuse (too many combinations), naming it and the fix', () => {
    const organizations = Array.from({ length: 5 }, (_, i) => `Customer ${i}`);

    expect(() =>
      synth({
        ...one,
        notifications: { emails: [{ address: 'msp@example.com', organizations, eventTypes: [...EVENT_TYPES] }] },
      }),
    ).toThrow(
      /notifications\.emails\[0\] \(msp@example\.com\): its SNS filter policy would have \d+ combinations of values, SNS allows 150; fix: list fewer eventTypes or organizations/,
    );
  });

  it('runs the poll Lambda on Node 24 arm64 with a timeout shorter than the interval, without reserved concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 256,
      Timeout: 120,
      Handler: 'index.handler',
      ReservedConcurrentExecutions: Match.absent(),
    });
  });

  it('sets names and ARNs only in the environment, no server data', () => {
    const vars = pollFunctions(synthed).get('default')?.Properties.Environment.Variables ?? {};

    expect(Object.keys(vars).sort()).toEqual(
      [ENV.tableName, ENV.topicArn, 'NODE_OPTIONS', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME'].sort(),
    );
    expect(vars[ENV.tableName]).toEqual({ Ref: logicalId(stack, stack.monitor.table) });
    expect(vars[ENV.topicArn]).toEqual({ Ref: logicalId(stack, stack.monitor.topic) });
    expect(vars).toMatchObject({
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: METRICS.service,
      POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
    });
    expect(JSON.stringify(vars)).not.toMatch(/vb365-prod|vb365\.example\.local|CERTIFICATE/);
  });

  it('puts the configuration beside the code, read by the Lambda as it is, with the created secret by its name', () => {
    const file = configFileOf(synthed, pollFunctions(synthed).get('default') as FunctionResource);
    const secret = Object.values(template.findResources('AWS::SecretsManager::Secret'))[0] as {
      Properties: { Name: string };
    };

    expect(file).toBe(stack.monitor.runtimeConfig);
    const config = loadConfig(
      { [ENV.tableName]: 'state', [ENV.topicArn]: 'arn:aws:sns:eu-west-1:123456789012:events' },
      (path) => {
        expect(path).toBe(CONFIG_FILE_NAME);
        return file;
      },
    );
    expect(config.servers).toEqual([
      expect.objectContaining({
        id: 'vb365-prod',
        name: 'VB365 production',
        url: 'https://vb365.example.local:4443',
        apiVersion: 'auto',
        credentials: { kind: 'secret', secretId: createdSecretName('TestMonitor', 'vb365-prod') },
      }),
    ]);
    expect(secret.Properties.Name).toBe(createdSecretName('TestMonitor', 'vb365-prod'));
    expect(config.policy.stallAfterMs).toBe(60 * 60_000);
  });

  it('polls the server from its own schedule in a nested stack, with retries and a dead-letter queue', () => {
    const [server, check, ...more] = schedulesOf(synthed);

    expect(more).toEqual([]);
    expect(stack.monitor.scheduleStacks).toHaveLength(1);
    expect(server).toMatchObject({
      ScheduleExpression: 'rate(5 minutes)',
      // A fleet's cycles spread over the first half of the interval.
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 2 },
      Target: {
        // The scheduled time, which the flexible window does not move: the cycle's scan slots follow it.
        Input: '{"serverId":"vb365-prod","scheduledTime":"<aws.scheduler.scheduled-time>"}',
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 },
        DeadLetterConfig: { Arn: expect.anything() },
      },
    });
    // The fleet check: every interval on the dot, the same function, the same retries and dead letters.
    expect(check).toMatchObject({
      ScheduleExpression: 'rate(5 minutes)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      Target: {
        Arn: { 'Fn::GetAtt': [logicalId(stack, stack.monitor.functions.get('default') as IConstruct), 'Arn'] },
        Input: '{"fleetCheck":true}',
        RetryPolicy: { MaximumRetryAttempts: 2, MaximumEventAgeInSeconds: 300 },
        DeadLetterConfig: { Arn: expect.anything() },
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      KmsMasterKeyId: Match.anyValue(),
      MessageRetentionPeriod: 1_209_600,
    });
  });

  it('keeps logs for the configured retention', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
  });

  it('alarms on Lambda errors, throttles and silence, and on dead letters: none per server, no dashboard', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => a.Properties as Record<string, unknown>,
    );
    const lambda = (metric: string) => alarms.filter((a) => a.MetricName === metric && a.Namespace === 'AWS/Lambda');

    expect(alarms).toHaveLength(4);
    expect(lambda('Errors')).toEqual([
      expect.objectContaining({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', Period: 300 }),
    ]);
    expect(lambda('Throttles')).toEqual([
      expect.objectContaining({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold', Period: 300 }),
    ]);
    // Not invoked at all for heartbeatIntervals (3) intervals of 5 minutes, missing data counting as silence.
    expect(lambda('Invocations')).toEqual([
      expect.objectContaining({
        Statistic: 'Sum',
        Period: 900,
        Threshold: 1,
        ComparisonOperator: 'LessThanThreshold',
        TreatMissingData: 'breaching',
      }),
    ]);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { MetricName: 'ApproximateNumberOfMessagesVisible' });
    expect(alarms.filter((a) => a.Namespace === METRICS.namespace)).toEqual([]);
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 0);
    expect(Object.keys(template.findOutputs('*'))).not.toContain('DashboardName');
  });

  it('creates an empty credentials secret to fill in, and outputs its ARN', () => {
    template.hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: createdSecretName('TestMonitor', 'vb365-prod'),
      GenerateSecretString: Match.objectLike({
        SecretStringTemplate: '{"username":"CHANGE-ME"}',
        GenerateStringKey: 'password',
      }),
    });
    template.hasOutput('CredentialsSecretvb365prod', Match.anyValue());
  });
});

describe('MonitorStack — three servers', () => {
  const synthed = synth(three);
  const { template } = synthed;

  it('creates one schedule per server with its own input, and one fleet check', () => {
    const schedules = schedulesOf(synthed);

    expect(schedules.map((p) => p.Target.Input).sort()).toEqual([
      '{"fleetCheck":true}',
      '{"serverId":"tenant-a","scheduledTime":"<aws.scheduler.scheduled-time>"}',
      '{"serverId":"tenant-b","scheduledTime":"<aws.scheduler.scheduled-time>"}',
      '{"serverId":"tenant-c","scheduledTime":"<aws.scheduler.scheduled-time>"}',
    ]);
    expect(new Set(schedules.map((p) => p.ScheduleExpression))).toEqual(new Set(['rate(10 minutes)']));
    expect(schedules.map((p) => p.FlexibleTimeWindow)).toEqual([
      ...[1, 2, 3].map(() => ({ Mode: 'FLEXIBLE', MaximumWindowInMinutes: 5 })),
      { Mode: 'OFF' },
    ]);
  });

  it('runs the VPC server from its own function in that VPC, with egress to its port and HTTPS only', () => {
    template.resourceCountIs('AWS::Lambda::Function', 2);
    template.hasResourceProperties('AWS::Lambda::Function', {
      VpcConfig: {
        SubnetIds: ['subnet-0aaaaaaaaaaaaaaaa', 'subnet-0bbbbbbbbbbbbbbbb'],
        SecurityGroupIds: Match.anyValue(),
      },
      ReservedConcurrentExecutions: Match.absent(),
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      ReservedConcurrentExecutions: Match.absent(),
      VpcConfig: Match.absent(),
    });
    template.hasResourceProperties('AWS::EC2::SecurityGroup', {
      VpcId: 'vpc-0123456789abcdef0',
      SecurityGroupEgress: [
        Match.objectLike({ IpProtocol: 'tcp', FromPort: 4443, ToPort: 4443 }),
        Match.objectLike({ IpProtocol: 'tcp', FromPort: 443, ToPort: 443 }),
      ],
    });
  });

  it('gives every function the whole fleet in its configuration file, CA bundle and pin included', () => {
    const files = [...pollFunctions(synthed).values()].map((fn) => configFileOf(synthed, fn));

    expect(files).toHaveLength(2);
    expect(new Set(files).size).toBe(1);
    const config = resolveConfig(JSON.parse(files[0] as string));
    expect(config.servers.map((s) => s.id)).toEqual(['tenant-a', 'tenant-b', 'tenant-c']);
    expect(config.servers[0]?.caBundle).toBe(PEM);
    expect(config.servers[1]?.pinSha256).toBe('ab'.repeat(32));
    expect(config.pollEveryMinutes).toBe(10);
  });

  it('has no alarm per server: errors, throttles and silence per function, and dead letters', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => a.Properties as { MetricName: string },
    );

    expect(alarms.map((a) => a.MetricName).sort()).toEqual([
      'ApproximateNumberOfMessagesVisible',
      'Errors',
      'Errors',
      'Invocations',
      'Invocations',
      'Throttles',
      'Throttles',
    ]);
  });

  it('grants DynamoDB, SNS, SQS and Secrets Manager actions on named resources only, never "*"', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
      (p) =>
        (p as { Properties: { PolicyDocument: { Statement: { Action: string | string[]; Resource: unknown }[] } } })
          .Properties.PolicyDocument.Statement,
    );
    const scoped = statements.filter((s) =>
      [s.Action].flat().some((a) => /^(dynamodb|sns|sqs|secretsmanager|ssm):/.test(a)),
    );

    expect(scoped.length).toBeGreaterThanOrEqual(5);
    for (const s of scoped) expect([s.Resource].flat()).not.toContain('*');
    const reads = statements.filter((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
    expect(JSON.stringify(reads)).toMatch(/secret:vb365\/tenant-a-\?\?\?\?\?\?/);
  });
});

describe('MonitorStack — cdk-nag', () => {
  /** A fresh app with the AwsSolutions pack, not synthesized yet. */
  function nagged(config: MonitorConfig) {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'cdk-')), context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new MonitorStack(app, 'NagMonitor', { config, env });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
    return { app, stack };
  }

  it.each([
    ['one server', one],
    ['three servers, one in a VPC', three],
  ])('passes AwsSolutions with every acknowledgement justified (%s)', (_label, config) => {
    const { app } = nagged(config);

    // Synth throws, with a report, while any finding is left unacknowledged.
    expect(() => app.synth()).not.toThrow();
  });

  it('fails the synth on a finding nobody acknowledged (the check is live)', () => {
    const { app, stack } = nagged(one);
    new sqs.Queue(stack, 'UnencryptedQueueWithoutDlq', { encryption: sqs.QueueEncryption.UNENCRYPTED });

    expect(() => app.synth()).toThrow(/AwsSolutions-SQS/);
  });

  it('checks the nested stacks of the schedules too', () => {
    const { app, stack } = nagged(one);
    new sqs.Queue(stack.monitor.scheduleStacks[0] as Stack, 'UnencryptedQueueWithoutDlq', {
      encryption: sqs.QueueEncryption.UNENCRYPTED,
    });

    expect(() => app.synth()).toThrow(/AwsSolutions-SQS/);
  });
});

describe('MonitorStack — configuration size', () => {
  it('deploys servers whose CA bundles would have overflowed a 4 KB environment', () => {
    const big = `-----BEGIN CERTIFICATE-----\n${'A'.repeat(5000)}\n-----END CERTIFICATE-----\n`;
    const file = join(mkdtempSync(join(tmpdir(), 'ca-')), 'big.pem');
    writeFileSync(file, big);
    const config: MonitorConfig = {
      servers: ['a', 'b', 'c'].map((id) => ({
        id,
        url: `https://${id}.example:4443`,
        credentials: { create: true as const },
        caBundleFile: file,
      })),
    };
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new MonitorStack(app, 'Big', { config, env });

    expect(resolveConfig(JSON.parse(stack.monitor.runtimeConfig)).servers.map((s) => s.caBundle)).toEqual([
      big,
      big,
      big,
    ]);
  });
});

describe('MonitorStack — credentials', () => {
  const server = (id: string, credentials: Record<string, unknown>) => ({
    id,
    url: `https://${id}.example.local:4443`,
    credentials,
  });
  const fleet = (n: number, credentials: (id: string) => Record<string, unknown>) =>
    Array.from({ length: n }, (_, i) => server(`s${String(i + 1).padStart(2, '0')}`, credentials(`s${i + 1}`)));
  const grants = (servers: ReturnType<typeof server>[]) =>
    grantsOf({ servers: servers as MonitorConfig['servers'] }, ENV.topicArn);
  const DYNAMODB = {
    'dynamodb:BatchGetItem': ['the state table'],
    'dynamodb:BatchWriteItem': ['the state table'],
    'dynamodb:PutItem': ['the state table'],
    'dynamodb:Query': ['the state table'],
  };

  it.each<[string, ReturnType<typeof server>[], Record<string, string[]>]>([
    [
      'a secret by name',
      [server('a', { secretName: 'vb365/a' })],
      { 'secretsmanager:GetSecretValue': ['secret vb365/a'] },
    ],
    [
      'a secret by ARN',
      [server('a', { secretArn: 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:vb365/a-AbCdEf' })],
      { 'secretsmanager:GetSecretValue': ['"arn:aws:secretsmanager:eu-west-1:123456789012:secret:vb365/a-AbCdEf"'] },
    ],
    [
      'a secret the stack creates, by the name it gives it',
      [server('a', { create: true })],
      { 'secretsmanager:GetSecretValue': [`secret ${createdSecretName('Grants', 'a')}`] },
    ],
    [
      'one shared secret, granted once',
      ['a', 'b', 'c'].map((id) => server(id, { sharedSecretName: 'vb365/fleet' })),
      { 'secretsmanager:GetSecretValue': ['secret vb365/fleet'] },
    ],
    [
      'SSM parameters, with or without a leading "/"',
      [server('a', { parameterName: '/vb365/a' }), server('b', { parameterName: 'vb365-b' })],
      { 'ssm:GetParameter': ['parameter vb365-b', 'parameter vb365/a'] },
    ],
    [
      'more than 20 parameters: one grant on the path they share',
      fleet(25, (id) => ({ parameterName: `/vb365/fleet/${id}` })),
      { 'ssm:GetParameter': ['parameter vb365/fleet/*'] },
    ],
    [
      'more than 20 secrets: the deepest shared path of each group, the rest one by one',
      [
        ...fleet(20, (id) => ({ secretName: `vb365/eu/${id}` })),
        server('us-1', { secretName: 'vb365/us/1' }),
        server('us-2', { secretName: 'vb365/us/2' }),
        server('solo', { secretName: 'solo' }),
      ],
      {
        'secretsmanager:GetSecretValue': [
          'secret solo',
          'secret vb365/us/1',
          'secret vb365/us/2',
          'secrets vb365/eu/*',
        ],
      },
    ],
  ])('grants exactly the reads of %s', (_label, servers, expected) => {
    const granted = grants(servers);

    expect(granted).toEqual({
      ...DYNAMODB,
      ...expected,
      'sns:Publish': ['the topic'],
    });
  });

  it('fails the synth with the fix when more than 20 credentials share no path', () => {
    expect(() => grants(fleet(21, (id) => ({ secretName: `vb365-${id}` })))).toThrow(
      /more than one IAM policy can list \(20\).*Fix: keep the credentials in one shared secret \(\{ sharedSecretName \}\), or name the secrets or parameters under one path/,
    );
  });

  it('passes cdk-nag with a grant on a path, acknowledged with its reason', () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'cdk-')), context: { 'aws:cdk:bundling-stacks': [] } });
    new MonitorStack(app, 'NagPaths', {
      config: { servers: fleet(25, (id) => ({ parameterName: `/vb365/fleet/${id}` })) },
      env,
    });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    expect(() => app.synth()).not.toThrow();
  });
});

describe('MonitorStack — options', () => {
  it('reserves the configured concurrency for every poll function, only when asked', () => {
    const synthed = synth({ ...three, reservedConcurrency: 5 });

    expect([...pollFunctions(synthed).values()].map((f) => f.Properties.ReservedConcurrentExecutions)).toEqual([5, 5]);
  });

  /** What a dashboard graphs: each metric as `namespace metric dimension…`, each search as its schema and metric. */
  function graphed(template: Template): string[] {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    if (dashboard === undefined) return [];
    const body = JSON.parse(text((dashboard.Properties as { DashboardBody: unknown }).DashboardBody)) as {
      widgets: { properties: { metrics: (string | { expression?: string; label?: string })[][] } }[];
    };
    return body.widgets.flatMap((w) =>
      w.properties.metrics.map((m) => {
        const search = m.find((x) => typeof x === 'object' && x.expression !== undefined) as { expression?: string };
        if (search?.expression) {
          const [, schema, metric] = /SEARCH\('\{([^}]*)\} MetricName="([^"]+)"/.exec(search.expression) ?? [];
          return `search {${schema}} ${metric}`;
        }
        return m.filter((x) => typeof x === 'string' && x !== '<token>').join(' ');
      }),
    );
  }

  it('draws no dashboard unless asked', () => {
    expect(graphed(synth(three).template)).toEqual([]);
  });

  it('draws the fleet metric and the functions own, when asked', () => {
    const { template } = synth({ ...three, dashboard: true });

    template.hasOutput('DashboardName', Match.anyValue());
    expect(new Set(graphed(template))).toEqual(
      new Set([
        ...['Invocations', 'Errors', 'Throttles', 'Duration'].map((m) => `AWS/Lambda ${m} FunctionName`),
        `${METRICS.namespace} ${METRICS.fleet} service ${METRICS.service}`,
      ]),
    );
  });

  it('draws each server from searches, whatever the size of the fleet, with metrics: perServer', () => {
    const { template } = synth({ ...three, dashboard: true, metrics: 'perServer' });
    const names = METRICS.perServer;

    expect(new Set(graphed(template))).toEqual(
      new Set([
        ...['Invocations', 'Errors', 'Throttles', 'Duration'].map((m) => `AWS/Lambda ${m} FunctionName`),
        ...[names.cycleSucceeded, names.apiErrors, names.cycleDuration, names.sessionsTracked].map(
          (m) => `search {${METRICS.namespace},ServerId,service} ${m}`,
        ),
        `search {${METRICS.namespace},EventType,ServerId,service} ${names.events}`,
      ]),
    );
  });
});

describe('MonitorStack — chat and webhook delivery', () => {
  const withChannels: MonitorConfig = {
    ...one,
    notifications: {
      slackWebhookSecrets: [
        'vb365/slack-ops',
        { secretName: 'vb365/slack-mgmt', eventTypes: ['sync.failed'], mentions: { critical: '<!subteam^S0123ABCD>' } },
      ],
      teamsWebhookSecrets: ['vb365/teams'],
      webhookSecrets: [{ secretName: 'vb365/siem', eventTypes: ['sync.failed', 'sync.completed'] }],
      qDeveloperSlackChannels: [{ workspaceId: 'T0123ABCDE', channelId: 'C0123ABCDEF', eventTypes: ['sync.failed'] }],
      qDeveloperTeamsChannels: [
        {
          tenantId: '8a7d3c52-1f4e-4b6a-9c2d-0e5f7a8b9c10',
          teamId: '2b4c6d8e-0a1b-4c3d-8e5f-6a7b8c9d0e1f',
          channelId: '19:abcdefABCDEF0123456789@thread.tacv2',
        },
      ],
    },
  };

  it('creates no deliverer without channels', () => {
    const { stack } = synth(one);

    expect(stack.monitor.deliverer).toBeUndefined();
  });

  it('subscribes a deliverer to the topic with its channels, a dead-letter queue and an alarm', () => {
    const { template } = synth(withChannels);
    const fns = Object.values(template.findResources('AWS::Lambda::Function')) as {
      Properties: { Environment: { Variables: Record<string, unknown> }; DeadLetterConfig?: unknown };
    }[];
    const deliverer = fns.find((f) => f.Properties.Environment.Variables.CHANNELS !== undefined);

    expect(JSON.parse(text(deliverer?.Properties.Environment.Variables.CHANNELS))).toEqual([
      { id: 'slack-1', kind: 'slack', secret: 'vb365/slack-ops' },
      {
        id: 'slack-2',
        kind: 'slack',
        secret: 'vb365/slack-mgmt',
        eventTypes: ['sync.failed'],
        mentions: { critical: '<!subteam^S0123ABCD>' },
      },
      { id: 'teams-1', kind: 'teams', secret: 'vb365/teams' },
      { id: 'webhook-1', kind: 'webhook', secret: 'vb365/siem', eventTypes: ['sync.failed', 'sync.completed'] },
      { id: 'qdeveloper-slack-1', kind: 'qdeveloper', topicArn: expect.any(String), eventTypes: ['sync.failed'] },
      { id: 'qdeveloper-teams-1', kind: 'qdeveloper', topicArn: expect.any(String) },
    ]);
    expect(deliverer?.Properties.DeadLetterConfig).toBeDefined();
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'lambda' });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', { MaximumRetryAttempts: 2 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmDescription: Match.stringLikeRegexp('could not be delivered to a chat or webhook channel'),
    });
  });

  it('gives each Amazon Q Developer channel its own encrypted topic, a notification-only role and a guardrail', () => {
    const { template } = synth(withChannels);
    const topics = template.findResources('AWS::SNS::Topic', {
      Properties: { DisplayName: Match.stringLikeRegexp('Amazon Q Developer') },
    });
    const [slackTopic, teamsTopic] = Object.keys(topics);

    expect(Object.keys(topics)).toHaveLength(2);
    for (const t of Object.values(topics) as { Properties: { KmsMasterKeyId?: unknown } }[])
      expect(t.Properties.KmsMasterKeyId).toBeDefined();
    template.hasResourceProperties('AWS::Chatbot::SlackChannelConfiguration', {
      SlackWorkspaceId: 'T0123ABCDE',
      SlackChannelId: 'C0123ABCDEF',
      SnsTopicArns: [{ Ref: slackTopic }],
      GuardrailPolicies: [
        Match.objectLike({
          'Fn::Join': Match.arrayWith([Match.arrayWith([':iam::aws:policy/CloudWatchReadOnlyAccess'])]),
        }),
      ],
    });
    template.hasResourceProperties('AWS::Chatbot::MicrosoftTeamsChannelConfiguration', {
      TeamsTenantId: '8a7d3c52-1f4e-4b6a-9c2d-0e5f7a8b9c10',
      TeamId: '2b4c6d8e-0a1b-4c3d-8e5f-6a7b8c9d0e1f',
      TeamsChannelId: '19%3AabcdefABCDEF0123456789%40thread.tacv2',
      SnsTopicArns: [{ Ref: teamsTopic }],
    });
    const roles = template.findResources('AWS::IAM::Role', {
      Properties: {
        AssumeRolePolicyDocument: {
          Statement: [Match.objectLike({ Principal: { Service: 'chatbot.amazonaws.com' } })],
        },
      },
    }) as Record<string, { Properties: { ManagedPolicyArns?: unknown; Policies?: unknown } }>;
    expect(Object.keys(roles)).toHaveLength(2);
    for (const role of Object.values(roles)) {
      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.Policies).toBeUndefined();
    }
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Action: 'sns:Publish', Resource: [{ Ref: slackTopic }, { Ref: teamsTopic }] }),
        ]),
      },
    });
  });

  it("hands a tenant's channels their organizations, which the deliverer reads back", () => {
    const synthesized = synth({
      ...one,
      notifications: {
        slackAppChannels: [{ secretName: 'vb365/slack-bot', channelId: 'C0CONTOSO1', organizations: ['Contoso'] }],
        webhookSecrets: [{ secretName: 'vb365/fabrikam-psa', organizations: ['Fabrikam', 'Fabrikam EU'] }],
      },
    });
    const fns = Object.values(synthesized.template.findResources('AWS::Lambda::Function')) as {
      Properties: { Environment: { Variables: Record<string, unknown> } };
    }[];
    const channels = text(
      fns.find((f) => f.Properties.Environment.Variables.CHANNELS !== undefined)?.Properties.Environment.Variables
        .CHANNELS,
    );

    const read = loadDelivererConfig({ [DELIVERER_ENV.tableName]: 't', [DELIVERER_ENV.channels]: channels });

    expect(read.channels.map((c) => [c.id, c.organizations])).toEqual([
      ['webhook-1', ['Fabrikam', 'Fabrikam EU']],
      ['slackapp-1', ['Contoso']],
    ]);
  });

  it('gives the deliverer Slack app and PagerDuty channels and every escalation, reading only their secrets', () => {
    const config: MonitorConfig = {
      ...one,
      notifications: {
        slackWebhookSecrets: [{ secretName: 'vb365/slack-ops', escalateAfterMinutes: 240 }],
        slackAppChannels: [
          { secretName: 'vb365/slack-bot', channelId: 'C0123ABCDEF' },
          {
            secretName: 'vb365/slack-bot',
            channelId: 'C0999ZZZZZZ',
            escalateAfterMinutes: 30,
            eventTypes: ['sync.failed'],
          },
        ],
        pagerDutySecrets: [{ secretName: 'vb365/pagerduty', escalateAfterMinutes: 60 }],
      },
    };
    const synthesized = synth(config);
    const fns = Object.values(synthesized.template.findResources('AWS::Lambda::Function')) as {
      Properties: { Environment: { Variables: Record<string, unknown> } };
    }[];
    const deliverer = fns.find((f) => f.Properties.Environment.Variables.CHANNELS !== undefined);

    expect(JSON.parse(text(deliverer?.Properties.Environment.Variables.CHANNELS))).toEqual([
      { id: 'slack-1', kind: 'slack', secret: 'vb365/slack-ops', escalateAfterMinutes: 240 },
      { id: 'slackapp-1', kind: 'slackApp', secret: 'vb365/slack-bot', channelId: 'C0123ABCDEF' },
      {
        id: 'slackapp-2',
        kind: 'slackApp',
        secret: 'vb365/slack-bot',
        channelId: 'C0999ZZZZZZ',
        eventTypes: ['sync.failed'],
        escalateAfterMinutes: 30,
      },
      { id: 'pagerduty-1', kind: 'pagerduty', secret: 'vb365/pagerduty', escalateAfterMinutes: 60 },
    ]);
    const secrets = grantsOf(config, 'CHANNELS')['secretsmanager:GetSecretValue'];
    expect([...new Set(secrets)].sort()).toEqual([
      'secret vb365/pagerduty',
      'secret vb365/slack-bot',
      'secret vb365/slack-ops',
    ]);
    // The poll function escalates at each channel's minutes: they travel in its configuration file.
    const [poll] = [...pollFunctions(synthesized).values()];
    if (!poll) throw new Error('no poll function');
    expect(policyOf(resolveConfig(JSON.parse(configFileOf(synthesized, poll)))).escalateAfterMinutes).toEqual([
      30, 60, 240,
    ]);
  });

  it('passes cdk-nag with the deliverer and every kind of channel', () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'cdk-')), context: { 'aws:cdk:bundling-stacks': [] } });
    const every: MonitorConfig = {
      ...withChannels,
      notifications: {
        ...withChannels.notifications,
        slackAppChannels: [{ secretName: 'vb365/slack-bot', channelId: 'C0123ABCDEF', escalateAfterMinutes: 30 }],
        pagerDutySecrets: ['vb365/pagerduty'],
      },
    };
    new MonitorStack(app, 'NagDelivery', { config: every, env });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    expect(() => app.synth()).not.toThrow();
  });
});

describe("MonitorStack — the monitor's own alarms", () => {
  // CloudWatch publishes alarms without message attributes, which no filter policy matches: they need a topic whose
  // email subscriptions have none.
  const withDeliverer: MonitorConfig = {
    ...three,
    notifications: { ...one.notifications, slackWebhookSecrets: ['vb365/slack-ops'] },
  };

  it.each([
    ['one server', one],
    ['three servers, one in a VPC', three],
    ['a deliverer', withDeliverer],
  ])('sends every alarm, ALARM and OK, to the alarms topic only (%s)', (_label, config) => {
    const { stack, template } = synth(config);
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map(
      (a) => a.Properties as { AlarmActions?: unknown; OKActions?: unknown },
    );
    const alarmsTopic = { Ref: logicalId(stack, stack.monitor.alarmsTopic) };

    expect(alarms.length).toBeGreaterThanOrEqual(3);
    for (const a of alarms) {
      expect(a.AlarmActions).toEqual([alarmsTopic]);
      expect(a.OKActions).toEqual([alarmsTopic]);
    }
  });

  it('makes the alarms topic KMS-encrypted with the key CloudWatch may use, and TLS-only', () => {
    const { stack, template } = synth(one);
    const id = logicalId(stack, stack.monitor.alarmsTopic);
    const topic = template.toJSON().Resources[id] as { Properties: { KmsMasterKeyId: unknown } };

    expect(topic.Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [logicalId(stack, stack.monitor.key), 'Arn'] });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: id }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    template.hasOutput('AlarmsTopicArn', { Value: { Ref: id } });
  });

  it('subscribes every email address to the alarms topic without a filter policy', () => {
    const { stack, template } = synth(one);

    const emails = subscriptionsOf(template, logicalId(stack, stack.monitor.alarmsTopic), 'email');

    expect(emails.map((s) => s.Endpoint).sort()).toEqual(['all@example.com', 'ops@example.com']);
    for (const s of emails) expect(s.FilterPolicy).toBeUndefined();
  });

  it('subscribes the deliverer to the events topic and the alarms topic alike', () => {
    const { stack, template } = synth(withDeliverer);
    const deliverer = logicalId(stack, stack.monitor.deliverer as IConstruct);
    const [events, alarms] = [stack.monitor.topic, stack.monitor.alarmsTopic].map((t) => logicalId(stack, t));

    const toEvents = subscriptionsOf(template, events as string, 'lambda');
    const toAlarms = subscriptionsOf(template, alarms as string, 'lambda');

    expect(toEvents).toEqual([{ Protocol: 'lambda', TopicArn: { Ref: events }, Endpoint: expect.anything() }]);
    expect(toEvents[0]?.Endpoint).toEqual({ 'Fn::GetAtt': [deliverer, 'Arn'] });
    expect(toAlarms).toEqual([{ ...toEvents[0], TopicArn: { Ref: alarms } }]);
    for (const topic of [events, alarms]) {
      template.hasResourceProperties('AWS::Lambda::Permission', {
        Action: 'lambda:InvokeFunction',
        FunctionName: { 'Fn::GetAtt': [deliverer, 'Arn'] },
        Principal: 'sns.amazonaws.com',
        SourceArn: { Ref: topic },
      });
    }
  });

  it('passes cdk-nag with the alarms topic, its subscriptions and the deliverer', () => {
    const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'cdk-')), context: { 'aws:cdk:bundling-stacks': [] } });
    new MonitorStack(app, 'NagAlarms', { config: withDeliverer, env });
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    expect(() => app.synth()).not.toThrow();
  });
});

/** SNS attribute filter policies as the construct writes them: exact strings, `exists`, and a top-level `$or`. */
type FilterPolicy = Record<string, unknown>;

/** The attributes of the messages the events topic carries (the monitor's alarms have their own topic). */
const MESSAGES: Record<string, Record<string, string>> = {
  'sync.failed': { type: 'sync.failed', severity: 'critical' },
  'sync.failed, grouped': { type: 'sync.failed', severity: 'critical', grouped: 'true' },
  'group of sync.failed': { type: 'monitor.grouped', severity: 'critical', groupType: 'sync.failed' },
  'group of sync.started': { type: 'monitor.grouped', severity: 'info', groupType: 'sync.started' },
  'server.unreachable': { type: 'server.unreachable', severity: 'critical' },
  'sync.started': { type: 'sync.started', severity: 'info' },
  'monitor.server_not_polled': { type: 'monitor.server_not_polled', severity: 'critical' },
  'monitor.server_polled_again': { type: 'monitor.server_polled_again', severity: 'info' },
  'sync.failed, escalated at 30': { type: 'sync.failed', severity: 'critical', escalation: '30' },
  'incident.escalated at 30': { type: 'incident.escalated', severity: 'warning', escalation: '30' },
  'incident.escalated at 120': { type: 'incident.escalated', severity: 'warning', escalation: '120' },
  'sync.completed, escalated at 120': { type: 'sync.completed', severity: 'info', escalation: '120' },
};

/** Messages about the repositories of two tenants, and about none (`organization`: a String.Array, lower case). */
const CONTOSO = JSON.stringify(['5d0c4e9a-0000-4000-8000-000000000001', 'contoso']);
const FABRIKAM = JSON.stringify(['7e1d0f5a-0000-4000-8000-000000000002', 'fabrikam']);
const TENANT_MESSAGES: Record<string, Record<string, string>> = {
  'sync.failed of Contoso': { type: 'sync.failed', severity: 'critical', organization: CONTOSO },
  'sync.failed of Fabrikam': { type: 'sync.failed', severity: 'critical', organization: FABRIKAM },
  'sync.failed of no tenant': { type: 'sync.failed', severity: 'critical' },
  'sync.failed of Contoso, grouped': {
    type: 'sync.failed',
    severity: 'critical',
    grouped: 'true',
    organization: CONTOSO,
  },
  // A storm group lists every tenant's repositories: it carries no organization.
  'group of sync.failed': { type: 'monitor.grouped', severity: 'critical', groupType: 'sync.failed' },
  'server.unreachable': { type: 'server.unreachable', severity: 'critical' },
  'monitor.server_not_polled': { type: 'monitor.server_not_polled', severity: 'critical' },
  'incident.escalated at 120 of Contoso': {
    type: 'incident.escalated',
    severity: 'warning',
    escalation: '120',
    organization: CONTOSO,
  },
  'incident.escalated at 120 of no tenant': { type: 'incident.escalated', severity: 'warning', escalation: '120' },
};

/** Which of these messages each email subscription to the events topic gets, by address (by its filter policy). */
function emailsGet(
  stack: MonitorStack,
  template: Template,
  messages: Record<string, Record<string, string>>,
): Record<string, string[]> {
  const policies = subscriptionsOf(template, logicalId(stack, stack.monitor.topic), 'email').map(
    (p) => p as { Endpoint: string; FilterPolicy: FilterPolicy },
  );
  return Object.fromEntries(
    policies.map((p) => [
      p.Endpoint,
      Object.entries(messages)
        .filter(([, attributes]) => p.FilterPolicy !== undefined && matches(p.FilterPolicy, attributes))
        .map(([name]) => name),
    ]),
  );
}

/**
 * Whether SNS would deliver a message with these attributes to a subscription with this filter policy. A
 * `String.Array` attribute (a JSON array) matches a value when any of its elements does (SNS docs). A message
 * without attributes matches no policy, not even `exists: false` (SNS docs, "Key matching": "An empty set of
 * attributes results in the filter not matching").
 */
function matches(policy: FilterPolicy, attributes: Record<string, string>): boolean {
  if (Object.keys(attributes).length === 0) return false;
  const { $or, ...rest } = policy as { $or?: FilterPolicy[] } & FilterPolicy;
  if ($or && !$or.some((branch) => matches({ ...rest, ...branch }, attributes))) return false;
  const values = (key: string): unknown[] => {
    const raw = attributes[key];
    return raw?.startsWith('[') ? (JSON.parse(raw) as unknown[]) : [raw];
  };
  return Object.entries(rest).every(([key, rules]) =>
    (rules as unknown[]).some((rule) =>
      typeof rule === 'string'
        ? values(key).includes(rule)
        : 'numeric' in (rule as object)
          ? numericMatch((rule as { numeric: [string, number] }).numeric, attributes[key])
          : (rule as { exists: boolean }).exists === (attributes[key] !== undefined),
    ),
  );
}

/** SNS numeric matching, the operators the monitor uses (`>=`); an absent attribute never matches. */
function numericMatch([op, bound]: [string, number], value: string | undefined): boolean {
  if (value === undefined) return false;
  if (op !== '>=') throw new Error(`numeric operator ${op} not modelled here`);
  return Number(value) >= bound;
}

describe('Vb365SyncMonitor — the construct in a stack of your own', () => {
  /** The construct as a user's app builds it: a plain stack, `new Vb365SyncMonitor(stack, 'Monitor', props)`. */
  function own(props: MonitorConfig, stackName = 'TestMonitor') {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-asset-metadata': true } });
    const stack = new Stack(app, stackName, { env });
    return { stack, monitor: new Vb365SyncMonitor(stack, 'Monitor', props) };
  }
  const resourcesOf = (stack: Stack) =>
    Template.fromStack(stack).toJSON().Resources as Record<string, { Type: string; Properties?: unknown }>;

  it('deploys the same resources under the same logical ids as MonitorStack (which adds only outputs)', () => {
    const { stack } = own(three);

    expect(resourcesOf(stack)).toEqual(resourcesOf(synth(three).stack));
  });

  it('names a created secret after its own stack', () => {
    const { stack, monitor } = own(one, 'CustomerMonitoring');

    expect(monitor.config.stackName).toBe('CustomerMonitoring');
    Template.fromStack(stack).hasResourceProperties('AWS::SecretsManager::Secret', {
      Name: createdSecretName('CustomerMonitoring', 'vb365-prod'),
    });
    expect(resolveConfig(JSON.parse(monitor.runtimeConfig)).servers[0]?.credentials).toEqual({
      secretName: 'vb365-sync-monitor/CustomerMonitoring/vb365-prod',
    });
  });

  it('reads a relative caBundleFile from the working directory', () => {
    const { monitor } = own({
      servers: [
        {
          id: 'a',
          url: 'https://a.example:4443',
          credentials: { secretName: 'a' },
          caBundleFile: relative('.', CA_FILE),
        },
      ],
    });

    expect(monitor.config.servers[0]?.caBundle).toBe(PEM);
  });

  it('refuses invalid props with every problem at once, a stack key among them', () => {
    const props = {
      stackName: 'Mine',
      env: { region: 'eu-west-1' },
      servers: [{ id: 'a b', url: 'http://vb365:4443', credentials: {}, caBundleFile: 'missing.pem' }],
      pollEveryMinutes: 0,
    } as unknown as MonitorConfig;

    const err = (() => {
      try {
        own(props);
      } catch (e) {
        return e;
      }
    })() as MonitorConfigError;

    expect(err).toBeInstanceOf(MonitorConfigError);
    expect(err.problems).toEqual([
      expect.stringMatching(/^stackName: "Mine" — name the stack instead \(new Stack\(app, name\)\)/),
      expect.stringMatching(/^env: \{"region":"eu-west-1"\} — give it to the stack instead/),
      expect.stringMatching(/^servers\[0\]\.id: "a b" — /),
      expect.stringMatching(/^servers\[0\]\.url: "http:\/\/vb365:4443" — use https:\/\//),
      expect.stringMatching(/^servers\[0\]\.credentials: \{\} — give exactly one of/),
      expect.stringMatching(/^pollEveryMinutes: 0 — /),
      expect.stringMatching(/^servers\[0\]\.caBundleFile: "missing.pem" — the file cannot be read/),
    ]);
  });

  it('refuses props that are not an object', () => {
    expect(() => own(undefined as unknown as MonitorConfig)).toThrow(MonitorConfigError);
  });
});

describe('MonitorStack — the fleet check and the schedule group', () => {
  it('grants BatchGetItem to the function that runs the fleet check only', () => {
    const { stack, template } = synth(three);
    const resources = template.toJSON().Resources as Record<
      string,
      {
        Type: string;
        Properties?: { Roles?: { Ref: string }[]; PolicyDocument?: { Statement: { Action: unknown }[] } };
      }
    >;
    const roleOf = (placement: string) =>
      stack.getLogicalId(
        (stack.monitor.functions.get(placement) as { role: IConstruct }).role.node.defaultChild as CfnElement,
      );
    const actionsOf = (role: string) =>
      Object.values(resources)
        .filter((r) => r.Type === 'AWS::IAM::Policy' && r.Properties?.Roles?.some((x) => x.Ref === role))
        .flatMap((r) => r.Properties?.PolicyDocument?.Statement.flatMap((st) => [st.Action].flat()) ?? []);
    const fleetCheckTarget = JSON.stringify(
      (resources[logicalId(stack, stack.monitor.fleetCheck)] as unknown as { Properties: { Target: { Arn: unknown } } })
        .Properties.Target.Arn,
    );

    expect(fleetCheckTarget).toContain(logicalId(stack, stack.monitor.functions.get('default') as IConstruct));
    expect(actionsOf(roleOf('default'))).toContain('dynamodb:BatchGetItem');
    expect(actionsOf(roleOf('vpc-0123456789abcdef0'))).not.toContain('dynamodb:BatchGetItem');
    expect(actionsOf(roleOf('vpc-0123456789abcdef0'))).toContain('dynamodb:Query');
  });

  it('creates the schedule group before any schedule: the nested stacks and the fleet check depend on it', () => {
    const { stack, template } = synth(three);
    const resources = template.toJSON().Resources as Record<string, { Type: string; DependsOn?: string[] }>;
    const group = Object.entries(resources).find(([, r]) => r.Type === 'AWS::Scheduler::ScheduleGroup')?.[0];
    const nested = Object.values(resources).filter((r) => r.Type === 'AWS::CloudFormation::Stack');

    expect(group).toBeDefined();
    expect(nested.length).toBeGreaterThan(0);
    for (const r of nested) expect(r.DependsOn).toContain(group);
    expect(resources[logicalId(stack, stack.monitor.fleetCheck)]?.DependsOn).toContain(group);
  });
});
