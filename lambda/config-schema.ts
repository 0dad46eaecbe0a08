import * as v from 'valibot';
import { credentialsInUrl, holdsPrivateKey, isLoopback, pinProblem, withoutUserinfo } from './connection-checks.js';
import { type DigestSchedule, WEEKDAYS } from './domain/digest.js';
import { EVENT_TYPES, type EventType } from './domain/events.js';
import {
  DIGEST_SETTING,
  MAINTENANCE_WINDOW_SETTING,
  type MaintenanceWindow,
  POLICY_SETTINGS,
  type Policy,
  type PolicySettings,
  QUIET_HOURS_SETTING,
  type QuietHours,
  toPolicy,
} from './domain/policy.js';
import { problemsOf, strictObject, wholeNumber } from './domain/validation.js';

/*
 * The deployment's configuration, defined once: what a user writes (a TypeScript or JSON file, or the construct's
 * props), what the synth checks, what the Lambda reads from its configuration file at start (the same schema), what
 * the CLI checks, and the JSON Schema editors use (generated from this definition: npm run config-schema).
 * Every problem is reported at once as `field: value — fix`; a misspelt key names the nearest valid one.
 */

const ID_FIX = 'use 1-64 letters, digits, ".", "_" or "-"';
const SERVER_ID = v.pipe(v.string(ID_FIX), v.regex(/^[A-Za-z0-9._-]{1,64}$/, ID_FIX));
const nonEmpty = (fix: string) =>
  v.pipe(
    v.string(fix),
    v.check((s) => s.trim() !== '', fix),
  );

/**
 * How the monitor gets a server's VB365 account, `{"username","password"}` as JSON. Exactly one key:
 * `secretName`/`secretArn` (a Secrets Manager secret per server), `create: true` (the stack creates that secret),
 * `sharedSecretName` (one secret for many servers, `{"<server id>": {"username","password"}, …}`), `parameterName`
 * (an SSM Parameter Store SecureString; the standard tier is free).
 */
export const CREDENTIALS = v.pipe(
  strictObject({
    secretName: v.optional(
      v.pipe(
        nonEmpty('name an existing Secrets Manager secret'),
        v.check(
          (name) => !name.startsWith('arn:'),
          'give an ARN as { secretArn } (the complete ARN, ending in -XXXXXX)',
        ),
        v.description('A Secrets Manager secret, by name.'),
      ),
    ),
    secretArn: v.optional(
      v.pipe(
        v.string('use the complete secret ARN (ending in -XXXXXX)'),
        v.regex(
          /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+-[A-Za-z0-9]{6}$/,
          'use the complete secret ARN (ending in -XXXXXX)',
        ),
        v.description('A Secrets Manager secret, by its complete ARN.'),
      ),
    ),
    create: v.optional(
      v.pipe(
        v.literal(true, 'use { create: true } to have the stack create the secret'),
        v.description('The stack creates an empty secret to fill in after the first deploy ($0.40 a month each).'),
      ),
    ),
    sharedSecretName: v.optional(
      v.pipe(
        nonEmpty('name an existing Secrets Manager secret'),
        v.description('One secret for many servers: {"<server id>": {"username","password"}, …}.'),
      ),
    ),
    parameterName: v.optional(
      v.pipe(
        v.string('use an SSM parameter name such as /vb365/prod'),
        v.regex(/^\/?[A-Za-z0-9_.\-/]{1,2047}$/, 'use an SSM parameter name such as /vb365/prod'),
        v.description('An SSM Parameter Store SecureString holding {"username","password"} (standard tier: free).'),
      ),
    ),
  }),
  v.check(
    (c) => Object.values(c).filter((x) => x !== undefined).length === 1,
    'give exactly one of { secretName }, { secretArn }, { create: true }, { sharedSecretName } or { parameterName }',
  ),
);
export type CredentialsSource = v.InferInput<typeof CREDENTIALS>;

/** Where a server's account is read at run time (the configuration's choice, resolved). */
export type CredentialsRef =
  | { readonly kind: 'secret'; readonly secretId: string; readonly key?: string | undefined }
  | { readonly kind: 'parameter'; readonly name: string };

const VPC = strictObject({
  vpcId: v.pipe(
    v.string('use a VPC id such as vpc-0123456789abcdef0'),
    v.regex(/^vpc-[0-9a-f]{8,17}$/, 'use a VPC id such as vpc-0123456789abcdef0'),
    v.description('The VPC.'),
  ),
  subnetIds: v.pipe(
    v.array(
      v.pipe(
        v.string('list subnet ids such as subnet-0123456789abcdef0'),
        v.regex(/^subnet-[0-9a-f]{8,17}$/, 'list subnet ids such as subnet-0123456789abcdef0'),
      ),
      'list subnet ids such as subnet-0123456789abcdef0',
    ),
    v.minLength(1, 'list subnet ids such as subnet-0123456789abcdef0'),
    v.description('Subnets with a route to the server (and to AWS APIs: a NAT or VPC endpoints).'),
  ),
  availabilityZones: v.pipe(
    v.array(v.string(), 'give one availability zone per subnet, in the same order'),
    v.description('One per subnet, in the same order.'),
  ),
});

