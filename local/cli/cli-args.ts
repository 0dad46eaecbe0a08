import { parseArgs } from 'node:util';
import { policyOf, type ResolvedConfig } from '../../lambda/config-schema.js';
import { credentialsInUrl, pinProblem, withoutUserinfo } from '../../lambda/connection-checks.js';
import { DEFAULT_POLICY, type Policy, parseDuration } from '../../lambda/domain/policy.js';
import { API_VERSIONS, type ApiVersionSetting } from '../../lambda/domain/types.js';

/** A mistake in how the CLI was called: exit code 2, one line, no stack trace. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface RunOptions {
  readonly server: string;
  readonly serverId: string;
  readonly serverName: string;
  readonly ca: string | undefined;
  readonly pin: string | undefined;
  readonly apiVersion: ApiVersionSetting;
  readonly once: boolean;
  readonly intervalSeconds: number;
  readonly json: boolean;
  readonly stateDir: string | undefined;
  readonly table: string | undefined;
  readonly topicArn: string | undefined;
  readonly policy: Policy;
  readonly username: string;
  readonly password: string;
}

export const RUN_USAGE = `usage: vb365-sync-monitor run --server https://HOST:4443 [options]
       vb365-sync-monitor run --config FILE [--server-id ID] [options]
  --config FILE             take the server (URL, CA bundle, pin, API version, name) and the policy from a deployment
                            configuration (.json, .mjs or .ts), checked by the same schema as the synth; --server-id picks
                            the server when it lists several; options given here override it
  --ca FILE                 PEM CA bundle (or the server's self-signed certificate, if it names the --server host)
  --pin SHA256              SHA-256 fingerprint of the server certificate; alone, trusts exactly that certificate,
                            whatever names it holds (VB365's self-signed certificate reached by IP)
  --api-version V           v5, v6, v7, v8 or auto (default auto)
  --once                    one cycle, then exit (0 ok, 1 server problem, 2 usage)
  --interval SECONDS        seconds between cycles (default 300)
  --json                    stdout: one event JSON per line, nothing else
  --state-dir DIR           keep state between runs (embedded DynamoDB in DIR)
  --table NAME              use this DynamoDB table instead (AWS credentials from the environment)
  --topic-arn ARN           publish events to this SNS topic too
  --server-id ID            id used in state and events (default: the host name)
  --name NAME               display name (default: the host name)
  --stall-after DURATION    no progress for this long = stalled (default 60m)
  --vanish-grace N          cycles a session must be missing before it ended (default 2)
  --unreachable-after DUR   outage length before server.unreachable (default 15m)
  --milestones 25,50,75     progress milestones to announce (default none)
credentials: VB365_USERNAME and VB365_PASSWORD in the environment
  bash:        export VB365_USERNAME='CONTOSO\\svc-vb365-monitor' VB365_PASSWORD='…'
  PowerShell:  $env:VB365_USERNAME = 'CONTOSO\\svc-vb365-monitor'; $env:VB365_PASSWORD = '…'
first: \`vb365-sync-monitor cert\` (the certificate and how to trust it), \`vb365-sync-monitor doctor\` (every step checked)`;

const SERVER_REQUIRED = '--server is required: the VB365 REST API URL, e.g. https://vb365.example.local:4443';

/** Whether the arguments ask for a command's usage (`--help` or `-h`): it is printed, and nothing else is done. */
export function wantsHelp(args: readonly string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

/**
 * The `--server` URL, checked as `run` checks it (https, no credentials in it); `undefined` with the problem added to
 * `problems` (never quoting a user name or password).
 */
export function serverUrl(raw: string | undefined, problems: string[]): URL | undefined {
  if (raw === undefined || raw === '') {
    problems.push(SERVER_REQUIRED);
    return undefined;
  }
  const shown = withoutUserinfo(raw);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push(`--server ${JSON.stringify(shown)} is not a URL: use https://HOST:4443`);
    return undefined;
  }
  const before = problems.length;
  if (url.protocol !== 'https:') problems.push(`--server ${shown} must use https:// (the REST API is served over TLS)`);
  const credentials = credentialsInUrl(raw, url);
  if (credentials === 'userinfo')
    problems.push(`--server ${shown} must not carry "user:password@": set VB365_USERNAME and VB365_PASSWORD instead`);
  if (credentials === 'at-sign')
    problems.push(
      `--server ${shown} must not hold "@" (a VB365 URL has none; a password with "/" reads as a path): set VB365_USERNAME and VB365_PASSWORD instead`,
    );
  return problems.length === before ? url : undefined;
}

