import { readFileSync } from 'node:fs';
import * as v from 'valibot';
import {
  type CredentialsRef,
  credentialsRefOf,
  MonitorConfigError,
  policyOf,
  type ResolvedConfig,
  resolveConfig,
} from './config-schema.js';
import { holdsPrivateKey } from './connection-checks.js';
import type { Channel } from './domain/channels.js';
import { EVENT_TYPES } from './domain/events.js';
import type { Policy } from './domain/policy.js';
import type { ApiVersionSetting } from './domain/types.js';
import { ALLOW_HTTP_LOOPBACK, CONFIG_FILE_NAME, DELIVERER_ENV, ENV } from './names.js';

/**
 * Username the deployment writes into a credentials secret it creates. Defined with the other shared names; exported
 * here too for lambda/wiring.ts, which reads it from this module.
 */
export { CREDENTIALS_PLACEHOLDER_USERNAME } from './names.js';

/** One VB365 server to watch. */
export interface ServerConfig {
  /** Stable id: letters, digits, `.`, `_`, `-`; 1–64 characters. Used in state keys and event ids. */
  readonly id: string;
  /** Display name in notifications. */
  readonly name: string;
  /** `https://host:4443`. */
  readonly url: string;
  readonly apiVersion: ApiVersionSetting;
  /** Where its `{"username","password"}` is read. */
  readonly credentials: CredentialsRef;
  /** PEM CA bundle for the server's certificate (certificates only; a private key is refused). */
  readonly caBundle?: string | undefined;
  /** SHA-256 fingerprint of the server's certificate; alone, it trusts exactly that certificate. */
  readonly pinSha256?: string | undefined;
}

export interface Config {
  readonly tableName: string;
  readonly topicArn: string;
  readonly servers: readonly ServerConfig[];
  readonly policy: Policy;
  readonly pollEveryMinutes: number;
  /** A server not polled for this many intervals is announced by the fleet check. */
  readonly heartbeatIntervals: number;
  /** Custom metrics: one for the deployment, or per server. */
  readonly metrics: 'fleet' | 'perServer';
}

/** Every problem of the configuration at once: what, the value, and the fix. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n- ${problems.join('\n- ')}`);
  }
}

/** Reads a file as UTF-8 text (injected so tests can give the configuration without a file). */
export type ReadText = (path: string) => string;

/**
 * Reads and checks the configuration: names from the environment (pure: pass `process.env`), the rest from the
 * configuration file, checked against the same schema as the synth. Throws one {@link ConfigError} listing every
 * problem.
 */
export function loadConfig(
  env: Readonly<Record<string, string | undefined>>,
  readText: ReadText = (path) => readFileSync(path, 'utf8'),
): Readonly<Config> {
  const problems: string[] = [];
  const required = (name: string): string => {
    const value = env[name];
    if (value === undefined || value.trim() === '') {
      problems.push(`${name} is not set: the deployment sets it (see README, configuration)`);
      return '';
    }
    return value.trim();
  };
  const tableName = required(ENV.tableName);
  const topicArn = required(ENV.topicArn);
  if (topicArn && !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+$/.test(topicArn)) {
    problems.push(`${ENV.topicArn}=${topicArn} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)`);
  }
  const file = env[ENV.configFile]?.trim() || CONFIG_FILE_NAME;
  let resolved: ResolvedConfig | undefined;
  let text: string | undefined;
  try {
    text = readText(file);
  } catch (err) {
    problems.push(
      `${file}: cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'}): the deployment puts it beside the code; set ${ENV.configFile} to another path`,
    );
  }
  if (text !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      problems.push(`${file}: is not valid JSON`);
    }
    if (parsed !== undefined) {
      try {
        resolved = resolveConfig(parsed, undefined, { allowHttpLoopback: env[ALLOW_HTTP_LOOPBACK] === 'true' });
        for (const [i, s] of resolved.servers.entries()) {
          if (s.credentials.create === true)
            problems.push(
              `${file}: servers[${i}].credentials: {"create":true} — the deployment names the created secret; deploy again`,
            );
        }
      } catch (err) {
        if (!(err instanceof MonitorConfigError)) throw err;
        for (const p of err.problems) problems.push(`${file}: ${p}`);
      }
    }
  }
  if (problems.length > 0 || resolved === undefined) throw new ConfigError(problems);
  const config = resolved;
  return Object.freeze({
    tableName,
    topicArn,
    servers: Object.freeze(
      config.servers.map((s) => ({
        id: s.id,
        name: s.name,
        url: s.url,
        apiVersion: s.apiVersion,
        credentials: credentialsRefOf(s, config.stackName),
        caBundle: s.caBundle,
        pinSha256: s.pinSha256,
      })),
    ),
    policy: Object.freeze(policyOf(config)),
    pollEveryMinutes: config.pollEveryMinutes,
    heartbeatIntervals: config.heartbeatIntervals,
    metrics: config.metrics,
  });
}