/** A server's REST API URL; `allowHttpLoopback` (development only) admits plain http to a loopback address. */
function serverUrl(allowHttpLoopback: boolean) {
  return v.pipe(
    v.string('use the REST API URL, e.g. https://vb365.example.local:4443'),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const raw = dataset.value;
      let url: URL;
      try {
        url = new URL(raw);
      } catch {
        addIssue({ message: 'use the REST API URL, e.g. https://vb365.example.local:4443' });
        return;
      }
      if (url.protocol !== 'https:' && !(allowHttpLoopback && url.protocol === 'http:' && isLoopback(url))) {
        addIssue({ message: 'use https:// (the REST API is served over TLS)' });
      }
      const credentials = credentialsInUrl(raw, url);
      if (credentials === 'userinfo') {
        addIssue({
          message:
            'remove "user:password@" from the URL: it would be stored in the template; the account goes in the credentials secret',
        });
      } else if (credentials === 'at-sign') {
        addIssue({
          message:
            'remove the "@": a VB365 URL has none (a password with "/" reads as a path); the account goes in the credentials secret',
        });
      }
    }),
    v.description('The REST API: https://host:4443.'),
  );
}

const CA_TEXT_FIX = 'give PEM text with at least one "-----BEGIN CERTIFICATE-----" block';
const PRIVATE_KEY_FIX =
  'it holds a private key ("-----BEGIN … PRIVATE KEY-----"): keep only the certificates, and treat that key as exposed';

function serverEntry(allowHttpLoopback: boolean) {
  return strictObject({
    id: v.pipe(SERVER_ID, v.description('Stable id: state keys, event ids, schedule names.')),
    name: v.optional(v.pipe(v.string(), v.description('Display name in notifications; default the id.'))),
    url: serverUrl(allowHttpLoopback),
    apiVersion: v.optional(
      v.pipe(
        v.picklist(['v5', 'v6', 'v7', 'v8', 'auto'], 'use v5, v6, v7, v8 or auto'),
        v.description('The REST API version; auto probes the newest the server serves.'),
      ),
      'auto',
    ),
    credentials: v.optional(
      v.pipe(CREDENTIALS, v.description('Where its account is read; default the top-level credentials.')),
    ),
    caBundleFile: v.optional(
      v.pipe(
        v.string('give a path relative to the project root'),
        v.description('Path (relative to the project root) of a PEM CA bundle or the self-signed certificate.'),
      ),
    ),
    caBundle: v.optional(
      v.pipe(
        v.string(CA_TEXT_FIX),
        v.check((pem) => !holdsPrivateKey(pem), PRIVATE_KEY_FIX),
        v.check((pem) => pem.includes('-----BEGIN CERTIFICATE-----'), CA_TEXT_FIX),
        v.description('PEM CA bundle (or the self-signed certificate) as text.'),
      ),
    ),
    pinSha256: v.optional(
      v.pipe(
        v.string('use the SHA-256 fingerprint, 64 hex digits'),
        v.rawCheck(({ dataset, addIssue }) => {
          const problem = dataset.typed ? pinProblem(dataset.value) : undefined;
          if (problem) addIssue({ message: problem });
        }),
        v.description(
          'SHA-256 fingerprint of the server certificate (AB:CD:… or plain hex); alone, it trusts exactly that certificate.',
        ),
      ),
    ),
    vpc: v.optional(
      v.pipe(VPC, v.description('Poll from these subnets (egress only to the server\u2019s port and 443).')),
    ),
  });
}

