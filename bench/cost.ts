/*
 * The cost model of `npm run bench`: what a deployment costs a month, item by item, from us-east-1 list prices, the
 * resources of its synthesized templates (counted, not listed by hand), figures the benchmark measures, and a few
 * stated assumptions about the work a server gives. Pure: the benchmark and the tests feed it.
 */

/** AWS bills a month as 730 hours. */
export const HOURS_PER_MONTH = 730;
const MINUTES_PER_MONTH = HOURS_PER_MONTH * 60;
const DAYS_PER_MONTH = HOURS_PER_MONTH / 24;
const GB = 2 ** 30;

export const PRICES_AS_OF = 'November 2026';
export const PRICE_REGION = 'us-east-1';

const SOURCE = {
  kms: 'https://aws.amazon.com/kms/pricing/',
  cloudwatch: 'https://aws.amazon.com/cloudwatch/pricing/',
  lambda: 'https://aws.amazon.com/lambda/pricing/',
  dynamodb: 'https://aws.amazon.com/dynamodb/pricing/on-demand/',
  scheduler: 'https://aws.amazon.com/eventbridge/pricing/',
  sns: 'https://aws.amazon.com/sns/pricing/',
  secrets: 'https://aws.amazon.com/secrets-manager/pricing/',
  ssm: 'https://aws.amazon.com/systems-manager/pricing/',
  sqs: 'https://aws.amazon.com/sqs/pricing/',
  freeTier: 'https://aws.amazon.com/free/',
} as const;

export interface Price {
  readonly usd: number;
  readonly per: string;
  readonly source: string;
}

/** us-east-1 list prices ({@link PRICES_AS_OF}), one per billable unit the template gives rise to. */
export const PRICES = {
  kmsKey: {
    usd: 1,
    per: 'customer managed key and month (rotation: each of the first two rotations adds $1 a month, later ones nothing)',
    source: SOURCE.kms,
  },
  kmsRequest: { usd: 0.03 / 10_000, per: 'request', source: SOURCE.kms },
  alarmMetric: { usd: 0.1, per: 'standard-resolution alarm metric and month', source: SOURCE.cloudwatch },
  dashboard: { usd: 3, per: 'dashboard and month', source: SOURCE.cloudwatch },
  customMetric: { usd: 0.3, per: 'custom metric and month (first 10,000)', source: SOURCE.cloudwatch },
  logsIngested: { usd: 0.5, per: 'GB ingested (Standard log class)', source: SOURCE.cloudwatch },
  logsStored: { usd: 0.03, per: 'GB-month stored (compressed)', source: SOURCE.cloudwatch },
  lambdaRequest: { usd: 0.2 / 1e6, per: 'request', source: SOURCE.lambda },
  lambdaGbSecond: { usd: 0.0000133334, per: 'GB-second (arm64)', source: SOURCE.lambda },
  dynamoReadUnit: { usd: 0.125 / 1e6, per: 'read request unit (on-demand)', source: SOURCE.dynamodb },
  dynamoWriteUnit: { usd: 0.625 / 1e6, per: 'write request unit (on-demand)', source: SOURCE.dynamodb },
  dynamoStorage: { usd: 0.25, per: 'GB-month stored', source: SOURCE.dynamodb },
  dynamoPitr: { usd: 0.2, per: 'GB-month of point-in-time recovery', source: SOURCE.dynamodb },
  schedulerInvocation: { usd: 1 / 1e6, per: 'EventBridge Scheduler invocation', source: SOURCE.scheduler },
  snsRequest: { usd: 0.5 / 1e6, per: 'publish request (each message of a batch)', source: SOURCE.sns },
  snsEmail: { usd: 2 / 100_000, per: 'email delivery', source: SOURCE.sns },
  secret: { usd: 0.4, per: 'secret and month', source: SOURCE.secrets },
  secretsApiCall: { usd: 0.05 / 10_000, per: 'API call', source: SOURCE.secrets },
  ssmParameter: { usd: 0, per: 'standard parameter and month', source: SOURCE.ssm },
  ssmApiCall: { usd: 0, per: 'API call (standard throughput)', source: SOURCE.ssm },
  sqsRequest: { usd: 0.4 / 1e6, per: 'request', source: SOURCE.sqs },
} as const satisfies Record<string, Price>;
export type PriceId = keyof typeof PRICES;

