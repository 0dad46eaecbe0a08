import { describe, expect, it } from 'vitest';
import {
  type CfnTemplate,
  type CostInput,
  type CredentialsSetting,
  costOf,
  countTemplates,
  FREE_TIER,
  type Measured,
  PRICES,
  rateMinutes,
  type TemplateCounts,
} from '../../bench/cost.js';
import { fleetConfig, synthesize } from '../../bench/templates.js';
import { resolveConfig } from '../../lambda/config-schema.js';

/** Figures of the shape the benchmark measures. */
const MEASURED: Measured = {
  sessionsPerServer: 100,
  pollEveryMinutes: 5,
  pollCycleMs: 80,
  extraMsPerEvent: 50,
  readUnitsPerCycle: 10,
  writeUnitsPerCycle: 0.7,
  writeUnitsPerEvent: 4,
  writeUnitsPerSessionWrite: 1,
  partitionBytes: 40_000,
  fleetCheck: { fixedMs: 20, msPerServer: 0.5, fixedReadUnits: 1, readUnitsPerServer: 0.5 },
  log: { pollCycleBytes: 900, pollCycleEvents: 2, fleetCheckBytes: 600, fleetCheckEvents: 1, compression: 0.2 },
  initMs: 300,
  customMetrics: { fleet: { fixed: 1, perServer: 0 }, perServer: { fixed: 0, perServer: 6 } },
};

/** The counts of a default template polling `servers` servers, as countTemplates gives them. */
function template(servers: number, overrides: Partial<TemplateCounts> = {}): TemplateCounts {
  return {
    templates: 2,
    resources: {},
    maxResourcesPerTemplate: 30,
    alarms: 4,
    alarmMetrics: 4,
    perServerAlarms: 0,
    kmsKeys: 1,
    kmsKeysRotating: 1,
    secrets: 0,
    dashboards: 0,
    pollSchedules: { count: servers, invocationsPerMonth: servers * 8760, minutes: 5, windowMinutes: 2 },
    fleetCheckSchedules: { count: 1, invocationsPerMonth: 8760 },
    topics: 2,
    emailSubscriptions: 2,
    emailRecipients: 1,
    pollFunctions: { count: 1, memoryMb: 256, arm64: true },
    logGroups: { count: 1, retentionDays: 90 },
    tables: { count: 1, onDemand: true, pointInTimeRecovery: true },
    queues: 1,
    ...overrides,
  };
}

function cost(servers: number, options: Partial<CostInput> = {}) {
  return costOf({
    servers,
    credentials: 'ssmParameter',
    metrics: 'fleet',
    pollEveryMinutes: 5,
    template: template(servers),
    measured: MEASURED,
    freeTier: false,
    ...options,
  });
}

const item = (c: ReturnType<typeof costOf>, id: string) => {
  const found = c.items.find((i) => i.id === id);
  if (!found) throw new Error(`no item ${id}`);
  return found;
};

