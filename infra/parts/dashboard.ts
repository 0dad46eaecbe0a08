import { aws_cloudwatch as cloudwatch, Duration, type aws_lambda as lambda } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ResolvedConfig } from '../../lambda/config-schema.js';
import { METRICS } from '../../lambda/names.js';

/** The functions' own Lambda metrics, and the custom metrics of the configured kind. */
export function addDashboard(
  scope: Construct,
  config: ResolvedConfig,
  functions: ReadonlyMap<string, lambda.Function>,
): cloudwatch.Dashboard {
  const interval = Duration.minutes(config.pollEveryMinutes);
  const dashboard = new cloudwatch.Dashboard(scope, 'Dashboard', { defaultInterval: Duration.days(1) });
  const fns = [...functions];
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
        dimensionsMap: { [METRICS.dimensions.service]: METRICS.service },
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
  const { serverId, eventType, service } = METRICS.dimensions;
  const perServer = (metricName: string, statistic: string, dimensions = `${serverId},${service}`) =>
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
      left: [perServer(names.events, 'Sum', `${eventType},${serverId},${service}`)],
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
