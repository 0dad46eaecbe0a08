import {
  ArnFormat,
  Duration,
  aws_dynamodb as dynamodb,
  aws_iam as iam,
  aws_kms as kms,
  RemovalPolicy,
  Stack,
  aws_secretsmanager as secretsmanager,
  aws_sns as sns,
  aws_sqs as sqs,
  aws_sns_subscriptions as subscriptions,
  Validations,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { createdSecretName, type ResolvedConfig } from '../../lambda/config-schema.js';
import { CREDENTIALS_PLACEHOLDER_USERNAME, TABLE_SCHEMA } from '../../lambda/names.js';
import { emailFilterPolicy, filterCombinations, SNS_FILTER_COMBINATIONS } from './filter-policy.js';

/** What outlives a deployment or carries its messages: every other part is built on it. */
export interface MonitorState {
  /** Encrypts the topics and the dead-letter queues. */
  readonly key: kms.Key;
  readonly table: dynamodb.Table;
  /** Events, each with the message attributes the email subscriptions filter on. */
  readonly topic: sns.Topic;
  /** The monitor's own CloudWatch alarms (no attributes: every subscription unfiltered). */
  readonly alarmsTopic: sns.Topic;
  /** Dead letters of the poll schedules. */
  readonly deadLetterQueue: sqs.Queue;
  /** Credentials secrets the stack created (`credentials: { create: true }`), by server id. */
  readonly secrets: ReadonlyMap<string, secretsmanager.Secret>;
}

/**
 * The stateful core in `scope`: the KMS key, the state table, the events and alarms topics with each email address
 * subscribed to both, the schedules' dead-letter queue and the credentials secrets the stack creates. The key, the
 * table and the secrets are retained when the stack is deleted.
 *
 * @throws Error when an email recipient's filter policy would exceed {@link SNS_FILTER_COMBINATIONS}.
 */
export function addStatefulCore(scope: Construct, config: ResolvedConfig): MonitorState {
  const stack = Stack.of(scope);
  const key = new kms.Key(scope, 'Key', {
    description: 'vb365-sync-monitor: SNS topic and dead-letter queue encryption',
    enableKeyRotation: true,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  // CloudWatch alarms publish to the encrypted alarms topic: only alarms of this account and region (no confused
  // deputy).
  key.addToResourcePolicy(
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

  const table = new dynamodb.Table(scope, 'State', {
    partitionKey: { name: TABLE_SCHEMA.partitionKey, type: dynamodb.AttributeType.STRING },
    sortKey: { name: TABLE_SCHEMA.sortKey, type: dynamodb.AttributeType.STRING },
    billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    timeToLiveAttribute: TABLE_SCHEMA.ttlAttribute,
    removalPolicy: RemovalPolicy.RETAIN,
  });

  const topic = new sns.Topic(scope, 'Events', {
    displayName: 'VB365 sync monitor',
    masterKey: key,
    enforceSSL: true,
  });
  const alarmsTopic = new sns.Topic(scope, 'Alarms', {
    displayName: 'VB365 sync monitor alarms',
    masterKey: key,
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
    const subscription = topic.addSubscription(new subscriptions.EmailSubscription(recipient.address));
    (subscription.node.defaultChild as sns.CfnSubscription).filterPolicy = policy;
    // Unfiltered: an alarm carries no attributes, so any filter policy would drop it.
    alarmsTopic.addSubscription(new subscriptions.EmailSubscription(recipient.address));
  });

  const deadLetterQueue = new sqs.Queue(scope, 'ScheduleDeadLetters', {
    encryption: sqs.QueueEncryption.KMS,
    encryptionMasterKey: key,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });

  // Secrets the stack creates, named so the configuration file can name them.
  const secrets = new Map<string, secretsmanager.Secret>();
  for (const server of config.servers) {
    if (server.credentials.create !== true) continue;
    const secret = new secretsmanager.Secret(scope, `Credentials-${server.id}`, {
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
  return { key, table, topic, alarmsTopic, deadLetterQueue, secrets };
}