/**
 * The AWS Free Tier allowances that apply, a month, shared by everything in the account (the model assumes the
 * monitor is alone in it). `logs` is one allowance for ingestion and storage together.
 */
export const FREE_TIER = {
  schedulerInvocation: { amount: 14e6, note: 'EventBridge Scheduler: 14 million invocations a month, first 12 months' },
  customMetric: { amount: 10, note: 'CloudWatch: 10 custom metrics' },
  alarmMetric: { amount: 10, note: 'CloudWatch: 10 alarm metrics' },
  dashboard: { amount: 3, note: 'CloudWatch: 3 dashboards' },
  logs: { amount: 5, note: 'CloudWatch Logs: 5 GB ingested and stored' },
  lambdaRequest: { amount: 1e6, note: 'Lambda: 1 million requests' },
  lambdaGbSecond: { amount: 400_000, note: 'Lambda: 400,000 GB-seconds' },
  dynamoStorage: { amount: 25, note: 'DynamoDB: 25 GB stored' },
  snsRequest: { amount: 1e6, note: 'SNS: 1 million publishes' },
  snsEmail: { amount: 1000, note: 'SNS: 1,000 email deliveries' },
  kmsRequest: { amount: 20_000, note: 'KMS: 20,000 requests' },
} as const;
type Allowance = keyof typeof FREE_TIER;

export const FREE_TIER_NOTES = [
  ...Object.values(FREE_TIER).map((f) => f.note),
  'Secrets Manager: a 30-day trial per secret, not a monthly allowance (not counted)',
  'the 12-month offers (Scheduler) belong to accounts opened before 15 July 2025; newer accounts get credits instead, the other allowances are always free',
];

/** A CloudFormation template as synthesized (JSON). */
export interface CfnTemplate {
  readonly Resources?: Readonly<Record<string, { readonly Type: string; readonly Properties?: unknown }>>;
}

/** What the synthesized templates (the stack and its nested stacks) deploy, as far as it is billed. */
export interface TemplateCounts {
  /** Templates: the stack and its nested stacks. */
  readonly templates: number;
  /** Resources by type, all templates together. */
  readonly resources: Readonly<Record<string, number>>;
  /** Largest number of resources in one template (CloudFormation allows 500). */
  readonly maxResourcesPerTemplate: number;
  readonly alarms: number;
  /** Metrics the alarms watch (billed per alarm metric). */
  readonly alarmMetrics: number;
  /** Alarms on a metric with a `ServerId` dimension (one per server would be per-server cost). */
  readonly perServerAlarms: number;
  readonly kmsKeys: number;
  readonly kmsKeysRotating: number;
  readonly secrets: number;
  readonly dashboards: number;
  /**
   * Schedules whose input names a server, their invocations a month, their interval, and their flexible time window
   * (minutes; 0 when off): each invocation runs at a random moment of the window.
   */
  readonly pollSchedules: {
    readonly count: number;
    readonly invocationsPerMonth: number;
    readonly minutes: number;
    readonly windowMinutes: number;
  };
  /** Schedules of the fleet check. */
  readonly fleetCheckSchedules: { readonly count: number; readonly invocationsPerMonth: number };
  readonly topics: number;
  readonly emailSubscriptions: number;
  /** Distinct email addresses subscribed. */
  readonly emailRecipients: number;
  /** The poll functions (the schedules' targets). */
  readonly pollFunctions: { readonly count: number; readonly memoryMb: number; readonly arm64: boolean };
  readonly logGroups: { readonly count: number; readonly retentionDays: number };
  readonly tables: { readonly count: number; readonly onDemand: boolean; readonly pointInTimeRecovery: boolean };
  readonly queues: number;
}

