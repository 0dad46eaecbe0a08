import type { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import type { SNSClientConfig } from '@aws-sdk/client-sns';
import { awsClientConfig } from './adapters/aws-clients.js';
import { DynamoDbStateStore } from './adapters/dynamodb-state-store.js';
import type { SnsNotifier } from './adapters/sns-notifier.js';
import { HttpVb365Api, type HttpVb365ApiOptions, type Vb365Credentials } from './adapters/vb365/http-vb365-api.js';
import { type Config, CREDENTIALS_PLACEHOLDER_USERNAME, type DelivererConfig, type ServerConfig } from './config.js';
import type { CredentialsRef } from './config-schema.js';
import type { DeliveryDeps } from './domain/delivery-ports.js';
import { UpstreamSetupError } from './domain/errors.js';
import type { MonitorEvent } from './domain/events.js';
import type { PollDeps } from './domain/poll.js';
import type { CallOptions, Notifier, PublishResult, StateStore, Vb365Api } from './domain/ports.js';

/*
 * The composition root: every adapter graph is built here, by the poll Lambda (buildDeps), the CLI, the soak and the
 * benchmark, with options for what differs (tuning, clock, clients). Its static imports are what the poll Lambda loads
 * at init (the DynamoDB client, the VB365 client); anything else is imported on first use, so that init stays small.
 * The CLI imports this module only in the commands that poll.
 */

/** Credentials are re-read from Secrets Manager or SSM at most this often (a rotated password is picked up). */
const SECRET_MAX_AGE_SECONDS = 300;

export interface Deps {
  readonly store: DynamoDbStateStore;
  readonly notifier: Notifier;
  /** The API client of a server, created once per container and reused (pool, token, version). */
  api(server: ServerConfig): HttpVb365Api;
}

/**
 * Builds the adapters once per cold start. AWS clients take region, credentials and endpoints from the standard
 * environment (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SNS`, `AWS_ENDPOINT_URL_SECRETS_MANAGER` point them at
 * local stand-ins).
 */
export function buildDeps(config: Config): Deps {
  // Loaded on first use, not at init: the Secrets Manager or SSM client at a login (a deployment pays only for the one
  // its credentials use), the SNS client at the first publish (most cycles publish nothing). Module init is then the
  // DynamoDB client, the VB365 client and the logger, which every cycle needs.
  let secretsProvider: Promise<SecretsProvider> | undefined;
  const secrets = () => {
    secretsProvider ??= (async () => {
      const { secretsManager } = await import('./adapters/secrets-manager.js');
      return secretsManager();
    })();
    return secretsProvider;
  };
  let ssm: Promise<SSMProvider> | undefined;
  const parameters = () => {
    ssm ??= (async () => {
      const { ssmParameters } = await import('./adapters/ssm-parameters.js');
      return ssmParameters();
    })();
    return ssm;
  };
  // Cached per secret or parameter, so servers sharing one secret cost one read.
  const readCredentials = async (ref: CredentialsRef): Promise<Vb365Credentials> => {
    if (ref.kind === 'parameter') {
      const source = `parameter ${ref.name}`;
      let value: unknown;
      try {
        value = await (await parameters()).get(ref.name, { decrypt: true, maxAge: SECRET_MAX_AGE_SECONDS });
      } catch (err) {
        if (parameterMissing(err)) {
          throw new UpstreamSetupError(
            `the credentials ${source} does not exist: store the VB365 account with aws ssm put-parameter --type SecureString --name ${ref.name} --value '{"username":"…","password":"…"}'`,
          );
        }
        throw err;
      }
      return credentialsFrom(value, source);
    }
    const value = await (await secrets()).get(ref.secretId, { maxAge: SECRET_MAX_AGE_SECONDS });
    return ref.key === undefined
      ? credentialsFrom(value, `secret ${ref.secretId}`)
      : credentialsFrom(entryOf(value, ref.secretId, ref.key), `secret ${ref.secretId} (entry "${ref.key}")`);
  };
  const apis = new Map<string, HttpVb365Api>();
  return {
    store: stateStoreFor(config.tableName),
    notifier: lazySnsNotifier(config.topicArn),
    api(server) {
      let api = apis.get(server.id);
      if (!api) {
        api = vb365ApiFor(
          {
            url: server.url,
            apiVersion: server.apiVersion,
            ca: server.caBundle,
            pinSha256: server.pinSha256,
            // The secret is read as text and parsed here: a parser's error would quote the value (a password).
            credentials: () => readCredentials(server.credentials),
          },
          // Configuration admits plain http only to a loopback address with ALLOW_HTTP_LOOPBACK=true.
          { allowHttpLoopback: server.url.startsWith('http:') },
        );
        apis.set(server.id, api);
      }
      return api;
    },
  };
}

/** A VB365 server as the client needs it: where, which API version, what to trust, and the account. */
export interface Vb365Target {
  readonly url: string;
  readonly apiVersion?: HttpVb365ApiOptions['apiVersion'];
  /** PEM CA bundle to trust instead of the system's. */
  readonly ca?: string | undefined;
  readonly pinSha256?: string | undefined;
  readonly credentials: HttpVb365ApiOptions['credentials'];
}

/** What callers tune: timeouts, retries, the clock, the dispatcher (the Lambda takes the client's defaults). */
export type Vb365Tuning = Omit<HttpVb365ApiOptions, 'baseUrl' | 'apiVersion' | 'ca' | 'pinSha256' | 'credentials'>;

/** The VB365 API client of `target`. The caller closes it (`close()`) when done. */
export function vb365ApiFor(target: Vb365Target, tuning: Vb365Tuning = {}): HttpVb365Api {
  return new HttpVb365Api({
    ...tuning,
    baseUrl: target.url,
    apiVersion: target.apiVersion,
    ca: target.ca,
    pinSha256: target.pinSha256,
    credentials: target.credentials,
  });
}

/**
 * The state store in `table`, through `client` (default: a DynamoDB client configured from the environment, as the
 * Lambda's). The caller owns the client: destroy it when done.
 */
export function stateStoreFor(table: string, client: DynamoDBClient = dynamoDbClient()): DynamoDbStateStore {
  return new DynamoDbStateStore(client, table);
}

/** A DynamoDB client configured from the environment (region, credentials, `AWS_ENDPOINT_URL_DYNAMODB`). */
export function dynamoDbClient(overrides: DynamoDBClientConfig = {}): DynamoDBClient {
  return new DynamoDBClient({ ...awsClientConfig(), ...overrides });
}

/** What a cycle needs beyond its adapters: the server, the policy, who runs it, and (the Lambda's) the rhythm. */
export interface CycleOptions extends Omit<PollDeps, 'api' | 'store' | 'notifier' | 'server' | 'now'> {
  /** The server polled (any object naming its id, name and URL, a configured server included). */
  readonly server: { readonly id: string; readonly name: string; readonly url: string };
  /** @default () => new Date() */
  readonly now?: () => Date;
}

/** The dependencies of one `pollOnce` cycle: the adapters, and the cycle's server, policy, owner and clock. */
export function pollDepsFor(
  adapters: { readonly api: Vb365Api; readonly store: StateStore; readonly notifier: Notifier },
  cycle: CycleOptions,
): PollDeps {
  const { server, now, ...rest } = cycle;
  return {
    ...adapters,
    ...rest,
    server: { id: server.id, name: server.name, url: server.url },
    now: now ?? (() => new Date()),
  };
}

/** A notifier that can release its client. */
export interface ClosableNotifier extends Notifier {
  /** Destroys the SNS client, if one was created. */
  close(): void;
}

/**
 * An `SnsNotifier` for `topicArn` whose SNS SDK is loaded at the first publish (most cycles publish nothing, and CLI
 * commands that publish nothing start faster). Its client is configured from the environment, with `overrides`.
 */
export function lazySnsNotifier(topicArn: string, overrides: SNSClientConfig = {}): ClosableNotifier {
  return new LazySnsNotifier(topicArn, overrides);
}

class LazySnsNotifier implements ClosableNotifier {
  private notifier: Promise<{ notifier: SnsNotifier; destroy: () => void }> | undefined;

  constructor(
    private readonly topicArn: string,
    private readonly overrides: SNSClientConfig,
  ) {}

  async publish(events: readonly MonitorEvent[], options?: CallOptions): Promise<PublishResult> {
    this.notifier ??= (async () => {
      const [{ SnsNotifier }, { snsClient }] = await Promise.all([
        import('./adapters/sns-notifier.js'),
        import('./adapters/sns-client.js'),
      ]);
      const client = snsClient(this.overrides);
      return { notifier: new SnsNotifier(client, this.topicArn), destroy: () => client.destroy() };
    })();
    return (await this.notifier).notifier.publish(events, options);
  }

  close(): void {
    // A client whose SDK failed to load was never created: nothing to destroy (the publish reported the failure).
    void this.notifier?.then(
      ({ destroy }) => destroy(),
      () => undefined,
    );
  }
}

/**
 * `{"username","password"}` from the secret's text. Every error names the secret and the expected form, never any part
 * of the value (a plain-text secret is often the password itself). Throws `UpstreamSetupError` while the secret still
 * holds the placeholder the deployment wrote (`credentials: { create: true }`): nothing is sent to the server then.
 */
export function credentialsFrom(value: unknown, source: string): Vb365Credentials {
  const form = 'JSON {"username": "…", "password": "…"} with non-empty strings';
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new Error(`${source} is not JSON (its value is not shown): store ${form}`);
    }
  } else if (value instanceof Uint8Array) {
    throw new Error(`${source} is binary: store ${form} as its text value`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`${source} must hold ${form}`);
  }
  const v = parsed as Partial<Record<'username' | 'password', unknown>>;
  if (v.username === CREDENTIALS_PLACEHOLDER_USERNAME) {
    throw new UpstreamSetupError(
      `the credentials ${source} still holds the placeholder written at deployment: store the VB365 account as ${form}`,
    );
  }
  if (typeof v.username !== 'string' || v.username === '' || typeof v.password !== 'string' || v.password === '') {
    throw new Error(`${source} must hold ${form}`);
  }
  return { username: v.username, password: v.password };
}

