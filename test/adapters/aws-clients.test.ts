import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { awsClientConfig } from '../../lambda/adapters/aws-clients.js';
import { generatePki } from '../../local/simulator/certs.js';

let server: Server;
let endpoint: string;
let requests = 0;
const saved = process.env.NODE_TLS_REJECT_UNAUTHORIZED;

/** An HTTPS endpoint whose certificate no client trusts (its CA is known to nobody), answering like DynamoDB. */
beforeAll(async () => {
  const pki = await generatePki();
  server = createServer({ key: pki.serverKey, cert: pki.serverCert }, (_req, res) => {
    requests += 1;
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' }).end('{"TableNames":[]}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

beforeEach(() => {
  requests = 0;
  process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
});

afterEach(() => {
  if (saved === undefined) delete process.env.NODE_TLS_REJECT_UNAUTHORIZED;
  else process.env.NODE_TLS_REJECT_UNAUTHORIZED = saved;
});

const client = (extra: object) =>
  new DynamoDBClient({
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
    ...extra,
  });

describe('AWS SDK clients', () => {
  it('refuse an untrusted certificate even with NODE_TLS_REJECT_UNAUTHORIZED=0, before any request', async () => {
    const ddb = client(awsClientConfig());

    await expect(ddb.send(new ListTablesCommand({}))).rejects.toThrow(/certificate|self.signed|verify/i);
    expect(requests).toBe(0);
    ddb.destroy();
  });

  it('would send the request without that configuration (the variable does switch the default off)', async () => {
    const ddb = client({});

    await expect(ddb.send(new ListTablesCommand({}))).resolves.toMatchObject({ TableNames: [] });
    expect(requests).toBe(1);
    ddb.destroy();
  });
});
