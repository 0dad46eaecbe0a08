import {
  aws_cloudwatch as cloudwatch,
  aws_cloudwatch_actions as cwActions,
  Duration,
  type aws_lambda as lambda,
  type aws_sns as sns,
  type aws_sqs as sqs,
} from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ResolvedConfig } from '../../lambda/config-schema.js';
import type { MonitorState } from './state.js';

/**
 * The monitor's alarms on itself, each notifying the alarms topic on ALARM and OK: every poll function's errors,
 * throttles and silence (not invoked for `heartbeatIntervals`), and dead letters of the poll schedules. None per
 * server: a server nobody polls is announced by the fleet check.
 */
export function addAlarms(
  scope: Construct,
  config: ResolvedConfig,
  state: MonitorState,
  functions: ReadonlyMap<string, lambda.Function>,
): void {
  const interval = Duration.minutes(config.pollEveryMinutes);
  const notify = new cwActions.SnsAction(state.alarmsTopic);
  const alarm = (alarmId: string, props: cloudwatch.AlarmProps) => {
    const a = new cloudwatch.Alarm(scope, alarmId, props);
    a.addAlarmAction(notify);
    a.addOkAction(notify);
    return a;
  };
  // Every function is invoked by its schedules each interval; none for heartbeatIntervals means no polling at all.
  const silence = Duration.minutes(config.pollEveryMinutes * config.heartbeatIntervals);
  for (const [placement, fn] of functions) {
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
  addDeadLetterAlarm(
    scope,
    state.alarmsTopic,
    'DeadLetters',
    state.deadLetterQueue,
    'Scheduled polls could not be delivered to the poll Lambda (see the dead-letter queue).',
  );
}

/** Alarm `id` (and OK message) on `alarmsTopic` as soon as `queue` holds a message. */
export function addDeadLetterAlarm(
  scope: Construct,
  alarmsTopic: sns.ITopic,
  id: string,
  queue: sqs.IQueue,
  description: string,
): void {
  const alarm = new cloudwatch.Alarm(scope, id, {
    alarmDescription: description,
    metric: queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
    threshold: 1,
    evaluationPeriods: 1,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  alarm.addAlarmAction(new cwActions.SnsAction(alarmsTopic));
  alarm.addOkAction(new cwActions.SnsAction(alarmsTopic));
}
