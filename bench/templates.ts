import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import shipped from '../infra/monitor-config.js';
import { deploymentOf, MonitorStack } from '../infra/monitor-stack.js';
import type { MonitorConfig } from '../lambda/config-schema.js';
import type { CfnTemplate, CredentialsSetting, MetricsSetting } from './cost.js';

/*
 * The templates the cost model counts: the shipped configuration (infra/monitor-config.ts: its notifications and
 * policy) with a fleet of servers in place of its one, synthesized without bundling, nested stacks included.
 */

export interface FleetOptions {
  readonly credentials: CredentialsSetting;
  readonly metrics?: MetricsSetting;
  readonly dashboard?: boolean;
  readonly pollEveryMinutes?: number;
}

/** The shipped configuration with `servers` servers, credentials of the given kind. */
export function fleetConfig(servers: number, options: FleetOptions): MonitorConfig {
  const credentials = (id: string) =>
    ({
      perServerSecret: { secretName: `vb365-sync-monitor/${id}` },
      sharedSecret: { sharedSecretName: 'vb365-sync-monitor/fleet' },
      ssmParameter: { parameterName: `/vb365-sync-monitor/${id}` },
    })[options.credentials];
  return {
    ...shipped,
    stackName: 'Cost',
    servers: Array.from({ length: servers }, (_, i) => {
      const id = `vb365-${String(i + 1).padStart(4, '0')}`;
      return { id, url: `https://${id}.example.net:4443`, credentials: credentials(id) };
    }),
    ...(options.metrics ? { metrics: options.metrics } : {}),
    ...(options.dashboard !== undefined ? { dashboard: options.dashboard } : {}),
    ...(options.pollEveryMinutes ? { pollEveryMinutes: options.pollEveryMinutes } : {}),
  };
}

/** A synthesized deployment: the stack's template and its nested stacks' templates, as `cdk synth` writes them. */
export interface SynthesizedFleet {
  readonly templates: CfnTemplate[];
  /** Size of each template file (CloudFormation accepts 1 MB from S3). */
  readonly bytes: number[];
  /** How long the synth took (ms). */
  readonly ms: number;
}

export function synthesize(config: MonitorConfig): SynthesizedFleet {
  const started = performance.now();
  const outdir = mkdtempSync(join(tmpdir(), 'cost-synth-'));
  try {
    const app = new App({ outdir, context: { 'aws:cdk:bundling-stacks': [] } });
    const { props } = deploymentOf(config, () => undefined);
    new MonitorStack(app, 'Cost', { config: props, env: { account: '123456789012', region: 'us-east-1' } });
    const assembly = app.synth();
    const files = readdirSync(assembly.directory)
      .filter((f) => f.endsWith('.template.json'))
      .sort()
      .map((f) => readFileSync(join(assembly.directory, f), 'utf8'));
    return {
      templates: files.map((text) => JSON.parse(text) as CfnTemplate),
      bytes: files.map((text) => Buffer.byteLength(text)),
      ms: performance.now() - started,
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
