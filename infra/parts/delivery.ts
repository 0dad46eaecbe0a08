import {
  aws_chatbot as chatbot,
  Duration,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_logs as logs,
  RemovalPolicy,
  Stack,
  aws_secretsmanager as secretsmanager,
  aws_sns as sns,
  aws_sqs as sqs,
  aws_sns_subscriptions as subscriptions,
  Validations,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ResolvedConfig } from '../../lambda/config-schema.js';
import type { Channel } from '../../lambda/domain/channels.js';
import { DELIVERER_ENV, RUNTIME_ENV, SERVICE_NAMES } from '../../lambda/names.js';
import { lambdaCode } from '../lambda-code.js';
import { addDeadLetterAlarm } from './alarms.js';
import type { ChannelFilter } from './filter-policy.js';
import { acknowledgeBasicExecutionRole } from './nag.js';
import type { MonitorState } from './state.js';

/**
 * Chat delivery in `scope`: the deliverer Lambda, subscribed to the events and alarms topics, delivering to Slack,
 * Teams, signed webhooks, PagerDuty and Amazon Q Developer channels (each through its own topic, which its channel
 * configuration subscribes to), with its alarmed dead-letter queue. `undefined` (nothing created) when no such channel
 * is configured.
 */
export function addDeliverer(
  scope: Construct,
  config: ResolvedConfig,
  state: MonitorState,
): lambda.Function | undefined {
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
    const topic = new sns.Topic(scope, `QDeveloperTopic-${id}`, {
      displayName: `VB365 sync monitor - Amazon Q Developer ${id}`,
      masterKey: state.key,
      enforceSSL: true,
    });
    channels.push({ id, kind: 'qdeveloper', topicArn: topic.topicArn, ...only(c) });
    qTopics.push(topic);
    return topic;
  };
  n.qDeveloperSlackChannels.forEach((c, i) => {
    const id = `qdeveloper-slack-${i + 1}`;
    new chatbot.SlackChannelConfiguration(scope, `QDeveloperSlack${i + 1}`, {
      slackChannelConfigurationName: `${Stack.of(scope).stackName}-${id}`.slice(0, 128),
      slackWorkspaceId: c.workspaceId,
      slackChannelId: c.channelId,
      notificationTopics: [qChannel(id, c)],
      role: qDeveloperRole(scope, id),
      guardrailPolicies: [iam.ManagedPolicy.fromAwsManagedPolicyName('CloudWatchReadOnlyAccess')],
      loggingLevel: chatbot.LoggingLevel.ERROR,
    });
  });
  n.qDeveloperTeamsChannels.forEach((c, i) => {
    const id = `qdeveloper-teams-${i + 1}`;
    new chatbot.CfnMicrosoftTeamsChannelConfiguration(scope, `QDeveloperTeams${i + 1}`, {
      configurationName: `${Stack.of(scope).stackName}-${id}`.slice(0, 128),
      teamsTenantId: c.tenantId,
      teamId: c.teamId,
      teamsChannelId: c.channelId,
      snsTopicArns: [qChannel(id, c).topicArn],
      iamRoleArn: qDeveloperRole(scope, id).roleArn,
      guardrailPolicies: [
        Stack.of(scope).formatArn({
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
  const deadLetters = new sqs.Queue(scope, 'DeliveryDeadLetters', {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: state.key,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  const fn = new lambda.Function(scope, 'Deliverer', {
    description: 'vb365-sync-monitor deliverer: Slack, Teams, webhook and Amazon Q Developer notifications',
    code: lambdaCode(scope, 'deliverer'),
    handler: 'index.handler',
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: 256,
    timeout: Duration.seconds(60),
    logGroup: new logs.LogGroup(scope, 'DelivererLogs', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    }),
    environment: {
      [DELIVERER_ENV.tableName]: state.table.tableName,
      [DELIVERER_ENV.channels]: JSON.stringify(channels),
      [RUNTIME_ENV.nodeOptions]: '--enable-source-maps',
      [RUNTIME_ENV.serviceName]: SERVICE_NAMES.deliverer,
    },
    // A failed delivery is retried twice by Lambda, then kept in the dead-letter queue (alarmed).
    retryAttempts: 2,
    deadLetterQueue: deadLetters,
  });
  state.key.grant(fn, 'kms:GenerateDataKey', 'kms:Decrypt');
  state.table.grant(fn, 'dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:DeleteItem');
  for (const [i, c] of channels.entries()) {
    if (c.kind !== 'qdeveloper')
      readSecretValue(secretsmanager.Secret.fromSecretNameV2(scope, `ChannelSecret${i + 1}`, c.secret), fn);
  }
  if (qTopics.length > 0) {
    // The key grant above already covers the topics' encryption.
    fn.addToRolePolicy(
      new iam.PolicyStatement({ actions: ['sns:Publish'], resources: qTopics.map((t) => t.topicArn) }),
    );
  }
  // Both subscriptions share the function's async retries and dead-letter queue; the deliverer tells alarms by
  // their JSON, whichever topic they come from.
  state.topic.addSubscription(new subscriptions.LambdaSubscription(fn));
  state.alarmsTopic.addSubscription(new subscriptions.LambdaSubscription(fn));
  acknowledgeBasicExecutionRole(fn);
  Validations.of(deadLetters).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: 'This queue is itself the dead-letter queue of the deliverer.',
  });
  addDeadLetterAlarm(
    scope,
    state.alarmsTopic,
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
function qDeveloperRole(scope: Construct, id: string): iam.Role {
  return new iam.Role(scope, `QDeveloperRole-${id}`, {
    assumedBy: new iam.ServicePrincipal('chatbot.amazonaws.com'),
    description: `Amazon Q Developer in chat applications: ${id} (notifications only)`,
  });
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
