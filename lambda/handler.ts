import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { ConfigError, loadConfig } from './config.js';
import { type FleetCheckSummary, fleetCheckOnce } from './domain/fleet-check.js';
import { type CycleSummary, pollOnce } from './domain/poll.js';
import { METRICS } from './names.js';
import { buildDeps, pollDepsFor } from './wiring.js';

const logger = new Logger({ serviceName: METRICS.service });
const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: METRICS.service });
const config = loadConfig(process.env);
const deps = buildDeps(config);

/** Leaves time to commit and publish before Lambda's own timeout. */
const SAFETY_MARGIN_MS = 5_000;

/** Input of each EventBridge Scheduler schedule: the server to poll, and when the schedule meant the cycle to run. */
export interface PollEvent {
  readonly serverId: string;
  /** `<aws.scheduler.scheduled-time>` (ISO 8601): the time before the schedule's flexible window delayed the cycle. */
  readonly scheduledTime?: string;
}

/** Input of the fleet check's schedule: find the servers no longer being polled. */
export interface FleetCheckEvent {
  readonly fleetCheck: true;
}

/** The rhythm each cycle records and the fleet check watches. */
const heartbeat = { pollEveryMinutes: config.pollEveryMinutes, heartbeatIntervals: config.heartbeatIntervals };

/**
 * One poll cycle for one server, or (`{"fleetCheck": true}`) one fleet check. Throws (so the invocation fails and
 * alarms fire) when the cycle or the check itself fails.
 */
export async function handler(event: PollEvent, context: Context): Promise<CycleSummary | UnconfiguredSummary>;
export async function handler(event: FleetCheckEvent, context: Context): Promise<FleetCheckSummary>;
export async function handler(
  event: PollEvent | FleetCheckEvent,
  context: Context,
): Promise<CycleSummary | UnconfiguredSummary | FleetCheckSummary> {
  logger.addContext(context);
  if ((event as Partial<FleetCheckEvent> | undefined)?.fleetCheck === true) return fleetCheck(context);
  return poll(event as PollEvent, context);
}

/** The answer to a poll of a server id the configuration does not list. */
export interface UnconfiguredSummary {
  readonly status: 'unconfigured';
  readonly serverId: string;
  readonly reason: string;
}

async function poll(event: PollEvent, context: Context): Promise<CycleSummary | UnconfiguredSummary> {
  if (typeof event?.serverId !== 'string') {
    throw new ConfigError([
      `the input must be {"serverId": "…"} or {"fleetCheck": true}, got ${JSON.stringify(event)}`,
    ]);
  }
  const server = config.servers.find((s) => s.id === event.serverId);
  if (!server) {
    // While a deployment removes a server, its schedule may fire once more after the code no longer lists it: not a
    // failure of the monitor (no retry, no error alarm), but said in the log.
    const reason = `no server with id ${JSON.stringify(event.serverId.slice(0, 64))} is configured: a removed server's schedule (deleted by the deployment), or a wrong id`;
    logger.warn('unconfigured server', { reason });
    return { status: 'unconfigured', serverId: event.serverId.slice(0, 64), reason };
  }
  const started = Date.now();
  if (config.metrics === 'perServer') metrics.addDimension(METRICS.dimensions.serverId, server.id);
  let usable = false;
  try {
    const summary = await pollOnce(
      pollDepsFor(
        { api: deps.api(server), store: deps.store, notifier: deps.notifier },
        {
          server,
          policy: config.policy,
          owner: context.awsRequestId,
          heartbeat,
          intervalMs: config.pollEveryMinutes * 60_000,
          scheduledAt: scheduledAtOf(event.scheduledTime),
        },
      ),
      AbortSignal.timeout(Math.max(1_000, context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS)),
    );
    usable = summary.status === 'ok';
    record(summary, Date.now() - started);
    return summary;
  } finally {
    // Fleet metrics (the default): one metric for the whole deployment, 1 per cycle whose server could be read, else
    // 0 (Sum: usable cycles, SampleCount: cycles, Average: the share usable).
    if (config.metrics === 'fleet') metrics.addMetric(METRICS.fleet, MetricUnit.Count, usable ? 1 : 0);
    metrics.publishStoredMetrics();
  }
}

/** The scheduled time of a poll event, when it carries a valid one (a manual invocation may not). */
function scheduledAtOf(value: unknown): Date | undefined {
  const at = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isNaN(at) ? undefined : new Date(at);
}

async function fleetCheck(context: Context): Promise<FleetCheckSummary> {
  const started = Date.now();
  const summary = await fleetCheckOnce(
    {
      store: deps.store,
      notifier: deps.notifier,
      servers: config.servers.map((s) => ({ id: s.id, name: s.name, url: s.url })),
      heartbeat,
      maintenanceWindows: config.policy.maintenanceWindows,
      runbooks: config.policy.runbooks,
      now: () => new Date(),
      owner: context.awsRequestId,
    },
    AbortSignal.timeout(Math.max(1_000, context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS)),
  );
  for (const reason of summary.problems) logger.warn('fleet check problem', { reason });
  const { problems: _problems, ...counts } = summary;
  const durationMs = Date.now() - started;
  if (summary.notPolled === 0) logger.info('fleet check completed', { summary: counts, durationMs });
  else logger.warn('servers not polled', { summary: counts, durationMs });
  return summary;
}

function record(summary: CycleSummary, durationMs: number): void {
  if (config.metrics === 'perServer') perServerMetrics(summary, durationMs);
  // `message` is reserved by the logger (a field of that name is dropped): the problem's text goes under `reason`.
  for (const { message: reason, ...where } of summary.problems) logger.warn('session problem', { ...where, reason });
  const { problems: _problems, ...counts } = summary;
  if (summary.status !== 'ok') logger.warn('server not usable', { summary: counts, durationMs });
  // A quiet cycle (nothing published, nothing pending, no problem) logs at DEBUG: its metric says it ran, and a
  // fleet's quiet cycles would otherwise be most of the log bill.
  else if (summary.eventsPublished === 0 && summary.eventsPending === 0 && summary.problems.length === 0)
    logger.debug('cycle completed', { summary: counts, durationMs });
  else logger.info('cycle completed', { summary: counts, durationMs });
}

/** `metrics: 'perServer'`: each server its own metrics (dimension `ServerId`), events by type. */
function perServerMetrics(summary: CycleSummary, durationMs: number): void {
  metrics.addMetric(METRICS.perServer.cycleSucceeded, MetricUnit.Count, 1);
  metrics.addMetric(METRICS.perServer.sessionsTracked, MetricUnit.Count, summary.sessionsTracked);
  metrics.addMetric(METRICS.perServer.eventsPublished, MetricUnit.Count, summary.eventsPublished);
  metrics.addMetric(METRICS.perServer.eventsPending, MetricUnit.Count, summary.eventsPending);
  // VB365 API failures: the whole cycle's (server unusable) plus those confined to one session or repository.
  metrics.addMetric(
    METRICS.perServer.apiErrors,
    MetricUnit.Count,
    summary.isolatedProblems + (['ok', 'busy', 'setup'].includes(summary.status) ? 0 : 1),
  );
  metrics.addMetric(METRICS.perServer.cycleDuration, MetricUnit.Milliseconds, durationMs);
  for (const [type, count] of Object.entries(summary.eventsByType)) {
    const single = metrics.singleMetric();
    single.addDimension(METRICS.dimensions.serverId, summary.serverId);
    single.addDimension(METRICS.dimensions.eventType, type);
    single.addMetric(METRICS.perServer.events, MetricUnit.Count, count ?? 0);
  }
}
