import * as v from 'valibot';
import { credentialsInUrl, holdsPrivateKey, isLoopback, pinProblem, withoutUserinfo } from './adapters/vb365/tls.js';
import type { Channel } from './domain/delivery.js';
import type { DigestSchedule } from './domain/digest.js';
import { EVENT_TYPES } from './domain/events.js';
import {
  DEFAULT_POLICY,
  digestProblems,
  type MaintenanceWindow,
  maintenanceWindowProblems,
  type Policy,
  type QuietHours,
  quietHoursProblems,
} from './domain/policy.js';
import { API_VERSIONS, type ApiVersionSetting } from './domain/types.js';

/** Environment variable names the poll Lambda reads; the CDK construct sets them through this same map. */
export const ENV = {
  tableName: 'TABLE_NAME',
  topicArn: 'TOPIC_ARN',
  /** JSON array of {@link ServerConfig}. */
  servers: 'SERVERS',
  /** Comma-separated percentages, e.g. `25,50,75`; empty for none. */
  milestones: 'MILESTONES',
  stallAfterMinutes: 'STALL_AFTER_MINUTES',
  vanishGraceCycles: 'VANISH_GRACE_CYCLES',
  unreachableAfterMinutes: 'UNREACHABLE_AFTER_MINUTES',
  finishedRetentionDays: 'FINISHED_RETENTION_DAYS',
  recoverAfterCycles: 'RECOVER_AFTER_CYCLES',
  certificateWarningDays: 'CERTIFICATE_WARNING_DAYS',
  /** Hours between `sync.still_failed` reminders; `0` for none. */
  remindEveryHours: 'REMIND_EVERY_HOURS',
  maxReminders: 'MAX_REMINDERS',
  /** Minutes a repository may stay out of sync with nothing syncing it before `repository.out_of_sync`; `0`: off. */
  outOfSyncAfterMinutes: 'OUT_OF_SYNC_AFTER_MINUTES',
  /** JSON `{"weekday":0-6,"time":"HH:MM","timeZone"}`, or `null` for no digest; empty for the default. */
  digest: 'DIGEST',
  historyRetentionDays: 'HISTORY_RETENTION_DAYS',
  /** JSON `{"timeZone","start","end"}`; empty for none. */
  quietHours: 'QUIET_HOURS',
  /** JSON array of `{"start","end","note"?,"servers"?}`; empty for none. */
  maintenanceWindows: 'MAINTENANCE_WINDOWS',
  /** Items of one event type in one cycle that are sent as one `monitor.grouped` message; `0`: off. */
  groupThreshold: 'GROUP_THRESHOLD',
} as const;

/**
 * Username the deployment writes into a credentials secret it creates (`credentials: { create: true }`): until someone
 * stores a real account, the monitor says once what to do (`server.setup_required`) instead of trying to log in.
 */
export const CREDENTIALS_PLACEHOLDER_USERNAME = 'CHANGE-ME';

/** Development only, never set by the deployment: `true` lets a server URL use plain http to a loopback address. */
export const ALLOW_HTTP_LOOPBACK = 'ALLOW_HTTP_LOOPBACK';

/** Environment variable names the deliverer Lambda reads. */
export const DELIVERER_ENV = {
  tableName: 'TABLE_NAME',
  /** JSON array of chat/webhook channels (see `Channel`). */
  channels: 'CHANNELS',
  /**
   * Optional: PEM CA certificates trusted for webhook receivers in addition to Node's bundled roots (a self-hosted
   * receiver with an internal CA). The deployment does not set it; local runs and tests do.
   */
  deliveryCaBundle: 'DELIVERY_CA_BUNDLE',
} as const;

