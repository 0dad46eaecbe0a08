import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { resolve as resolvePath } from 'node:path';
import { parseArgs } from 'node:util';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConfigFileError, loadConfigFile } from '../../infra/config-file.js';
import type { DynamoDbStateStore } from '../../lambda/adapters/dynamodb-state-store.js';
import { loadCaBundle } from '../../lambda/adapters/vb365/tls.js';
import { MonitorConfigError, type ResolvedConfig, resolveConfig } from '../../lambda/config-schema.js';
import { EVENT_TYPES, type MonitorEvent } from '../../lambda/domain/events.js';
import { utc } from '../../lambda/domain/format.js';
import { DEFAULT_POLICY, formatDuration } from '../../lambda/domain/policy.js';
import { type CycleSummary, pollOnce } from '../../lambda/domain/poll.js';
import type { CallOptions, Notifier, PublishResult } from '../../lambda/domain/ports.js';
import { qDeveloperNotification, teamsMessage } from '../../lambda/domain/render-chat.js';
import { slackMessage } from '../../lambda/domain/render-slack.js';
import { subjectOf, textOf } from '../../lambda/domain/render-text.js';
import type { AckRequest, SessionRecord } from '../../lambda/domain/state.js';
import type { ClosableNotifier } from '../../lambda/wiring.js';
import type { EmbeddedDynamoDb } from '../stand-ins/embedded-dynamodb.js';
import { CERT_USAGE, certCommand } from './cert.js';
import {
  ACK_USAGE,
  type AckOptions,
  parseAckArgs,
  parseRunArgs,
  RUN_USAGE,
  type RunOptions,
  UsageError,
  wantsHelp,
} from './cli-args.js';
import { ConsoleNotifier } from './console-notifier.js';
import { DOCTOR_USAGE, doctorCommand } from './doctor.js';
import { INIT_USAGE, initCommand } from './init.js';
import { everyEventType, sampleVariants } from './sample-events.js';
import {
  describeIncidents,
  type FoundIncident,
  findIncidents,
  formatStatus,
  incidentWhat,
  statusOf,
} from './status.js';

const USAGE = `vb365-sync-monitor — alerts for Veeam Backup for Microsoft 365 repository synchronization sessions

  vb365-sync-monitor demo [--fast]     the whole product on an embedded VB365 simulator (what npm start runs)
  vb365-sync-monitor init [DIR]        create a CDK app that deploys the monitor with this package
  vb365-sync-monitor cert --server URL [--out FILE]
                                       show the server's certificate, write its PEM, print how to trust it
  vb365-sync-monitor doctor --server URL [--ca FILE | --pin SHA256]
                                       check DNS, TCP, TLS, the API version, the login and the reads, one line each
  vb365-sync-monitor run --server URL  monitor a real VB365 server from this machine
  vb365-sync-monitor check-config [FILE]
                                       check a deployment configuration (.json, .mjs or .ts; default infra/monitor-config.ts)
                                       with the schema the synth and the Lambda use: every problem as field: value — fix
  vb365-sync-monitor status [--table NAME | --state-dir DIR] [--server ID] [--all] [--json]
                                       sessions and incidents per server from the state table: state, progress,
                                       rate, ETA, age; who acknowledged what
  vb365-sync-monitor ack REPOSITORY|INCIDENT [--reason TEXT] (--table NAME | --state-dir DIR)
                                       acknowledge an open incident: the thread says who and why, reminders and
                                       escalation stop
  vb365-sync-monitor simulator         start the VB365 simulator by hand
  vb365-sync-monitor test-notification [--channel email|slack|teams|webhook|qdeveloper] [--type TYPE] [--topic-arn ARN]
                                       print every channel's rendering of every event type; with --topic-arn,
                                       publish one clearly marked test event through that SNS topic
every command answers --help (or -h) with its options`;

const DEMO_USAGE = `usage: vb365-sync-monitor demo [--fast]
  plays a scripted morning on an embedded VB365 simulator with embedded DynamoDB, and prints each notification as an
  email reader sees it; nothing leaves this machine
  --fast   no pause between cycles`;

const CHECK_CONFIG_USAGE = `usage: vb365-sync-monitor check-config [FILE]
  FILE  a deployment configuration: .json, .mjs or .js (export default), or .ts (in a checkout, or on Node.js\n        22.18 or newer); default infra/monitor-config.ts, the repository's
  exit 0 when it is valid, 1 with every problem as field: value — fix`;

