import {
  Duration,
  aws_ec2 as ec2,
  aws_iam as iam,
  aws_lambda as lambda,
  aws_logs as logs,
  NestedStack,
  RemovalPolicy,
  Stack,
  aws_scheduler as scheduler,
  aws_scheduler_targets as targets,
  Validations,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ResolvedConfig, ResolvedServer } from '../../lambda/config-schema.js';
import { scheduleWindowMinutes } from '../../lambda/domain/fleet.js';
import { CONFIG_FILE_NAME, ENV, METRICS, RUNTIME_ENV } from '../../lambda/names.js';
import { lambdaCode } from '../lambda-code.js';
import { grantCredentials } from './credentials.js';
import { acknowledgeBasicExecutionRole } from './nag.js';
import type { MonitorState } from './state.js';

/**
 * Schedules per nested stack: one resource each, far from CloudFormation's 500 resources and 1 MB per template
 * (a schedule takes about 700 bytes).
 */
export const SCHEDULES_PER_STACK = 200;

/** The placement of a server's poll function: `default`, or its VPC id. */
export function placementOf(server: ResolvedServer): string {
  return server.vpc?.vpcId ?? 'default';
}

/**
 * One poll function per network placement, by placement: servers without a VPC share one, each VPC gets its own.
 * Each carries `runtimeConfig` as its configuration file and reads only its own servers' credentials.
 */
export function addPollFunctions(
  scope: Construct,
  config: ResolvedConfig,
  state: MonitorState,
  runtimeConfig: string,
): Map<string, lambda.Function> {
  const groups = new Map<string, ResolvedServer[]>();
  for (const server of config.servers) {
    const placement = placementOf(server);
    groups.set(placement, groups.get(placement) ?? []);
    groups.get(placement)?.push(server);
  }
  const functions = new Map<string, lambda.Function>();
  for (const [placement, servers] of groups) {
    functions.set(placement, pollFunction(scope, placement, servers, config, state, runtimeConfig));
  }
  return functions;
}

function pollFunction(
  scope: Construct,
  placement: string,
  servers: readonly ResolvedServer[],
  config: ResolvedConfig,
  state: MonitorState,
  runtimeConfig: string,
): lambda.Function {
  const suffix = placement === 'default' ? '' : `-${placement}`;
  const logGroup = new logs.LogGroup(scope, `PollLogs${suffix}`, {
    retention: config.logRetentionDays as logs.RetentionDays,
    removalPolicy: RemovalPolicy.DESTROY,
  });

  const vpcServer = servers.find((s) => s.vpc);
  let network: Pick<lambda.FunctionProps, 'vpc' | 'vpcSubnets' | 'securityGroups'> = {};
  if (vpcServer?.vpc) {
    const vpc = ec2.Vpc.fromVpcAttributes(scope, `Vpc${suffix}`, {
      vpcId: vpcServer.vpc.vpcId,
      availabilityZones: [...vpcServer.vpc.availabilityZones],
      privateSubnetIds: [...vpcServer.vpc.subnetIds],
    });
    const sg = new ec2.SecurityGroup(scope, `PollSecurityGroup${suffix}`, {
      vpc,
      description: 'vb365-sync-monitor poll function: HTTPS to VB365 and AWS APIs only',
      allowAllOutbound: false,
    });
    const ports = new Set(servers.map((s) => Number(new URL(s.url).port || 443)));
    for (const port of [...ports, 443])
      sg.addEgressRule(ec2.Peer.anyIpv4(), ec2.Port.tcp(port), `HTTPS egress on ${port}`);
    network = { vpc, vpcSubnets: { subnets: vpc.privateSubnets }, securityGroups: [sg] };
  }

  const fn = new lambda.Function(scope, `Poll${suffix}`, {
    description: `vb365-sync-monitor poll: ${servers.length} server${servers.length === 1 ? '' : 's'}${vpcServer?.vpc ? ` in ${placement}` : ''}`,
    code: lambdaCode(scope, 'poll', { [CONFIG_FILE_NAME]: runtimeConfig }),
    handler: 'index.handler',
    runtime: lambda.Runtime.NODEJS_24_X,
    architecture: lambda.Architecture.ARM_64,
    memorySize: 256,
    // Shorter than the interval, so a slow cycle seldom overlaps the next one (the schedule's window can bring two
    // cycles of a server up to half an interval closer; the leases keep overlapping cycles of one server safe).
    timeout: Duration.seconds(Math.min(120, config.pollEveryMinutes * 60 - 10)),
    // None by default: new accounts have a concurrency quota of 10 and cannot reserve any; the leases keep
    // concurrent cycles of one server safe.
    ...(config.reservedConcurrency === undefined ? {} : { reservedConcurrentExecutions: config.reservedConcurrency }),
    logGroup,
    // Names and ARNs only: the configuration is the file beside the code.
    environment: {
      [ENV.tableName]: state.table.tableName,
      [ENV.topicArn]: state.topic.topicArn,
      [RUNTIME_ENV.nodeOptions]: '--enable-source-maps',
      [RUNTIME_ENV.serviceName]: METRICS.service,
      [RUNTIME_ENV.metricsNamespace]: METRICS.namespace,
    },
    ...network,
  });
  // BatchGetItem only for the function that runs the fleet check (granted where it is chosen).
  state.table.grant(fn, 'dynamodb:Query', 'dynamodb:PutItem', 'dynamodb:BatchWriteItem');
  state.topic.grantPublish(fn);
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
  grantCredentials(fn, placement, servers);
  return fn;
}

