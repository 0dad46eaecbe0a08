import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  ArnFormat,
  aws_chatbot as chatbot,
  aws_cloudwatch as cloudwatch,
  aws_cloudwatch_actions as cwActions,
  Duration,
  aws_dynamodb as dynamodb,
  aws_ec2 as ec2,
  aws_iam as iam,
  aws_kms as kms,
  aws_lambda as lambda,
  aws_logs as logs,
  NestedStack,
  RemovalPolicy,
  Stack,
  aws_scheduler as scheduler,
  aws_secretsmanager as secretsmanager,
  aws_sns as sns,
  aws_sqs as sqs,
  aws_sns_subscriptions as subscriptions,
  Token,
  aws_scheduler_targets as targets,
  Validations,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { TABLE_SCHEMA } from '../lambda/adapters/table-schema.js';
import { CONFIG_FILE_NAME, CREDENTIALS_PLACEHOLDER_USERNAME, DELIVERER_ENV, ENV, METRICS } from '../lambda/config.js';
import {
  createdSecretName,
  credentialsRefOf,
  type MonitorConfig,
  MonitorConfigError,
  type ResolvedConfig,
  type ResolvedServer,
  resolveConfig,
  runtimeConfigOf,
} from '../lambda/config-schema.js';
import type { Channel } from '../lambda/domain/channels.js';
import { ALWAYS_DELIVERED, type EventType } from '../lambda/domain/events.js';
import { GROUPABLE_TYPES } from '../lambda/domain/storm.js';
import { lambdaCode } from './lambda-code.js';

/** cdk-nag: the AWS managed basic execution policy every Lambda role gets. */
function acknowledgeBasicExecutionRole(fn: lambda.IFunction): void {
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason: 'The AWS managed basic execution policy only allows writing CloudWatch Logs.',
  });
}

/**
 * Schedules per nested stack: one resource each, far from CloudFormation's 500 resources and 1 MB per template
 * (a schedule takes about 700 bytes).
 */
export const SCHEDULES_PER_STACK = 200;

/**
 * Credential resources one poll function's policy lists one by one; beyond, those under one path are granted as
 * `path/*` (a role's inline policies hold 10,240 characters together).
 */
export const MAX_CREDENTIAL_RESOURCES = 20;

/**
 * Props of {@link Vb365SyncMonitor}: the deployment's configuration (README, "Configuration reference"; the same
 * schema as a configuration file) without what belongs to the stack: its name and environment are the stack's.
 */
export type Vb365SyncMonitorProps = Omit<MonitorConfig, 'stackName' | 'env' | '$schema'>;

/** Keys of a configuration file that name the stack, not the monitor. */
const STACK_KEYS = ['stackName', 'env'] as const;

/**
 * The monitor's infrastructure: DynamoDB state, a KMS-encrypted SNS topic of events with its email subscriptions, the
 * poll Lambda (one per network placement) carrying the configuration as a file, one EventBridge Scheduler schedule
 * per server (in nested stacks) and a fleet check, a dead-letter queue, alarms on the functions that notify a topic of
 * their own (every email address subscribed unfiltered), and optionally a dashboard.
 */
export class Vb365SyncMonitor extends Construct {
  /** The props, checked and resolved: defaults applied, CA bundle files read, the stack's name. */
  readonly config: ResolvedConfig;
  readonly table: dynamodb.Table;
  readonly topic: sns.Topic;
  /**
   * The monitor's own CloudWatch alarms (ALARM and OK). CloudWatch publishes them without message attributes, which no
   * SNS filter policy matches (not even `exists: false`): they cannot share the events topic, whose email
   * subscriptions all filter. Every email address and the deliverer are subscribed to it without a filter.
   */
  readonly alarmsTopic: sns.Topic;
  readonly key: kms.Key;
  readonly deadLetterQueue: sqs.Queue;
  /** Poll functions by placement (`default`, or the VPC id). */
  readonly functions: ReadonlyMap<string, lambda.Function>;
  /**
   * The configuration file every poll function carries (`monitor-config.json` beside its code): the whole fleet, so
   * the fleet check knows every server.
   */
  readonly runtimeConfig: string;
  /** Credentials secrets the stack created (`credentials: { create: true }`), by server id. */
  readonly secrets: ReadonlyMap<string, secretsmanager.Secret>;
  /** The poll schedule of each server, by server id. */
  readonly schedules: ReadonlyMap<string, scheduler.Schedule>;
  /** The nested stacks holding the servers' schedules, {@link SCHEDULES_PER_STACK} each at most. */
  readonly scheduleStacks: readonly NestedStack[];
  /** Invokes the first poll function with `{"fleetCheck": true}` every interval. */
  readonly fleetCheck: scheduler.Schedule;
  /** Only with `dashboard: true`. */
  readonly dashboard: cloudwatch.Dashboard | undefined;
  /** The chat/webhook deliverer, when channels are configured. */
  readonly deliverer: lambda.Function | undefined;