/** Parses `run`'s arguments and environment; throws `UsageError` naming the option, the value and the fix. */
export function parseRunArgs(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  file?: ResolvedConfig | undefined,
): RunOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        server: { type: 'string' },
        config: { type: 'string' },
        ca: { type: 'string' },
        pin: { type: 'string' },
        'api-version': { type: 'string' },
        once: { type: 'boolean', default: false },
        interval: { type: 'string', default: '300' },
        json: { type: 'boolean', default: false },
        'state-dir': { type: 'string' },
        table: { type: 'string' },
        'topic-arn': { type: 'string' },
        'server-id': { type: 'string' },
        name: { type: 'string' },
        'stall-after': { type: 'string' },
        'vanish-grace': { type: 'string' },
        'unreachable-after': { type: 'string' },
        milestones: { type: 'string' },
      },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const problems: string[] = [];
  const fromFile = file ? serverOf(file, values['server-id'] as string | undefined, problems) : undefined;
  const str = (k: string) => (values[k] as string | undefined) ?? fromFile?.[k];
  const server = str('server');
  let url: URL | undefined;
  if (!server) {
    // With --config, a missing server was reported as a --server-id problem.
    if (!file) problems.push(SERVER_REQUIRED);
  } else url = serverUrl(server, problems);
  const apiVersion = str('api-version') ?? 'auto';
  if (apiVersion !== 'auto' && !(API_VERSIONS as readonly string[]).includes(apiVersion)) {
    problems.push(`--api-version ${apiVersion} is not one of v5, v6, v7, v8, auto`);
  }
  const pin = str('pin');
  const pinIssue = pin === undefined ? undefined : pinProblem(pin);
  if (pinIssue !== undefined) problems.push(`--pin ${pin} is not a SHA-256 fingerprint: ${pinIssue}`);
  const interval = Number(str('interval'));
  if (!Number.isFinite(interval) || interval < 10)
    problems.push(`--interval ${str('interval')} must be a number of seconds, at least 10`);
  const duration = (flag: string, fallback: number) => {
    const raw = str(flag);
    if (raw === undefined) return fallback;
    const ms = parseDuration(raw);
    if (ms === undefined || ms <= 0) {
      problems.push(`--${flag} ${raw} is not a duration: use e.g. 90s, 45m, 2h`);
      return fallback;
    }
    return ms;
  };
  const base = file ? policyOf(file) : DEFAULT_POLICY;
  const stallAfterMs = duration('stall-after', base.stallAfterMs);
  const unreachableAfterMs = duration('unreachable-after', base.unreachableAfterMs);
  const graceRaw = values['vanish-grace'] as string | undefined;
  const vanishGraceCycles = graceRaw === undefined ? base.vanishGraceCycles : Number(graceRaw);
  if (!Number.isInteger(vanishGraceCycles) || vanishGraceCycles < 1)
    problems.push(`--vanish-grace ${graceRaw} must be a whole number of cycles, at least 1`);
  const milestonesRaw = values.milestones as string | undefined;
  const milestones = (milestonesRaw ?? base.milestones.join(','))
    .split(',')
    .filter((m) => m.trim() !== '')
    .map(Number);
  if (milestones.some((m) => !Number.isFinite(m) || m <= 0 || m >= 100))
    problems.push(`--milestones ${milestonesRaw} must be percentages between 1 and 99, e.g. 25,50,75`);
  const username = env.VB365_USERNAME;
  const password = env.VB365_PASSWORD;
  if (!username || !password) problems.push('VB365_USERNAME and VB365_PASSWORD must be set in the environment');
  if (str('state-dir') && str('table'))
    problems.push('--state-dir and --table are exclusive: local state or a DynamoDB table');
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  const host = url?.hostname ?? 'vb365';
  return {
    server: server as string,
    serverId: str('server-id') ?? host,
    serverName: str('name') ?? host,
    ca: str('ca'),
    pin,
    apiVersion: apiVersion as ApiVersionSetting,
    once: values.once === true,
    intervalSeconds: interval,
    json: values.json === true,
    stateDir: str('state-dir'),
    table: str('table'),
    topicArn: str('topic-arn'),
    policy: {
      ...base,
      stallAfterMs,
      unreachableAfterMs,
      vanishGraceCycles,
      milestones: milestones.sort((a, b) => a - b),
    },
    username: username as string,
    password: password as string,
  };
}

/**
 * The `run` options a server of a deployment configuration gives (`--config`): by `--server-id`, or the only one.
 * Problems go to `problems` (usage errors).
 */
