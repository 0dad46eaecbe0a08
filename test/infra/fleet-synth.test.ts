import { generateKeyPairSync, randomBytes, sign, X509Certificate } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MonitorStack } from '../../infra/monitor-stack.js';
import { SCHEDULES_PER_STACK } from '../../infra/parts/poll.js';
import { MAX_SERVERS, type MonitorConfig, resolveConfig } from '../../lambda/config-schema.js';
import { CONFIG_FILE_NAME, ENV } from '../../lambda/names.js';

/*
 * The largest deployment: MAX_SERVERS servers, each with its own self-signed CA file, synthesized with cdk-nag as
 * `npx cdk synth` does (without bundling: the poll code does not depend on the fleet).
 */

const env = { account: '123456789012', region: 'eu-west-1' };
const ids = Array.from({ length: MAX_SERVERS }, (_, i) => `vb365-${String(i + 1).padStart(4, '0')}`);
/** The last 100 servers are in a VPC (their own poll function); every third reads an SSM parameter. */
const IN_VPC = MAX_SERVERS - 100;
const indexOf = new Map(ids.map((id, i) => [id, i]));

/** The fleet of `serverIds`, each with its CA file in `certs`. */
function fleet(serverIds: readonly string[], certs: string): MonitorConfig {
  return {
    credentials: { sharedSecretName: 'vb365/fleet' },
    servers: serverIds.map((id) => ({
      id,
      url: `https://${id}.customers.example:4443`,
      caBundleFile: caFile(certs, id),
      ...((indexOf.get(id) ?? 0) % 3 === 0 ? { credentials: { parameterName: `/vb365/fleet/${id}` } } : {}),
      ...((indexOf.get(id) ?? 0) >= IN_VPC
        ? {
            vpc: {
              vpcId: 'vpc-0123456789abcdef0',
              subnetIds: ['subnet-0aaaaaaaaaaaaaaaa'],
              availabilityZones: ['eu-west-1a'],
            },
          }
        : {}),
    })),
  };
}

interface CfnTemplate {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; Metadata?: Record<string, string> }>;
}

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs) rmSync(dir, { recursive: true, force: true });
});

function synth(serverIds: readonly string[], certs: string, nag: boolean) {
  const outdir = mkdtempSync(join(tmpdir(), 'cdk-fleet-'));
  outdirs.push(outdir);
  const app = new App({
    outdir,
    context: { 'aws:cdk:bundling-stacks': [], 'aws:cdk:enable-asset-metadata': true },
  });
  const stack = new MonitorStack(app, 'Fleet', { config: fleet(serverIds, certs), env });
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
  // Every template as CloudFormation receives it: the parent's and each nested stack's file.
  const templates = readdirSync(outdir)
    .filter((f) => f.endsWith('.template.json'))
    .map((f) => {
      const body = readFileSync(join(outdir, f), 'utf8');
      return { file: f, bytes: Buffer.byteLength(body), template: JSON.parse(body) as CfnTemplate };
    });
  return { outdir, stack, templates };
}

