import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { type ReadFile, type ResolvedConfig, resolveConfig } from '../lambda/config-schema.js';
import { Vb365SyncMonitor, type Vb365SyncMonitorProps } from './sync-monitor.js';

/**
 * The stack's outputs for `monitor`: the topics, the table, the poll functions and the secrets the stack created, as
 * the README's steps after a deploy read them (their ids are the output keys).
 */
export function addMonitorOutputs(monitor: Vb365SyncMonitor): void {
  const stack = Stack.of(monitor);
  new CfnOutput(stack, 'TopicArn', { value: monitor.topic.topicArn, description: 'SNS topic of all events' });
  new CfnOutput(stack, 'AlarmsTopicArn', {
    value: monitor.alarmsTopic.topicArn,
    description: "SNS topic of the monitor's own CloudWatch alarms",
  });
  new CfnOutput(stack, 'TableName', { value: monitor.table.tableName, description: 'DynamoDB state table' });
  if (monitor.dashboard) new CfnOutput(stack, 'DashboardName', { value: monitor.dashboard.dashboardName });
  for (const [placement, fn] of monitor.functions) {
    new CfnOutput(stack, placement === 'default' ? 'PollFunctionName' : `PollFunctionName-${placement}`, {
      value: fn.functionName,
      description: 'Invoke with {"serverId":"…"} to run a cycle now',
    });
  }
  for (const server of monitor.config.servers) {
    const secret = monitor.secrets.get(server.id);
    if (secret) {
      new CfnOutput(stack, `CredentialsSecret-${server.id}`, {
        value: secret.secretArn,
        description: `Fill in {"username","password"} for ${server.name}`,
      });
    }
  }
}

/** A configuration file split into what names the stack and the construct's props. */
export interface Deployment {
  readonly stackName: string;
  readonly env: ResolvedConfig['env'];
  readonly props: Vb365SyncMonitorProps;
}

/**
 * A configuration file as this repository's app deploys it: checked whole (every problem at once, the stack's keys
 * too; throws MonitorConfigError), then split into the stack's name and environment and the construct's props.
 */
export function deploymentOf(file: unknown, readFile: ReadFile): Deployment {
  const { stackName, env } = resolveConfig(file, readFile);
  const { stackName: _name, env: _env, $schema: _schema, ...props } = file as Record<string, unknown>;
  return { stackName, env, props: props as Vb365SyncMonitorProps };
}

export interface MonitorStackProps extends StackProps {
  readonly config: Vb365SyncMonitorProps;
}

/** A stack holding one {@link Vb365SyncMonitor} (id `Monitor`) and its outputs, as infra/app.ts builds it. */
export class MonitorStack extends Stack {
  readonly monitor: Vb365SyncMonitor;

  constructor(scope: Construct, id: string, props: MonitorStackProps) {
    super(scope, id, props);
    this.monitor = new Vb365SyncMonitor(this, 'Monitor', props.config);
    addMonitorOutputs(this.monitor);
  }
}
