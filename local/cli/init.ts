import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { UsageError } from './cli-args.js';

/*
 * `vb365-sync-monitor init [DIR]`: a new CDK app that deploys the monitor with the installed package, the way a user
 * keeps their own configuration apart from the package (and upgrades it with `npm install vb365-sync-monitor@…`).
 */

export const INIT_USAGE = `usage: vb365-sync-monitor init [DIR] [--package SPEC]
  creates a CDK app in DIR (default: the current directory) that deploys the monitor with this package:
  package.json, cdk.json, app.mjs (the configuration, commented) and .gitignore; then prints the next steps.
  It never overwrites a file: when one of them exists already, it writes nothing and exits 1.
  --package SPEC   where npm installs vb365-sync-monitor from: a tarball (npm pack builds one in a checkout), or a
                   version (default: this one's)`;

/** The versions the scaffolded app pins: this package's own, and the CDK this package is built and tested with. */
export interface PinnedVersions {
  readonly self: string;
  readonly awsCdkLib: string;
  readonly constructs: string;
  readonly awsCdk: string;
}

interface PackageJson {
  readonly name?: string;
  readonly version?: string;
  readonly dependencies?: Record<string, string>;
  readonly devDependencies?: Record<string, string>;
  readonly peerDependencies?: Record<string, string>;
}

/**
 * This package's package.json: the nearest one named vb365-sync-monitor above `from` (this module in a checkout, or
 * the bundled CLI in dist/ of the installed package).
 */
export function ownPackageJson(from: string = dirname(fileURLToPath(import.meta.url))): PackageJson {
  for (let dir = from; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as PackageJson;
      if (pkg.name === 'vb365-sync-monitor') return pkg;
    }
    if (dirname(dir) === dir) throw new Error(`cannot find the package.json of vb365-sync-monitor above ${from}`);
  }
}

/** The versions to pin, from this package's package.json (exact pins first, then the peer ranges). */
export function pinnedVersions(pkg: PackageJson = ownPackageJson()): PinnedVersions {
  const find = (name: string) => {
    const version =
      pkg.devDependencies?.[name] ?? pkg.dependencies?.[name] ?? pkg.peerDependencies?.[name] ?? undefined;
    if (version === undefined) throw new Error(`the package.json of vb365-sync-monitor does not name ${name}`);
    return version;
  };
  if (!pkg.version) throw new Error('the package.json of vb365-sync-monitor has no version');
  return {
    self: pkg.version,
    awsCdkLib: find('aws-cdk-lib'),
    constructs: find('constructs'),
    awsCdk: find('aws-cdk'),
  };
}

/** The event types the example recipient receives: everything a person acts on, and the monitor's own news. */
export const EMAIL_EVENT_TYPES = [
  'monitor.started',
  'sync.failed',
  'sync.stalled',
  'sync.stopped',
  'sync.completed',
  'sync.still_failed',
  'server.unreachable',
  'server.recovered',
  'server.auth_failed',
  'server.tls_failed',
  'server.api_unsupported',
  'server.certificate_expiring',
  'server.setup_required',
  'repository.out_of_sync',
  'repository.in_sync',
  'repository.blocked',
  'repository.unblocked',
  'repository.first_backup_failed',
  'proxy.offline',
  'proxy.maintenance',
  'proxy.online',
  'server.unhealthy',
  'server.healthy',
  'monitor.held_summary',
  'monitor.server_not_polled',
  'monitor.server_polled_again',
  'digest.weekly',
];

/** The files of a new app, by name. `name` is the npm name of the app's package.json. */
export function appFiles(name: string, versions: PinnedVersions, packageSpec?: string): Record<string, string> {
  const packageJson = {
    name,
    private: true,
    type: 'module',
    description: 'Deployment of vb365-sync-monitor (created by vb365-sync-monitor init)',
    scripts: { synth: 'cdk synth', deploy: 'cdk deploy', diff: 'cdk diff' },
    dependencies: {
      'aws-cdk-lib': versions.awsCdkLib,
      constructs: versions.constructs,
      'vb365-sync-monitor': packageSpec ?? versions.self,
    },
    devDependencies: { 'aws-cdk': versions.awsCdk },
  };
  const cdkJson = { app: 'node app.mjs', notices: false, context: { 'cli-telemetry': false } };
  return {
    'package.json': `${JSON.stringify(packageJson, null, 2)}\n`,
    'cdk.json': `${JSON.stringify(cdkJson, null, 2)}\n`,
    'app.mjs': APP_MJS,
    '.gitignore': 'node_modules/\ncdk.out/\n',
  };
}

