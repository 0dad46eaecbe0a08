import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { SSMClient } from '@aws-sdk/client-ssm';
import { awsClientConfig } from './aws-clients.js';

/*
 * Loaded on first use (lambda/wiring.ts imports it dynamically): a deployment whose credentials are SSM parameters
 * loads this at its first login, one whose credentials are secrets never does. Its static imports name exactly what
 * it uses, so the Lambda bundle's chunk holds the parameter reads of the SSM client, not its whole API.
 */

/** Reads SSM parameters through Powertools (decryption, a cache per parameter), with the monitor's client settings. */
export function ssmParameters(): SSMProvider {
  return new SSMProvider({ awsSdkV3Client: new SSMClient(awsClientConfig()) });
}