describe('countTemplates', () => {
  const alarm = (props: Record<string, unknown>) => ({ Type: 'AWS::CloudWatch::Alarm', Properties: props });
  const schedule = (expression: string, input: unknown) => ({
    Type: 'AWS::Scheduler::Schedule',
    Properties: { ScheduleExpression: expression, Target: { Input: JSON.stringify(input) } },
  });
  const main: CfnTemplate = {
    Resources: {
      Errors: alarm({ MetricName: 'Errors', Dimensions: [{ Name: 'FunctionName', Value: 'f' }] }),
      Math: alarm({
        Metrics: [
          { Id: 'a', MetricStat: { Metric: { MetricName: 'A' } } },
          { Id: 'b', MetricStat: { Metric: { MetricName: 'B', Dimensions: [{ Name: 'ServerId', Value: 's1' }] } } },
          { Id: 'e', Expression: 'a + b' },
        ],
      }),
      Key: { Type: 'AWS::KMS::Key', Properties: { EnableKeyRotation: true } },
      Check: schedule('rate(5 minutes)', { fleetCheck: true }),
      Mail1: { Type: 'AWS::SNS::Subscription', Properties: { Protocol: 'email', Endpoint: 'a@example.com' } },
      Mail2: { Type: 'AWS::SNS::Subscription', Properties: { Protocol: 'email', Endpoint: 'a@example.com' } },
      Fn: {
        Type: 'AWS::Lambda::Function',
        Properties: { Description: 'x poll: 2 servers', MemorySize: 256, Architectures: ['arm64'] },
      },
    },
  };
  const flexible = {
    Type: 'AWS::Scheduler::Schedule',
    Properties: {
      ...schedule('rate(5 minutes)', { serverId: 's1' }).Properties,
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 2 },
    },
  };
  const nested: CfnTemplate = {
    Resources: {
      P1: flexible,
      P2: schedule('rate(1 hour)', { serverId: 's2' }),
    },
  };

  it('counts alarms, their metrics and those with a ServerId dimension, across nested templates', () => {
    const counts = countTemplates([main, nested]);

    expect(counts).toMatchObject({
      templates: 2,
      alarms: 2,
      alarmMetrics: 3,
      perServerAlarms: 1,
      kmsKeys: 1,
      kmsKeysRotating: 1,
      emailSubscriptions: 2,
      emailRecipients: 1,
      pollFunctions: { count: 1, memoryMb: 256, arm64: true },
      maxResourcesPerTemplate: 7,
    });
    // The smallest flexible window of all (P2 has none).
    expect(counts.pollSchedules).toEqual({
      count: 2,
      invocationsPerMonth: 8760 + 730,
      minutes: Number.NaN,
      windowMinutes: 0,
    });
    expect(countTemplates([{ Resources: { P1: flexible } }]).pollSchedules.windowMinutes).toBe(2);
    expect(counts.fleetCheckSchedules).toEqual({ count: 1, invocationsPerMonth: 8760 });
  });

  it('refuses a schedule that is neither a poll nor the fleet check', () => {
    expect(() => countTemplates([{ Resources: { S: schedule('rate(5 minutes)', { other: 1 }) } }])).toThrow(
      /neither a poll nor the fleet check/,
    );
  });

  it.each([
    ['rate(1 minute)', 1],
    ['rate(5 minutes)', 5],
    ['rate(2 hours)', 120],
    ['rate(1 day)', 1440],
  ])('rateMinutes(%s) = %d', (expression, minutes) => {
    expect(rateMinutes(expression)).toBe(minutes);
  });

  it('refuses a cron expression', () => {
    expect(() => rateMinutes('cron(0 8 * * ? *)')).toThrow(/not a rate/);
  });
});