const APP_MJS = `// @ts-check
/*
 * The CDK app of your vb365-sync-monitor deployment (created by \`vb365-sync-monitor init\`). Edit the configuration
 * below, then \`npx cdk deploy\`. Every field is checked at synth time: a mistake stops the synth with the field, the
 * value and the fix. Editors check it as you type (// @ts-check). Reference: the package's README, "Configuration
 * reference"; the same configuration as a JSON Schema: node_modules/vb365-sync-monitor/config.schema.json.
 * Upgrade: npm install vb365-sync-monitor@latest, then npx cdk diff and npx cdk deploy.
 */
import { App, Stack } from 'aws-cdk-lib';
import { addMonitorOutputs, Vb365SyncMonitor } from 'vb365-sync-monitor';

const app = new App();
// The stack's name also names the secrets the stack creates (credentials: { create: true }): keep it once deployed.
const stack = new Stack(app, 'Vb365SyncMonitor', {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});

const monitor = new Vb365SyncMonitor(stack, 'Monitor', {
  servers: [
    {
      // Stable id: state, event ids and schedule names use it.
      id: 'vb365-prod',
      name: 'VB365 production',
      url: 'https://vb365.example.local:4443',
      // The monitor's VB365 account (read access to the REST API is enough), as {"username","password"} JSON in:
      //   { parameterName: '/vb365/prod' }   an SSM Parameter Store SecureString (free)
      //   { secretName: 'vb365/prod' }       a Secrets Manager secret ($0.40 a month); or { secretArn }
      //   { sharedSecretName: 'vb365/fleet' } one secret for many servers: {"<server id>": {"username","password"}, …}
      //   { create: true }                   the stack creates an empty secret; fill it in after the first deploy
      // Until it holds an account, the monitor sends nothing to the server and says once what to store.
      credentials: { parameterName: '/vb365/prod' },
      // Its certificate (VB365's is usually self-signed):
      //   npx vb365-sync-monitor cert --server https://vb365.example.local:4443 --out vb365-prod.pem
      // shows it and prints the line to set here, one of (a file is read relative to this folder):
      // caBundleFile: 'vb365-prod.pem',
      // pinSha256: 'AB:CD:…',
      // Then check everything from this machine (DNS, TLS, login, reads):
      //   npx vb365-sync-monitor doctor --server https://vb365.example.local:4443 --ca vb365-prod.pem
      // In a private network (the subnets need a route to the server and to the AWS services):
      // vpc: { vpcId: 'vpc-0123456789abcdef0', subnetIds: ['subnet-0123456789abcdef0'], availabilityZones: ['eu-west-1a'] },
    },
  ],
  pollEveryMinutes: 5,
  policy: { stallAfterMinutes: 60, unreachableAfterMinutes: 15 },
  // Hold non-critical events at night, summarised in the morning:
  // quietHours: { timeZone: 'Europe/Berlin', start: '22:00', end: '07:00' },
  notifications: {
    emails: [
      {
        address: 'backup-admins@example.com',
        // Leave eventTypes out to receive every event (sync.started and sync.progress too).
        // monitor.started comes once, after the first cycle: the sign that monitoring works.
        eventTypes: [
${EMAIL_EVENT_TYPES.map((t) => `          '${t}',`).join('\n')}
        ],
      },
    ],
    // Chat and webhook channels; each secret holds the webhook URL (README, "Chat and webhook channels"):
    // slackWebhookSecrets: ['vb365/slack-backup-ops'],
    // teamsWebhookSecrets: ['vb365/teams-backup'],
    // webhookSecrets: [{ secretName: 'vb365/siem', eventTypes: ['sync.failed', 'sync.completed'] }],
    // qDeveloperSlackChannels: [{ workspaceId: 'T0123ABCDE', channelId: 'C0123ABCDEF' }],
  },
});

// Outputs: TopicArn (for test-notification), AlarmsTopicArn, TableName (for status), PollFunctionName, created secrets.
addMonitorOutputs(monitor);
`;

/** An npm package name from a directory name. */
function npmName(dir: string): string {
  const name = basename(dir)
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[._-]+|-+$/g, '');
  return name === '' || name === 'vb365-sync-monitor' ? 'vb365-sync-monitor-deployment' : name;
}

