import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  type aws_cloudwatch as cloudwatch,
  type aws_dynamodb as dynamodb,
  type aws_kms as kms,
  type aws_lambda as lambda,
  type NestedStack,
  Stack,
  type aws_scheduler as scheduler,
  type aws_secretsmanager as secretsmanager,
  type aws_sns as sns,
  type aws_sqs as sqs,
  Token,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import {
  type MonitorConfig,
  MonitorConfigError,
  type ResolvedConfig,
  resolveConfig,
  runtimeConfigOf,
} from '../lambda/config-schema.js';
import { addAlarms } from './parts/alarms.js';
import { addDashboard } from './parts/dashboard.js';
import { addDeliverer } from './parts/delivery.js';
import { addPollFunctions, addPollSchedules, SCHEDULES_PER_STACK } from './parts/poll.js';
import { addStatefulCore } from './parts/state.js';

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

    // Every part is built in this construct's scope, so construct paths (and the logical ids) are the construct's own;
    // the order of the calls is the order of the resources in the template.
    const state = addStatefulCore(this, config);
    this.key = state.key;
    this.table = state.table;
    this.topic = state.topic;
    this.alarmsTopic = state.alarmsTopic;
    this.deadLetterQueue = state.deadLetterQueue;
    this.secrets = state.secrets;

    // The configuration travels as a file in the code (no size ceiling, nothing read per cycle), with created
    // secrets named after this stack.
    this.runtimeConfig = JSON.stringify(runtimeConfigOf(config));
    this.functions = addPollFunctions(this, config, state, this.runtimeConfig);
    const polls = addPollSchedules(this, config, state, this.functions);
    this.schedules = polls.schedules;
    this.scheduleStacks = polls.scheduleStacks;
    this.fleetCheck = polls.fleetCheck;

    this.deliverer = addDeliverer(this, config, state);
    addAlarms(this, config, state, this.functions);
    this.dashboard = config.dashboard ? addDashboard(this, config, this.functions) : undefined;
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