  /**
   * @throws MonitorConfigError listing every problem of `props` as `field: value — fix`. A `caBundleFile` is read
   * relative to the working directory (the project root under `cdk synth`).
   */
  constructor(scope: Construct, id: string, props: Vb365SyncMonitorProps) {
    super(scope, id);
    const stack = Stack.of(this);
    if (Token.isUnresolved(stack.stackName)) {
      throw new Error('Vb365SyncMonitor: the stack needs a literal name (created secrets are named after it)');
    }
    const config = resolveProps(props, stack.stackName);
    this.config = config;
    const interval = Duration.minutes(config.pollEveryMinutes);

    this.key = new kms.Key(this, 'Key', {
      description: 'vb365-sync-monitor: SNS topic and dead-letter queue encryption',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch alarms publish to the encrypted alarms topic: only alarms of this account and region (no confused
    // deputy).
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: {
            'aws:SourceArn': stack.formatArn({
              service: 'cloudwatch',
              resource: 'alarm',
              resourceName: '*',
              arnFormat: ArnFormat.COLON_RESOURCE_NAME,
            }),
          },
        },
      }),
    );

    this.table = new dynamodb.Table(this, 'State', {
      partitionKey: { name: TABLE_SCHEMA.partitionKey, type: dynamodb.AttributeType.STRING },
      sortKey: { name: TABLE_SCHEMA.sortKey, type: dynamodb.AttributeType.STRING },
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: TABLE_SCHEMA.ttlAttribute,
      removalPolicy: RemovalPolicy.RETAIN,
    });

    this.topic = new sns.Topic(this, 'Events', {
      displayName: 'VB365 sync monitor',
      masterKey: this.key,
      enforceSSL: true,
    });
    this.alarmsTopic = new sns.Topic(this, 'Alarms', {
      displayName: 'VB365 sync monitor alarms',
      masterKey: this.key,
      enforceSSL: true,
    });
    config.notifications.emails.forEach((recipient, i) => {
      const policy = emailFilterPolicy(recipient.eventTypes, recipient.escalateAfterMinutes, recipient.organizations);
      const combinations = filterCombinations(policy);
      if (combinations > SNS_FILTER_COMBINATIONS) {
        throw new Error(
          `notifications.emails[${i}] (${recipient.address}): its SNS filter policy would have ${combinations} combinations of values, SNS allows ${SNS_FILTER_COMBINATIONS}; fix: list fewer eventTypes or organizations for this address (or give it two entries)`,
        );
      }
      const subscription = this.topic.addSubscription(new subscriptions.EmailSubscription(recipient.address));
      (subscription.node.defaultChild as sns.CfnSubscription).filterPolicy = policy;
      // Unfiltered: an alarm carries no attributes, so any filter policy would drop it.
      this.alarmsTopic.addSubscription(new subscriptions.EmailSubscription(recipient.address));
    });