const STATUS_USAGE = `usage: vb365-sync-monitor status (--table NAME | --state-dir DIR) [--server ID] [--all] [--json] [--exit-code]
  sessions per server from the monitor's state: state, progress, rate, ETA (or the forecast from previous syncs), last
  change, age; what blocks backups (out of sync, Out of Date, Invalid, proxies, health); and its open incidents:
  since when, severity, acknowledged by whom (or an acknowledgement the next cycle applies), escalated after how long
  --table NAME     the deployed state table (TableName output; AWS credentials and region from the environment)
  --state-dir DIR  the local state of \`run --state-dir DIR\` (also while that run is running)
  --server ID      only this server
  --all            finished sessions and incidents resolved in the last day too
  --json           JSON for scripts
  --exit-code      exit 0 only when every server is clear: 3 while anything syncs, is out of sync, failed or is
                   blocked, 4 when a server was never polled, cannot be used or was not polled for an hour; the reasons go
                   to stderr, so an upgrade or maintenance script can wait on it`;

const TEST_NOTIFICATION_USAGE = `usage: vb365-sync-monitor test-notification [--channel CHANNEL] [--type TYPE] [--topic-arn ARN]
  prints every channel's rendering of every event type (nothing is sent)
  --channel CHANNEL  only email, slack, teams, webhook or qdeveloper
  --type TYPE        only this event type (${EVENT_TYPES.length} types, e.g. sync.failed)
  --topic-arn ARN    instead, publish one clearly marked test event (monitor.started unless --type) through this SNS topic:
                     the deployed TopicArn output; every subscriber that takes its type receives it
                     (AWS credentials from the environment; the region is the topic's)`;

/** Usage of each command, for `--help`. */
const COMMAND_USAGE: Record<string, string> = {
  demo: DEMO_USAGE,
  init: INIT_USAGE,
  cert: CERT_USAGE,
  doctor: DOCTOR_USAGE,
  run: RUN_USAGE,
  'check-config': CHECK_CONFIG_USAGE,
  status: STATUS_USAGE,
  ack: ACK_USAGE,
  'test-notification': TEST_NOTIFICATION_USAGE,
};

/** Local table name for embedded state. */
const LOCAL_TABLE = 'vb365-sync-monitor';

export async function main(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    const usage = command === undefined ? undefined : COMMAND_USAGE[command];
    if (usage !== undefined && wantsHelp(rest)) {
      process.stdout.write(`${usage}\n`);
      return 0;
    }
    switch (command) {
      case 'demo':
      case undefined:
        return await demo(parseDemoArgs(rest));
      case 'init':
        return await initCommand(rest);
      case 'cert':
        return await certCommand(rest);
      case 'doctor':
        return await doctorCommand(rest, process.env);
      case 'run':
        return await run(parseRunArgs(rest, process.env, await configOption(rest)));
      case 'check-config':
        return await checkConfig(rest);
      case 'test-notification':
        return await testNotification(rest);
      case 'status':
        return await status(rest);
      case 'ack':
        return await ack(parseAckArgs(rest, osUser));
      case 'simulator': {
        // Its own usage and option errors (it is also \`npm run simulator\`).
        const { simulatorMain } = await import('../simulator/main.js');
        return await simulatorMain(rest);
      }
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(`${USAGE}\n`);
        return 0;
      default:
        throw new UsageError(`unknown command ${JSON.stringify(command)}\n${USAGE}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`vb365-sync-monitor: ${err.message}\n`);
      return 2;
    }
    // By name: embedded-dynamodb.js is loaded only by the commands that keep state.
    if (err instanceof Error && err.name === 'StateDirBusyError') {
      process.stderr.write(`vb365-sync-monitor: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`vb365-sync-monitor: ${oneLine(err)}\n`);
    return 1;
  }
}

// ---- configuration files -----------------------------------------------------------------------------------------

/** The configuration of `--config FILE` (or `--config=FILE`), checked; `undefined` without the option. */
async function configOption(args: readonly string[]): Promise<ResolvedConfig | undefined> {
  const at = args.findIndex((a) => a === '--config' || a.startsWith('--config='));
  if (at < 0) return undefined;
  const file = args[at]?.startsWith('--config=') ? args[at].slice('--config='.length) : args[at + 1];
  if (!file) throw new UsageError('--config needs a file: a deployment configuration (.json, .mjs or .ts)');
  return readConfig(file);
}