const eventTypes = v.optional(
  v.pipe(
    v.array(v.picklist(EVENT_TYPES, `use event types from: ${EVENT_TYPES.join(', ')}`)),
    v.minLength(1, 'list at least one event type, or leave the field out for all'),
    v.description('Only these event types; default all.'),
  ),
);
/** Most minutes an escalation may wait (a week). */
export const MAX_ESCALATE_AFTER_MINUTES = 7 * 24 * 60;
const escalateAfterMinutes = v.optional(
  wholeNumber(
    1,
    MAX_ESCALATE_AFTER_MINUTES,
    'Escalation: this channel hears only of incidents still open and not acknowledged this many minutes after their first warning (`incident.escalated`, then the rest of each such incident); default: every event at once.',
  ),
);
const ORGANIZATIONS_FIX = 'list organization ids (GUIDs) or names as VB365 shows them';
const organizations = v.optional(
  v.pipe(
    v.array(nonEmpty(ORGANIZATIONS_FIX), ORGANIZATIONS_FIX),
    v.minLength(1, 'list at least one organization, or leave the field out for every event'),
    v.maxLength(20, 'at most 20 organizations per channel: give a customer with more its own channels'),
    v.description(
      'Tenants (v8, MSPs): only events about repositories of these organizations (ids or names, any letter case); events about no single repository (the server, proxies, digests, the monitor itself) do not reach this channel. Default: every event.',
    ),
  ),
);
const EMAIL = strictObject({
  address: v.pipe(
    v.string('use an email address'),
    v.regex(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, 'use an email address'),
    v.description('The address (it confirms the subscriptions SNS sends it).'),
  ),
  eventTypes,
  escalateAfterMinutes,
  organizations,
});
const SECRET_NAME_FIX = 'name a Secrets Manager secret';
const webhookEntry = strictObject({
  secretName: v.pipe(nonEmpty(SECRET_NAME_FIX), v.description('The Secrets Manager secret holding the URL.')),
  eventTypes,
  escalateAfterMinutes,
  organizations,
});
const SLACK_CHANNEL_ID = v.pipe(
  v.string(),
  v.regex(/^[CG][A-Z0-9]{8,}$/, 'use the Slack channel id (C…), from the channel details'),
);
/** A channel: its secret's name, or an object with the name and options (checked as whichever it is). */
const channelEntry = <S extends v.GenericSchema>(entry: S) =>
  v.lazy((input) => (typeof input === 'string' ? nonEmpty(SECRET_NAME_FIX) : entry));
const MENTIONS_FIX = "use <!here>, <!channel>, <@U…> or <!subteam^S…> (several separated by spaces), or '' for none";
const mention = v.optional(
  v.pipe(
    v.string(MENTIONS_FIX),
    v.regex(/^((<!here>|<!channel>|<@[UW][A-Z0-9]+>|<!subteam\^S[A-Z0-9]+>)( (?=<))?)*$/, MENTIONS_FIX),
    v.description("Who is mentioned for this severity: <!here>, <!channel>, <@U…>, <!subteam^S…>, or '' for none."),
  ),
);
const slackMentions = v.optional(
  v.pipe(
    v.strictObject(
      { info: mention, warning: mention, critical: mention },
      'use the severities info, warning or critical',
    ),
    v.description('Mention per severity; default { critical: "<!here>" }.'),
  ),
);
const slackEntry = strictObject({
  secretName: v.pipe(nonEmpty(SECRET_NAME_FIX), v.description('The Secrets Manager secret holding the URL.')),
  eventTypes,
  escalateAfterMinutes,
  organizations,
  mentions: slackMentions,
});
const slackAppEntry = strictObject({
  secretName: v.pipe(
    nonEmpty(SECRET_NAME_FIX),
    v.description('Secrets Manager secret holding the Slack app\'s bot token ({"token":"xoxb-…"} or the bare token).'),
  ),
  channelId: v.pipe(SLACK_CHANNEL_ID, v.description('The channel the app posts to (invite the app there).')),
  eventTypes,
  escalateAfterMinutes,
  organizations,
  mentions: slackMentions,
});
const pagerDutyEntry = strictObject({
  secretName: v.pipe(
    nonEmpty(SECRET_NAME_FIX),
    v.description(
      'Secrets Manager secret holding the Events API v2 integration (routing) key ({"routingKey":"…"} or the bare key).',
    ),
  ),
  eventTypes,
  escalateAfterMinutes,
  organizations,
});
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TEAMS_CHANNEL_FIX = 'use the channel id from the channel link (19%3a…%40thread.tacv2 or 19:…@thread.tacv2)';
const NOTIFICATIONS = strictObject({
  emails: v.optional(
    v.pipe(
      v.array(EMAIL),
      v.description('Email recipients (each confirms two subscriptions: the events and the monitor\u2019s alarms).'),
    ),
    [],
  ),
  slackWebhookSecrets: v.optional(
    v.pipe(
      v.array(channelEntry(slackEntry)),
      v.description('Slack incoming webhooks: a secret\u2019s name (holding the URL), or an object with filters.'),
    ),
    [],
  ),
  teamsWebhookSecrets: v.optional(
    v.pipe(
      v.array(channelEntry(webhookEntry)),
      v.description('Microsoft Teams Workflows webhooks: a secret\u2019s name (holding the URL), or an object.'),
    ),
    [],
  ),
  webhookSecrets: v.optional(
    v.pipe(
      v.array(channelEntry(webhookEntry)),
      v.description('Signed webhooks (the JSON event, HMAC-SHA256): a secret\u2019s name (URL and key), or an object.'),
    ),
    [],
  ),
  slackAppChannels: v.optional(
    v.pipe(
      v.array(slackAppEntry),
      v.description(
        'Slack apps: one thread per incident, its first message kept up to date (chat.postMessage, chat.update).',
      ),
    ),
    [],
  ),
  pagerDutySecrets: v.optional(
    v.pipe(
      v.array(channelEntry(pagerDutyEntry)),
      v.description('PagerDuty Events API v2: one PagerDuty incident per incident, triggered and resolved.'),
    ),
    [],
  ),
  qDeveloperSlackChannels: v.optional(
    v.pipe(
      v.array(
        strictObject({
          workspaceId: v.pipe(
            v.string(),
            v.regex(/^T[A-Z0-9]{8,}$/, 'use the Slack workspace id (T…), from the Q Developer console'),
            v.description('The Slack workspace id (T…), from the Amazon Q Developer console.'),
          ),
          channelId: v.pipe(SLACK_CHANNEL_ID, v.description('The Slack channel id (C…).')),
          eventTypes,
          escalateAfterMinutes,
          organizations,
        }),
      ),
      v.description('Amazon Q Developer in Slack (at most 20 Q Developer channels in all).'),
    ),
    [],
  ),
  qDeveloperTeamsChannels: v.optional(
    v.pipe(
      v.array(
        strictObject({
          tenantId: v.pipe(
            v.string(),
            v.regex(UUID, 'use the Microsoft Entra tenant id (a GUID), from the channel link'),
            v.description('The Microsoft Entra tenant id (a GUID, from the channel link).'),
          ),
          teamId: v.pipe(
            v.string(),
            v.regex(UUID, 'use the team id (a GUID, "groupId" in the channel link)'),
            v.description('The team id ("groupId" in the channel link).'),
          ),
          channelId: v.pipe(
            v.string(TEAMS_CHANNEL_FIX),
            v.check((id) => /^19:[A-Za-z0-9_.-]+@thread\.(tacv2|skype)$/.test(safeDecode(id)), TEAMS_CHANNEL_FIX),
            v.description('The channel id from the channel link (19:…@thread.tacv2, encoded or not).'),
          ),
          eventTypes,
          escalateAfterMinutes,
          organizations,
        }),
      ),
      v.description('Amazon Q Developer in Microsoft Teams.'),
    ),
    [],
  ),
});

