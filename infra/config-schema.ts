import { credentialsInUrl, holdsPrivateKey, pinProblem, withoutUserinfo } from '../lambda/adapters/vb365/tls.js';
import { type DigestSchedule, WEEKDAYS } from '../lambda/domain/digest.js';
import { EVENT_TYPES, type EventType } from '../lambda/domain/events.js';
import {
  digestProblems,
  type MaintenanceWindow,
  maintenanceWindowProblems,
  type QuietHours,
  quietHoursProblems,
} from '../lambda/domain/policy.js';

/*
 * The deployment's configuration: what a user edits (infra/monitor-config.ts) to deploy the monitor. Validated at
 * synth time; every problem is reported at once, naming the field, the value and the fix.
 */

/** How the monitor gets a server's VB365 credentials (a Secrets Manager secret holding `{"username","password"}`). */
export type CredentialsSource =
  /** An existing secret, by name. */
  | { readonly secretName: string }
  /** An existing secret, by its complete ARN. */
  | { readonly secretArn: string }
  /** The stack creates an empty secret for you to fill in after the first deploy. */
  | { readonly create: true };

export interface ServerEntry {
  /** Stable id (letters, digits, `.`, `_`, `-`; 1–64): state keys, event ids, schedule and alarm names. */
  readonly id: string;
  /** Display name in notifications. @default the id */
  readonly name?: string;
  /** The REST API: `https://host:4443`. */
  readonly url: string;
  /** @default 'auto' */
  readonly apiVersion?: 'v5' | 'v6' | 'v7' | 'v8' | 'auto';
  readonly credentials: CredentialsSource;
  /** Path (relative to the project root) of a PEM CA bundle, or the server's self-signed certificate. */
  readonly caBundleFile?: string;
  /** SHA-256 fingerprint of the server certificate (`AB:CD:…` or plain hex). */
  readonly pinSha256?: string;
  /**
   * Run this server's polling inside a VPC (VB365 usually lives in a private network). The subnets need a route to
   * the server and to DynamoDB, SNS, Secrets Manager, CloudWatch Logs (NAT or VPC endpoints).
   */
  readonly vpc?: {
    readonly vpcId: string;
    readonly subnetIds: readonly string[];
    /** One per subnet, in the same order. */
    readonly availabilityZones: readonly string[];
  };
}

export interface EmailRecipient {
  readonly address: string;
  /** Only these event types (SNS filter policy on `type`); alarms always reach every recipient. @default all */
  readonly eventTypes?: readonly EventType[];
}

/** A chat or webhook channel whose URL (and signing secret) is kept in Secrets Manager. */
export interface WebhookChannelEntry {
  /** Name of the Secrets Manager secret holding the URL (see the README for each kind's secret format). */
  readonly secretName: string;
  /** Only these event types. @default all */
  readonly eventTypes?: readonly EventType[];
}

/** A Slack incoming webhook. */
export interface SlackChannelEntry extends WebhookChannelEntry {
  /**
   * Mention per severity: `<!here>`, `<!channel>`, `<@U…>` (a person) or `<!subteam^S…>` (a user group), several
   * separated by spaces; `''` for none. @default { critical: '<!here>' }
   */
  readonly mentions?: Partial<Record<'info' | 'warning' | 'critical', string>>;
}

/** An Amazon Q Developer in chat applications (AWS Chatbot) Slack channel (the workspace is authorised once in the console). */
export interface QDeveloperSlackChannel {
  readonly workspaceId: string;
  readonly channelId: string;
  /** Only these event types; CloudWatch alarms of the monitor always reach the channel. @default all */
  readonly eventTypes?: readonly EventType[];
}

/** An Amazon Q Developer in chat applications Microsoft Teams channel (the team is authorised once in the console). */
export interface QDeveloperTeamsChannel {
  readonly tenantId: string;
  readonly teamId: string;
  /** The channel id from the channel link (`19:…@thread.tacv2`). */
  readonly channelId: string;
  /** Only these event types; CloudWatch alarms of the monitor always reach the channel. @default all */
  readonly eventTypes?: readonly EventType[];
}