/** A configuration file, checked (CA files relative to the working directory); problems as a usage error. */
async function readConfig(file: string): Promise<ResolvedConfig> {
  try {
    return resolveConfig(await loadConfigFile(file), (path) => {
      try {
        return readFileSync(resolvePath(path), 'utf8');
      } catch {
        return undefined;
      }
    });
  } catch (err) {
    if (err instanceof MonitorConfigError || err instanceof ConfigFileError)
      throw new UsageError(`${file}: ${err.message}`);
    throw err;
  }
}

async function checkConfig(args: readonly string[]): Promise<number> {
  let positionals: string[];
  try {
    ({ positionals } = parseArgs({ args: [...args], options: {}, allowPositionals: true, strict: true }));
  } catch (err) {
    throw new UsageError(`check-config: ${(err as Error).message}`);
  }
  if (positionals.length > 1) throw new UsageError(`check-config: one file at most\n${CHECK_CONFIG_USAGE}`);
  const file = positionals[0] ?? 'infra/monitor-config.ts';
  let config: ResolvedConfig;
  try {
    config = await readConfig(file);
  } catch (err) {
    // A configuration with problems is a finding (exit 1), not a mistake in how the command was called.
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`vb365-sync-monitor: ${err.message}\n`);
    return 1;
  }
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const kinds = new Map<string, number>();
  for (const s of config.servers) {
    const kind = Object.keys(s.credentials)[0] ?? '?';
    kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  }
  process.stdout.write(
    [
      `${file}: valid`,
      `  ${count(config.servers.length, 'server')}: ${config.servers.filter((s) => s.caBundle).length} with a CA bundle, ${config.servers.filter((s) => s.pinSha256).length} pinned, ${new Set(config.servers.map((s) => s.vpc?.vpcId ?? 'default')).size} network placement(s)`,
      `  credentials: ${[...kinds].map(([k, n]) => `${n} by ${k}`).join(', ')}`,
      `  poll every ${config.pollEveryMinutes} min; stall after ${config.policy.stallAfterMinutes} min; out of sync after ${config.policy.outOfSyncAfterMinutes || 'never (off)'}${config.policy.outOfSyncAfterMinutes ? ' min' : ''}; metrics ${config.metrics}${config.dashboard ? ' with a dashboard' : ''}`,
      '',
    ].join('\n'),
  );
  return 0;
}

// ---- run: a real server ------------------------------------------------------------------------------------------

async function run(opts: RunOptions): Promise<number> {
  let ca: string | undefined;
  try {
    ca = opts.ca === undefined ? undefined : loadCaBundle(opts.ca);
  } catch (err) {
    throw new UsageError(`--ca: ${(err as Error).message}`);
  }
  const { vb365ApiFor, pollDepsFor } = await import('../../lambda/wiring.js');
  const api = vb365ApiFor({
    url: opts.server,
    apiVersion: opts.apiVersion,
    ca,
    pinSha256: opts.pin,
    credentials: () => ({ username: opts.username, password: opts.password }),
  });
  const { store, close } = await openStore(opts, 'run');
  const consoleOut = new ConsoleNotifier(process.stdout, opts.json);
  const notifier: Notifier = opts.topicArn ? new TeeNotifier(await snsNotifier(opts.topicArn), consoleOut) : consoleOut;
  const log = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

  let stopping = false;
  const stop = () => {
    stopping = true;
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    for (let cycle = 1; ; cycle++) {
      const summary = await pollOnce(
        pollDepsFor(
          { api, store, notifier },
          {
            policy: opts.policy,
            server: { id: opts.serverId, name: opts.serverName, url: api.baseUrl.replace(/\/$/, '') },
            owner: `cli-${process.pid}-${cycle}`,
          },
        ),
      );
      log(describeCycle(summary));
      for (const p of summary.problems) log(`  problem: ${p.sessionId ? `session ${p.sessionId}: ` : ''}${p.message}`);
      if (opts.once) {
        if (summary.status !== 'ok') process.stderr.write(`vb365-sync-monitor: ${summary.reason ?? summary.status}\n`);
        return summary.status === 'ok' ? 0 : 1;
      }
      for (let waited = 0; waited < opts.intervalSeconds * 1000 && !stopping; waited += 250) await sleep(250);
      if (stopping) return 0;
    }
  } finally {
    await api.close({ logout: true });
    await close();
  }
}

