import { SNSClient, type SNSClientConfig } from '@aws-sdk/client-sns';
import { awsClientConfig } from './aws-clients.js';

/*
 * Loaded on first use (lambda/wiring.ts imports it dynamically): by the poll Lambda at its first publish (most cycles
 * publish nothing), by the deliverer for Amazon Q Developer topics.
 */

/** An SNS client configured from the environment (region, credentials, `AWS_ENDPOINT_URL_SNS`), with `overrides`. */
export function snsClient(overrides: SNSClientConfig = {}): SNSClient {
  return new SNSClient({ ...awsClientConfig(), ...overrides });
}