export interface MonitorConfig {
  /** @default 'Vb365SyncMonitor' */
  readonly stackName?: string;
  /** Account and region to deploy to. @default the CLI's current account and region */
  readonly env?: { readonly account?: string; readonly region?: string };
  readonly servers: readonly ServerEntry[];
  /** Minutes between two polls of a server (1–60). @default 5 */
  readonly pollEveryMinutes?: number;
  readonly policy?: {
    /** Progress percentages announced with `sync.progress`. @default [] */
    readonly milestones?: readonly number[];
    /** @default 60 */
    readonly stallAfterMinutes?: number;
    /** @default 2 */
    readonly vanishGraceCycles?: number;
    /** @default 15 */
    readonly unreachableAfterMinutes?: number;
    /** @default 30 */
    readonly finishedRetentionDays?: number;
    /** Working cycles in a row before `server.recovered` (no storm from a flapping server). @default 2 */
    readonly recoverAfterCycles?: number;
    /** `server.certificate_expiring` this many days before the REST API certificate expires. @default 14 */
    readonly certificateWarningDays?: number;
    /** Hours between `sync.still_failed` reminders while a session stays failed; 0 for none. @default 24 */
    readonly remindEveryHours?: number;
    /** Reminders at most per failure. @default 3 */
    readonly maxReminders?: number;
    /** `repository.out_of_sync` after a repository stays out of sync this long with nothing syncing it; 0: off. @default 30 */
    readonly outOfSyncAfterMinutes?: number;
    /** How long finished syncs are kept for the weekly digest. @default 90 */
    readonly historyRetentionDays?: number;
    /**
     * Storm control: this many items of one server with the same event type in one cycle reach email and chat as one
     * `monitor.grouped` message (webhooks and JSON consumers still get every event); 0: off. @default 10
     */
    readonly groupThreshold?: number;
  };
  /** When the weekly digest (`digest.weekly`) goes out; `false` for none. @default Monday 08:00 UTC */
  readonly digest?:
    | { readonly weekday: (typeof WEEKDAYS)[number]; readonly time: string; readonly timeZone: string }
    | false;
  /**
   * Daily quiet hours: non-critical events are held and summarised in one `monitor.held_summary` when they end;
   * critical ones go through. @default none
   */
  readonly quietHours?: QuietHours;
  /** Planned maintenance: every event of the servers concerned is held, and summarised after. @default [] */
  readonly maintenanceWindows?: readonly MaintenanceWindow[];
  readonly notifications?: {
    readonly emails?: readonly EmailRecipient[];
    /** Slack incoming webhooks: a secret name, or `{ secretName, eventTypes?, mentions? }`. */
    readonly slackWebhookSecrets?: readonly (string | SlackChannelEntry)[];
    /** Microsoft Teams Workflows webhooks: a secret name, or `{ secretName, eventTypes? }`. */
    readonly teamsWebhookSecrets?: readonly (string | WebhookChannelEntry)[];
    /** Signed generic webhooks (secret `{"url","signingSecret"}`): a secret name, or `{ secretName, eventTypes? }`. */
    readonly webhookSecrets?: readonly (string | WebhookChannelEntry)[];
    /** Amazon Q Developer in chat applications (AWS Chatbot) Slack channels. */
    readonly qDeveloperSlackChannels?: readonly QDeveloperSlackChannel[];
    /** Amazon Q Developer in chat applications Microsoft Teams channels. */
    readonly qDeveloperTeamsChannels?: readonly QDeveloperTeamsChannel[];
  };
  /** CloudWatch Logs retention of the Lambda logs, in days. @default 90 */
  readonly logRetentionDays?: number;
  /** Alarm when a server had no successful cycle for this many poll intervals. @default 3 */
  readonly heartbeatIntervals?: number;
}

/** Retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** A configuration whose every field passed validation, with defaults applied and CA bundles read. */
export interface ResolvedConfig {
  readonly stackName: string;
  readonly env: { readonly account?: string; readonly region?: string };
  readonly servers: readonly (ServerEntry & { readonly name: string; readonly caBundle?: string })[];
  readonly pollEveryMinutes: number;
  readonly policy: Required<NonNullable<MonitorConfig['policy']>>;
  readonly quietHours: QuietHours | null;
  readonly maintenanceWindows: readonly MaintenanceWindow[];
  readonly digest: DigestSchedule | null;
  readonly notifications: {
    readonly emails: readonly EmailRecipient[];
    readonly slackWebhookSecrets: readonly SlackChannelEntry[];
    readonly teamsWebhookSecrets: readonly WebhookChannelEntry[];
    readonly webhookSecrets: readonly WebhookChannelEntry[];
    readonly qDeveloperSlackChannels: readonly QDeveloperSlackChannel[];
    readonly qDeveloperTeamsChannels: readonly QDeveloperTeamsChannel[];
  };
  readonly logRetentionDays: number;
  readonly heartbeatIntervals: number;
}