/**
 * The entry `key` of a shared secret (`{"<server id>": {"username","password"}, …}`), as an object. A missing entry
 * is a setup step still to do (`server.setup_required`), said with the key and never any part of the value.
 */
export function entryOf(value: unknown, secretId: string, key: string): unknown {
  const form = `{"${key}": {"username": "…", "password": "…"}, …}`;
  let parsed: unknown = value;
  if (typeof value === 'string') {
    try {
      parsed = JSON.parse(value);
    } catch {
      throw new Error(`secret ${secretId} is not JSON (its value is not shown): store ${form}`);
    }
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new Error(`secret ${secretId} must hold ${form}`);
  }
  const entry = (parsed as Record<string, unknown>)[key];
  if (entry === undefined) {
    throw new UpstreamSetupError(`the shared credentials secret ${secretId} has no entry "${key}": add ${form}`);
  }
  return entry;
}

/** SSM's "no such parameter", as the Powertools provider passes it on. */
function parameterMissing(err: unknown): boolean {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e.name === 'ParameterNotFound') return true;
  }
  return false;
}

/**
 * The deliverer's adapter graph: channel secrets (Secrets Manager, cached 5 minutes), the HTTPS sender, the Slack Web
 * API and PagerDuty Events clients (Slack's and PagerDuty's URLs unless a local run or a test points them at a
 * stand-in), the Amazon Q Developer topic poster, and the delivery log and Slack threads in the state table. Its
 * modules are loaded on the first call (the deliverer starts it at init), so the poll Lambda, which shares this
 * module, never loads them.
 */