/** Minutes between two runs of a `rate(…)` schedule expression. */
export function rateMinutes(expression: string): number {
  const m = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!m) throw new Error(`cost model: schedule expression ${JSON.stringify(expression)} is not a rate(…)`);
  const unit = { minute: 1, minutes: 1, hour: 60, hours: 60, day: 1440, days: 1440 }[m[2] as string] as number;
  return Number(m[1]) * unit;
}

/** Counts what `templates` (a stack and its nested stacks) deploy and bill. */
export function countTemplates(templates: readonly CfnTemplate[]): TemplateCounts {
  const all = templates.flatMap((t) => Object.values(t.Resources ?? {}));
  const of = (type: string) => all.filter((r) => r.Type === type).map((r) => (r.Properties ?? {}) as Props);
  const resources: Record<string, number> = {};
  for (const r of all) resources[r.Type] = (resources[r.Type] ?? 0) + 1;

  const alarms = of('AWS::CloudWatch::Alarm');
  const metricsOf = (a: Props) =>
    Array.isArray(a.Metrics) ? (a.Metrics as Props[]).filter((q) => q.MetricStat !== undefined).length : 1;
  const dimensionsOf = (a: Props): Props[] => [
    ...((a.Dimensions as Props[] | undefined) ?? []),
    ...((a.Metrics as Props[] | undefined) ?? []).flatMap(
      (q) => (((q.MetricStat as Props | undefined)?.Metric as Props | undefined)?.Dimensions as Props[]) ?? [],
    ),
  ];

  const poll = { count: 0, invocationsPerMonth: 0, minutes: Number.NaN, windowMinutes: Number.NaN };
  const fleet = { count: 0, invocationsPerMonth: 0 };
  for (const s of of('AWS::Scheduler::Schedule')) {
    const minutes = rateMinutes(String(s.ScheduleExpression));
    const input = JSON.parse(String((s.Target as Props | undefined)?.Input ?? '{}')) as Record<string, unknown>;
    if (input.fleetCheck === true) {
      fleet.count += 1;
      fleet.invocationsPerMonth += MINUTES_PER_MONTH / minutes;
    } else if (typeof input.serverId === 'string') {
      poll.count += 1;
      poll.invocationsPerMonth += MINUTES_PER_MONTH / minutes;
      poll.minutes = Number.isNaN(poll.minutes) || poll.minutes === minutes ? minutes : Number.NaN;
      const window = s.FlexibleTimeWindow as { Mode?: string; MaximumWindowInMinutes?: number } | undefined;
      const windowMinutes = window?.Mode === 'FLEXIBLE' ? Number(window.MaximumWindowInMinutes) : 0;
      // The smallest window of all: the spread the model can count on.
      poll.windowMinutes = Number.isNaN(poll.windowMinutes)
        ? windowMinutes
        : Math.min(poll.windowMinutes, windowMinutes);
    } else
      throw new Error(
        `cost model: a schedule with input ${JSON.stringify(input)} is neither a poll nor the fleet check`,
      );
  }

  // No poll schedule: no window to count on.
  if (Number.isNaN(poll.windowMinutes)) poll.windowMinutes = 0;

  const functions = of('AWS::Lambda::Function').filter((f) => String(f.Description ?? '').includes(' poll'));
  const memory = new Set(functions.map((f) => Number(f.MemorySize ?? 128)));
  const logGroups = of('AWS::Logs::LogGroup');
  const tables = of('AWS::DynamoDB::Table');
  const keys = of('AWS::KMS::Key');
  const emails = of('AWS::SNS::Subscription').filter((s) => s.Protocol === 'email');
  return {
    templates: templates.length,
    resources,
    maxResourcesPerTemplate: Math.max(0, ...templates.map((t) => Object.keys(t.Resources ?? {}).length)),
    alarms: alarms.length,
    alarmMetrics: alarms.reduce((n, a) => n + metricsOf(a), 0),
    perServerAlarms: alarms.filter((a) => dimensionsOf(a).some((d) => d.Name === 'ServerId')).length,
    kmsKeys: keys.length,
    kmsKeysRotating: keys.filter((k) => k.EnableKeyRotation === true).length,
    secrets: of('AWS::SecretsManager::Secret').length,
    dashboards: of('AWS::CloudWatch::Dashboard').length,
    pollSchedules: poll,
    fleetCheckSchedules: fleet,
    topics: of('AWS::SNS::Topic').length,
    emailSubscriptions: emails.length,
    emailRecipients: new Set(emails.map((s) => JSON.stringify(s.Endpoint))).size,
    pollFunctions: {
      count: functions.length,
      memoryMb: Math.max(0, ...memory),
      arm64: functions.every((f) => JSON.stringify(f.Architectures) === '["arm64"]'),
    },
    logGroups: {
      count: logGroups.length,
      retentionDays: Math.max(0, ...logGroups.map((g) => Number(g.RetentionInDays ?? 3653))),
    },
    tables: {
      count: tables.length,
      onDemand: tables.every((t) => t.BillingMode === 'PAY_PER_REQUEST'),
      pointInTimeRecovery: tables.some(
        (t) =>
          (t.PointInTimeRecoverySpecification as Props | undefined)?.PointInTimeRecoveryEnabled === true ||
          (t.PointInTimeRecoverySpecification as Props | undefined)?.PointInTimeRecoveryEnabled === 'true',
      ),
    },
    queues: of('AWS::SQS::Queue').length,
  };
}
type Props = Record<string, unknown>;