    this.deadLetterQueue = new sqs.Queue(this, 'ScheduleDeadLetters', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    // Secrets the stack creates, named so the configuration file can name them.
    const secrets = new Map<string, secretsmanager.Secret>();
    for (const server of config.servers) {
      if (server.credentials.create !== true) continue;
      const secret = new secretsmanager.Secret(this, `Credentials-${server.id}`, {
        secretName: createdSecretName(stack.stackName, server.id),
        description: `VB365 REST API credentials for ${server.name} (${server.url}): set {"username","password"}`,
        generateSecretString: {
          secretStringTemplate: JSON.stringify({ username: CREDENTIALS_PLACEHOLDER_USERNAME }),
          generateStringKey: 'password',
        },
        removalPolicy: RemovalPolicy.RETAIN,
      });
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: `Holds the VB365 account of ${server.id}, whose password is managed in VB365/Active Directory; the monitor re-reads the secret every 5 minutes, so a password changed there and here is picked up without rotation.`,
      });
      secrets.set(server.id, secret);
    }
    this.secrets = secrets;

    // The configuration travels as a file in the code (no size ceiling, nothing read per cycle), with created
    // secrets named after this stack.
    this.runtimeConfig = JSON.stringify(runtimeConfigOf(config));

    // One poll function per network placement: servers without a VPC share one, each VPC gets its own.
    const groups = new Map<string, ResolvedServer[]>();
    for (const server of config.servers) {
      const placement = placementOf(server);
      groups.set(placement, groups.get(placement) ?? []);
      groups.get(placement)?.push(server);
    }
    const functions = new Map<string, lambda.Function>();
    for (const [placement, servers] of groups) {
      functions.set(placement, this.#pollFunction(placement, servers, config));
    }
    this.functions = functions;

    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: 'Lets EventBridge Scheduler invoke the poll functions and dead-letter failed invocations',
    });
    // Sending to the KMS-encrypted dead-letter queue: exactly these two actions, on this key.
    this.key.grant(schedulerRole, 'kms:GenerateDataKey', 'kms:Decrypt');
    const group = new scheduler.ScheduleGroup(this, 'Schedules', { removalPolicy: RemovalPolicy.DESTROY });
    const target = (fn: lambda.IFunction, input: Record<string, unknown>) =>
      new targets.LambdaInvoke(fn, {
        input: scheduler.ScheduleTargetInput.fromObject(input),
        role: schedulerRole,
        deadLetterQueue: this.deadLetterQueue,
        // A missed poll is superseded by the next one: retry briefly, never pile up.
        retryAttempts: 2,
        maxEventAge: Duration.seconds(Math.max(60, interval.toSeconds())),
      });

    // One schedule per server, the only resource a server adds, in nested stacks of SCHEDULES_PER_STACK: a fleet stays
    // within CloudFormation's limits per template. Servers keep their stack while servers are added at the end.
    const schedules = new Map<string, scheduler.Schedule>();
    const scheduleStacks: NestedStack[] = [];
    for (let first = 0; first < config.servers.length; first += SCHEDULES_PER_STACK) {
      const chunk = config.servers.slice(first, first + SCHEDULES_PER_STACK);
      const nested = new NestedStack(this, `PollSchedules${scheduleStacks.length + 1}`, {
        description: `vb365-sync-monitor: poll schedules of servers ${first + 1}-${first + chunk.length}`,
        suppressTemplateIndentation: true,
      });
      // The schedules name their group by a literal: without this, CloudFormation may create them before it.
      nested.node.addDependency(group);
      scheduleStacks.push(nested);
      for (const server of chunk) {
        schedules.set(
          server.id,
          new scheduler.Schedule(nested, `Poll-${server.id}`, {
            description: `Poll ${server.name} (${server.url}) for repository synchronization sessions`.slice(0, 512),
            schedule: scheduler.ScheduleExpression.rate(interval),
            scheduleGroup: group,
            target: target(functions.get(placementOf(server)) as lambda.Function, { serverId: server.id }),
          }),
        );
      }
    }
    this.schedules = schedules;
    this.scheduleStacks = scheduleStacks;
    // Servers not polled for heartbeatIntervals are announced by this check, inside the product (no alarm per server).
    const checker = functions.get('default') ?? ([...functions.values()][0] as lambda.Function);
    // The fleet check reads every server's record at once; no other function needs to.
    this.table.grant(checker, 'dynamodb:BatchGetItem');
    this.fleetCheck = new scheduler.Schedule(this, 'FleetCheck', {
      description: `Announce servers not polled for ${config.heartbeatIntervals} intervals, and their recovery`,
      schedule: scheduler.ScheduleExpression.rate(interval),
      scheduleGroup: group,
      target: target(checker, { fleetCheck: true }),
    });
    this.fleetCheck.node.addDependency(group);

    for (const fn of functions.values()) {
      const logicalId = stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction);
      Validations.of(schedulerRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
        reason: 'lambda:InvokeFunction on this poll function and its versions/aliases only (the ":*" qualifier).',
      });
    }
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the poll schedules.',
    });

    this.deliverer = this.#deliverer(config);
    this.#alarms(config, interval);
    this.dashboard = config.dashboard ? this.#dashboard(config, interval) : undefined;
  }

  /**
   * Delivers events to Slack, Teams, signed webhooks and Amazon Q Developer channels (each through its own topic, which
   * its channel configuration subscribes to); only created when such channels are configured.
   */
  #deliverer(config: ResolvedConfig): lambda.Function | undefined {
    const n = config.notifications;
    const only = (c: ChannelFilter) => ({
      ...(c.eventTypes ? { eventTypes: c.eventTypes } : {}),
      ...(c.escalateAfterMinutes === undefined ? {} : { escalateAfterMinutes: c.escalateAfterMinutes }),
      ...(c.organizations === undefined ? {} : { organizations: c.organizations }),
    });
    const channels: Channel[] = [
      ...n.slackWebhookSecrets.map((c, i) => ({
        id: `slack-${i + 1}`,
        kind: 'slack' as const,
        secret: c.secretName,
        ...only(c),
        ...(c.mentions ? { mentions: c.mentions } : {}),
      })),
      ...n.teamsWebhookSecrets.map((c, i) => ({
        id: `teams-${i + 1}`,
        kind: 'teams' as const,
        secret: c.secretName,
        ...only(c),
      })),
      ...n.webhookSecrets.map((c, i) => ({
        id: `webhook-${i + 1}`,
        kind: 'webhook' as const,
        secret: c.secretName,
        ...only(c),
      })),
      ...n.slackAppChannels.map((c, i) => ({
        id: `slackapp-${i + 1}`,
        kind: 'slackApp' as const,
        secret: c.secretName,
        channelId: c.channelId,
        ...only(c),
        ...(c.mentions ? { mentions: c.mentions } : {}),
      })),
      ...n.pagerDutySecrets.map((c, i) => ({
        id: `pagerduty-${i + 1}`,
        kind: 'pagerduty' as const,
        secret: c.secretName,
        ...only(c),
      })),
    ];
    const qTopics: sns.Topic[] = [];
    const qChannel = (id: string, c: ChannelFilter): sns.Topic => {
      const topic = new sns.Topic(this, `QDeveloperTopic-${id}`, {
        displayName: `VB365 sync monitor - Amazon Q Developer ${id}`,
        masterKey: this.key,
        enforceSSL: true,
      });
      channels.push({ id, kind: 'qdeveloper', topicArn: topic.topicArn, ...only(c) });
      qTopics.push(topic);
      return topic;
    };
    n.qDeveloperSlackChannels.forEach((c, i) => {
      const id = `qdeveloper-slack-${i + 1}`;
      new chatbot.SlackChannelConfiguration(this, `QDeveloperSlack${i + 1}`, {
        slackChannelConfigurationName: `${Stack.of(this).stackName}-${id}`.slice(0, 128),
        slackWorkspaceId: c.workspaceId,
        slackChannelId: c.channelId,
        notificationTopics: [qChannel(id, c)],
        role: this.#qDeveloperRole(id),
        guardrailPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('CloudWatchReadOnlyAccess')],
        loggingLevel: chatbot.LoggingLevel.ERROR,
      });
    });
    n.qDeveloperTeamsChannels.forEach((c, i) => {
      const id = `qdeveloper-teams-${i + 1}`;
      new chatbot.CfnMicrosoftTeamsChannelConfiguration(this, `QDeveloperTeams${i + 1}`, {
        configurationName: `${Stack.of(this).stackName}-${id}`.slice(0, 128),
        teamsTenantId: c.tenantId,
        teamId: c.teamId,
        teamsChannelId: c.channelId,
        snsTopicArns: [qChannel(id, c).topicArn],
        iamRoleArn: this.#qDeveloperRole(id).roleArn,
        guardrailPolicies: [
          Stack.of(this).formatArn({
            service: 'iam',
            region: '',
            account: 'aws',
            resource: 'policy',
            resourceName: 'CloudWatchReadOnlyAccess',
          }),
        ],
        loggingLevel: 'ERROR',
      });
    });
    if (channels.length === 0) return undefined;
    const deadLetters = new sqs.Queue(this, 'DeliveryDeadLetters', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    const fn = new lambda.Function(this, 'Deliverer', {
      description: 'vb365-sync-monitor deliverer: Slack, Teams, webhook and Amazon Q Developer notifications',
      code: lambdaCode(this, 'deliverer'),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(60),
      logGroup: new logs.LogGroup(this, 'DelivererLogs', {
        retention: config.logRetentionDays as logs.RetentionDays,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
      environment: {
        [DELIVERER_ENV.tableName]: this.table.tableName,
        [DELIVERER_ENV.channels]: JSON.stringify(channels),
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: `${METRICS.service}-deliverer`,
      },
      // A failed delivery is retried twice by Lambda, then kept in the dead-letter queue (alarmed).
      retryAttempts: 2,
      deadLetterQueue: deadLetters,
    });
    this.key.grant(fn, 'kms:GenerateDataKey', 'kms:Decrypt');
    this.table.grant(fn, 'dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:DeleteItem');
    for (const [i, c] of channels.entries()) {
      if (c.kind !== 'qdeveloper')
        readSecretValue(secretsmanager.Secret.fromSecretNameV2(this, `ChannelSecret${i + 1}`, c.secret), fn);
    }
    if (qTopics.length > 0) {
      // The key grant above already covers the topics' encryption.
      fn.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['sns:Publish'], resources: qTopics.map((t) => t.topicArn) }),
      );
    }
    // Both subscriptions share the function's async retries and dead-letter queue; the deliverer tells alarms by
    // their JSON, whichever topic they come from.
    this.topic.addSubscription(new subscriptions.LambdaSubscription(fn));
    this.alarmsTopic.addSubscription(new subscriptions.LambdaSubscription(fn));
    acknowledgeBasicExecutionRole(fn);
    Validations.of(deadLetters).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the deliverer.',
    });
    this.#deadLetterAlarm(
      'DeliveryDeadLettersAlarm',
      deadLetters,
      'Notifications could not be delivered to a chat or webhook channel (see the deliverer dead-letter queue).',
    );
    return fn;
  }

  /**
   * The role Amazon Q Developer assumes for a channel. It only posts notifications: no permissions of its own, and the
   * channel's guardrail (read-only CloudWatch) caps what anyone in the channel could run through it.
   */
  #qDeveloperRole(id: string): iam.Role {
    return new iam.Role(this, `QDeveloperRole-${id}`, {
      assumedBy: new iam.ServicePrincipal('chatbot.amazonaws.com'),
      description: `Amazon Q Developer in chat applications: ${id} (notifications only)`,
    });
  }

  /** Alarm (and OK message) on the alarms topic as soon as a dead-letter queue holds a message. */
  #deadLetterAlarm(id: string, queue: sqs.IQueue, description: string): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      alarmDescription: description,
      metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new cwActions.SnsAction(this.alarmsTopic));
    alarm.addOkAction(new cwActions.SnsAction(this.alarmsTopic));
  }

  #pollFunction(placement: string, servers: readonly ResolvedServer[], config: ResolvedConfig): lambda.Function {
    const suffix = placement === 'default' ? '' : `-${placement}`;
    const logGroup = new logs.LogGroup(this, `PollLogs${suffix}`, {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const vpcServer = servers.find((s) => s.vpc);
    let network: Pick<lambda.FunctionProps, 'vpc' | 'vpcSubnets' | 'securityGroups'> = {};
    if (vpcServer?.vpc) {
      const vpc = ec2.Vpc.fromVpcAttributes(this, `Vpc${suffix}`, {
        vpcId: vpcServer.vpc.vpcId,
        availabilityZones: [...vpcServer.vpc.availabilityZones],
        privateSubnetIds: [...vpcServer.vpc.subnetIds],
      });
      const sg = new ec2.SecurityGroup(this, `PollSecurityGroup${suffix}`, {
        vpc,
        description: 'vb365-sync-monitor poll function: HTTPS to VB365 and AWS APIs only',
        allowAllOutbound: false,
      });
      const ports = new Set(servers.map((s) => Number(new URL(s.url).port || 443)));
      for (const port of [...ports, 443])
        sg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(port), `HTTPS egress on ${port}`);
      network = { vpc, vpcSubnets: { subnets: vpc.privateSubnets }, securityGroups: [sg] };
    }

    const fn = new lambda.Function(this, `Poll${suffix}`, {
      description: `vb365-sync-monitor poll: ${servers.length} server${servers.length === 1 ? '' : 's'}${vpcServer?.vpc ? ` in ${placement}` : ''}`,
      code: lambdaCode(this, 'poll', { [CONFIG_FILE_NAME]: this.runtimeConfig }),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      // Shorter than the interval, so a slow cycle never overlaps the next one.
      timeout: Duration.seconds(Math.min(120, config.pollEveryMinutes * 60 - 10)),
      // None by default: new accounts have a concurrency quota of 10 and cannot reserve any; the leases keep
      // concurrent cycles of one server safe.
      ...(config.reservedConcurrency === undefined ? {} : { reservedConcurrentExecutions: config.reservedConcurrency }),
      logGroup,
      // Names and ARNs only: the configuration is the file beside the code.
      environment: {
        [ENV.tableName]: this.table.tableName,
        [ENV.topicArn]: this.topic.topicArn,
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: METRICS.service,
        POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
      },
      ...network,
    });
    // BatchGetItem only for the function that runs the fleet check (granted where it is chosen).
    this.table.grant(fn, 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem');
    this.topic.grantPublish(fn);
    acknowledgeBasicExecutionRole(fn);
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole]',
      reason: 'The AWS managed VPC access policy only allows managing the network interfaces of a function in a VPC.',
    });
    Validations.of(fn).acknowledge({
      id: 'AwsSolutions-IAM5[Action::kms:GenerateDataKey*]',
      reason:
        'Publishing to the KMS-encrypted topic needs kms:GenerateDataKey* on that one key (the resource is the key ARN).',
    });
    this.#grantCredentials(fn, placement, servers);
    return fn;
  }

  /**
   * Only the action the function sends, on its servers' credentials: `secretsmanager:GetSecretValue` on each distinct
   * secret, `ssm:GetParameter` on each parameter (a test records the calls). Beyond
   * {@link MAX_CREDENTIAL_RESOURCES}, the resources under one path are granted as `path/*`.
   */
  #grantCredentials(fn: lambda.Function, placement: string, servers: readonly ResolvedServer[]): void {
    const stack = Stack.of(this);
    const wanted = servers.map((s): CredentialResource => {
      const ref = credentialsRefOf(s, stack.stackName);
      if (ref.kind === 'parameter') return { service: 'ssm', scope: '', path: ref.name.replace(/^\//, ''), all: false };
      const arn = /^(arn:[^:]+:secretsmanager:[^:]*:[^:]*:secret:)(.+)$/.exec(ref.secretId);
      return arn
        ? { service: 'secretsmanager', scope: arn[1] as string, path: arn[2] as string, all: false }
        : { service: 'secretsmanager', scope: '', path: ref.secretId, all: false };
    });
    const granted = collapse(wanted, MAX_CREDENTIAL_RESOURCES);
    if (granted === undefined) {
      throw new Error(
        `poll function ${placement}: its ${servers.length} servers read ${new Set(wanted.map(keyOf)).size} secrets and parameters, more than one IAM policy can list (${MAX_CREDENTIAL_RESOURCES}) and not under shared paths. Fix: keep the credentials in one shared secret ({ sharedSecretName }), or name the secrets or parameters under one path (e.g. /vb365/<server id>), which is granted as that path.`,
      );
    }
    const arnOf = (r: CredentialResource): string => {
      const name = r.all ? `${r.path}/*` : r.path;
      if (r.scope !== '') return `${r.scope}${name}`;
      return r.service === 'ssm'
        ? stack.formatArn({ service: 'ssm', resource: 'parameter', resourceName: name })
        : stack.formatArn({
            service: 'secretsmanager',
            resource: 'secret',
            // A secret known by name is matched with Secrets Manager's six-character ARN suffix.
            resourceName: r.all ? name : `${name}-??????`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          });
    };
    for (const [service, action] of [
      ['secretsmanager', 'secretsmanager:GetSecretValue'],
      ['ssm', 'ssm:GetParameter'],
    ] as const) {
      const resources = granted.filter((r) => r.service === service);
      if (resources.length === 0) continue;
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: [action], resources: resources.map(arnOf) }));
      for (const r of resources.filter((x) => x.all)) {
        Validations.of(fn).acknowledge({
          id: `AwsSolutions-IAM5[Resource::${nagArn(arnOf(r), stack)}]`,
          reason: `Reads the credentials of ${servers.length} servers, all under ${r.path}/ (one grant per path keeps the policy within IAM's size limit).`,
        });
      }
    }
  }

  #alarms(config: ResolvedConfig, interval: Duration): void {
    const notify = new cwActions.SnsAction(this.alarmsTopic);
    const alarm = (alarmId: string, props: cloudwatch.AlarmProps) => {
      const a = new cloudwatch.Alarm(this, alarmId, props);
      a.addAlarmAction(notify);
      a.addOkAction(notify);
      return a;
    };
    // Every function is invoked by its schedules each interval; none for heartbeatIntervals means no polling at all.
    const silence = Duration.minutes(config.pollEveryMinutes * config.heartbeatIntervals);
    for (const [placement, fn] of this.functions) {
      const suffix = placement === 'default' ? '' : `-${placement}`;
      alarm(`PollErrors${suffix}`, {
        alarmDescription: 'The poll Lambda failed (DynamoDB, SNS or a bug): the monitor itself needs attention.',
        metric: fn.metricErrors({ period: interval, statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm(`PollThrottles${suffix}`, {
        alarmDescription: 'The poll Lambda was throttled (account concurrency): some polls did not run.',
        metric: fn.metricThrottles({ period: interval, statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm(`PollNotInvoked${suffix}`, {
        alarmDescription: `The poll Lambda was not invoked for ${config.heartbeatIntervals} intervals: its schedules are not running, nothing is watched.`,
        metric: fn.metricInvocations({ period: silence, statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    }
    this.#deadLetterAlarm(
      'DeadLetters',
      this.deadLetterQueue,
      'Scheduled polls could not be delivered to the poll Lambda (see the dead-letter queue).',
    );
  }

  /** The functions' own Lambda metrics, and the custom metrics of the configured kind. */
  #dashboard(config: ResolvedConfig, interval: Duration): cloudwatch.Dashboard {
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(1) });
    const fns = [...this.functions];
    const label = (placement: string, what: string) => (placement === 'default' ? what : `${what} (${placement})`);
    const lambdaMetric = (name: 'Invocations' | 'Errors' | 'Throttles') =>
      fns.map(([placement, fn]) =>
        fn.metric(name, { period: interval, statistic: 'Sum', label: label(placement, name.toLowerCase()) }),
      );
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Poll Lambda',
        left: [...lambdaMetric('Invocations'), ...lambdaMetric('Errors'), ...lambdaMetric('Throttles')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Poll duration (p90, ms)',
        left: fns.map(([placement, fn]) =>
          fn.metricDuration({ period: interval, statistic: 'p90', label: label(placement, 'p90') }),
        ),
        width: 12,
      }),
    );
    if (config.metrics === 'fleet') {
      const usable = (statistic: string, text: string) =>
        new cloudwatch.Metric({
          namespace: METRICS.namespace,
          metricName: METRICS.fleet,
          dimensionsMap: { service: METRICS.service },
          statistic,
          period: interval,
          label: text,
        });
      dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: 'Server cycles: usable of all',
          left: [usable('SampleCount', 'cycles'), usable('Sum', 'usable')],
          width: 24,
        }),
      );
      return dashboard;
    }
    // Per server: one search per metric, whatever the size of the fleet.
    const perServer = (metricName: string, statistic: string, dimensions = 'ServerId,service') =>
      new cloudwatch.MathExpression({
        expression: `SEARCH('{${METRICS.namespace},${dimensions}} MetricName="${metricName}"', '${statistic}', ${interval.toSeconds()})`,
        label: '',
        period: interval,
      });
    const names = METRICS.perServer;
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Successful cycles',
        left: [perServer(names.cycleSucceeded, 'Sum')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Events by type',
        left: [perServer(names.events, 'Sum', 'EventType,ServerId,service')],
        width: 12,
      }),
      new cloudwatch.GraphWidget({ title: 'VB365 API errors', left: [perServer(names.apiErrors, 'Sum')], width: 8 }),
      new cloudwatch.GraphWidget({
        title: 'Cycle duration (p90, ms)',
        left: [perServer(names.cycleDuration, 'p90')],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Sessions tracked',
        left: [perServer(names.sessionsTracked, 'Maximum')],
        width: 8,
      }),
    );
    return dashboard;
  }
}

