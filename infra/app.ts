import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type MonitorConfig, MonitorConfigError, resolveConfig } from './config-schema.js';
import { MonitorStack } from './monitor-stack.js';

// `npx cdk synth` uses infra/monitor-config.ts; `-c config=path/to/other-config.ts` picks another file.
const app = new App();
const configFile = resolve(app.node.tryGetContext('config') ?? 'infra/monitor-config.ts');
const config = ((await import(pathToFileURL(configFile).href)) as { default: MonitorConfig }).default;

try {
  const resolved = resolveConfig(config, (path) => {
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
  if (!(err instanceof MonitorConfigError)) throw err;
  process.stderr.write(`${configFile}: ${err.message}\n`);
  process.exit(1);
}
