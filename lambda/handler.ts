import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { ConfigError, loadConfig } from './config.js';
import { type CycleSummary, pollOnce } from './domain/poll.js';
import { buildDeps } from './wiring.js';

const logger = new Logger({ serviceName: 'vb365-sync-monitor' });
const metrics = new Metrics({ namespace: 'VB365SyncMonitor', serviceName: 'vb365-sync-monitor' });
const config = loadConfig(process.env);
const deps = buildDeps(config);

/** Leaves time to commit and publish before Lambda's own timeout. */
const SAFETY_MARGIN_MS = 5_000;

/** Input of each EventBridge Scheduler schedule: the server to poll. */
export interface PollEvent {
  readonly serverId: string;
}

/** One poll cycle for one server. Throws (so the invocation fails and alarms fire) when the cycle itself fails. */
export async function handler(event: PollEvent, context: Context): Promise<CycleSummary> {
  logger.addContext(context);
  const server = config.servers.find((s) => s.id === event?.serverId);
  if (!server) throw new ConfigError([`no server with id ${JSON.stringify(event?.serverId)} is configured`]);
  const started = Date.now();
  metrics.addDimension('ServerId', server.id);
  try {
    const summary = await pollOnce(
      {
        api: deps.api(server),
        store: deps.store,
        notifier: deps.notifier,
        policy: config.policy,
        server: { id: server.id, name: server.name, url: server.url },
        now: () => new Date(),
        owner: context.awsRequestId,
      },
      AbortSignal.timeout(Math.max(1_000, context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS)),
    );
    record(summary, Date.now() - started);
    return summary;
  } finally {
    metrics.publishStoredMetrics();
  }
}

function record(summary: CycleSummary, durationMs: number): void {
  metrics.addMetric('CycleSucceeded', MetricUnit.Count, 1);
  metrics.addMetric('SessionsTracked', MetricUnit.Count, summary.sessionsTracked);
  metrics.addMetric('EventsPublished', MetricUnit.Count, summary.eventsPublished);
  metrics.addMetric('EventsPending', MetricUnit.Count, summary.eventsPending);
  // VB365 API failures: the whole cycle's (server unusable) plus those confined to one session or repository.
  metrics.addMetric(
    'ApiErrors',
    MetricUnit.Count,
    summary.isolatedProblems + (['ok', 'busy', 'setup'].includes(summary.status) ? 0 : 1),
  );
  metrics.addMetric('CycleDuration', MetricUnit.Milliseconds, durationMs);
  for (const [type, count] of Object.entries(summary.eventsByType)) {
    const single = metrics.singleMetric();
    single.addDimension('ServerId', summary.serverId);
    single.addDimension('EventType', type);
    single.addMetric('Events', MetricUnit.Count, count ?? 0);
  }
  // `message` is reserved by the logger (a field of that name is dropped): the problem's text goes under `reason`.
  for (const { message: reason, ...where } of summary.problems) logger.warn('session problem', { ...where, reason });
  const { problems: _problems, ...counts } = summary;
  if (summary.status === 'ok') logger.info('cycle completed', { summary: counts, durationMs });
  else logger.warn('server not usable', { summary: counts, durationMs });
}