/**
 * `props` checked and resolved for the stack `stackName` (CA bundle files read relative to the working directory);
 * every problem at once as one {@link MonitorConfigError}, a stack's key among them.
 */
function resolveProps(props: Vb365SyncMonitorProps, stackName: string): ResolvedConfig {
  const given = (typeof props === 'object' && props !== null ? props : {}) as Record<string, unknown>;
  const problems = STACK_KEYS.filter((key) => given[key] !== undefined).map(
    (key) =>
      `${key}: ${JSON.stringify(given[key])} — ${key === 'stackName' ? 'name the stack instead (new Stack(app, name))' : 'give it to the stack instead (new Stack(app, name, { env }))'}: the construct takes the rest of the configuration`,
  );
  const { stackName: _name, env: _env, ...rest } = given;
  let resolved: ResolvedConfig | undefined;
  try {
    resolved = resolveConfig(typeof props === 'object' && props !== null ? rest : props, (path) => {
      try {
        return readFileSync(resolve(path), 'utf8');
      } catch {
        return undefined;
      }
    });
  } catch (err) {
    if (!(err instanceof MonitorConfigError)) throw err;
    problems.push(...err.problems);
  }
  if (resolved === undefined || problems.length > 0) throw new MonitorConfigError(problems);
  return { ...resolved, stackName };
}

