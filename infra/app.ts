import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { MonitorConfigError, resolveConfig } from '../lambda/config-schema.js';
import { ConfigFileError, loadConfigFile } from './config-file.js';
import { MonitorStack } from './monitor-stack.js';

// `npx cdk synth` uses infra/monitor-config.ts; `-c config=FILE.ts` or `-c config=FILE.json` picks another file.
const app = new App();
const configFile = String(app.node.tryGetContext('config') ?? 'infra/monitor-config.ts');

try {
  const resolved = resolveConfig(await loadConfigFile(configFile), (path) => {
    try {
      return readFileSync(resolve(path), 'utf8');
    } catch {
      return undefined;
    }
  });
  const env = {
    account: resolved.env.account ?? process.env.CDK_DEFAULT_ACCOUNT,
    region: resolved.env.region ?? process.env.CDK_DEFAULT_REGION,
  };
  new MonitorStack(app, resolved.stackName, { config: resolved, env });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
} catch (err) {
  if (!(err instanceof MonitorConfigError || err instanceof ConfigFileError)) throw err;
  process.stderr.write(`${configFile}: ${err.message}\n`);
  process.exit(1);
}