describe(`a fleet of ${MAX_SERVERS} servers, each with its own CA`, () => {
  let certs: string;
  let synthed: ReturnType<typeof synth>;
  let resources: CfnTemplate['Resources'][string][];
  const ofType = (type: string) => resources.filter((r) => r.Type === type);
  const parent = () => synthed.templates.find((t) => t.file === 'Fleet.template.json')?.template as CfnTemplate;

  beforeAll(() => {
    certs = caFiles(ids);
    const started = performance.now();
    synthed = synth(ids, certs, true);
    const synthMs = performance.now() - started;
    resources = synthed.templates.flatMap((t) => Object.values(t.template.Resources));
    console.log(
      [
        `fleet synth: ${MAX_SERVERS} servers, cdk-nag included, ${(synthMs / 1000).toFixed(1)} s`,
        ...synthed.templates.map(
          (t) =>
            `  ${t.file}: ${Object.keys(t.template.Resources).length} resources, ${(t.bytes / 1024).toFixed(0)} KiB`,
        ),
      ].join('\n'),
    );
  }, 120_000);

  it('synthesizes with cdk-nag clean, every template within 500 resources and 1 MB', () => {
    // The synth above throws while any cdk-nag finding is unacknowledged, in the parent or a nested stack.
    expect(synthed.templates).toHaveLength(1 + Math.ceil(MAX_SERVERS / SCHEDULES_PER_STACK));
    for (const t of synthed.templates) {
      expect(Object.keys(t.template.Resources).length, t.file).toBeLessThanOrEqual(500);
      expect(t.bytes, t.file).toBeLessThan(1_000_000);
    }
  });

  it('schedules every server once, plus the fleet check', () => {
    const inputs = ofType('AWS::Scheduler::Schedule').map(
      (r) => (r.Properties as { Target: { Input: string } }).Target.Input,
    );

    expect(inputs).toHaveLength(MAX_SERVERS + 1);
    expect(new Set(inputs)).toEqual(
      new Set([
        ...ids.map((id) => JSON.stringify({ serverId: id, scheduledTime: '<aws.scheduler.scheduled-time>' })),
        JSON.stringify({ fleetCheck: true }),
      ]),
    );
  });

  it('adds one resource per server, its schedule (and a nested stack per 200 of them)', { timeout: 60_000 }, () => {
    const small = synth(
      ids.filter((_, i) => i === 0 || i === IN_VPC),
      certs,
      false,
    ).templates.flatMap((t) => Object.values(t.template.Resources));
    const countBy = (rs: typeof resources) => {
      const counts: Record<string, number> = {};
      for (const r of rs) counts[r.Type] = (counts[r.Type] ?? 0) + 1;
      return counts;
    };
    const growth = Object.fromEntries(
      Object.entries(countBy(resources))
        .map(([type, n]) => [type, n - (countBy(small)[type] ?? 0)])
        .filter(([, n]) => n !== 0),
    );
    console.log(
      `fleet synth: ${resources.length} resources for ${MAX_SERVERS} servers, ${small.length} for 2: ${((resources.length - small.length) / (MAX_SERVERS - 2)).toFixed(3)} per server`,
    );

    expect(growth).toEqual({
      'AWS::Scheduler::Schedule': MAX_SERVERS - 2,
      'AWS::CloudFormation::Stack': Math.ceil(MAX_SERVERS / SCHEDULES_PER_STACK) - 1,
    });
  });

  it('carries every CA bundle in the configuration file of each poll function, none in the environment', () => {
    const functions = Object.values(parent().Resources)
      .filter((r) => r.Type === 'AWS::Lambda::Function')
      .map(
        (r) => r as unknown as { Metadata: Record<string, string>; Properties: { Environment: { Variables: object } } },
      );

    expect(functions).toHaveLength(2);
    for (const fn of functions) {
      const file = readFileSync(
        join(synthed.outdir, fn.Metadata['aws:asset:path'] as string, CONFIG_FILE_NAME),
        'utf8',
      );
      const config = resolveConfig(JSON.parse(file));
      expect(config.servers.map((s) => s.id)).toEqual(ids);
      expect(config.servers.map((s) => s.caBundle)).toEqual(ids.map((id) => readFileSync(caFile(certs, id), 'utf8')));
      expect(Object.keys(fn.Properties.Environment.Variables).sort()).toEqual(
        [ENV.tableName, ENV.topicArn, 'NODE_OPTIONS', 'POWERTOOLS_METRICS_NAMESPACE', 'POWERTOOLS_SERVICE_NAME'].sort(),
      );
      expect(JSON.stringify(fn.Properties.Environment.Variables)).not.toMatch(/vb365-\d{4}|customers|CERTIFICATE/);
    }
    expect(synthed.stack.monitor.runtimeConfig.length).toBeGreaterThan(MAX_SERVERS * 400);
  });

  it('grants the fleet credentials on the shared secret and the parameters path, not one by one', () => {
    const template = Template.fromJSON(parent());
    const reads = Object.values(template.findResources('AWS::IAM::Policy'))
      .flatMap(
        (p) =>
          (p.Properties as { PolicyDocument: { Statement: { Action: string; Resource: unknown }[] } }).PolicyDocument
            .Statement,
      )
      .filter((s) => s.Action === 'secretsmanager:GetSecretValue' || s.Action === 'ssm:GetParameter')
      .map(
        (s) =>
          `${s.Action} ${JSON.stringify(s.Resource)
            .replace(/.*:(secret:|parameter\/)/, '')
            .replace(/"\]\]\}$/, '')}`,
      );

    // Two functions (default placement and the VPC), each: the shared secret, and its servers' parameters path.
    expect(reads.sort()).toEqual([
      'secretsmanager:GetSecretValue vb365/fleet-??????',
      'secretsmanager:GetSecretValue vb365/fleet-??????',
      'ssm:GetParameter vb365/fleet/*',
      'ssm:GetParameter vb365/fleet/*',
    ]);
  });

  it('uses real self-signed CA certificates', () => {
    const pem = readFileSync(caFile(certs, ids[0] as string), 'utf8');
    const cert = new X509Certificate(pem);

    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe(`CN=${ids[0]}.customers.example`);
    expect(cert.checkIssued(cert)).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
  });
});