/** The placement of a server's poll function: `default`, or its VPC id. */
function placementOf(server: ResolvedServer): string {
  return server.vpc?.vpcId ?? 'default';
}

/**
 * A secret or parameter a function reads: by `path` (a secret's name, a parameter's name without the leading "/"), or
 * everything under it (`all`). `scope`: the ARN prefix of a secret given by ARN; '' for this account and region.
 */
interface CredentialResource {
  readonly service: 'secretsmanager' | 'ssm';
  readonly scope: string;
  readonly path: string;
  readonly all: boolean;
}

function keyOf(r: CredentialResource): string {
  return `${r.service}|${r.scope}|${r.path}${r.all ? '/*' : ''}`;
}

/**
 * `resources` without duplicates, at most `max` of them: while there are more, the resources under the deepest path
 * holding two or more are replaced by that path's `/*` (the least widening each time). `undefined` when that cannot
 * bring them down to `max`.
 */
export function collapse(resources: readonly CredentialResource[], max: number): CredentialResource[] | undefined {
  let current = [...new Map(resources.map((r) => [keyOf(r), r])).values()];
  /** The paths strictly above `r` (`a/b/c` or `a/b/c/*`: `a/b` and `a`). */
  const parents = (r: CredentialResource) => {
    const segments = r.path.split('/');
    const out: string[] = [];
    for (let n = segments.length - (r.all ? 0 : 1); n > 0; n--) {
      const p = segments.slice(0, n).join('/');
      if (p !== '' && p !== r.path) out.push(p);
    }
    return out;
  };
  while (current.length > max) {
    const under = new Map<string, { service: CredentialResource['service']; scope: string; path: string; n: number }>();
    for (const r of current) {
      for (const p of parents(r)) {
        const key = `${r.service}|${r.scope}|${p}`;
        const entry = under.get(key) ?? { service: r.service, scope: r.scope, path: p, n: 0 };
        entry.n++;
        under.set(key, entry);
      }
    }
    const best = [...under.values()]
      .filter((u) => u.n >= 2)
      .sort((a, b) => b.path.split('/').length - a.path.split('/').length || b.n - a.n)[0];
    if (best === undefined) return undefined;
    const merged: CredentialResource = { service: best.service, scope: best.scope, path: best.path, all: true };
    current = [
      ...current.filter(
        (r) => !(r.service === best.service && r.scope === best.scope && r.path.startsWith(`${best.path}/`)),
      ),
      merged,
    ];
    current = [...new Map(current.map((r) => [keyOf(r), r])).values()];
  }
  return current;
}

