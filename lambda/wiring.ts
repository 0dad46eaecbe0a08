import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import { DynamoDbStateStore } from './adapters/dynamodb-state-store.js';
import { SnsNotifier } from './adapters/sns-notifier.js';
import { HttpVb365Api, type Vb365Credentials } from './adapters/vb365/http-vb365-api.js';
import type { Config, ServerConfig } from './config.js';

/** Credentials are re-read from Secrets Manager at most this often (a rotated password is picked up). */
const SECRET_MAX_AGE_SECONDS = 300;

export interface Deps {
  readonly store: DynamoDbStateStore;
  readonly notifier: SnsNotifier;
  /** The API client of a server, created once per container and reused (pool, token, version). */
  api(server: ServerConfig): HttpVb365Api;
}

/**
 * Builds the adapters once per cold start. AWS clients take region, credentials and endpoints from the standard
 * environment (`AWS_ENDPOINT_URL_DYNAMODB`, `AWS_ENDPOINT_URL_SNS`, `AWS_ENDPOINT_URL_SECRETS_MANAGER` point them at
 * local stand-ins).
 */
export function buildDeps(config: Config): Deps {
  const secrets = new SecretsProvider({ awsSdkV3Client: new SecretsManagerClient({}) });
  const apis = new Map<string, HttpVb365Api>();
  return {
    store: new DynamoDbStateStore(new DynamoDBClient({}), config.tableName),
    notifier: new SnsNotifier(new SNSClient({}), config.topicArn),
    api(server) {
      let api = apis.get(server.id);
      if (!api) {
        api = new HttpVb365Api({
          baseUrl: server.url,
          // Configuration admits plain http only to a loopback address with ALLOW_HTTP_LOOPBACK=true.
          allowHttpLoopback: server.url.startsWith('http:'),
          apiVersion: server.apiVersion,
          ca: server.caBundle,
          pinSha256: server.pinSha256,
          credentials: async () =>
            credentialsFrom(
              await secrets.get(server.credentialsSecret, { maxAge: SECRET_MAX_AGE_SECONDS, transform: 'json' }),
              server.credentialsSecret,
            ),
        });
        apis.set(server.id, api);
      }
      return api;
    },
  };
}

/** `{"username","password"}` from the secret; the error names the secret and the fields, never their values. */
export function credentialsFrom(value: unknown, secretName: string): Vb365Credentials {
  const v = value as Partial<Record<'username' | 'password', unknown>> | null | undefined;
  if (typeof v?.username !== 'string' || v.username === '' || typeof v.password !== 'string' || v.password === '') {
    throw new Error(`secret ${secretName} must be JSON with non-empty "username" and "password" strings`);
  }
  return { username: v.username, password: v.password };
}
