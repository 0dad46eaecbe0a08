import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { awsClientConfig } from './aws-clients.js';

/*
 * Loaded on first use (lambda/wiring.ts imports it dynamically): by the poll Lambda at a login whose credentials are
 * a secret, by the deliverer for its channel secrets. Its static imports name exactly what it uses, so the Lambda
 * bundle's chunk holds GetSecretValue, not the whole Secrets Manager API.
 */

/** Reads secrets through Powertools (a cache per secret), with the monitor's client settings. */
export function secretsManager(): SecretsProvider {
  return new SecretsProvider({ awsSdkV3Client: new SecretsManagerClient(awsClientConfig()) });
}