/** An ARN as cdk-nag quotes it in a finding id: tokens of the stack as `<AWS::Region>` and the like. */
function nagArn(arn: string, stack: Stack): string {
  const resolved = stack.resolve(arn) as string | { 'Fn::Join': [string, unknown[]] };
  if (typeof resolved === 'string') return resolved;
  return resolved['Fn::Join'][1]
    .map((part) => (typeof part === 'string' ? part : `<${(part as { Ref: string }).Ref}>`))
    .join(resolved['Fn::Join'][0]);
}

/**
 * `secretsmanager:GetSecretValue` on one secret, and nothing else (`grantRead` adds `DescribeSecret`, which the
 * functions never call). A secret known by name only is matched with Secrets Manager's six-character ARN suffix.
 */
function readSecretValue(secret: secretsmanager.ISecret, grantee: iam.IGrantable): void {
  iam.Grant.addToPrincipalOrResource({
    grantee,
    actions: ['secretsmanager:GetSecretValue'],
    resourceArns: [secret.secretFullArn ?? `${secret.secretArn}-??????`],
    resource: secret,
  });
}

/** SNS refuses a filter policy whose values combine more ways than this (per `$or` branch, summed). */
export const SNS_FILTER_COMBINATIONS = 150;

/** How many combinations of values a filter policy has, as SNS counts them against its limit. */
export function filterCombinations(policy: Record<string, unknown>): number {
  const { $or, ...rest } = policy as { $or?: Record<string, unknown>[] } & Record<string, unknown>;
  const product = (p: Record<string, unknown>) =>
    Object.values(p).reduce<number>((n, values) => n * (Array.isArray(values) ? values.length : 1), 1);
  const base = product(rest);
  return $or === undefined ? base : $or.reduce((n, branch) => n + base * product(branch), 0);
}