/** What the benchmark measures (see bench/run.ts); the model scales it. */
export interface Measured {
  /** Sessions each server tracks in the measured cycles. */
  readonly sessionsPerServer: number;
  /** Interval of the measured hour of cycles (minutes). */
  readonly pollEveryMinutes: number;
  /** Wall time of a steady poll cycle (ms), median. */
  readonly pollCycleMs: number;
  /** What an event adds to its cycle's wall time (ms). */
  readonly extraMsPerEvent: number;
  /** Read and write request units per poll cycle, over a steady hour with the default policy. */
  readonly readUnitsPerCycle: number;
  readonly writeUnitsPerCycle: number;
  /** Write request units per event (commit and acknowledgement). */
  readonly writeUnitsPerEvent: number;
  /** Write request units of one session write. */
  readonly writeUnitsPerSessionWrite: number;
  /** Stored bytes of one server's partition. */
  readonly partitionBytes: number;
  /** A fleet check: wall time and read request units, as fixed + per server. */
  readonly fleetCheck: {
    readonly fixedMs: number;
    readonly msPerServer: number;
    readonly fixedReadUnits: number;
    readonly readUnitsPerServer: number;
  };
  /** What one invocation writes to its log (the function's own lines, without Lambda's START/END/REPORT). */
  readonly log: {
    readonly pollCycleBytes: number;
    readonly pollCycleEvents: number;
    readonly fleetCheckBytes: number;
    readonly fleetCheckEvents: number;
    /** Compressed size ÷ size (gzip), for storage. */
    readonly compression: number;
  };
  /** A cold start of the poll function (ms): module init and the credentials client its first login loads. */
  readonly initMs: number;
  /** Custom metrics the EMF output defines: fixed + per server, for each `metrics` setting. */
  readonly customMetrics: Readonly<Record<MetricsSetting, { readonly fixed: number; readonly perServer: number }>>;
}