/** One VB365 server to watch. */
export interface ServerConfig {
  /** Stable id: letters, digits, `.`, `_`, `-`; 1–64 characters. Used in state keys, event ids and metrics. */
  readonly id: string;
  /** Display name in notifications. */
  readonly name: string;
  /** `https://host:4443`. */
  readonly url: string;
  readonly apiVersion: ApiVersionSetting;
  /** Secrets Manager secret (name or ARN) holding `{"username": "...", "password": "..."}`. */
  readonly credentialsSecret: string;
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
}

/** Every problem of the configuration at once: what, the value, and the fix. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n- ${problems.join('\n- ')}`);
  }
}

const SERVER_ID = /^[A-Za-z0-9._-]{1,64}$/;

const serverSchema = v.looseObject({
  id: v.string(),
  name: v.optional(v.string()),
  url: v.string(),
  apiVersion: v.optional(v.string()),
  credentialsSecret: v.string(),
  caBundle: v.optional(v.string()),
  pinSha256: v.optional(v.string()),
});

const quietHoursSchema: v.GenericSchema<unknown, QuietHours | null> = v.nullable(
  v.object({ timeZone: v.string(), start: v.string(), end: v.string() }),
);
const digestSchema: v.GenericSchema<unknown, DigestSchedule | null> = v.nullable(
  v.object({ weekday: v.number(), time: v.string(), timeZone: v.string() }),
);
const maintenanceSchema: v.GenericSchema<unknown, MaintenanceWindow> = v.object({
  start: v.string(),
  end: v.string(),
  note: v.optional(v.string()),
  servers: v.optional(v.array(v.string())),
});

/**
 * Reads and checks the configuration from an environment record (pure: pass `process.env`). Resource names have no
 * defaults; policy tunables default to DESIGN §3. Throws one {@link ConfigError} listing every problem.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Readonly<Config> {
  const problems: string[] = [];
  const required = (name: string): string => {
    const value = env[name];
    if (value === undefined || value.trim() === '') {
      problems.push(`${name} is not set: the deployment sets it (see README, configuration)`);
      return '';
    }
    return value.trim();
  };
  const httpAllowed = (url: URL) => env[ALLOW_HTTP_LOOPBACK] === 'true' && isLoopback(url);
  const tableName = required(ENV.tableName);
  const topicArn = required(ENV.topicArn);
  if (topicArn && !/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+$/.test(topicArn)) {
    problems.push(`${ENV.topicArn}=${topicArn} is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)`);
  }

  const servers: ServerConfig[] = [];
  const rawServers = required(ENV.servers);
  if (rawServers) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(rawServers);
    } catch {
      problems.push(`${ENV.servers} is not valid JSON: it must be an array of servers`);
    }
    if (parsed !== undefined && (!Array.isArray(parsed) || parsed.length === 0)) {
      problems.push(`${ENV.servers} must be a non-empty JSON array of servers`);
    } else if (Array.isArray(parsed)) {
      const seen = new Set<string>();
      parsed.forEach((item, i) => {
        const at = `${ENV.servers}[${i}]`;
        const result = v.safeParse(serverSchema, item);
        if (!result.success) {
          for (const issue of result.issues) {
            const field = `${at}.${v.getDotPath(issue) ?? ''}`;
            problems.push(
              issue.received === 'undefined'
                ? `${field} is required`
                : `${field} must be a ${issue.expected ?? 'valid value'}, got ${issue.received}`,
            );
          }
          return;
        }
        const s = result.output;
        if (!SERVER_ID.test(s.id))
          problems.push(`${at}.id ${JSON.stringify(s.id)} must be 1-64 letters, digits, '.', '_' or '-'`);
        if (seen.has(s.id)) problems.push(`${at}.id ${JSON.stringify(s.id)} is used twice: server ids must be unique`);
        seen.add(s.id);
        let url: URL | undefined;
        // Shown instead of the URL itself: a user name or password in it must not reach the logs.
        const shownUrl = withoutUserinfo(s.url);
        try {
          url = new URL(s.url);
        } catch {
          problems.push(`${at}.url ${JSON.stringify(shownUrl)} is not a URL: use https://host:4443`);
        }
        if (url && url.protocol !== 'https:' && !(url.protocol === 'http:' && httpAllowed(url))) {
          problems.push(
            `${at}.url ${shownUrl} must use https://${url.protocol === 'http:' && isLoopback(url) ? ' (plain http only to a loopback address with ALLOW_HTTP_LOOPBACK=true, for development)' : ''}`,
          );
        }
        const credentials = url && credentialsInUrl(s.url, url);
        if (credentials === 'userinfo') {
          problems.push(
            `${at}.url ${shownUrl} must not carry "user:password@": the account belongs in the secret ${s.credentialsSecret}`,
          );
        } else if (credentials === 'at-sign') {
          problems.push(
            `${at}.url ${shownUrl} must not hold "@" (a VB365 URL has none; a password with "/" reads as a path): the account belongs in the secret ${s.credentialsSecret}`,
          );
        }
        const apiVersion = s.apiVersion ?? 'auto';
        if (apiVersion !== 'auto' && !(API_VERSIONS as readonly string[]).includes(apiVersion)) {
          problems.push(`${at}.apiVersion ${JSON.stringify(apiVersion)} must be one of v5, v6, v7, v8, auto`);
        }
        const pinIssue = s.pinSha256 === undefined ? undefined : pinProblem(s.pinSha256);
        if (pinIssue !== undefined) problems.push(`${at}.pinSha256 must be a SHA-256 fingerprint: ${pinIssue}`);
        if (s.caBundle !== undefined && holdsPrivateKey(s.caBundle)) {
          problems.push(
            `${at}.caBundle holds a private key ("-----BEGIN … PRIVATE KEY-----"): give only certificates, and treat that key as exposed`,
          );
        } else if (s.caBundle !== undefined && !s.caBundle.includes('-----BEGIN CERTIFICATE-----')) {
          problems.push(`${at}.caBundle must be PEM text with at least one "-----BEGIN CERTIFICATE-----" block`);
        }
        servers.push({
          id: s.id,
          name: s.name ?? s.id,
          url: s.url,
          apiVersion: apiVersion as ApiVersionSetting,
          credentialsSecret: s.credentialsSecret,
          caBundle: s.caBundle,
          pinSha256: s.pinSha256,
        });
      });
    }
  }

  const number = (name: string, fallback: number, min: number, integer: boolean): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
      problems.push(`${name}=${raw} must be ${integer ? 'a whole number' : 'a number'} of at least ${min}`);
      return fallback;
    }
    return n;
  };
  /** A JSON setting: empty for the fallback; shape checked by `schema`, meaning by `check` (`field: value — fix`). */
  const json = <T>(
    name: string,
    schema: v.GenericSchema<unknown, T>,
    fallback: T,
    check: (value: T) => string[],
  ): T => {
    const raw = env[name]?.trim() ?? '';
    if (raw === '') return fallback;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      problems.push(`${name} is not valid JSON`);
      return fallback;
    }
    const result = v.safeParse(schema, parsed);
    if (!result.success) {
      for (const issue of result.issues) {
        const field = `${name}${issue.path?.[0]?.type === 'array' ? '' : '.'}${v.getDotPath(issue) ?? ''}`;
        problems.push(
          issue.received === 'undefined'
            ? `${field} is required`
            : `${field}: expected ${issue.expected ?? 'a valid value'}, got ${issue.received}`,
        );
      }
      return fallback;
    }
    const found = check(result.output);
    for (const p of found) problems.push(`${name}${p.startsWith('[') ? '' : '.'}${p}`);
    return found.length > 0 ? fallback : result.output;
  };
  const remindEveryMs = (hours: number) => (hours === 0 ? null : hours * 3_600_000);
  const minutesOrOff = (minutes: number) => (minutes === 0 ? null : minutes * 60_000);
  const orOff = (n: number) => (n === 0 ? null : n);
  const milestonesRaw = env[ENV.milestones] ?? '';
  const milestones = milestonesRaw
    .split(',')
    .filter((m) => m.trim() !== '')
    .map(Number);
  if (milestones.some((m) => !Number.isFinite(m) || m <= 0 || m >= 100)) {
    problems.push(`${ENV.milestones}=${milestonesRaw} must be percentages between 1 and 99, comma-separated`);
  }
  const policy: Policy = {
    milestones: milestones.filter((m) => m > 0 && m < 100).sort((a, b) => a - b),
    stallAfterMs: number(ENV.stallAfterMinutes, DEFAULT_POLICY.stallAfterMs / 60_000, 1, false) * 60_000,
    vanishGraceCycles: number(ENV.vanishGraceCycles, DEFAULT_POLICY.vanishGraceCycles, 1, true),
    unreachableAfterMs:
      number(ENV.unreachableAfterMinutes, DEFAULT_POLICY.unreachableAfterMs / 60_000, 0, false) * 60_000,
    finishedRetentionMs:
      number(ENV.finishedRetentionDays, DEFAULT_POLICY.finishedRetentionMs / 86_400_000, 1, false) * 86_400_000,
    recoverAfterCycles: number(ENV.recoverAfterCycles, DEFAULT_POLICY.recoverAfterCycles, 1, true),
    certificateWarningMs:
      number(ENV.certificateWarningDays, DEFAULT_POLICY.certificateWarningMs / 86_400_000, 0, false) * 86_400_000,
    remindEveryMs: remindEveryMs(
      number(ENV.remindEveryHours, (DEFAULT_POLICY.remindEveryMs ?? 0) / 3_600_000, 0, false),
    ),
    maxReminders: number(ENV.maxReminders, DEFAULT_POLICY.maxReminders, 0, true),
    groupThreshold: orOff(number(ENV.groupThreshold, DEFAULT_POLICY.groupThreshold ?? 0, 0, true)),
    digest: json<DigestSchedule | null>(ENV.digest, digestSchema, DEFAULT_POLICY.digest, (d) =>
      d ? digestProblems(d) : [],
    ),
    historyRetentionMs:
      number(ENV.historyRetentionDays, DEFAULT_POLICY.historyRetentionMs / 86_400_000, 1, false) * 86_400_000,
    outOfSyncAfterMs: minutesOrOff(
      number(ENV.outOfSyncAfterMinutes, (DEFAULT_POLICY.outOfSyncAfterMs ?? 0) / 60_000, 0, false),
    ),
    quietHours: json<QuietHours | null>(ENV.quietHours, quietHoursSchema, null, (q) =>
      q ? quietHoursProblems(q) : [],
    ),
    maintenanceWindows: json(ENV.maintenanceWindows, v.array(maintenanceSchema), [], (ws) =>
      ws.flatMap((w, i) => maintenanceWindowProblems(w).map((p) => `[${i}].${p}`)),
    ),
  };

  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ tableName, topicArn, servers: Object.freeze(servers), policy: Object.freeze(policy) });
}

/** The deliverer Lambda's configuration. */
export interface DelivererConfig {
  readonly tableName: string;
  readonly channels: readonly Channel[];
  /** Extra PEM CA certificates for webhook receivers, added to Node's bundled roots. */
  readonly caBundle: string | undefined;
}

const channelBase = {
  id: v.pipe(v.string(), v.regex(/^[A-Za-z0-9._-]{1,64}$/)),
  eventTypes: v.optional(v.array(v.picklist(EVENT_TYPES))),
};
const channelSchema = v.variant('kind', [
  v.object({
    ...channelBase,
    kind: v.picklist(['slack', 'teams', 'webhook']),
    secret: v.pipe(v.string(), v.minLength(1)),
    mentions: v.optional(v.record(v.picklist(['info', 'warning', 'critical']), v.string())),
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
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ tableName, channels, caBundle });
}