/** What a channel or email recipient filters on. */
interface ChannelFilter {
  readonly eventTypes?: readonly EventType[] | undefined;
  readonly escalateAfterMinutes?: number | undefined;
  readonly organizations?: readonly string[] | undefined;
}

/**
 * The SNS filter policy of an email recipient's subscription to the events topic. (The monitor's alarms reach the
 * recipient through an unfiltered subscription to the alarms topic: CloudWatch publishes them without attributes, and
 * a message without attributes matches no filter policy, not even `exists: false`.) Storm control: the events a
 * `monitor.grouped` message stands for (attribute `grouped`) reach email as that one message; a recipient who chose
 * event types also gets the groups of those types (attribute `groupType`), or a storm of the very failures they asked
 * for would reach them as nothing.
 */
export function emailFilterPolicy(
  eventTypes: readonly EventType[] | undefined,
  escalateAfterMinutes?: number | undefined,
  organizations?: readonly string[] | undefined,
): Record<string, unknown> {
  const policy = typeFilterPolicy(eventTypes, escalateAfterMinutes);
  if (organizations === undefined) return policy;
  // A tenant's recipient: only its repositories' events (attribute `organization`: the id and the name, lower case).
  return { ...policy, organization: [...new Set(organizations.map((o) => o.toLowerCase()))] };
}

function typeFilterPolicy(
  eventTypes: readonly EventType[] | undefined,
  escalateAfterMinutes: number | undefined,
): Record<string, unknown> {
  if (escalateAfterMinutes !== undefined) {
    // Escalation: only incidents nobody acknowledged for that long (attribute `escalation`: the largest
    // escalateAfterMinutes the incident reached), every event of theirs from `incident.escalated` on, grouped or not.
    const escalated = { escalation: [{ numeric: ['>=', escalateAfterMinutes] }] };
    return !eventTypes || eventTypes.length === 0
      ? escalated
      : { ...escalated, type: [...new Set([...eventTypes, 'incident.escalated'])] };
  }
  const single = { grouped: [{ exists: false }] };
  if (!eventTypes || eventTypes.length === 0) return single;
  // Every message on the events topic has a `type` (alarms, which have none, go to the alarms topic).
  // The monitor's word about its own health (ALWAYS_DELIVERED) reaches every recipient, like its alarms.
  const chosen = { ...single, type: [...new Set([...eventTypes, ...ALWAYS_DELIVERED])] };
  const groups = eventTypes.filter((t) => GROUPABLE_TYPES.has(t));
  return groups.length === 0 ? chosen : { $or: [chosen, { groupType: groups }] };
}
