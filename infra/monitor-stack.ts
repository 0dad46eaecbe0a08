import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ResolvedConfig } from '../lambda/config-schema.js';
import { Vb365SyncMonitor } from './sync-monitor.js';

export interface MonitorStackProps extends StackProps {
  readonly config: ResolvedConfig;
  /** @default lambda/handler.ts of this project */
  readonly handlerEntry?: string;
}

/** The deployable stack: one {@link Vb365SyncMonitor} built from the typed configuration, with useful outputs. */
export class MonitorStack extends Stack {
  readonly monitor: Vb365SyncMonitor;

  constructor(scope: Construct, id: string, props: MonitorStackProps) {
    super(scope, id, props);
    this.monitor = new Vb365SyncMonitor(this, 'Monitor', { config: props.config, handlerEntry: props.handlerEntry });
    new CfnOutput(this, 'TopicArn', { value: this.monitor.topic.topicArn, description: 'SNS topic of all events' });
    new CfnOutput(this, 'AlarmsTopicArn', {
      value: this.monitor.alarmsTopic.topicArn,
      description: "SNS topic of the monitor's own CloudWatch alarms",
    });
    new CfnOutput(this, 'TableName', { value: this.monitor.table.tableName, description: 'DynamoDB state table' });
    if (this.monitor.dashboard) new CfnOutput(this, 'DashboardName', { value: this.monitor.dashboard.dashboardName });
    for (const [placement, fn] of this.monitor.functions) {
      new CfnOutput(this, placement === 'default' ? 'PollFunctionName' : `PollFunctionName-${placement}`, {
        value: fn.functionName,
        description: 'Invoke with {"serverId":"…"} to run a cycle now',
      });
    }
    for (const server of props.config.servers) {
      const secret = this.monitor.secrets.get(server.id);
      if (secret) {
        new CfnOutput(this, `CredentialsSecret-${server.id}`, {
          value: secret.secretArn,
          description: `Fill in {"username","password"} for ${server.name}`,
        });
      }
    }
  }
}
