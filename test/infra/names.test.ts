import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { describe, expect, it } from 'vitest';
import { MonitorStack } from '../../infra/monitor-stack.js';
import type { MonitorConfig } from '../../lambda/config-schema.js';
import { DELIVERER_ENV, ENV, METRICS, RUNTIME_ENV, TABLE_SCHEMA } from '../../lambda/names.js';

const ROOT = join(import.meta.dirname, '../..');

const config: MonitorConfig = {
  servers: [
    { id: 'a', url: 'https://a.example.local:4443', credentials: { secretName: 'vb365/a' } },
    {
      id: 'b',
      url: 'https://b.example.local:4443',
      credentials: { secretName: 'vb365/b' },
      vpc: {
        vpcId: 'vpc-0123456789abcdef0',
        subnetIds: ['subnet-0123456789abcdef0'],
        availabilityZones: ['eu-west-1a'],
      },
    },
  ],
  notifications: { emails: [{ address: 'ops@example.com' }], slackWebhookSecrets: ['vb365/slack'] },
  dashboard: true,
};

/** A synth imports and runs much of aws-cdk-lib: the first one, on a busy 2-core machine, takes its time. */
const SYNTH_TIMEOUT = 120_000;

const synthed = new Map<'fleet' | 'perServer', Template>();

/** The stack with `metrics` of that kind, synthesized once. */
function synth(metrics: 'fleet' | 'perServer'): Template {
  const cached = synthed.get(metrics);
  if (cached) return cached;
  const app = new App({ outdir: mkdtempSync(join(tmpdir(), 'cdk-')), context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new MonitorStack(app, 'NamesTest', {
    config: { ...config, metrics },
    env: { account: '123456789012', region: 'eu-west-1' },
  });
  const template = Template.fromStack(stack);
  synthed.set(metrics, template);
  return template;
}

/** A CloudFormation string value with its tokens as `<token>`. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join) return join[1].map(text).join(join[0]);
  return '<token>';
}

interface MetricRef {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: readonly string[];
}

/** Every metric the template's alarms and dashboard read, searches included. */
function metricsRead(template: Template): MetricRef[] {
  const refs: MetricRef[] = [];
  for (const alarm of Object.values(template.findResources('AWS::CloudWatch::Alarm'))) {
    const p = alarm.Properties as {
      Namespace?: string;
      MetricName?: string;
      Dimensions?: { Name: string }[];
      Metrics?: {
        MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions?: { Name: string }[] } };
      }[];
    };
    if (p.MetricName !== undefined) {
      refs.push({
        namespace: p.Namespace ?? '',
        name: p.MetricName,
        dimensions: (p.Dimensions ?? []).map((d) => d.Name),
      });
    }
    for (const m of p.Metrics ?? []) {
      if (m.MetricStat === undefined) continue;
      const { Namespace, MetricName, Dimensions } = m.MetricStat.Metric;
      refs.push({ namespace: Namespace, name: MetricName, dimensions: (Dimensions ?? []).map((d) => d.Name) });
    }
  }
  for (const dashboard of Object.values(template.findResources('AWS::CloudWatch::Dashboard'))) {
    const body = JSON.parse(text((dashboard.Properties as { DashboardBody: unknown }).DashboardBody)) as {
      widgets: { properties: { metrics?: (string | { expression?: string })[][] } }[];
    };
    for (const metric of body.widgets.flatMap((w) => w.properties.metrics ?? [])) {
      const search = metric.find((x): x is { expression: string } => typeof x === 'object' && !!x.expression);
      if (search) {
        const [, schema = '', name = ''] = /SEARCH\('\{([^}]*)\} MetricName="([^"]+)"/.exec(search.expression) ?? [];
        const [namespace = '', ...dimensions] = schema.split(',');
        refs.push({ namespace, name, dimensions });
        continue;
      }
      // [namespace, name, dimension, value, dimension, value, …, { options }]
      const [namespace = '', name = '', ...rest] = metric.filter((x): x is string => typeof x === 'string');
      refs.push({ namespace, name, dimensions: rest.filter((_, i) => i % 2 === 0) });
    }
  }
  return refs;
}

/** The relative modules `file` imports or re-exports (type-only imports too), as absolute paths of .ts files. */
function importsOf(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  const specifiers = [
    ...source.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s*'([^']+)'/g),
    ...source.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g),
  ].map((m) => m[1] as string);
  return specifiers.filter((s) => s.startsWith('.')).map((s) => resolve(dirname(file), s.replace(/\.js$/, '.ts')));
}

describe('names shared by the construct and the Lambdas', () => {
  it.each([
    ['fleet', [METRICS.fleet]],
    ['perServer', Object.values(METRICS.perServer)],
  ] as const)(
    'has alarms and a dashboard that read only metrics the poll Lambda emits (metrics: %s)',
    (mode, emitted) => {
      const custom = metricsRead(synth(mode)).filter((m) => !m.namespace.startsWith('AWS/'));

      expect(custom.length).toBeGreaterThan(0);
      for (const metric of custom) {
        expect(metric.namespace).toBe(METRICS.namespace);
        expect(emitted).toContain(metric.name);
        for (const dimension of metric.dimensions) expect(Object.values(METRICS.dimensions)).toContain(dimension);
      }
    },
    SYNTH_TIMEOUT,
  );

  it(
    'creates the table with the key and TTL attribute names of TABLE_SCHEMA',
    () => {
      const template = synth('fleet');

      template.hasResourceProperties('AWS::DynamoDB::Table', {
        KeySchema: [
          { AttributeName: TABLE_SCHEMA.partitionKey, KeyType: 'HASH' },
          { AttributeName: TABLE_SCHEMA.sortKey, KeyType: 'RANGE' },
        ],
        TimeToLiveSpecification: { AttributeName: TABLE_SCHEMA.ttlAttribute, Enabled: true },
      });
    },
    SYNTH_TIMEOUT,
  );

  it(
    'sets every function only environment variables named in ENV, DELIVERER_ENV and RUNTIME_ENV',
    () => {
      const functions = Object.values(synth('fleet').findResources('AWS::Lambda::Function'));
      const named = new Set<string>([
        ...Object.values(ENV),
        ...Object.values(DELIVERER_ENV),
        ...Object.values(RUNTIME_ENV),
      ]);

      expect(functions).toHaveLength(3);
      for (const fn of functions) {
        for (const name of Object.keys(fn.Properties.Environment.Variables)) expect(named).toContain(name);
      }
    },
    SYNTH_TIMEOUT,
  );

  it('builds the construct without loading any adapter of the Lambdas, directly or through another module', () => {
    const seen = new Set<string>();
    const pending = readdirSync(join(ROOT, 'infra'), { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.ts'))
      .map((f) => join(ROOT, 'infra', f));
    while (pending.length > 0) {
      const file = pending.pop() as string;
      if (seen.has(file)) continue;
      seen.add(file);
      pending.push(...importsOf(file));
    }
    const loaded = [...seen].map((f) => relative(ROOT, f));

    expect(loaded).toContain('lambda/names.ts');
    expect(loaded.filter((f) => f.startsWith('lambda/adapters/'))).toEqual([]);
  });
});