export async function delivererDeps(config: DelivererConfig): Promise<DeliveryDeps> {
  const [
    { secretsManager },
    { snsClient },
    { HttpChannelSender },
    { PagerDutyEvents },
    { SecretChannelTargets },
    { SlackWebApi },
    { SnsTopicPoster },
    { DynamoDbDeliveryLog, DynamoDbSlackThreads },
  ] = await Promise.all([
    import('./adapters/secrets-manager.js'),
    import('./adapters/sns-client.js'),
    import('./adapters/channels/http-channel-sender.js'),
    import('./adapters/channels/pagerduty-events.js'),
    import('./adapters/channels/secret-channel-targets.js'),
    import('./adapters/channels/slack-web-api.js'),
    import('./adapters/channels/sns-topic-poster.js'),
    import('./adapters/dynamodb-delivery-log.js'),
  ]);
  const secrets = secretsManager();
  const readSecret = async (name: string) => (await secrets.get(name, { maxAge: 300 })) as string | undefined;
  const dynamodb = dynamoDbClient();
  return {
    targets: new SecretChannelTargets(readSecret),
    poster: new HttpChannelSender({ ca: config.caBundle }),
    topics: new SnsTopicPoster(snsClient()),
    slack: new SlackWebApi(readSecret, { ca: config.caBundle, baseUrl: config.slackApiUrl }),
    pagerDuty: new PagerDutyEvents(readSecret, { ca: config.caBundle, url: config.pagerDutyEventsUrl }),
    threads: new DynamoDbSlackThreads(dynamodb, config.tableName),
    log: new DynamoDbDeliveryLog(dynamodb, config.tableName),
    now: () => new Date(),
  };
}