/** What a server is assumed to give the monitor to do; every figure is said in the output. */
export interface Workload {
  readonly syncsPerServerPerDay: number;
  /** `sync.started` and `sync.completed`. */
  readonly eventsPerSync: number;
  /** Email deliveries per sync and recipient: `sync.completed`, not `sync.started` (as infra/monitor-config.ts). */
  readonly emailsPerSync: number;
  /** Session writes of a running sync whose progress moves (two hours at 5-minute intervals). */
  readonly progressWritesPerSync: number;
  /** Bytes of a finished sync kept for the digest, and for how long. */
  readonly historyBytesPerSync: number;
  readonly historyDays: number;
  /** Lambda's own time per invocation, billed (ms). */
  readonly lambdaOverheadMs: number;
  /** Lambda's START, END and REPORT lines of an invocation. */
  readonly platformLogBytes: number;
  readonly platformLogEvents: number;
  /** Bytes CloudWatch Logs counts per log event on top of its message. */
  readonly logEventOverheadBytes: number;
  /**
   * The poll schedules fire within this many seconds of each other each interval before their flexible time window
   * (read from the template) spreads them further.
   */
  readonly scheduleSpreadSeconds: number;
  /** KMS requests per SNS message on the encrypted topic (GenerateDataKey and Decrypt; an upper bound). */
  readonly kmsRequestsPerMessage: number;
  /** Reads of a shared secret per cold start (its 5-minute cache covers the logins of the first interval). */
  readonly sharedSecretReadsPerColdStart: number;
  /** `metrics: 'perServer'`: event types a server reports in a month (one `Events` metric each). */
  readonly eventTypesPerServer: number;
}

export const WORKLOAD: Workload = {
  syncsPerServerPerDay: 1,
  eventsPerSync: 2,
  emailsPerSync: 1,
  progressWritesPerSync: 24,
  historyBytesPerSync: 400,
  historyDays: 90,
  lambdaOverheadMs: 20,
  platformLogBytes: 270,
  platformLogEvents: 3,
  logEventOverheadBytes: 26,
  scheduleSpreadSeconds: 60,
  kmsRequestsPerMessage: 2,
  sharedSecretReadsPerColdStart: 2,
  eventTypesPerServer: 2,
};

export type CredentialsSetting = 'perServerSecret' | 'sharedSecret' | 'ssmParameter';
export type MetricsSetting = 'fleet' | 'perServer';

export interface CostInput {
  readonly servers: number;
  readonly credentials: CredentialsSetting;
  readonly metrics: MetricsSetting;
  /** Must match the template's schedules and the measured interval. */
  readonly pollEveryMinutes: number;
  /** Counted from the template synthesized for this configuration (dashboards, alarms, schedules, …). */
  readonly template: TemplateCounts;
  readonly measured: Measured;
  readonly workload?: Workload;
  /** Apply the Free Tier allowances ({@link FREE_TIER}). */
  readonly freeTier: boolean;
  /** Year of the deployment (key rotation adds $1 a month in year 2, $2 from year 3). @default 1 */
  readonly year?: number;
}

export interface CostItem {
  readonly id: string;
  readonly service: string;
  readonly what: string;
  readonly quantity: number;
  readonly unit: string;
  readonly price: PriceId;
  /** At list price. */
  readonly listUsd: number;
  /** Quantity the Free Tier covers (0 without it). */
  readonly free: number;
  /** Billed. */
  readonly usd: number;
}

export interface Cost {
  readonly items: readonly CostItem[];
  readonly listUsd: number;
  readonly usd: number;
  /** Derived quantities, for the output. */
  readonly basis: {
    readonly pollInvocations: number;
    readonly fleetCheckInvocations: number;
    readonly containers: number;
    readonly coldStarts: number;
    readonly loginsPerServer: number;
    readonly events: number;
  };
}