describe('costOf', () => {
  it.each([1, 4, 12])('each alarm metric counted from the template adds $0.10 a month (%d more)', (more) => {
    const base = cost(10);
    const withMore = cost(10, { template: template(10, { alarmMetrics: 4 + more }) });

    expect(withMore.listUsd - base.listUsd).toBeCloseTo(0.1 * more, 10);
  });

  it.each([
    ['perServerSecret', 10, 4],
    ['perServerSecret', 1000, 400],
    ['sharedSecret', 1000, 0.4],
    ['ssmParameter', 1000, 0],
  ] as [CredentialsSetting, number, number][])('%s: %d servers keep secrets for $%d a month', (credentials, n, usd) => {
    expect(item(cost(n, { credentials }), 'secrets').listUsd).toBeCloseTo(usd, 10);
  });

  it('per-server secrets add $0.40 a server and month, and a GetSecretValue per login', () => {
    const shared = cost(100, { credentials: 'sharedSecret' });
    const perServer = cost(100, { credentials: 'perServerSecret' });

    expect(item(perServer, 'secrets').listUsd - item(shared, 'secrets').listUsd).toBeCloseTo(0.4 * 99, 10);
    expect(item(perServer, 'secretsApi').quantity).toBeCloseTo(100 * perServer.basis.loginsPerServer, 6);
  });

  it('a flexible window on the poll schedules spreads the cycles: fewer containers, so fewer cold starts and logins', () => {
    const withWindow = (windowMinutes: number) =>
      cost(5000, {
        template: template(5000, {
          pollSchedules: { count: 5000, invocationsPerMonth: 5000 * 8760, minutes: 5, windowMinutes },
        }),
      });
    const none = withWindow(0);
    const two = withWindow(2);

    // 60 s of spread, then 180 s: a third of the containers while there are more than one.
    expect(two.basis.coldStarts).toBeCloseTo(none.basis.coldStarts / 3, 6);
    expect(two.basis.loginsPerServer).toBeCloseTo(none.basis.loginsPerServer / 3, 6);
    expect(two.listUsd).toBeLessThan(none.listUsd);
  });

  it('a dashboard counted from the template costs $3 a month, nothing within the three free ones', () => {
    const withDashboard = { template: template(1, { dashboards: 1 }) };

    expect(item(cost(1, withDashboard), 'dashboards').listUsd).toBe(3);
    expect(item(cost(1, { ...withDashboard, freeTier: true }), 'dashboards').usd).toBe(0);
  });

  it.each([1, 10, 1000])("metrics 'fleet': one custom metric for %d servers", (n) => {
    expect(item(cost(n), 'customMetrics').quantity).toBe(1);
  });

  it("metrics 'perServer': the measured metrics and one Events metric per event type, per server", () => {
    expect(item(cost(10, { metrics: 'perServer' }), 'customMetrics').quantity).toBe(10 * (6 + 2));
  });

  it('the Free Tier lowers only the items it names, by no more than their list price', () => {
    const list = cost(1000);
    const free = cost(1000, { freeTier: true });
    const covered = new Set(['scheduler', 'customMetrics', 'alarms', 'dashboards', 'logsIngested', 'logsStored']);
    for (const id of ['lambdaRequests', 'lambdaCompute', 'dynamoStorage', 'snsPublishes', 'snsEmails', 'kmsRequests'])
      covered.add(id);

    for (const [i, listed] of list.items.entries()) {
      const billed = free.items[i] as (typeof free.items)[number];
      expect(billed.usd).toBeGreaterThanOrEqual(0);
      expect(billed.usd).toBeLessThanOrEqual(listed.listUsd + 1e-12);
      if (!covered.has(listed.id)) expect([listed.id, billed.usd]).toEqual([listed.id, listed.listUsd]);
    }
    // One server stays within every allowance: only what has none is billed.
    const one = cost(1, { freeTier: true });
    for (const i of one.items) {
      if (covered.has(i.id)) expect([i.id, i.usd]).toEqual([i.id, 0]);
    }
    expect(item(one, 'kmsKey').usd).toBe(1);
  });

  it('a shared allowance is used once: logs ingested and stored share 5 GB', () => {
    const c = cost(1000, { freeTier: true });
    const free = item(c, 'logsIngested').free + item(c, 'logsStored').free;

    expect(free).toBeCloseTo(FREE_TIER.logs.amount, 10);
  });

  it('one more server costs cost(n + 1) − cost(n): the per-server items, never the fixed ones', () => {
    const [a, b] = [cost(10), cost(11)];
    const oneMore = b.listUsd - a.listUsd;

    expect(oneMore).toBeCloseTo(
      b.items.reduce((sum, i, k) => sum + i.listUsd - (a.items[k]?.listUsd ?? 0), 0),
      10,
    );
    for (const id of ['kmsKey', 'alarms', 'customMetrics', 'dashboards', 'sqs'])
      expect([id, item(b, id).listUsd]).toEqual([id, item(a, id).listUsd]);
    expect(item(b, 'scheduler').listUsd - item(a, 'scheduler').listUsd).toBeCloseTo(
      8760 * PRICES.schedulerInvocation.usd,
      10,
    );
    expect(oneMore).toBeGreaterThan(0);
  });

  it.each([
    [1, 1],
    [2, 2],
    [3, 3],
    [9, 3],
  ])('year %d: the rotating key costs $%d a month (the first two rotations add $1 each)', (year, usd) => {
    expect(item(cost(1, { year }), 'kmsKey').listUsd).toBe(usd);
  });

  it('refuses a template of another fleet size or interval', () => {
    expect(() => cost(10, { template: template(9) })).toThrow(/polls 9 servers, not 10/);
    expect(() => cost(10, { pollEveryMinutes: 10 })).toThrow(/measure at that interval/);
  });
});

describe('the templates of the shipped configuration', () => {
  it('have no per-server alarm and no dashboard; the fleet emits exactly one custom metric', () => {
    const counts = [1, 10].map((n) =>
      countTemplates(synthesize(fleetConfig(n, { credentials: 'ssmParameter' })).templates),
    );
    const [one, ten] = counts as [TemplateCounts, TemplateCounts];

    expect(one.perServerAlarms).toBe(0);
    expect(ten.alarms).toBe(one.alarms);
    expect(ten.alarmMetrics).toBe(one.alarmMetrics);
    expect(ten.dashboards).toBe(0);
    expect([one.kmsKeys, one.kmsKeysRotating]).toEqual([1, 1]);
    expect([ten.pollSchedules.count, ten.fleetCheckSchedules.count]).toEqual([10, 1]);
    // Ten servers add ten schedules and nothing else.
    const total = (c: TemplateCounts) => Object.values(c.resources).reduce((x, y) => x + y, 0);
    expect(total(ten) - total(one)).toBe(9);
    // The default is metrics 'fleet', charged as the one metric the EMF output defines (the benchmark measures it).
    expect(resolveConfig(fleetConfig(10, { credentials: 'ssmParameter' })).metrics).toBe('fleet');
    expect(item(cost(10, { template: ten }), 'customMetrics').quantity).toBe(1);
  }, 120_000);
});
