import { Agent } from 'node:https';

/**
 * Configuration every AWS SDK client of the monitor gets: certificate verification stated explicitly on its HTTPS
 * agent, so `NODE_TLS_REJECT_UNAUTHORIZED=0` in a function's environment cannot switch it off (Node reads that
 * variable only when `rejectUnauthorized` is not given). Keep-alive as the SDK's default agent has it.
 */
export function awsClientConfig(): { requestHandler: { httpsAgent: Agent } } {
  return { requestHandler: { httpsAgent: new Agent({ keepAlive: true, rejectUnauthorized: true }) } };
}