/** The monthly cost of a deployment, item by item. */
export function costOf(input: CostInput): Cost {
  const { servers: n, template: t, measured: m } = input;
  const w = input.workload ?? WORKLOAD;
  if (t.pollSchedules.count !== n) {
    throw new Error(`cost model: the template polls ${t.pollSchedules.count} servers, not ${n}`);
  }
  if (t.pollSchedules.minutes !== input.pollEveryMinutes || m.pollEveryMinutes !== input.pollEveryMinutes) {
    throw new Error(
      `cost model: measured at ${m.pollEveryMinutes} minutes, template at ${t.pollSchedules.minutes}, asked for ${input.pollEveryMinutes}: measure at that interval`,
    );
  }
  const memoryGb = t.pollFunctions.memoryMb / 1024;
  const pollInvocations = t.pollSchedules.invocationsPerMonth;
  const fleetInvocations = t.fleetCheckSchedules.invocationsPerMonth;
  const syncs = n * w.syncsPerServerPerDay * DAYS_PER_MONTH;
  const events = syncs * w.eventsPerSync;
  const emails = syncs * w.emailsPerSync * t.emailRecipients;

  // Lambda keeps about as many warm containers of a poll function as its cycles run at once while the schedules
  // fire, each replaced about once an hour: a cold start (init billed) and, in the new container, a login to each
  // server it polls.
  const functions = Math.max(1, t.pollFunctions.count);
  const busySeconds = (n * (m.pollCycleMs + w.lambdaOverheadMs)) / 1000 / functions;
  const spreadSeconds = w.scheduleSpreadSeconds + t.pollSchedules.windowMinutes * 60;
  const containersPerFunction = Math.max(1, busySeconds / spreadSeconds);
  const containers = containersPerFunction * functions;
  const coldStarts = HOURS_PER_MONTH * containers;
  const loginsPerServer = HOURS_PER_MONTH * containersPerFunction;

  const fleetMs = m.fleetCheck.fixedMs + m.fleetCheck.msPerServer * n;
  const fleetReadUnits = m.fleetCheck.fixedReadUnits + m.fleetCheck.readUnitsPerServer * n;
  const gbSeconds =
    (pollInvocations * (m.pollCycleMs + w.lambdaOverheadMs) +
      events * m.extraMsPerEvent +
      fleetInvocations * (fleetMs + w.lambdaOverheadMs) +
      coldStarts * m.initMs) *
    (memoryGb / 1000);

  const logEvent = (bytes: number, lines: number) =>
    bytes + w.platformLogBytes + (lines + w.platformLogEvents) * w.logEventOverheadBytes;
  const logGb =
    (pollInvocations * logEvent(m.log.pollCycleBytes, m.log.pollCycleEvents) +
      fleetInvocations * logEvent(m.log.fleetCheckBytes, m.log.fleetCheckEvents)) /
    GB;
  // Steady state: the log group holds `retentionDays` of logs.
  const storedMonths = t.logGroups.retentionDays / (365 / 12);

  const storageGb = (n * (m.partitionBytes + w.syncsPerServerPerDay * w.historyDays * w.historyBytesPerSync)) / GB;

  const metricsOf = m.customMetrics[input.metrics];
  const customMetrics =
    metricsOf.fixed + metricsOf.perServer * n + (input.metrics === 'perServer' ? w.eventTypesPerServer * n : 0);

  const secretCount = { perServerSecret: n, sharedSecret: 1, ssmParameter: 0 }[input.credentials];
  const secretCalls = {
    perServerSecret: n * loginsPerServer,
    sharedSecret: coldStarts * w.sharedSecretReadsPerColdStart,
    ssmParameter: 0,
  }[input.credentials];
  const parameterCalls = input.credentials === 'ssmParameter' ? n * loginsPerServer : 0;
  const snsMessages = events;
  // SecureString parameters are decrypted with the account's aws/ssm key: a KMS request per read.
  const kmsRequests = snsMessages * w.kmsRequestsPerMessage + parameterCalls;
  const year = input.year ?? 1;
  const rotatedVersions = t.kmsKeysRotating * Math.min(2, Math.max(0, year - 1));

  const rows: Omit<CostItem, 'listUsd' | 'free' | 'usd'>[] = [
    {
      id: 'kmsKey',
      service: 'KMS',
      what: `key with rotation (year ${year})`,
      quantity: t.kmsKeys + rotatedVersions,
      unit: 'key-months',
      price: 'kmsKey',
    },
    {
      id: 'kmsRequests',
      service: 'KMS',
      what: 'requests: SNS encryption, SecureString reads',
      quantity: kmsRequests,
      unit: 'requests',
      price: 'kmsRequest',
    },
    {
      id: 'alarms',
      service: 'CloudWatch',
      what: `alarms (${t.alarms}, ${t.perServerAlarms === 0 ? 'none per server' : `${t.perServerAlarms} on a server's metrics`})`,
      quantity: t.alarmMetrics,
      unit: 'alarm metrics',
      price: 'alarmMetric',
    },
    {
      id: 'dashboards',
      service: 'CloudWatch',
      what: 'dashboards',
      quantity: t.dashboards,
      unit: 'dashboards',
      price: 'dashboard',
    },
    {
      id: 'customMetrics',
      service: 'CloudWatch',
      what: `custom metrics (${input.metrics})`,
      quantity: customMetrics,
      unit: 'metrics',
      price: 'customMetric',
    },
    {
      id: 'logsIngested',
      service: 'CloudWatch Logs',
      what: 'log ingestion',
      quantity: logGb,
      unit: 'GB',
      price: 'logsIngested',
    },
    {
      id: 'logsStored',
      service: 'CloudWatch Logs',
      what: `log storage (${t.logGroups.retentionDays} days)`,
      quantity: logGb * m.log.compression * storedMonths,
      unit: 'GB-months',
      price: 'logsStored',
    },
    {
      id: 'lambdaRequests',
      service: 'Lambda',
      what: 'requests (polls and fleet checks)',
      quantity: pollInvocations + fleetInvocations,
      unit: 'requests',
      price: 'lambdaRequest',
    },
    {
      id: 'lambdaCompute',
      service: 'Lambda',
      what: `compute (${t.pollFunctions.memoryMb} MB ${t.pollFunctions.arm64 ? 'arm64' : 'x86'}, init included)`,
      quantity: gbSeconds,
      unit: 'GB-seconds',
      price: 'lambdaGbSecond',
    },
    {
      id: 'dynamoReads',
      service: 'DynamoDB',
      what: 'reads (cycles, fleet checks)',
      quantity: pollInvocations * m.readUnitsPerCycle + fleetInvocations * fleetReadUnits,
      unit: 'read units',
      price: 'dynamoReadUnit',
    },
    {
      id: 'dynamoWrites',
      service: 'DynamoDB',
      what: 'writes (heartbeat, detector, events, progress)',
      quantity:
        pollInvocations * m.writeUnitsPerCycle +
        events * m.writeUnitsPerEvent +
        syncs * w.progressWritesPerSync * m.writeUnitsPerSessionWrite,
      unit: 'write units',
      price: 'dynamoWriteUnit',
    },
    {
      id: 'dynamoStorage',
      service: 'DynamoDB',
      what: 'storage',
      quantity: storageGb,
      unit: 'GB-months',
      price: 'dynamoStorage',
    },
    {
      id: 'dynamoPitr',
      service: 'DynamoDB',
      what: 'point-in-time recovery',
      quantity: t.tables.pointInTimeRecovery ? storageGb : 0,
      unit: 'GB-months',
      price: 'dynamoPitr',
    },
    {
      id: 'scheduler',
      service: 'EventBridge Scheduler',
      what: `invocations (${t.pollSchedules.count + t.fleetCheckSchedules.count} schedules)`,
      quantity: pollInvocations + fleetInvocations,
      unit: 'invocations',
      price: 'schedulerInvocation',
    },
    {
      id: 'snsPublishes',
      service: 'SNS',
      what: `publishes (${t.topics} topics)`,
      quantity: snsMessages,
      unit: 'requests',
      price: 'snsRequest',
    },
    { id: 'snsEmails', service: 'SNS', what: 'email deliveries', quantity: emails, unit: 'emails', price: 'snsEmail' },
    {
      id: 'secrets',
      service: 'Secrets Manager',
      what: 'secrets',
      quantity: secretCount,
      unit: 'secret-months',
      price: 'secret',
    },
    {
      id: 'secretsApi',
      service: 'Secrets Manager',
      what: 'GetSecretValue (at login only)',
      quantity: secretCalls,
      unit: 'calls',
      price: 'secretsApiCall',
    },
    {
      id: 'ssmParameters',
      service: 'SSM Parameter Store',
      what: 'SecureString parameters (standard)',
      quantity: input.credentials === 'ssmParameter' ? n : 0,
      unit: 'parameter-months',
      price: 'ssmParameter',
    },
    {
      id: 'ssmApi',
      service: 'SSM Parameter Store',
      what: 'GetParameter (at login only)',
      quantity: parameterCalls,
      unit: 'calls',
      price: 'ssmApiCall',
    },
    {
      id: 'sqs',
      service: 'SQS',
      what: `dead-letter queue (${t.queues}; empty while polls are delivered)`,
      quantity: 0,
      unit: 'requests',
      price: 'sqsRequest',
    },
  ];

  const allowanceOf: Partial<Record<PriceId, Allowance>> = {
    schedulerInvocation: 'schedulerInvocation',
    customMetric: 'customMetric',
    alarmMetric: 'alarmMetric',
    dashboard: 'dashboard',
    logsIngested: 'logs',
    logsStored: 'logs',
    lambdaRequest: 'lambdaRequest',
    lambdaGbSecond: 'lambdaGbSecond',
    dynamoStorage: 'dynamoStorage',
    snsRequest: 'snsRequest',
    snsEmail: 'snsEmail',
    kmsRequest: 'kmsRequest',
  };
  const left = new Map<Allowance, number>(
    Object.entries(FREE_TIER).map(([k, v]) => [k as Allowance, input.freeTier ? v.amount : 0]),
  );
  const items = rows.map((r): CostItem => {
    const allowance = allowanceOf[r.price];
    const free = allowance === undefined ? 0 : Math.min(r.quantity, left.get(allowance) ?? 0);
    if (allowance !== undefined) left.set(allowance, (left.get(allowance) ?? 0) - free);
    const price = PRICES[r.price].usd;
    return { ...r, listUsd: r.quantity * price, free, usd: (r.quantity - free) * price };
  });
  return {
    items,
    listUsd: sum(items.map((i) => i.listUsd)),
    usd: sum(items.map((i) => i.usd)),
    basis: {
      pollInvocations,
      fleetCheckInvocations: fleetInvocations,
      containers,
      coldStarts,
      loginsPerServer,
      events,
    },
  };
}