function caFile(dir: string, id: string): string {
  return join(dir, 'certs', `${id}.pem`);
}

/**
 * A directory with `certs/<id>.pem`, a self-signed CA certificate per server. Made once and kept (the same
 * certificates make the same configuration file, so the staged code is not made again on every run).
 */
function caFiles(serverIds: readonly string[]): string {
  const dir = join(tmpdir(), `vb365-sync-monitor-fleet-cas-${serverIds.length}-v1`);
  if (existsSync(dir)) return dir;
  const aside = `${dir}.${process.pid}`;
  mkdirSync(join(aside, 'certs'), { recursive: true });
  for (const id of serverIds) writeFileSync(caFile(aside, id), selfSignedCa(`${id}.customers.example`));
  try {
    renameSync(aside, dir);
  } catch {
    rmSync(aside, { recursive: true, force: true });
  }
  return dir;
}

/*
 * A self-signed CA certificate (EC P-256, ECDSA with SHA-256, X.509 v3 with basicConstraints CA), encoded here in
 * DER with node:crypto keys and signature: well under a millisecond each, where a certificate library takes ten.
 */
const der = (tag: number, ...parts: Buffer[]): Buffer => {
  const body = Buffer.concat(parts);
  const n = body.length;
  const length = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff];
  return Buffer.concat([Buffer.from([tag, ...length]), body]);
};
const sequence = (...parts: Buffer[]) => der(0x30, ...parts);
const oid = (hex: string) => der(0x06, Buffer.from(hex, 'hex'));
const utcTime = (d: Date) => der(0x17, Buffer.from(`${d.toISOString().replace(/[-:T]/g, '').slice(2, 14)}Z`));
const ECDSA_WITH_SHA256 = sequence(oid('2a8648ce3d040302'));

function selfSignedCa(commonName: string): string {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const name = sequence(der(0x31, sequence(oid('550403'), der(0x0c, Buffer.from(commonName)))));
  const serial = randomBytes(8);
  serial[0] = ((serial[0] as number) & 0x7f) | 0x40;
  const now = Date.now();
  const tbs = sequence(
    der(0xa0, der(0x02, Buffer.from([2]))),
    der(0x02, serial),
    ECDSA_WITH_SHA256,
    name,
    sequence(utcTime(new Date(now - 60_000)), utcTime(new Date(now + 20 * 365 * 86_400_000))),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
    // basicConstraints, critical: CA.
    der(
      0xa3,
      sequence(
        sequence(oid('551d13'), der(0x01, Buffer.from([0xff])), der(0x04, sequence(der(0x01, Buffer.from([0xff]))))),
      ),
    ),
  );
  const certificate = sequence(tbs, ECDSA_WITH_SHA256, der(0x03, Buffer.from([0]), sign('sha256', tbs, privateKey)));
  const base64 = certificate.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE-----\n${base64.join('\n')}\n-----END CERTIFICATE-----\n`;
}