/** The poll schedules of a deployment. */
export interface PollSchedules {
  /** Each server's schedule, by server id. */
  readonly schedules: ReadonlyMap<string, scheduler.Schedule>;
  /** The nested stacks holding them, {@link SCHEDULES_PER_STACK} each at most. */
  readonly scheduleStacks: readonly NestedStack[];
  /** Invokes the first poll function with `{"fleetCheck": true}` every interval. */
  readonly fleetCheck: scheduler.Schedule;
}

/**
 * One EventBridge Scheduler schedule per server (the only resource a server adds) invoking its placement's function
 * with `{"serverId"}`, in nested stacks of {@link SCHEDULES_PER_STACK}, and the fleet check's schedule. Failed
 * invocations go to the state's dead-letter queue.
 */
export function addPollSchedules(
  scope: Construct,
  config: ResolvedConfig,
  state: MonitorState,
  functions: ReadonlyMap<string, lambda.Function>,
): PollSchedules {
  const interval = Duration.minutes(config.pollEveryMinutes);
  // Each server's cycles at a random moment of the first half of the interval (lambda/domain/fleet.ts), not the whole
  // fleet at once; the fleet check keeps its exact rhythm.
  const windowMinutes = scheduleWindowMinutes(config.pollEveryMinutes);
  const timeWindow =
    windowMinutes > 0 ? scheduler.TimeWindow.flexible(Duration.minutes(windowMinutes)) : scheduler.TimeWindow.off();
  const schedulerRole = new iam.Role(scope, 'SchedulerRole', {
    assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com'),
    description: 'Lets EventBridge Scheduler invoke the poll functions and dead-letter failed invocations',
  });
  // Sending to the KMS-encrypted dead-letter queue: exactly these two actions, on this key.
  state.key.grant(schedulerRole, 'kms:GenerateDataKey', 'kms:Decrypt');
  const group = new scheduler.ScheduleGroup(scope, 'Schedules', { removalPolicy: RemovalPolicy.DESTROY });
  const target = (fn: lambda.IFunction, input: Record<string, unknown>) =>
    new targets.LambdaInvoke(fn, {
      input: scheduler.ScheduleTargetInput.fromObject(input),
      role: schedulerRole,
      deadLetterQueue: state.deadLetterQueue,
      // A missed poll is superseded by the next one: retry briefly, never pile up.
      retryAttempts: 2,
      maxEventAge: Duration.seconds(Math.max(60, interval.toSeconds())),
    });

  // A fleet stays within CloudFormation's limits per template. Servers keep their stack while servers are added at
  // the end.
  const schedules = new Map<string, scheduler.Schedule>();
  const scheduleStacks: NestedStack[] = [];
  for (let first = 0; first < config.servers.length; first += SCHEDULES_PER_STACK) {
    const chunk = config.servers.slice(first, first + SCHEDULES_PER_STACK);
    const nested = new NestedStack(scope, `PollSchedules${scheduleStacks.length + 1}`, {
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
          timeWindow,
          scheduleGroup: group,
          // The scheduled time rides along: the cycle's 15-minute scan slots follow it, not the delayed start.
          target: target(functions.get(placementOf(server)) as lambda.Function, {
            serverId: server.id,
            scheduledTime: scheduler.ContextAttribute.scheduledTime,
          }),
        }),
      );
    }
  }
  // Servers not polled for heartbeatIntervals are announced by this check, inside the product (no alarm per server).
  const checker = functions.get('default') ?? ([...functions.values()][0] as lambda.Function);
  // The fleet check reads every server's record at once; no other function needs to.
  state.table.grant(checker, 'dynamodb:BatchGetItem');
  const fleetCheck = new scheduler.Schedule(scope, 'FleetCheck', {
    description: `Announce servers not polled for ${config.heartbeatIntervals} intervals, and their recovery`,
    schedule: scheduler.ScheduleExpression.rate(interval),
    scheduleGroup: group,
    target: target(checker, { fleetCheck: true }),
  });
  fleetCheck.node.addDependency(group);

  const stack = Stack.of(scope);
  for (const fn of functions.values()) {
    const logicalId = stack.getLogicalId(fn.node.defaultChild as lambda.CfnFunction);
    Validations.of(schedulerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>:*]`,
      reason: 'lambda:InvokeFunction on this poll function and its versions/aliases only (the ":*" qualifier).',
    });
  }
  Validations.of(state.deadLetterQueue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: 'This queue is itself the dead-letter queue of the poll schedules.',
  });
  return { schedules, scheduleStacks, fleetCheck };
}