function sum(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** The assumptions behind {@link costOf}, in words, for the output. */
export function assumptionsOf(m: Measured, w: Workload = WORKLOAD): string[] {
  return [
    `each server tracks ${m.sessionsPerServer} sessions and runs ${w.syncsPerServerPerDay} repository sync${w.syncsPerServerPerDay === 1 ? '' : 's'} a day (a sync repairs an out-of-sync repository: a generous figure), ${w.eventsPerSync} events each (sync.started, sync.completed), ${w.emailsPerSync} email each to each recipient (sync.completed, as the shipped configuration filters); a sync's progress moves for ${w.progressWritesPerSync} cycles (a session write each); ${w.historyBytesPerSync} bytes of digest history per sync, kept ${w.historyDays} days`,
    `Lambda bills ${w.lambdaOverheadMs} ms of its own per invocation and the measured init per cold start; the poll schedules fire within ${w.scheduleSpreadSeconds} s of each other plus their flexible time window (each cycle runs at a random moment of it; the template's window), so Lambda keeps max(1, servers × cycle ÷ (${w.scheduleSpreadSeconds} s + the window)) containers, each replaced once an hour: a cold start, and a login (credentials read) per server it polls; a warm container keeps its tokens`,
    `logs: the function's own lines as measured, plus ${w.platformLogBytes} bytes of START/END/REPORT per invocation and ${w.logEventOverheadBytes} bytes per log event; stored compressed as gzip compresses them`,
    `KMS: ${w.kmsRequestsPerMessage} requests per SNS message (an upper bound: SNS may reuse data keys) and one per SecureString read (the aws/ssm key); a shared secret is read ${w.sharedSecretReadsPerColdStart} times per cold start`,
    `metrics: 'perServer' adds ${w.eventTypesPerServer} Events metrics per server (one per event type seen in the month)`,
    'the monitor is alone in its account (Free Tier allowances are per account); the dead-letter queue stays empty; alarms and dashboards are not viewed through the API',
  ];
}