/**
 * The state of `run` or `status`: a DynamoDB table, or embedded DynamoDB (in a state directory, or in memory). `run`
 * publishes the endpoint of its state directory's engine so that `status` (`reader`) can read it meanwhile.
 */
async function openStore(
  opts: Pick<RunOptions, 'table' | 'stateDir'>,
  role: 'run' | 'reader',
): Promise<{ store: DynamoDbStateStore; close: () => Promise<void> }> {
  const [{ dynamoDbClient, stateStoreFor }, { ensureTable, localClient, openStateDir, startDynalite }] =
    await Promise.all([import('../../lambda/wiring.js'), import('../stand-ins/embedded-dynamodb.js')]);
  if (opts.table) {
    const client = dynamoDbClient();
    return { store: stateStoreFor(opts.table, client), close: async () => client.destroy() };
  }
  const engine = opts.stateDir
    ? await openStateDir(opts.stateDir, role === 'run' ? { publish: true } : { share: true })
    : await startDynalite();
  const client = localClient(engine.endpoint);
  await ensureTable(client, LOCAL_TABLE);
  return {
    store: stateStoreFor(LOCAL_TABLE, client),
    close: async () => {
      client.destroy();
      await engine.close();
    },
  };
}

/**
 * An SNS notifier for the topic, with a client in the topic's region (from the ARN; SNS publishes only there), or the
 * environment's when the ARN does not say. The SDK is loaded only here: commands that publish nothing start faster.
 */
async function snsNotifier(topicArn: string): Promise<ClosableNotifier> {
  const { lazySnsNotifier } = await import('../../lambda/wiring.js');
  const region = topicRegion(topicArn);
  return lazySnsNotifier(topicArn, region ? { region } : {});
}

/** The region of an SNS topic ARN, or `undefined` when it is not one. */
function topicRegion(arn: string): string | undefined {
  return /^arn:aws[a-z-]*:sns:([a-z0-9-]+):\d{12}:[\w-]+$/.exec(arn)?.[1];
}

/** Publishes to SNS and shows what got through on the console. */
class TeeNotifier implements Notifier {
  constructor(
    private readonly primary: Notifier,
    private readonly echo: Notifier,
  ) {}

  async publish(events: readonly MonitorEvent[], options?: CallOptions): Promise<PublishResult> {
    const result = await this.primary.publish(events, options);
    await this.echo.publish(events.filter((e) => result.delivered.has(e.eventId)));
    return result;
  }
}

// ---- status: what the state table knows -------------------------------------------------------------------------

async function status(args: readonly string[]): Promise<number> {
  let values: {
    table?: string;
    'state-dir'?: string;
    server?: string;
    all?: boolean;
    json?: boolean;
    'exit-code'?: boolean;
  };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: {
        table: { type: 'string' },
        'state-dir': { type: 'string' },
        server: { type: 'string' },
        all: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        'exit-code': { type: 'boolean', default: false },
      },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(`status: ${(err as Error).message}\n${STATUS_USAGE}`);
  }
  if (!values.table === !values['state-dir'])
    throw new UsageError('status: give --table NAME (AWS) or --state-dir DIR (local state of `run --state-dir`)');
  const stateDir = values['state-dir'];
  if (stateDir !== undefined && !existsSync(stateDir)) {
    process.stderr.write(
      `vb365-sync-monitor: status: ${stateDir} does not exist: no \`run --state-dir ${stateDir}\` has kept state there yet\n`,
    );
    return 1;
  }
  const { store, close } = await openStore({ table: values.table, stateDir }, 'reader');
  try {
    const ids = values.server ? [values.server] : await store.serverIds();
    const now = new Date();
    const statuses = [];
    for (const id of ids) {
      const snapshot = await store.load(id);
      // The forecast of running syncs needs the history of finished ones: read only when something runs.
      const running = snapshot.sessions.some((e) => e.record.phase === 'running');
      const since = new Date(now.getTime() - DEFAULT_POLICY.historyRetentionMs).toISOString();
      const history = running ? await store.history(id, since) : [];
      statuses.push(statusOf(id, snapshot, now, values.all, history));
    }
    process.stdout.write(`${values.json ? JSON.stringify(statuses, null, 2) : formatStatus(statuses, now)}\n`);
    if (!values['exit-code']) return 0;
    const blocking = statuses.flatMap((s) => s.blocking.map((b) => ({ serverId: s.serverId, ...b })));
    for (const b of blocking) process.stderr.write(`vb365-sync-monitor: status: ${b.serverId}: ${b.what}\n`);
    if (statuses.length === 0 || blocking.some((b) => b.kind === 'unknown')) return 4;
    return blocking.length > 0 ? 3 : 0;
  } finally {
    await close();
  }
}

