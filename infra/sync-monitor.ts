import { fileURLToPath } from 'node:url';
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
  aws_lambda_nodejs as nodejs,
  RemovalPolicy,
  Stack,
  aws_scheduler as scheduler,
  aws_secretsmanager as secretsmanager,
  aws_sns as sns,
  aws_sqs as sqs,
  aws_sns_subscriptions as subscriptions,
  aws_scheduler_targets as targets,
  Validations,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { TABLE_SCHEMA } from '../lambda/adapters/dynamodb-state-store.js';
import { CREDENTIALS_PLACEHOLDER_USERNAME, DELIVERER_ENV, ENV } from '../lambda/config.js';
import type { Channel } from '../lambda/domain/delivery.js';
import type { EventType } from '../lambda/domain/events.js';
import { GROUPABLE_TYPES } from '../lambda/domain/storm.js';
import type { ResolvedConfig } from './config-schema.js';

/** cdk-nag: the AWS managed basic execution policy every Lambda role gets. */
function acknowledgeBasicExecutionRole(fn: lambda.IFunction): void {
  Validations.of(fn).acknowledge({
    id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
    reason: 'The AWS managed basic execution policy only allows writing CloudWatch Logs.',
  });
}

/** esbuild settings of both Lambdas. */
const LAMBDA_BUNDLING: nodejs.BundlingOptions = {
  // CommonJS: the AWS SDK (from the runtime) then loads through its single-file CJS build, which initialises about
  // 140 ms faster than its ESM build (npm run bench measures it).
  format: nodejs.OutputFormat.CJS,
  target: 'node22',
  minify: true,
  sourceMap: true,
  externalModules: ['@aws-sdk/*'],
  mainFields: ['module', 'main'],
  forceDockerBundling: false,
};

/** Lambda caps all environment variables of a function at 4 KB together. */
const LAMBDA_ENV_LIMIT_BYTES = 4 * 1024;
/** Metric namespace and the `service` dimension Powertools adds to every metric. */
const METRIC_NAMESPACE = 'VB365SyncMonitor';
const SERVICE = 'vb365-sync-monitor';

/** Props of {@link Vb365SyncMonitor}: a validated configuration (see `resolveConfig`). */
export interface Vb365SyncMonitorProps {
  readonly config: ResolvedConfig;
  /**
   * Entry file of the poll Lambda.
   * @default lambda/handler.ts of this project
   */
  readonly handlerEntry?: string;
}

/**
 * The monitor's infrastructure: DynamoDB state, a KMS-encrypted SNS topic of events with its email subscriptions, the
 * poll Lambda (one per network placement), one EventBridge Scheduler schedule per server, a dead-letter queue, alarms
 * that notify a topic of their own (every email address subscribed unfiltered), and a dashboard.
 */
export class Vb365SyncMonitor extends Construct {
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
  readonly functions: ReadonlyMap<string, nodejs.NodejsFunction>;
  /** Credentials secret of each server, by server id. */
  readonly secrets: ReadonlyMap<string, secretsmanager.ISecret>;
  readonly schedules: ReadonlyMap<string, scheduler.Schedule>;
  readonly dashboard: cloudwatch.Dashboard;
  /** The chat/webhook deliverer, when channels are configured. */
  readonly deliverer: nodejs.NodejsFunction | undefined;