function serverOf(
  file: ResolvedConfig,
  id: string | undefined,
  problems: string[],
): Record<string, string | undefined> | undefined {
  const ids = file.servers.map((s) => s.id).join(', ');
  const server =
    id === undefined && file.servers.length === 1 ? file.servers[0] : file.servers.find((s) => s.id === id);
  if (!server) {
    problems.push(
      id === undefined
        ? `--server-id is required: the configuration lists ${file.servers.length} servers (${ids})`
        : `--server-id ${id} is not in the configuration: use one of ${ids}`,
    );
    return undefined;
  }
  return {
    server: server.url,
    'server-id': server.id,
    name: server.name,
    ca: server.caBundle,
    pin: server.pinSha256,
    'api-version': server.apiVersion,
  };
}

export interface AckOptions {
  /** An incident key, a repository id or name, or a server id. */
  readonly target: string;
  /** Single-line; `undefined` when not given. */
  readonly reason: string | undefined;
  readonly by: string;
  readonly serverId: string | undefined;
  readonly table: string | undefined;
  readonly stateDir: string | undefined;
  readonly json: boolean;
}

export const ACK_USAGE = `usage: vb365-sync-monitor ack REPOSITORY|INCIDENT [--reason TEXT] [--by NAME] [--server ID]
                              (--table NAME | --state-dir DIR) [--json]
  acknowledges an open incident: the next poll cycle announces who and why in the incident's thread and channels
  (incident.acknowledged), and reminders and escalation stop; it clears itself when the incident resolves
  REPOSITORY|INCIDENT  a repository's name or id (case-insensitive; a part of the name will do when it names one
                       open incident), an incident key as \`status\` shows it, or a server id for that server's own
                       incident (unreachable, login refused, TLS, API version)
  --reason TEXT        why, or what is being done ("restarting the sync"); again with a new reason to update it
  --by NAME            who (default: this machine's user name)
  --server ID          look only at this server's incidents
  --table NAME         the deployed state table (TableName output; AWS credentials and region from the environment)
  --state-dir DIR      the local state of \`run --state-dir DIR\` (also while that run is running)
  --json               the request as JSON
exit 0 requested or already acknowledged, 1 no such open incident (or several: name one by its key), 2 usage`;

/** Longest `--reason` and `--by` kept (they are shown in chat threads and stored beside the incident). */
const MAX_REASON = 500;
const MAX_BY = 100;

/**
 * Parses `ack`'s arguments; `user` is the default of `--by` (the OS user). Throws `UsageError` naming the option, the
 * value and the fix.
 */
export function parseAckArgs(args: readonly string[], user: () => string | undefined): AckOptions {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...args],
      options: {
        reason: { type: 'string' },
        by: { type: 'string' },
        server: { type: 'string' },
        table: { type: 'string' },
        'state-dir': { type: 'string' },
        json: { type: 'boolean', default: false },
      },
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(`ack: ${(err as Error).message}\n${ACK_USAGE}`);
  }
  const problems: string[] = [];
  const target = positionals[0]?.trim() ?? '';
  if (positionals.length !== 1 || target === '')
    problems.push(
      positionals.length > 1
        ? `one repository or incident at a time, got ${positionals.length}: ${positionals.map((p) => JSON.stringify(p)).join(' ')} (quote a name with spaces)`
        : 'name the repository or incident to acknowledge (a repository name or id, or an incident key from `status`)',
    );
  const oneLine = (raw: string | undefined) => raw?.replace(/\s+/g, ' ').trim();
  const reason = oneLine(values.reason as string | undefined);
  if (reason === '') problems.push('--reason is empty: say why, or leave it out');
  else if (reason !== undefined && reason.length > MAX_REASON)
    problems.push(`--reason is ${reason.length} characters: at most ${MAX_REASON}`);
  const by = oneLine((values.by as string | undefined) ?? user());
  if (by === undefined || by === '')
    problems.push(
      values.by === undefined ? '--by NAME is needed: the user name of this machine is unknown' : '--by is empty',
    );
  else if (by.length > MAX_BY) problems.push(`--by is ${by.length} characters: at most ${MAX_BY}`);
  const table = values.table as string | undefined;
  const stateDir = values['state-dir'] as string | undefined;
  if (!table === !stateDir)
    problems.push('give --table NAME (AWS) or --state-dir DIR (local state of `run --state-dir`)');
  if (problems.length > 0) throw new UsageError(`ack: ${problems.join('\n')}`);
  return {
    target,
    reason,
    by: by as string,
    serverId: values.server as string | undefined,
    table,
    stateDir,
    json: values.json === true,
  };
}