// ---- ack: acknowledge an incident ----------------------------------------------------------------------------------

/**
 * Stores a request to acknowledge the open incident the argument names; the server's next poll cycle applies it
 * (DESIGN §10). Idempotent: an incident already acknowledged, or with a request waiting, is not requested again
 * unless a new `--reason` is given.
 */
async function ack(opts: AckOptions): Promise<number> {
  const fail = (message: string) => {
    process.stderr.write(`vb365-sync-monitor: ack: ${message}\n`);
    return 1;
  };
  if (opts.stateDir !== undefined && !existsSync(opts.stateDir))
    return fail(`${opts.stateDir} does not exist: no \`run --state-dir ${opts.stateDir}\` has kept state there yet`);
  const { store, close } = await openStore(opts, 'reader');
  try {
    const ids = opts.serverId ? [opts.serverId] : await store.serverIds();
    const servers = [];
    for (const serverId of ids) servers.push({ serverId, snapshot: await store.load(serverId) });
    const { matches, open } = findIncidents(opts.target, servers);
    const where = opts.serverId ? ` on ${opts.serverId}` : '';
    if (matches.length === 0) {
      return fail(
        open.length === 0
          ? `no open incident${where}: nothing to acknowledge`
          : `${JSON.stringify(opts.target)} names no open incident${where}: name a repository, a server id or a key of these\n${describeIncidents(open)}`,
      );
    }
    if (matches.length > 1) {
      return fail(
        `${JSON.stringify(opts.target)} names ${matches.length} open incidents: name one by its key\n${describeIncidents(matches)}`,
      );
    }
    const found = matches[0] as FoundIncident;
    const { serverId, incident } = found;
    const current = found.ackRequested ?? incident.acknowledged;
    if (current !== null && (opts.reason === undefined || opts.reason === current.reason)) {
      // Already done (or waiting for the next cycle): writing again would announce it twice.
      const state = found.ackRequested ? 'acknowledgement already requested' : 'already acknowledged';
      if (opts.json)
        process.stdout.write(`${JSON.stringify(ackJson(serverId, { key: incident.key, ...current }, false))}\n`);
      else
        process.stdout.write(
          `${incidentWhat(incident)} on ${serverId}: ${state} by ${current.by} at ${utc(current.at)}${current.reason ? `: ${current.reason}` : ''}\n` +
            `  nothing written; give a new --reason to update it\n`,
        );
      return 0;
    }
    const request: AckRequest = {
      key: incident.key,
      by: opts.by,
      reason: opts.reason ?? null,
      at: new Date().toISOString(),
    };
    await store.requestAck(serverId, request);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(ackJson(serverId, request, true))}\n`);
      return 0;
    }
    process.stdout.write(
      [
        `${incidentWhat(incident)} on ${serverId}: acknowledgement requested by ${request.by}${request.reason ? `: ${request.reason}` : ''}`,
        `  incident ${incident.key} (open since ${utc(incident.openedAt)}, ${incident.severity})`,
        `  the next poll cycle of ${serverId} applies it: it announces incident.acknowledged in the incident's thread and channels, and reminders and escalation stop`,
        '  it clears itself when the incident resolves; `status` shows it meanwhile',
        '',
      ].join('\n'),
    );
    return 0;
  } finally {
    await close();
  }
}

function ackJson(serverId: string, request: AckRequest, written: boolean) {
  return { serverId, key: request.key, by: request.by, reason: request.reason, at: request.at, written };
}

/** The user name of this process (the default of `ack --by`), or `undefined` when the system does not say. */
function osUser(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    // No passwd entry (a container running as an arbitrary uid).
    return process.env.USER ?? process.env.USERNAME;
  }
}

