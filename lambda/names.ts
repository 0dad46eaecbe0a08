/*
 * Names the deployment (infra/) and the Lambdas must agree on, in one place: the environment variables, the custom
 * metrics and the state table's keys. Both sides import them from here, so renaming one renames it on both sides; a
 * name spelled out on one side only would, say, leave a dashboard or an alarm reading a metric nobody emits while
 * every test passed. Plain constants: importing this module loads nothing else.
 */

/**
 * Environment variables the poll Lambda reads; the construct sets them. They hold names and ARNs only: the
 * configuration (servers, CA bundles, policy) is a file in the function's code, read once at start.
 */
export const ENV = {
  tableName: 'TABLE_NAME',
  topicArn: 'TOPIC_ARN',
  /** The configuration file, relative to the working directory (the function's code) or absolute. */
  configFile: 'CONFIG_FILE',
} as const;

/** Development only, never set by the deployment: `true` lets a server URL use plain http to a loopback address. */
export const ALLOW_HTTP_LOOPBACK = 'ALLOW_HTTP_LOOPBACK';

/** Environment variable names the deliverer Lambda reads. */
export const DELIVERER_ENV = {
  tableName: 'TABLE_NAME',
  /** JSON array of chat/webhook channels (see `Channel`). */
  channels: 'CHANNELS',
  /**
   * Optional: PEM CA certificates trusted for webhook receivers in addition to Node's bundled roots (a self-hosted
   * receiver with an internal CA). The deployment does not set it; local runs and tests do.
   */
  deliveryCaBundle: 'DELIVERY_CA_BUNDLE',
  /**
   * Optional, local runs and tests only (the deployment never sets it): the Slack Web API's base URL, e.g. a loopback
   * stand-in's `https://127.0.0.1:PORT/api/`. @default https://slack.com/api/
   */
  slackApiUrl: 'SLACK_API_URL',
  /**
   * Optional, local runs and tests only (the deployment never sets it): the PagerDuty Events API v2 endpoint.
   * @default https://events.pagerduty.com/v2/enqueue
   */
  pagerDutyEventsUrl: 'PAGERDUTY_EVENTS_URL',
} as const;

/** Environment variables the construct sets for Node and Powertools (they read them, this code does not). */
export const RUNTIME_ENV = {
  nodeOptions: 'NODE_OPTIONS',
  serviceName: 'POWERTOOLS_SERVICE_NAME',
  metricsNamespace: 'POWERTOOLS_METRICS_NAMESPACE',
} as const;

/** The Lambdas' service names: in their logs, and (the poll Lambda's) as the `service` dimension of its metrics. */
export const SERVICE_NAMES = {
  poll: 'vb365-sync-monitor',
  deliverer: 'vb365-sync-monitor-deliverer',
} as const;

/** CloudWatch metrics the poll Lambda emits and the construct's alarms and dashboard read. */
export const METRICS = {
  namespace: 'VB365SyncMonitor',
  /** The value of the `service` dimension, which Powertools adds to every metric. */
  service: SERVICE_NAMES.poll,
  /** Dimension names. */
  dimensions: {
    /** Added by Powertools to every metric, valued {@link METRICS.service}. */
    service: 'service',
    /** `metrics: 'perServer'` only. */
    serverId: 'ServerId',
    /** `Events` only. */
    eventType: 'EventType',
  },
  /** `metrics: 'fleet'` (the default): 1 per cycle whose server could be read, else 0; no per-server dimension. */
  fleet: 'ServerUsable',
  /** `metrics: 'perServer'`: dimensions `service` and `ServerId` (`Events` also `EventType`). */
  perServer: {
    cycleSucceeded: 'CycleSucceeded',
    sessionsTracked: 'SessionsTracked',
    eventsPublished: 'EventsPublished',
    eventsPending: 'EventsPending',
    apiErrors: 'ApiErrors',
    cycleDuration: 'CycleDuration',
    events: 'Events',
  },
} as const;

/** The state table's key and TTL attribute names: the construct and the local engines create the table with them. */
export const TABLE_SCHEMA = {
  partitionKey: 'pk',
  sortKey: 'sk',
  ttlAttribute: 'expiresAt',
} as const;

/** Name of the configuration file the deployment puts beside the poll Lambda's code. */
export const CONFIG_FILE_NAME = 'monitor-config.json';

/**
 * Username the deployment writes into a credentials secret it creates (`credentials: { create: true }`): until someone
 * stores a real account, the monitor says once what to do (`server.setup_required`) instead of trying to log in.
 */
export const CREDENTIALS_PLACEHOLDER_USERNAME = 'CHANGE-ME';