/** Every problem of a configuration at once. */
export class MonitorConfigError extends Error {
  override readonly name = 'MonitorConfigError';
  constructor(readonly problems: readonly string[]) {
    super(
      `invalid monitor configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n- ${problems.join('\n- ')}`,
    );
  }
}

/** Reads a CA bundle file; returns `undefined` when it cannot be read. Injected so validation stays testable. */
export type ReadFile = (path: string) => string | undefined;

const ID = /^[A-Za-z0-9._-]{1,64}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Slack mentions: special ones, people, user groups; space-separated; or none. */
const SLACK_MENTIONS = /^((<!here>|<!channel>|<@[UW][A-Z0-9]+>|<!subteam\^S[A-Z0-9]+>)( (?=<))?)*$/;
function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The deliverer's channel list travels in its environment (4 KB with everything else). */
const MAX_CHANNELS = 20;

/** `value` as quoted in a problem, with every string in it masked by {@link withoutUserinfo}. */
function masked(value: unknown): unknown {
  const text = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? withoutUserinfo(v) : v));
  return text === undefined ? value : JSON.parse(text);
}

/**
 * Checks `config` and returns it resolved (defaults applied, CA bundles read), or throws one
 * {@link MonitorConfigError} listing every problem as `field: value — fix`.
 */