// ---- test-notification: what each channel shows ------------------------------------------------------------------

const RENDERERS: Record<string, (e: MonitorEvent) => string> = {
  email: (e) => `Subject: ${subjectOf(e)}\n\n${textOf(e)}`,
  slack: (e) => JSON.stringify(slackMessage(e), null, 2),
  teams: (e) => JSON.stringify(teamsMessage(e), null, 2),
  webhook: (e) => JSON.stringify(e, null, 2),
  qdeveloper: (e) => JSON.stringify(qDeveloperNotification(e), null, 2),
};

async function testNotification(args: readonly string[]): Promise<number> {
  let values: { channel?: string; type?: string; 'topic-arn'?: string };
  try {
    ({ values } = parseArgs({
      args: [...args],
      options: { channel: { type: 'string' }, type: { type: 'string' }, 'topic-arn': { type: 'string' } },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError(`test-notification: ${(err as Error).message}`);
  }
  const topicArn = values['topic-arn'];
  if (topicArn !== undefined && topicRegion(topicArn) === undefined)
    throw new UsageError(
      `test-notification: --topic-arn ${topicArn} is not an SNS topic ARN: use the TopicArn output, arn:aws:sns:REGION:ACCOUNT:NAME`,
    );
  const channels = values.channel ? [values.channel] : Object.keys(RENDERERS);
  for (const c of channels)
    if (!RENDERERS[c]) throw new UsageError(`--channel ${c}: use one of ${Object.keys(RENDERERS).join(', ')}`);
  if (values.type && !(EVENT_TYPES as readonly string[]).includes(values.type)) {
    throw new UsageError(`--type ${values.type}: use one of ${EVENT_TYPES.join(', ')}`);
  }
  // One sample per type, then the variants that show what one sample cannot (a storm's likely cause, other blockers).
  const samples = [...everyEventType().map((event) => ({ label: '', event })), ...sampleVariants()].filter(
    (s) => !values.type || s.event.type === values.type,
  );
  if (topicArn !== undefined) {
    // A real publish: marked as a test in the server name and the event id, so nobody mistakes it for an incident.
    const base = samples[0]?.event as MonitorEvent;
    const event: MonitorEvent = {
      ...base,
      eventId: `test/${new Date().toISOString()}/${base.type}`,
      occurredAt: new Date().toISOString(),
      server: { ...base.server, name: `${base.server.name} (TEST NOTIFICATION)` },
    };
    const notifier = await snsNotifier(topicArn);
    try {
      const result = await notifier.publish([event]);
      if (result.delivered.size !== 1) throw new Error(result.failed[0]?.reason ?? 'not published');
    } finally {
      notifier.close();
    }
    process.stdout.write(
      `published test event ${event.eventId} (${event.type}) to ${topicArn}: "${subjectOf(event)}" reaches every confirmed subscription that takes ${event.type}, email within a minute\n`,
    );
    return 0;
  }
  for (const { label, event } of samples) {
    for (const c of channels)
      process.stdout.write(
        `=== ${c} · ${event.type}${label ? ` (${label})` : ''}\n${(RENDERERS[c] as (x: MonitorEvent) => string)(event)}\n\n`,
      );
  }
  return 0;
}

// ---- demo: everything embedded ---------------------------------------------------------------------------------

function parseDemoArgs(args: readonly string[]): { fast: boolean } {
  try {
    const { values } = parseArgs({
      args: [...args],
      options: { fast: { type: 'boolean', default: false } },
      strict: true,
    });
    return { fast: values.fast === true };
  } catch (err) {
    throw new UsageError(`demo: ${(err as Error).message}\n${DEMO_USAGE}`);
  }
}

async function demo({ fast }: { fast: boolean }): Promise<number> {
  const out = process.stdout;
  const [{ startSimulator }, { demoScenario }, { ensureTable, localClient, startDynalite }, wiring] = await Promise.all(
    [
      import('../simulator/simulator.js'),
      import('../simulator/scenarios.js'),
      import('../stand-ins/embedded-dynamodb.js'),
      import('../../lambda/wiring.js'),
    ],
  );
  const stepMinutes = 20;
  let clock = Date.UTC(2026, 10, 28, 8, 0, 0);
  // The simulator keeps the demo's clock: job runs and next runs are on the same timeline as the cycles.
  const sim = await startSimulator({ scenario: demoScenario, now: () => clock });
  let engine: EmbeddedDynamoDb | undefined;
  let client: DynamoDBClient | undefined;
  const api = wiring.vb365ApiFor(
    { url: sim.url, ca: sim.pki.caCert, credentials: () => ({ username: sim.username, password: sim.password }) },
    { maxRetries: 1, callDeadlineMs: 10_000 },
  );
  try {
    engine = await startDynalite();
    client = localClient(engine.endpoint);
    await ensureTable(client, LOCAL_TABLE);
    const store = wiring.stateStoreFor(LOCAL_TABLE, client);
    const notifier = new ConsoleNotifier(out, false);
    const server = { id: 'demo-vb365', name: 'Demo VB365', url: sim.url };

    out.write(
      [
        'vb365-sync-monitor demo',
        `  VB365 simulator: ${sim.url} (REST API v5-v8, TLS with a CA generated just now)`,
        `  state: embedded DynamoDB (${engine.engine}); notifications: printed below as an email reader sees them`,
        `  one poll cycle every ${stepMinutes} simulated minutes; stall after ${formatDuration(DEFAULT_POLICY.stallAfterMs / 1000)}, outage alert after ${formatDuration(DEFAULT_POLICY.unreachableAfterMs / 1000)}, a vanished session ends after ${DEFAULT_POLICY.vanishGraceCycles} reachable cycles`,
        '',
        '',
      ].join('\n'),
    );
    let cycle = 0;
    for (let note = sim.step(); note !== undefined; note = sim.step()) {
      const at = new Date(clock);
      out.write(`--- cycle ${cycle} at ${at.toISOString().slice(11, 16)} UTC: ${note}\n\n`);
      const summary = await pollOnce(
        wiring.pollDepsFor(
          { api, store, notifier },
          { policy: DEFAULT_POLICY, server, now: () => at, owner: `demo-${cycle}` },
        ),
      );
      if (summary.status !== 'ok') out.write(`    (cycle could not read the server: ${summary.reason})\n\n`);
      else if (summary.eventsPublished === 0) out.write('    (no change worth a notification)\n\n');
      cycle += 1;
      clock += stepMinutes * 60_000;
      if (!fast) await sleep(4_500);
    }
    const snapshot = await store.load(server.id);
    out.write(
      summaryTable(
        snapshot.sessions.map((s) => s.record),
        clock - stepMinutes * 60_000,
      ),
    );
    out.write(
      `\n${cycle} cycles; VB365 requests: ${sim.counters.listSessions} lists, ${sim.counters.getSession} session GETs, ${sim.counters.getRepository} repository GETs, ${sim.counters.token} logins; DynamoDB: ${store.stats.queries} queries, ${store.stats.puts} conditional writes\n`,
    );
    return 0;
  } finally {
    await api.close();
    client?.destroy();
    await engine?.close();
    await sim.close();
  }
}

/** One row per session; `endedAt` (ms) closes the duration of sessions still open. */
function summaryTable(records: readonly SessionRecord[], endedAt: number): string {
  const rows = records.map((r) => [
    r.repositoryName ?? r.repositoryId ?? r.id,
    r.phase === 'ended' ? (r.outcome ?? 'ended') : r.phase,
    r.progressPercent === null ? '-' : `${r.progressPercent} %`,
    r.firstSeenAt.slice(11, 16),
    r.finishedAt ? r.finishedAt.slice(11, 16) : '-',
    formatDuration(((r.finishedAt ? Date.parse(r.finishedAt) : endedAt) - Date.parse(r.firstSeenAt)) / 1000),
    String(r.sequence),
  ]);
  const header = ['Repository', 'Outcome', 'Progress', 'First seen', 'Finished', 'Duration', 'Events'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [
    'Sessions at the end of the demo:',
    '',
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
  ].join('\n');
}

function describeCycle(s: CycleSummary): string {
  if (s.status !== 'ok') return `cycle: server ${s.serverId} not usable (${s.status}): ${s.reason ?? ''}`;
  return `cycle: ${s.sessionsListed} sessions listed, ${s.sessionsTracked} tracked, ${s.eventsPublished} events published${s.eventsPending ? `, ${s.eventsPending} pending` : ''}`;
}

function oneLine(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? message;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