const RUNBOOK_FIX = 'use an https:// link to your runbook page';
const RUNBOOKS = v.pipe(
  v.record(
    v.picklist(EVENT_TYPES, `use event types from: ${EVENT_TYPES.join(', ')}`),
    v.pipe(
      v.string(RUNBOOK_FIX),
      // What every channel can show as a link (chat formats break on these characters): percent-encode them.
      v.regex(
        /^https:\/\/[^\s/<>|"'`()[\]]+[^\s<>|"'`()[\]]*$/,
        `${RUNBOOK_FIX}, with spaces, quotes, brackets, parentheses, <, > and | percent-encoded`,
      ),
      v.maxLength(1000, RUNBOOK_FIX),
    ),
  ),
  v.description(
    'Runbook link per event type, e.g. { "sync.failed": "https://wiki.example.com/vb365/sync-failed" }: a button in Slack and Teams, a PagerDuty link, a line in email.',
  ),
);

/** Retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Most servers one deployment is tested with (`npm test` synthesizes such a fleet). */
export const MAX_SERVERS = 1000;

function monitorConfigSchema(allowHttpLoopback: boolean) {
  return strictObject({
    $schema: v.optional(v.string()),
    stackName: v.optional(
      v.pipe(
        v.string(),
        v.regex(/^[A-Za-z][A-Za-z0-9-]{0,127}$/, 'use letters, digits and "-", starting with a letter'),
        v.description('The CloudFormation stack name (MonitorStack; a construct in your own stack ignores it).'),
      ),
      'Vb365SyncMonitor',
    ),
    env: v.optional(
      v.pipe(
        strictObject({
          account: v.optional(v.pipe(v.string(), v.description('The AWS account to deploy to.'))),
          region: v.optional(v.pipe(v.string(), v.description('The AWS region to deploy to.'))),
        }),
        v.description('Where to deploy; default the CLI\u2019s account and region (CDK_DEFAULT_ACCOUNT/REGION).'),
      ),
      {},
    ),
    servers: v.pipe(
      v.array(serverEntry(allowHttpLoopback), 'list at least one VB365 server ({ id, url, credentials })'),
      v.minLength(1, 'list at least one VB365 server ({ id, url, credentials })'),
      v.maxLength(MAX_SERVERS, `use at most ${MAX_SERVERS} servers per deployment (deploy another stack for more)`),
      v.description(`The VB365 servers to watch (1 to ${MAX_SERVERS}).`),
    ),
    credentials: v.optional(
      v.pipe(CREDENTIALS, v.description('Credentials of every server that names none of its own.')),
    ),
    pollEveryMinutes: v.optional(
      wholeNumber(
        1,
        60,
        'Minutes between two polls of a server. Each poll runs at a random moment of a window of half the interval, rounded down to whole minutes (none at 1), after its scheduled time, so a fleet’s polls do not all run at once.',
      ),
      5,
    ),
    policy: v.optional(v.pipe(POLICY_SETTINGS, v.description('The lifecycle rules\u2019 tunables.')), {}),
    digest: v.optional(DIGEST_SETTING),
    quietHours: v.optional(QUIET_HOURS_SETTING),
    maintenanceWindows: v.optional(
      v.pipe(
        v.array(MAINTENANCE_WINDOW_SETTING),
        v.description('Planned maintenance: every event of the servers concerned is held, and summarised after.'),
      ),
      [],
    ),
    notifications: v.optional(v.pipe(NOTIFICATIONS, v.description('Who hears of what, and where.')), {}),
    runbooks: v.optional(RUNBOOKS, {}),
    logRetentionDays: v.optional(
      v.pipe(
        v.picklist(LOG_RETENTION_DAYS, `use one of ${LOG_RETENTION_DAYS.join(', ')}`),
        v.description('CloudWatch Logs retention in days (one of the values CloudWatch accepts).'),
      ),
      90,
    ),
    heartbeatIntervals: v.optional(
      wholeNumber(
        2,
        100,
        'A server not polled for this many intervals is announced (`monitor.server_not_polled`); at least 2, or a late cycle would look like silence.',
      ),
      3,
    ),
    metrics: v.optional(
      v.pipe(
        v.picklist(['fleet', 'perServer'], 'use fleet (a fixed handful for the deployment) or perServer'),
        v.description(
          'Custom CloudWatch metrics: "fleet" (one metric for the whole deployment, $0.30 a month) or "perServer" (each server its own, about $1.80 a month per server).',
        ),
      ),
      'fleet',
    ),
    dashboard: v.optional(
      v.pipe(v.boolean(), v.description('A CloudWatch dashboard ($3 a month beyond three).')),
      false,
    ),
    reservedConcurrency: v.optional(
      wholeNumber(
        1,
        1000,
        'Reserve this many concurrent executions per poll function; default none (new accounts have a quota of 10).',
      ),
    ),
  });
}

/** The configuration as written: the TypeScript type of `monitor-config.ts` and the construct's props. */
export type MonitorConfig = DeepReadonly<v.InferInput<ReturnType<typeof monitorConfigSchema>>>;
export type ServerEntry = DeepReadonly<v.InferInput<ReturnType<typeof serverEntry>>>;
type DeepReadonly<T> = T extends (infer I)[]
  ? readonly DeepReadonly<I>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;
export type EmailRecipient = v.InferOutput<typeof EMAIL>;
export type WebhookChannelEntry = v.InferOutput<typeof webhookEntry>;
export type SlackChannelEntry = v.InferOutput<typeof slackEntry>;
export type SlackAppChannelEntry = v.InferOutput<typeof slackAppEntry>;
export type PagerDutyEntry = v.InferOutput<typeof pagerDutyEntry>;
type Notifications = v.InferOutput<typeof NOTIFICATIONS>;
export type QDeveloperSlackChannel = Notifications['qDeveloperSlackChannels'][number];
export type QDeveloperTeamsChannel = Notifications['qDeveloperTeamsChannels'][number];

/** A server whose every field passed validation: name defaulted, CA bundle read, credentials resolved. */
export interface ResolvedServer {
  readonly id: string;
  readonly name: string;
  readonly url: string;
  readonly apiVersion: 'v5' | 'v6' | 'v7' | 'v8' | 'auto';
  /** As configured (the server's own, or the deployment's default). */
  readonly credentials: CredentialsSource;
  readonly caBundle?: string | undefined;
  readonly pinSha256?: string | undefined;
  readonly vpc?: v.InferOutput<typeof VPC> | undefined;
}

/** A configuration whose every field passed validation, with defaults applied and CA bundles read. */
export interface ResolvedConfig {
  readonly stackName: string;
  readonly env: { readonly account?: string | undefined; readonly region?: string | undefined };
  readonly servers: readonly ResolvedServer[];
  readonly pollEveryMinutes: number;
  readonly policy: PolicySettings;
  readonly quietHours: QuietHours | null;
  readonly maintenanceWindows: readonly MaintenanceWindow[];
  readonly digest: DigestSchedule | null;
  /** `digest` as configured (the configuration file the Lambda reads carries it so). */
  readonly digestSetting: v.InferOutput<typeof DIGEST_SETTING> | undefined;
  readonly notifications: {
    readonly emails: readonly EmailRecipient[];
    readonly slackWebhookSecrets: readonly SlackChannelEntry[];
    readonly teamsWebhookSecrets: readonly WebhookChannelEntry[];
    readonly webhookSecrets: readonly WebhookChannelEntry[];
    readonly qDeveloperSlackChannels: readonly QDeveloperSlackChannel[];
    readonly qDeveloperTeamsChannels: readonly QDeveloperTeamsChannel[];
    readonly slackAppChannels: readonly SlackAppChannelEntry[];
    readonly pagerDutySecrets: readonly PagerDutyEntry[];
  };
  /** Runbook link per event type. */
  readonly runbooks: Readonly<Partial<Record<EventType, string>>>;
  readonly logRetentionDays: number;
  readonly heartbeatIntervals: number;
  readonly metrics: 'fleet' | 'perServer';
  readonly dashboard: boolean;
  readonly reservedConcurrency: number | undefined;
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

/** The deliverer's channel list travels in its environment (4 KB with everything else). */
const MAX_CHANNELS = 20;

/**
 * `value` as quoted in a problem: every URL in it with user and password masked, PEM text (a CA bundle, maybe with a
 * private key in it) never quoted, only its size.
 */
function masked(value: unknown): unknown {
  const text = JSON.stringify(value, (_key, x: unknown) => {
    if (typeof x !== 'string') return x;
    if (x.includes('-----BEGIN')) return `<PEM text, ${x.length} characters>`;
    return /^[a-z][a-z0-9+.-]*:\/\//i.test(x) ? withoutUserinfo(x) : x;
  });
  return text === undefined ? value : JSON.parse(text);
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

export interface ResolveOptions {
  /** Reads `caBundleFile`s; without it, a `caBundleFile` is a problem (the Lambda's file carries PEM text). */
  readonly readFile?: ReadFile | undefined;
  /** Development only: a server URL may use plain http to a loopback address. */
  readonly allowHttpLoopback?: boolean | undefined;
}

/**
 * Checks `config` and returns it resolved (defaults applied, CA bundles read), or throws one
 * {@link MonitorConfigError} listing every problem as `field: value — fix`.
 */
export function resolveConfig(config: unknown, readFile?: ReadFile, options: ResolveOptions = {}): ResolvedConfig {
  const read = readFile ?? options.readFile;
  const result = v.safeParse(monitorConfigSchema(options.allowHttpLoopback === true), config);
  const problems = result.success ? [] : problemsOf(result.issues, masked);
  const bad = (field: string, value: unknown, fix: string) =>
    problems.push(`${field}: ${JSON.stringify(masked(value))} — ${fix}`);

  // Checks across fields, on whatever of the input has the right shape (every problem at once).
  const raw = (typeof config === 'object' && config !== null ? config : {}) as Record<string, unknown>;
  const rawServers = Array.isArray(raw.servers) ? (raw.servers as Record<string, unknown>[]) : [];
  const ids = new Set<string>();
  const caBundles = new Map<number, string>();
  let created = 0;
  rawServers.forEach((s, i) => {
    if (typeof s !== 'object' || s === null) return;
    const at = `servers[${i}]`;
    if (typeof s.id === 'string') {
      if (ids.has(s.id)) bad(`${at}.id`, s.id, 'server ids must be unique');
      ids.add(s.id);
    }
    if (s.credentials === undefined && raw.credentials === undefined) {
      bad(
        `${at}.credentials`,
        undefined,
        'give { secretName }, { secretArn }, { create: true }, { sharedSecretName } or { parameterName }, here or as the top-level credentials of every server',
      );
    }
    const credentials = (s.credentials ?? raw.credentials) as { create?: unknown } | undefined;
    if (credentials?.create === true) created++;
    if (s.caBundleFile !== undefined && s.caBundle !== undefined) {
      bad(`${at}.caBundleFile`, s.caBundleFile, 'give caBundleFile or caBundle, not both');
    } else if (typeof s.caBundleFile === 'string') {
      const pem = read?.(s.caBundleFile);
      if (pem === undefined) {
        bad(`${at}.caBundleFile`, s.caBundleFile, 'the file cannot be read: give a path relative to the project root');
      } else if (holdsPrivateKey(pem)) {
        bad(
          `${at}.caBundleFile`,
          s.caBundleFile,
          'the file holds a private key ("-----BEGIN … PRIVATE KEY-----"): keep only the certificates in it, and treat that key as exposed',
        );
      } else if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
        bad(`${at}.caBundleFile`, s.caBundleFile, 'the file holds no PEM certificate ("-----BEGIN CERTIFICATE-----")');
      } else caBundles.set(i, pem);
    }
    const vpc = s.vpc as { subnetIds?: unknown; availabilityZones?: unknown } | undefined;
    if (
      vpc &&
      Array.isArray(vpc.availabilityZones) &&
      vpc.availabilityZones.length !== (Array.isArray(vpc.subnetIds) ? vpc.subnetIds.length : 0)
    ) {
      bad(
        `${at}.vpc.availabilityZones`,
        vpc.availabilityZones,
        'give one availability zone per subnet, in the same order',
      );
    }
  });
  // One poll function per VPC: its servers must agree on where it runs.
  const placements = new Map<string, { at: string; key: string }>();
  rawServers.forEach((s, i) => {
    const vpc = (typeof s === 'object' && s !== null ? s.vpc : undefined) as
      | { vpcId?: unknown; subnetIds?: unknown; availabilityZones?: unknown }
      | undefined;
    if (typeof vpc?.vpcId !== 'string') return;
    const key = JSON.stringify([vpc.subnetIds, vpc.availabilityZones]);
    const first = placements.get(vpc.vpcId);
    if (!first) placements.set(vpc.vpcId, { at: `servers[${i}]`, key });
    else if (first.key !== key) {
      bad(
        `servers[${i}].vpc`,
        vpc,
        `use the same subnetIds and availabilityZones as ${first.at} (one poll function per VPC runs in those subnets)`,
      );
    }
  });
  if (created > MAX_CREATED_SECRETS) {
    bad(
      'servers',
      `${created} servers with credentials { create: true }`,
      `create at most ${MAX_CREATED_SECRETS} secrets (each costs $0.40 a month and a stack output): use { sharedSecretName } or { parameterName } for a fleet`,
    );
  }
  const windows = Array.isArray(raw.maintenanceWindows) ? (raw.maintenanceWindows as { servers?: unknown }[]) : [];
  windows.forEach((w, i) => {
    if (!Array.isArray(w?.servers)) return;
    for (const id of w.servers) {
      if (typeof id === 'string' && !ids.has(id))
        bad(`maintenanceWindows[${i}].servers`, id, 'name a server id of this configuration');
    }
  });
  if (result.success) {
    const c = result.output;
    if (c.policy.stallAfterMinutes < c.pollEveryMinutes) {
      bad(
        'policy.stallAfterMinutes',
        c.policy.stallAfterMinutes,
        `use at least pollEveryMinutes (${c.pollEveryMinutes}): a stall needs two polls to be seen`,
      );
    }
    const n = c.notifications;
    const channels =
      n.slackWebhookSecrets.length +
      n.teamsWebhookSecrets.length +
      n.webhookSecrets.length +
      n.qDeveloperSlackChannels.length +
      n.qDeveloperTeamsChannels.length +
      n.slackAppChannels.length +
      n.pagerDutySecrets.length;
    if (channels > MAX_CHANNELS) {
      bad(
        'notifications',
        `${channels} chat and webhook channels`,
        `use at most ${MAX_CHANNELS} chat and webhook channels`,
      );
    }
  }
  if (!result.success || problems.length > 0) throw new MonitorConfigError(problems);

  const c = result.output;
  const entry = <T extends { secretName: string }>(e: string | T) => (typeof e === 'string' ? { secretName: e } : e);
  const digest = c.digest;
  return {
    stackName: c.stackName,
    env: c.env,
    servers: c.servers.map((s, i) => ({
      id: s.id,
      name: s.name ?? s.id,
      url: s.url,
      apiVersion: s.apiVersion,
      credentials: (s.credentials ?? c.credentials) as CredentialsSource,
      ...(caBundles.has(i) ? { caBundle: caBundles.get(i) } : s.caBundle ? { caBundle: s.caBundle } : {}),
      ...(s.pinSha256 ? { pinSha256: s.pinSha256 } : {}),
      ...(s.vpc ? { vpc: s.vpc } : {}),
    })),
    pollEveryMinutes: c.pollEveryMinutes,
    policy: { ...c.policy, milestones: [...c.policy.milestones].sort((a, b) => a - b) },
    quietHours: c.quietHours ?? null,
    maintenanceWindows: c.maintenanceWindows,
    digest:
      digest === false
        ? null
        : digest === undefined
          ? { weekday: 1, time: '08:00', timeZone: 'UTC' }
          : { weekday: WEEKDAYS.indexOf(digest.weekday), time: digest.time, timeZone: digest.timeZone },
    digestSetting: digest,
    notifications: {
      emails: c.notifications.emails,
      slackWebhookSecrets: c.notifications.slackWebhookSecrets.map(entry),
      teamsWebhookSecrets: c.notifications.teamsWebhookSecrets.map(entry),
      webhookSecrets: c.notifications.webhookSecrets.map(entry),
      qDeveloperSlackChannels: c.notifications.qDeveloperSlackChannels,
      // CloudFormation wants the channel id URL-encoded, as it appears in the channel link.
      qDeveloperTeamsChannels: c.notifications.qDeveloperTeamsChannels.map((ch) => ({
        ...ch,
        channelId: encodeURIComponent(safeDecode(ch.channelId)),
      })),
      slackAppChannels: c.notifications.slackAppChannels,
      pagerDutySecrets: c.notifications.pagerDutySecrets.map(entry),
    },
    runbooks: c.runbooks,
    logRetentionDays: c.logRetentionDays,
    heartbeatIntervals: c.heartbeatIntervals,
    metrics: c.metrics,
    dashboard: c.dashboard,
    reservedConcurrency: c.reservedConcurrency,
  };
}

/** Beyond this, per-server secrets created by the stack are refused (cost, and CloudFormation's 200 outputs). */
export const MAX_CREATED_SECRETS = 100;

/** Name of the secret the stack creates for a server with `credentials: { create: true }`. */
export function createdSecretName(stackName: string, serverId: string): string {
  return `vb365-sync-monitor/${stackName}/${serverId}`;
}

/** Where the account of `server` is read at run time. */
export function credentialsRefOf(server: ResolvedServer, stackName: string): CredentialsRef {
  const c = server.credentials;
  if (c.parameterName !== undefined) return { kind: 'parameter', name: c.parameterName };
  if (c.sharedSecretName !== undefined) return { kind: 'secret', secretId: c.sharedSecretName, key: server.id };
  if (c.secretArn !== undefined) return { kind: 'secret', secretId: c.secretArn };
  if (c.secretName !== undefined) return { kind: 'secret', secretId: c.secretName };
  return { kind: 'secret', secretId: createdSecretName(stackName, server.id) };
}

/**
 * The configuration file the poll Lambda reads at start: the resolved configuration in the same schema (CA bundles
 * as PEM text, created secrets by name), without what only the deployment uses (notifications, stack, dashboard).
 */
export function runtimeConfigOf(config: ResolvedConfig): MonitorConfig {
  return {
    stackName: config.stackName,
    servers: config.servers.map((s) => ({
      id: s.id,
      name: s.name,
      url: s.url,
      apiVersion: s.apiVersion,
      credentials: (() => {
        const ref = credentialsRefOf(s, config.stackName);
        if (ref.kind === 'parameter') return { parameterName: ref.name };
        if (ref.key !== undefined) return { sharedSecretName: ref.secretId };
        return ref.secretId.startsWith('arn:') ? { secretArn: ref.secretId } : { secretName: ref.secretId };
      })(),
      ...(s.caBundle ? { caBundle: s.caBundle } : {}),
      ...(s.pinSha256 ? { pinSha256: s.pinSha256 } : {}),
    })),
    pollEveryMinutes: config.pollEveryMinutes,
    policy: config.policy,
    ...(config.digestSetting === undefined ? {} : { digest: config.digestSetting }),
    ...(config.quietHours ? { quietHours: config.quietHours } : {}),
    maintenanceWindows: config.maintenanceWindows.map((w) => ({
      ...w,
      ...(w.servers ? { servers: [...w.servers] } : {}),
    })),
    heartbeatIntervals: config.heartbeatIntervals,
    metrics: config.metrics,
    // The poll function escalates incidents (every channel's escalateAfterMinutes) and stamps runbook links.
    notifications: {
      emails: config.notifications.emails.map((e) => ({ ...e })),
      slackWebhookSecrets: config.notifications.slackWebhookSecrets.map((e) => ({ ...e })),
      teamsWebhookSecrets: config.notifications.teamsWebhookSecrets.map((e) => ({ ...e })),
      webhookSecrets: config.notifications.webhookSecrets.map((e) => ({ ...e })),
      qDeveloperSlackChannels: config.notifications.qDeveloperSlackChannels.map((e) => ({ ...e })),
      qDeveloperTeamsChannels: config.notifications.qDeveloperTeamsChannels.map((e) => ({ ...e })),
      slackAppChannels: config.notifications.slackAppChannels.map((e) => ({ ...e })),
      pagerDutySecrets: config.notifications.pagerDutySecrets.map((e) => ({ ...e })),
    },
    runbooks: { ...config.runbooks },
  };
}

/** The rules' policy of a resolved configuration (the poll function's, and `run --config`'s). */
export function policyOf(config: ResolvedConfig): Policy {
  return toPolicy({
    policy: config.policy,
    digest: config.digestSetting,
    quietHours: config.quietHours ?? undefined,
    maintenanceWindows: config.maintenanceWindows,
    runbooks: config.runbooks,
    escalateAfterMinutes: escalationsOf(config.notifications),
  });
}

/** Every `escalateAfterMinutes` of the configured channels and email recipients (the poll function escalates at each). */
export function escalationsOf(notifications: ResolvedConfig['notifications']): number[] {
  const all = Object.values(notifications).flatMap((list: readonly { escalateAfterMinutes?: number | undefined }[]) =>
    list.map((c) => c.escalateAfterMinutes),
  );
  return [...new Set(all.filter((m): m is number => m !== undefined))].sort((a, b) => a - b);
}

/** The JSON Schema of the configuration, for editors (`"$schema"` in a JSON configuration file). */
export const CONFIG_SCHEMA_FOR_EDITORS = monitorConfigSchema(false);

export type { EventType };