/** The deliverer Lambda's configuration. */
export interface DelivererConfig {
  readonly tableName: string;
  readonly channels: readonly Channel[];
  /** Extra PEM CA certificates for webhook receivers, added to Node's bundled roots. */
  readonly caBundle: string | undefined;
  /** Slack Web API base URL override (local runs and tests); `undefined`: Slack's. */
  readonly slackApiUrl: string | undefined;
  /** PagerDuty Events API v2 endpoint override (local runs and tests); `undefined`: PagerDuty's. */
  readonly pagerDutyEventsUrl: string | undefined;
}

const channelBase = {
  id: v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,64}$/)),
  eventTypes: v.optional(v.array(v.picklist(EVENT_TYPES))),
  escalateAfterMinutes: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_080))),
  organizations: v.optional(v.array(v.pipe(v.string(), v.minLength(1)))),
};
const mentions = v.optional(v.record(v.picklist(['info', 'warning', 'critical']), v.string()));
const channelSchema = v.variant('kind', [
  v.object({
    ...channelBase,
    kind: v.picklist(['slack', 'teams', 'webhook']),
    secret: v.pipe(v.string(), v.minLength(1)),
    mentions,
  }),
  v.object({
    ...channelBase,
    kind: v.literal('slackApp'),
    secret: v.pipe(v.string(), v.minLength(1)),
    // A public (C…) or private (G… in older workspaces) channel id, as in the channel's "About" panel.
    channelId: v.pipe(v.string(), v.regex(/^[CG][A-Z0-9]{6,}$/)),
    mentions,
  }),
  v.object({
    ...channelBase,
    kind: v.literal('pagerduty'),
    secret: v.pipe(v.string(), v.minLength(1)),
  }),
  v.object({
    ...channelBase,
    kind: v.literal('qdeveloper'),
    topicArn: v.pipe(v.string(), v.regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/)),
  }),
]);

/** Reads the deliverer's configuration; throws one {@link ConfigError} listing every problem. */
export function loadDelivererConfig(env: Readonly<Record<string, string | undefined>>): Readonly<DelivererConfig> {
  const problems: string[] = [];
  const tableName = env[DELIVERER_ENV.tableName]?.trim() ?? '';
  if (tableName === '') problems.push(`${DELIVERER_ENV.tableName} is not set: the deployment sets it`);
  let channels: Channel[] = [];
  try {
    const parsed = v.safeParse(v.array(channelSchema), JSON.parse(env[DELIVERER_ENV.channels] ?? '[]'));
    if (parsed.success) channels = parsed.output as Channel[];
    else {
      for (const issue of parsed.issues) {
        problems.push(
          `${DELIVERER_ENV.channels}.${v.getDotPath(issue) ?? ''}: expected ${issue.expected ?? 'a valid value'}, got ${issue.received}`,
        );
      }
    }
  } catch {
    problems.push(`${DELIVERER_ENV.channels} is not valid JSON: it must be an array of channels`);
  }
  const caBundle = env[DELIVERER_ENV.deliveryCaBundle]?.trim() || undefined;
  if (caBundle !== undefined && holdsPrivateKey(caBundle)) {
    problems.push(
      `${DELIVERER_ENV.deliveryCaBundle} holds a private key ("-----BEGIN … PRIVATE KEY-----"): give only certificates, and treat that key as exposed`,
    );
  } else if (caBundle !== undefined && !caBundle.includes('-----BEGIN CERTIFICATE-----')) {
    problems.push(`${DELIVERER_ENV.deliveryCaBundle} must be PEM text with a "-----BEGIN CERTIFICATE-----" block`);
  }
  const apiUrl = (name: string): string | undefined => {
    const value = env[name]?.trim() || undefined;
    if (value !== undefined && !/^https:\/\/[^\s/]+(\/\S*)?$/.test(value))
      problems.push(
        `${name}=${value} must be an https:// URL (it is for local runs and tests only; unset it otherwise)`,
      );
    return value;
  };
  const slackApiUrl = apiUrl(DELIVERER_ENV.slackApiUrl);
  const pagerDutyEventsUrl = apiUrl(DELIVERER_ENV.pagerDutyEventsUrl);
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ tableName, channels, caBundle, slackApiUrl, pagerDutyEventsUrl });
}