  constructor(scope: Construct, id: string, props: Vb365SyncMonitorProps) {
    super(scope, id);
    const { config } = props;
    const interval = Duration.minutes(config.pollEveryMinutes);

    this.key = new kms.Key(this, 'Key', {
      description: 'vb365-sync-monitor: SNS topic and dead-letter queue encryption',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // CloudWatch alarms publish to the encrypted alarms topic: only alarms of this account and region (no confused
    // deputy).
    const stack = Stack.of(this);
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
    for (const recipient of config.notifications.emails) {
      const subscription = this.topic.addSubscription(new subscriptions.EmailSubscription(recipient.address));
      (subscription.node.defaultChild as sns.CfnSubscription).filterPolicy = emailFilterPolicy(recipient.eventTypes);
      // Unfiltered: an alarm carries no attributes, so any filter policy would drop it.
      this.alarmsTopic.addSubscription(new subscriptions.EmailSubscription(recipient.address));
    }

    this.deadLetterQueue = new sqs.Queue(this, 'ScheduleDeadLetters', {
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: this.key,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });

    // Credentials: imported or created, one secret per server.
    const secrets = new Map<string, secretsmanager.ISecret>();
    for (const server of config.servers) {
      const c = server.credentials;
      const secretId = `Credentials-${server.id}`;
      secrets.set(
        server.id,
        'secretName' in c
          ? secretsmanager.Secret.fromSecretNameV2(this, secretId, c.secretName)
          : 'secretArn' in c
            ? secretsmanager.Secret.fromSecretCompleteArn(this, secretId, c.secretArn)
            : new secretsmanager.Secret(this, secretId, {
                description: `VB365 REST API credentials for ${server.name} (${server.url}): set {"username","password"}`,
                generateSecretString: {
                  secretStringTemplate: JSON.stringify({ username: CREDENTIALS_PLACEHOLDER_USERNAME }),
                  generateStringKey: 'password',
                },
                removalPolicy: RemovalPolicy.RETAIN,
              }),
      );
    }
    this.secrets = secrets;

    // One poll function per network placement: servers without a VPC share one, each VPC gets its own.
    const groups = new Map<string, (typeof config.servers)[number][]>();
    for (const server of config.servers) {
      const placement = server.vpc?.vpcId ?? 'default';
      groups.set(placement, [...(groups.get(placement) ?? []), server]);
    }
    const functions = new Map<string, nodejs.NodejsFunction>();
    const entry = props.handlerEntry ?? fileURLToPath(new URL('../lambda/handler.ts', import.meta.url));
    for (const [placement, servers] of groups) {
      functions.set(placement, this.#pollFunction(placement, servers, entry, config, secrets));
    }
    this.functions = functions;

    const schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
      description: 'Lets EventBridge Scheduler invoke the poll functions and dead-letter failed invocations',
    });
    // Sending to the KMS-encrypted dead-letter queue: exactly these two actions, on this key.
    this.key.grant(schedulerRole, 'kms:GenerateDataKey', 'kms:Decrypt');
    const group = new scheduler.ScheduleGroup(this, 'Schedules', { removalPolicy: RemovalPolicy.DESTROY });
    const schedules = new Map<string, scheduler.Schedule>();
    for (const server of config.servers) {
      const fn = functions.get(server.vpc?.vpcId ?? 'default') as nodejs.NodejsFunction;
      schedules.set(
        server.id,
        new scheduler.Schedule(this, `Poll-${server.id}`, {
          description: `Poll ${server.name} (${server.url}) for repository synchronization sessions`,
          schedule: scheduler.ScheduleExpression.rate(interval),
          scheduleGroup: group,
          target: new targets.LambdaInvoke(fn, {
            input: scheduler.ScheduleTargetInput.fromObject({ serverId: server.id }),
            role: schedulerRole,
            deadLetterQueue: this.deadLetterQueue,
            // A missed poll is superseded by the next one: retry briefly, never pile up.
            retryAttempts: 2,
            maxEventAge: Duration.seconds(Math.max(60, interval.toSeconds())),
          }),
        }),
      );
    }
    this.schedules = schedules;
    for (const fn of functions.values()) {
      const logicalId = Stack.of(this).getLogicalId(fn.node.defaultChild as lambda.CfnFunction);
      Validations.of(schedulerRole).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
        reason: 'lambda:InvokeFunction on this poll function and its versions/aliases only (the ":*" qualifier).',
      });
    }
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This queue is itself the dead-letter queue of the poll schedules.',
    });
    for (const [serverId, secret] of secrets) {
      if (secret instanceof secretsmanager.Secret) {
        Validations.of(secret).acknowledge({
          id: 'AwsSolutions-SMG4',
          reason: `Holds the VB365 account of ${serverId}, whose password is managed in VB365/Active Directory; the monitor re-reads the secret every 5 minutes, so a password changed there and here is picked up without rotation.`,
        });
      }
    }

    this.deliverer = this.#deliverer(config);
    this.dashboard = this.#alarmsAndDashboard(config, interval);
  }

  /**
   * Delivers events to Slack, Teams, signed webhooks and Amazon Q Developer channels (each through its own topic, which
   * its channel configuration subscribes to); only created when such channels are configured.
   */
  #deliverer(config: ResolvedConfig): nodejs.NodejsFunction | undefined {
    const n = config.notifications;
    const only = (eventTypes: readonly EventType[] | undefined) => (eventTypes ? { eventTypes } : {});
    const channels: Channel[] = [
      ...n.slackWebhookSecrets.map((c, i) => ({
        id: `slack-${i + 1}`,
        kind: 'slack' as const,
        secret: c.secretName,
        ...only(c.eventTypes),
        ...(c.mentions ? { mentions: c.mentions } : {}),
      })),
      ...n.teamsWebhookSecrets.map((c, i) => ({
        id: `teams-${i + 1}`,
        kind: 'teams' as const,
        secret: c.secretName,
        ...only(c.eventTypes),
      })),
      ...n.webhookSecrets.map((c, i) => ({
        id: `webhook-${i + 1}`,
        kind: 'webhook' as const,
        secret: c.secretName,
        ...only(c.eventTypes),
      })),
    ];
    const qTopics: sns.Topic[] = [];
    const qChannel = (id: string, eventTypes: readonly EventType[] | undefined): sns.Topic => {
      const topic = new sns.Topic(this, `QDeveloperTopic-${id}`, {
        displayName: `VB365 sync monitor - Amazon Q Developer ${id}`,
        masterKey: this.key,
        enforceSSL: true,
      });
      channels.push({ id, kind: 'qdeveloper', topicArn: topic.topicArn, ...only(eventTypes) });
      qTopics.push(topic);
      return topic;
    };
    n.qDeveloperSlackChannels.forEach((c, i) => {
      const id = `qdeveloper-slack-${i + 1}`;
      new chatbot.SlackChannelConfiguration(this, `QDeveloperSlack${i + 1}`, {
        slackChannelConfigurationName: `${Stack.of(this).stackName}-${id}`.slice(0, 128),
        slackWorkspaceId: c.workspaceId,
        slackChannelId: c.channelId,
        notificationTopics: [qChannel(id, c.eventTypes)],
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
        snsTopicArns: [qChannel(id, c.eventTypes).topicArn],
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
    const fn = new nodejs.NodejsFunction(this, 'Deliverer', {
      description: 'vb365-sync-monitor deliverer: Slack, Teams, webhook and Amazon Q Developer notifications',
      entry: fileURLToPath(new URL('../lambda/deliverer.ts', import.meta.url)),
      handler: 'handler',
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
        POWERTOOLS_SERVICE_NAME: `${SERVICE}-deliverer`,
      },
      // A failed delivery is retried twice by Lambda, then kept in the dead-letter queue (alarmed).
      retryAttempts: 2,
      deadLetterQueue: deadLetters,
      bundling: LAMBDA_BUNDLING,
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

  #pollFunction(
    placement: string,
    servers: ResolvedConfig['servers'],
    entry: string,
    config: ResolvedConfig,
    secrets: ReadonlyMap<string, secretsmanager.ISecret>,
  ): nodejs.NodejsFunction {
    const suffix = placement === 'default' ? '' : `-${placement}`;
    const logGroup = new logs.LogGroup(this, `PollLogs${suffix}`, {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const environment: Record<string, string> = {
      [ENV.tableName]: this.table.tableName,
      [ENV.topicArn]: this.topic.topicArn,
      [ENV.servers]: JSON.stringify(
        servers.map((s) => ({
          id: s.id,
          name: s.name,
          url: s.url,
          apiVersion: s.apiVersion ?? 'auto',
          credentialsSecret: (secrets.get(s.id) as secretsmanager.ISecret).secretArn,
          ...(s.caBundle ? { caBundle: s.caBundle } : {}),
          ...(s.pinSha256 ? { pinSha256: s.pinSha256 } : {}),
        })),
      ),
      [ENV.milestones]: config.policy.milestones.join(','),
      [ENV.stallAfterMinutes]: String(config.policy.stallAfterMinutes),
      [ENV.vanishGraceCycles]: String(config.policy.vanishGraceCycles),
      [ENV.unreachableAfterMinutes]: String(config.policy.unreachableAfterMinutes),
      [ENV.finishedRetentionDays]: String(config.policy.finishedRetentionDays),
      [ENV.recoverAfterCycles]: String(config.policy.recoverAfterCycles),
      [ENV.certificateWarningDays]: String(config.policy.certificateWarningDays),
      [ENV.remindEveryHours]: String(config.policy.remindEveryHours),
      [ENV.maxReminders]: String(config.policy.maxReminders),
      [ENV.outOfSyncAfterMinutes]: String(config.policy.outOfSyncAfterMinutes),
      [ENV.groupThreshold]: String(config.policy.groupThreshold),
      [ENV.digest]: JSON.stringify(config.digest),
      [ENV.historyRetentionDays]: String(config.policy.historyRetentionDays),
      [ENV.quietHours]: config.quietHours ? JSON.stringify(config.quietHours) : '',
      [ENV.maintenanceWindows]: JSON.stringify(config.maintenanceWindows),
      NODE_OPTIONS: '--enable-source-maps',
      POWERTOOLS_SERVICE_NAME: SERVICE,
      POWERTOOLS_METRICS_NAMESPACE: METRIC_NAMESPACE,
    };
    const literalBytes = Object.entries(environment)
      .filter(([k]) => k !== ENV.tableName && k !== ENV.topicArn)
      .reduce((n, [k, v]) => n + k.length + v.length, 0);
    // Tokens (table name, topic ARN, secret ARNs) resolve at deploy time; allow generous room for them.
    const estimate = literalBytes + 512;
    if (estimate > LAMBDA_ENV_LIMIT_BYTES) {
      throw new Error(
        `servers ${servers.map((s) => s.id).join(', ')}: their configuration needs about ${estimate} bytes of Lambda environment, over the 4096-byte limit. Fix: use pinSha256 instead of caBundleFile for some servers, keep only the issuing CA in each bundle, or split servers across VPC placements.`,
      );
    }

    const vpcServer = servers.find((s) => s.vpc);
    let network: Pick<nodejs.NodejsFunctionProps, 'vpc' | 'vpcSubnets' | 'securityGroups'> = {};
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

    const fn = new nodejs.NodejsFunction(this, `Poll${suffix}`, {
      description: `vb365-sync-monitor poll: ${servers.map((s) => s.id).join(', ')}`.slice(0, 256),
      entry,
      handler: 'handler',
      runtime: lambda.Runtime.NODEJS_24_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 256,
      // Shorter than the interval, so a slow cycle never overlaps the next one.
      timeout: Duration.seconds(Math.min(120, config.pollEveryMinutes * 60 - 10)),
      // At most one cycle per server at a time.
      reservedConcurrentExecutions: servers.length,
      logGroup,
      environment,
      ...network,
      bundling: LAMBDA_BUNDLING,
    });
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
    // Only the action the function sends (GetSecretValue), on the servers' secrets: a test records the calls.
    for (const s of servers) readSecretValue(secrets.get(s.id) as secretsmanager.ISecret, fn);
    return fn;
  }

  #alarmsAndDashboard(config: ResolvedConfig, interval: Duration): cloudwatch.Dashboard {
    const notify = new cwActions.SnsAction(this.alarmsTopic);
    const alarm = (alarmId: string, props: cloudwatch.AlarmProps) => {
      const a = new cloudwatch.Alarm(this, alarmId, props);
      a.addAlarmAction(notify);
      a.addOkAction(notify);
      return a;
    };
    for (const [placement, fn] of this.functions) {
      alarm(`PollErrors${placement === 'default' ? '' : `-${placement}`}`, {
        alarmDescription: 'The poll Lambda failed (DynamoDB, SNS or a bug): the monitor itself needs attention.',
        metric: fn.metricErrors({ period: interval, statistic: 'Sum' }),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    this.#deadLetterAlarm(
      'DeadLetters',
      this.deadLetterQueue,
      'Scheduled polls could not be delivered to the poll Lambda (see the dead-letter queue).',
    );
    const cycles = (serverId: string, period: Duration) =>
      new cloudwatch.Metric({
        namespace: METRIC_NAMESPACE,
        metricName: 'CycleSucceeded',
        dimensionsMap: { service: SERVICE, ServerId: serverId },
        statistic: 'Sum',
        period,
      });
    const heartbeat = Duration.minutes(config.pollEveryMinutes * config.heartbeatIntervals);
    for (const server of config.servers) {
      alarm(`Heartbeat-${server.id}`, {
        alarmDescription: `No successful poll cycle of ${server.name} for ${config.heartbeatIntervals} intervals: the monitor is not watching it.`,
        metric: cycles(server.id, heartbeat),
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      });
    }

    const perServer = (metricName: string, statistic: string) =>
      config.servers.map(
        (s) =>
          new cloudwatch.Metric({
            namespace: METRIC_NAMESPACE,
            metricName,
            dimensionsMap: { service: SERVICE, ServerId: s.id },
            statistic,
            period: interval,
            label: s.id,
          }),
      );
    const dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.days(1) });
    dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Successful cycles', left: perServer('CycleSucceeded', 'Sum'), width: 12 }),
      new cloudwatch.GraphWidget({
        title: 'Events by type',
        left: [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${METRIC_NAMESPACE},EventType,ServerId,service} MetricName="Events"', 'Sum', ${interval.toSeconds()})`,
            label: '',
            period: interval,
          }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({ title: 'VB365 API errors', left: perServer('ApiErrors', 'Sum'), width: 8 }),
      new cloudwatch.GraphWidget({
        title: 'Cycle duration (p90, ms)',
        left: perServer('CycleDuration', 'p90'),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Sessions tracked',
        left: perServer('SessionsTracked', 'Maximum'),
        width: 8,
      }),
    );
    return dashboard;
  }
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

/**
 * The SNS filter policy of an email recipient's subscription to the events topic. (The monitor's alarms reach the
 * recipient through an unfiltered subscription to the alarms topic: CloudWatch publishes them without attributes, and
 * a message without attributes matches no filter policy, not even `exists: false`.) Storm control: the events a
 * `monitor.grouped` message stands for (attribute `grouped`) reach email as that one message; a recipient who chose
 * event types also gets the groups of those types (attribute `groupType`), or a storm of the very failures they asked
 * for would reach them as nothing.
 */
export function emailFilterPolicy(eventTypes: readonly EventType[] | undefined): Record<string, unknown> {
  const single = { grouped: [{ exists: false }] };
  if (!eventTypes || eventTypes.length === 0) return single;
  // Every message on the events topic has a `type` (alarms, which have none, go to the alarms topic).
  const chosen = { ...single, type: [...eventTypes] };
  const groups = eventTypes.filter((t) => GROUPABLE_TYPES.has(t));
  return groups.length === 0 ? chosen : { $or: [chosen, { groupType: groups }] };
}