/** The steps after `init`, with the forms for bash and for PowerShell where they differ. */
export function nextSteps(dir: string, cwd: string): string {
  const rel = relative(cwd, dir);
  const cd = rel === '' ? [] : [`  cd ${/\s/.test(rel) ? `"${rel}"` : rel}`];
  return [
    'Next:',
    ...cd,
    '  npm install',
    '  (vb365-sync-monitor not on your registry? install it from its tarball, which npm pack builds in a checkout:',
    '   npm install ./vb365-sync-monitor-<version>.tgz, or run init with --package PATH-TO-THE-TARBALL)',
    '',
    '1. Edit app.mjs: your server (id, name, url), your email address. Trust its certificate and check the server',
    '   from this machine:',
    '     npx vb365-sync-monitor cert --server https://vb365.example.local:4443 --out vb365-prod.pem',
    "     bash:        export VB365_USERNAME='CONTOSO\\svc-vb365-monitor' VB365_PASSWORD='…'",
    "     PowerShell:  $env:VB365_USERNAME = 'CONTOSO\\svc-vb365-monitor'; $env:VB365_PASSWORD = '…'",
    '     npx vb365-sync-monitor doctor --server https://vb365.example.local:4443 --ca vb365-prod.pem',
    "2. Store the monitor's VB365 account where app.mjs says (here the SSM parameter /vb365/prod):",
    `     bash:        aws ssm put-parameter --type SecureString --name /vb365/prod --value '{"username":"CONTOSO\\\\svc-vb365-monitor","password":"…"}'`,
    "     PowerShell:  aws ssm put-parameter --type SecureString --name /vb365/prod --value (ConvertTo-Json -Compress @{ username = 'CONTOSO\\svc-vb365-monitor'; password = '…' })",
    '                  (PowerShell 7.3 or newer; Windows PowerShell 5.1 strips the quotes inside the JSON)',
    '3. Once per AWS account and region:  npx cdk bootstrap',
    '4. Deploy:                           npx cdk deploy',
    '5. Confirm the subscription emails: "AWS Notification - Subscription Confirmation", one for the events topic and',
    '   one for the alarms topic. Nothing is delivered before that: monitor.started, sent once after the first cycle,',
    '   reaches only the addresses confirmed by then.',
    '6. Verify, at any time: npx vb365-sync-monitor test-notification --topic-arn <TopicArn output>',
    '   publishes one sample event (about a sample server, Contoso VB365) marked as a test:',
    '   "[VB365] Monitoring started on Contoso VB365 (TEST NOTIFICATION): …" arrives within a minute.',
    '',
  ].join('\n');
}

/** `vb365-sync-monitor init`. */
export async function initCommand(args: readonly string[], cwd: string = process.cwd()): Promise<number> {
  let positionals: string[];
  let values: { package?: string | undefined };
  try {
    ({ positionals, values } = parseArgs({
      args: [...args],
      options: { package: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(`init: ${(err as Error).message}`);
  }
  if (positionals.length > 1) throw new UsageError(`init: one directory at most, not ${positionals.join(' ')}`);
  const dir = resolve(cwd, positionals[0] ?? '.');
  // --package: where npm installs vb365-sync-monitor from (a tarball path, or a version); a path is kept relative to
  // the app, so the folder can move with its tarball.
  const spec = values.package;
  const packageSpec =
    spec === undefined
      ? undefined
      : /\.(tgz|tar\.gz)$/.test(spec) || spec.startsWith('.') || spec.startsWith('/')
        ? `file:${relative(dir, resolve(cwd, spec)) || '.'}`
        : spec;
  if (spec !== undefined && packageSpec?.startsWith('file:') && !existsSync(resolve(cwd, spec))) {
    throw new UsageError(`init: --package ${spec}: no such file (give the tarball npm pack wrote)`);
  }
  const files = appFiles(npmName(dir), pinnedVersions(), packageSpec);
  const present = Object.keys(files).filter((f) => existsSync(join(dir, f)));
  if (present.length > 0) {
    process.stderr.write(
      `vb365-sync-monitor: init: ${present.map((f) => join(relative(cwd, dir), f)).join(', ')} exist${present.length === 1 ? 's' : ''} already: nothing written (init never overwrites; use an empty directory)\n`,
    );
    return 1;
  }
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content, { flag: 'wx' });
  process.stdout.write(
    `Created a CDK app for vb365-sync-monitor in ${dir}: ${Object.keys(files).join(', ')}\n\n${nextSteps(dir, cwd)}`,
  );
  return 0;
}
