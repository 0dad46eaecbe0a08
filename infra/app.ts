import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { App, Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MonitorConfigError } from '../lambda/config-schema.js';
import { ConfigFileError, loadConfigFile } from './config-file.js';
import { addMonitorOutputs, deploymentOf } from './monitor-stack.js';
import { Vb365SyncMonitor } from './sync-monitor.js';

// `npx cdk synth` uses infra/monitor-config.ts; `-c config=FILE.ts` or `-c config=FILE.json` picks another file.
// The stack is built as a user's own CDK app builds it with the package: a Stack, the construct, its outputs.
const app = new App();
const configFile = String(app.node.tryGetContext('config') ?? 'infra/monitor-config.ts');

try {
  const { stackName, env, props } = deploymentOf(await loadConfigFile(configFile), (path) => {
    try {
      return readFileSync(resolve(path), 'utf8');
    } catch {
      return undefined;
    }
  });
  const stack = new Stack(app, stackName, {
    env: {
      account: env.account ?? process.env.CDK_DEFAULT_ACCOUNT,
      region: env.region ?? process.env.CDK_DEFAULT_REGION,
    },
  });
  addMonitorOutputs(new Vb365SyncMonitor(stack, 'Monitor', props));
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
} catch (err) {
  if (!(err instanceof MonitorConfigError || err instanceof ConfigFileError)) throw err;
  process.stderr.write(`${configFile}: ${err.message}\n`);
  process.exit(1);
}