export function resolveConfig(config: MonitorConfig, readFile: ReadFile): ResolvedConfig {
  const problems: string[] = [];
  const bad = (field: string, value: unknown, fix: string) =>
    problems.push(`${field}: ${JSON.stringify(value)} — ${fix}`);

  const servers: ResolvedConfig['servers'][number][] = [];
  if (!Array.isArray(config.servers) || config.servers.length === 0) {
    // Quoted with its strings masked: not a list is often one server object, whose URL may carry a password.
    bad('servers', masked(config.servers), 'list at least one VB365 server ({ id, url, credentials })');
  }
  const ids = new Set<string>();
  // Not a list was reported above; going on with none lists every other problem instead of throwing a TypeError.
  const entries: readonly ServerEntry[] = Array.isArray(config.servers) ? config.servers : [];
  entries.forEach((s, i) => {
    const at = `servers[${i}]`;
    if (typeof s.id !== 'string' || !ID.test(s.id)) bad(`${at}.id`, s.id, 'use 1-64 letters, digits, ".", "_" or "-"');
    else if (ids.has(s.id)) bad(`${at}.id`, s.id, 'server ids must be unique');
    ids.add(s.id);
    let url: URL | undefined;
    // Shown instead of the URL itself: a user name or password in it must not reach the synth output.
    const shownUrl = typeof s.url === 'string' ? withoutUserinfo(s.url) : s.url;
    try {
      url = new URL(s.url);
    } catch {
      bad(`${at}.url`, shownUrl, 'use the REST API URL, e.g. https://vb365.example.local:4443');
    }
    if (url && url.protocol !== 'https:') bad(`${at}.url`, shownUrl, 'use https:// (the REST API is served over TLS)');
    const credentials = url && credentialsInUrl(s.url, url);
    if (credentials === 'userinfo') {
      bad(
        `${at}.url`,
        shownUrl,
        'remove "user:password@" from the URL: it would be stored in the template; the account goes in the credentials secret',
      );
    } else if (credentials === 'at-sign') {
      bad(
        `${at}.url`,
        shownUrl,
        'remove the "@": a VB365 URL has none (a password with "/" reads as a path); the account goes in the credentials secret',
      );
    }
    if (s.apiVersion !== undefined && !['v5', 'v6', 'v7', 'v8', 'auto'].includes(s.apiVersion)) {
      bad(`${at}.apiVersion`, s.apiVersion, 'use v5, v6, v7, v8 or auto');
    }
    const c = s.credentials as Partial<Record<'secretName' | 'secretArn' | 'create', unknown>> | undefined;
    const kinds = c ? (['secretName', 'secretArn', 'create'] as const).filter((k) => c[k] !== undefined) : [];
    if (kinds.length !== 1) {
      bad(`${at}.credentials`, s.credentials, 'give exactly one of { secretName }, { secretArn } or { create: true }');
    } else if (c?.secretName !== undefined && (typeof c.secretName !== 'string' || c.secretName.trim() === '')) {
      bad(`${at}.credentials.secretName`, c.secretName, 'name an existing Secrets Manager secret');
    } else if (
      c?.secretArn !== undefined &&
      (typeof c.secretArn !== 'string' ||
        !/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/.test(c.secretArn))
    ) {
      bad(`${at}.credentials.secretArn`, c.secretArn, 'use the complete secret ARN (ending in -XXXXXX)');
    } else if (c?.create !== undefined && c.create !== true) {
      bad(`${at}.credentials.create`, c.create, 'use { create: true } to have the stack create the secret');
    }
    let caBundle: string | undefined;
    if (s.caBundleFile !== undefined) {
      caBundle = readFile(s.caBundleFile);
      if (caBundle === undefined)
        bad(`${at}.caBundleFile`, s.caBundleFile, 'the file cannot be read: give a path relative to the project root');
      else if (holdsPrivateKey(caBundle)) {
        bad(
          `${at}.caBundleFile`,
          s.caBundleFile,
          'the file holds a private key ("-----BEGIN … PRIVATE KEY-----"): keep only the certificates in it, and treat that key as exposed',
        );
        caBundle = undefined;
      } else if (!caBundle.includes('-----BEGIN CERTIFICATE-----')) {
        bad(`${at}.caBundleFile`, s.caBundleFile, 'the file holds no PEM certificate ("-----BEGIN CERTIFICATE-----")');
        caBundle = undefined;
      }
    }
    const pinIssue = s.pinSha256 === undefined ? undefined : pinProblem(String(s.pinSha256));
    if (pinIssue !== undefined) bad(`${at}.pinSha256`, s.pinSha256, pinIssue);
    if (s.vpc !== undefined) {
      if (!/^vpc-[0-9a-f]{8,17}$/.test(s.vpc.vpcId ?? ''))
        bad(`${at}.vpc.vpcId`, s.vpc.vpcId, 'use a VPC id such as vpc-0123456789abcdef0');
      if (
        !Array.isArray(s.vpc.subnetIds) ||
        s.vpc.subnetIds.length === 0 ||
        s.vpc.subnetIds.some((id) => !/^subnet-[0-9a-f]{8,17}$/.test(id))
      ) {
        bad(`${at}.vpc.subnetIds`, s.vpc.subnetIds, 'list subnet ids such as subnet-0123456789abcdef0');
      }
      if (
        !Array.isArray(s.vpc.availabilityZones) ||
        s.vpc.availabilityZones.length !== (s.vpc.subnetIds?.length ?? 0)
      ) {
        bad(
          `${at}.vpc.availabilityZones`,
          s.vpc.availabilityZones,
          'give one availability zone per subnet, in the same order',
        );
      }
    }
    servers.push({ ...s, name: s.name ?? s.id, ...(caBundle === undefined ? {} : { caBundle }) });
  });

  const int = (field: string, value: number | undefined, fallback: number, min: number, max: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || value < min || value > max) {
      bad(field, value, `use a whole number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  const pollEveryMinutes = int('pollEveryMinutes', config.pollEveryMinutes, 5, 1, 60);
  const p = config.policy ?? {};
  const milestones = [...(p.milestones ?? [])];
  if (milestones.some((m) => !Number.isFinite(m) || m <= 0 || m >= 100))
    bad('policy.milestones', p.milestones, 'use percentages between 1 and 99');
  const policy = {
    milestones: milestones.sort((a, b) => a - b),
    stallAfterMinutes: int('policy.stallAfterMinutes', p.stallAfterMinutes, 60, 1, 7 * 24 * 60),
    vanishGraceCycles: int('policy.vanishGraceCycles', p.vanishGraceCycles, 2, 1, 100),
    unreachableAfterMinutes: int('policy.unreachableAfterMinutes', p.unreachableAfterMinutes, 15, 0, 24 * 60),
    finishedRetentionDays: int('policy.finishedRetentionDays', p.finishedRetentionDays, 30, 1, 3650),
    recoverAfterCycles: int('policy.recoverAfterCycles', p.recoverAfterCycles, 2, 1, 20),
    certificateWarningDays: int('policy.certificateWarningDays', p.certificateWarningDays, 14, 0, 365),
    remindEveryHours: int('policy.remindEveryHours', p.remindEveryHours, 24, 0, 24 * 30),
    maxReminders: int('policy.maxReminders', p.maxReminders, 3, 0, 100),
    outOfSyncAfterMinutes: int('policy.outOfSyncAfterMinutes', p.outOfSyncAfterMinutes, 30, 0, 7 * 24 * 60),
    historyRetentionDays: int('policy.historyRetentionDays', p.historyRetentionDays, 90, 8, 3650),
    groupThreshold: int('policy.groupThreshold', p.groupThreshold, 10, 0, 10_000),
  };
  let digest: DigestSchedule | null = { weekday: 1, time: '08:00', timeZone: 'UTC' };
  if (config.digest === false) digest = null;
  else if (config.digest !== undefined) {
    const weekday = (WEEKDAYS as readonly string[]).indexOf(config.digest.weekday);
    if (weekday < 0) bad('digest.weekday', config.digest.weekday, `use one of ${WEEKDAYS.join(', ')}`);
    digest = { weekday: Math.max(0, weekday), time: config.digest.time, timeZone: config.digest.timeZone };
    for (const problem of digestProblems(digest)) problems.push(`digest.${problem}`);
  }
  const quietHours = config.quietHours ?? null;
  if (quietHours !== null) {
    for (const problem of quietHoursProblems(quietHours)) problems.push(`quietHours.${problem}`);
  }
  const maintenanceWindows = config.maintenanceWindows ?? [];
  maintenanceWindows.forEach((w, i) => {
    for (const problem of maintenanceWindowProblems(w)) problems.push(`maintenanceWindows[${i}].${problem}`);
    for (const id of w.servers ?? []) {
      if (!ids.has(id)) bad(`maintenanceWindows[${i}].servers`, id, 'name a server id of this configuration');
    }
  });
  if (policy.stallAfterMinutes < pollEveryMinutes) {
    bad(
      'policy.stallAfterMinutes',
      policy.stallAfterMinutes,
      `use at least pollEveryMinutes (${pollEveryMinutes}): a stall needs two polls to be seen`,
    );
  }

  const n = config.notifications ?? {};
  const eventTypes = (field: string, types: readonly unknown[] | undefined) => {
    if (types === undefined) return;
    if (!Array.isArray(types) || types.length === 0) {
      bad(field, types, 'list at least one event type, or leave the field out for all');
      return;
    }
    for (const t of types) {
      if (!(EVENT_TYPES as readonly unknown[]).includes(t)) {
        bad(field, t, `use event types from: ${EVENT_TYPES.join(', ')}`);
      }
    }
  };
  (n.emails ?? []).forEach((e, i) => {
    if (typeof e.address !== 'string' || !EMAIL.test(e.address))
      bad(`notifications.emails[${i}].address`, e.address, 'use an email address');
    eventTypes(`notifications.emails[${i}].eventTypes`, e.eventTypes);
  });
  const webhooks = <T extends WebhookChannelEntry>(key: string, entries: readonly (string | T)[] | undefined): T[] =>
    (entries ?? []).map((entry, i) => {
      const at = `notifications.${key}[${i}]`;
      const e = (typeof entry === 'string' ? { secretName: entry } : entry) as T;
      if (typeof e.secretName !== 'string' || e.secretName.trim() === '')
        bad(typeof entry === 'string' ? at : `${at}.secretName`, e.secretName, 'name a Secrets Manager secret');
      eventTypes(`${at}.eventTypes`, e.eventTypes);
      return e;
    });
  const slackWebhookSecrets = webhooks<SlackChannelEntry>('slackWebhookSecrets', n.slackWebhookSecrets);
  slackWebhookSecrets.forEach((e, i) => {
    for (const [severity, mention] of Object.entries(e.mentions ?? {})) {
      const at = `notifications.slackWebhookSecrets[${i}].mentions.${severity}`;
      if (!['info', 'warning', 'critical'].includes(severity))
        bad(at, mention, 'use the severities info, warning or critical');
      else if (typeof mention !== 'string' || !SLACK_MENTIONS.test(mention))
        bad(
          at,
          mention,
          "use <!here>, <!channel>, <@U…> or <!subteam^S…> (several separated by spaces), or '' for none",
        );
    }
  });
  const teamsWebhookSecrets = webhooks<WebhookChannelEntry>('teamsWebhookSecrets', n.teamsWebhookSecrets);
  const webhookSecrets = webhooks<WebhookChannelEntry>('webhookSecrets', n.webhookSecrets);
  (n.qDeveloperSlackChannels ?? []).forEach((ch, i) => {
    const at = `notifications.qDeveloperSlackChannels[${i}]`;
    if (!/^T[A-Z0-9]{8,}$/.test(ch.workspaceId ?? ''))
      bad(`${at}.workspaceId`, ch.workspaceId, 'use the Slack workspace id (T…), from the Q Developer console');
    if (!/^[CG][A-Z0-9]{8,}$/.test(ch.channelId ?? ''))
      bad(`${at}.channelId`, ch.channelId, 'use the Slack channel id (C…), from the channel details');
    eventTypes(`${at}.eventTypes`, ch.eventTypes);
  });
  (n.qDeveloperTeamsChannels ?? []).forEach((ch, i) => {
    const at = `notifications.qDeveloperTeamsChannels[${i}]`;
    if (!UUID.test(ch.tenantId ?? ''))
      bad(`${at}.tenantId`, ch.tenantId, 'use the Microsoft Entra tenant id (a GUID), from the channel link');
    if (!UUID.test(ch.teamId ?? ''))
      bad(`${at}.teamId`, ch.teamId, 'use the team id (a GUID, "groupId" in the channel link)');
    if (!/^19:[A-Za-z0-9_.-]+@thread\.(tacv2|skype)$/.test(safeDecode(ch.channelId ?? '')))
      bad(
        `${at}.channelId`,
        ch.channelId,
        'use the channel id from the channel link (19%3a…%40thread.tacv2 or 19:…@thread.tacv2)',
      );
    eventTypes(`${at}.eventTypes`, ch.eventTypes);
  });
  if (
    slackWebhookSecrets.length +
      teamsWebhookSecrets.length +
      webhookSecrets.length +
      (n.qDeveloperSlackChannels ?? []).length +
      (n.qDeveloperTeamsChannels ?? []).length >
    MAX_CHANNELS
  ) {
    bad(
      'notifications',
      `${MAX_CHANNELS}+ chat and webhook channels`,
      `use at most ${MAX_CHANNELS} chat and webhook channels`,
    );
  }

  const logRetentionDays = config.logRetentionDays ?? 90;
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
    bad('logRetentionDays', config.logRetentionDays, `use one of ${LOG_RETENTION_DAYS.join(', ')}`);
  }
  const heartbeatIntervals = int('heartbeatIntervals', config.heartbeatIntervals, 3, 1, 100);
  const stackName = config.stackName ?? 'Vb365SyncMonitor';
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName))
    bad('stackName', config.stackName, 'use letters, digits and "-", starting with a letter');

  if (problems.length > 0) throw new MonitorConfigError(problems);
  return {
    stackName,
    env: config.env ?? {},
    servers,
    pollEveryMinutes,
    policy,
    quietHours,
    maintenanceWindows,
    digest,
    notifications: {
      emails: n.emails ?? [],
      slackWebhookSecrets,
      teamsWebhookSecrets,
      webhookSecrets,
      qDeveloperSlackChannels: n.qDeveloperSlackChannels ?? [],
      // CloudFormation wants the channel id URL-encoded, as it appears in the channel link.
      qDeveloperTeamsChannels: (n.qDeveloperTeamsChannels ?? []).map((ch) => ({
        ...ch,
        channelId: encodeURIComponent(safeDecode(ch.channelId)),
      })),
    },
    logRetentionDays,
    heartbeatIntervals,
  };
}
