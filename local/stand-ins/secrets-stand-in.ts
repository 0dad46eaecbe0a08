import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback stand-in for AWS Secrets Manager's `GetSecretValue` and SSM Parameter Store's `GetParameter` (both
 * awsJson1.1), so the real SDK clients and the Powertools providers can be exercised without AWS. Point
 * `AWS_ENDPOINT_URL_SECRETS_MANAGER` and `AWS_ENDPOINT_URL_SSM` at its endpoint.
 */
export class SecretsStandIn {
  readonly secrets = new Map<string, string>();
  /** SecureString parameters by name. */
  readonly parameters = new Map<string, string>();
  requests = 0;
  /**
   * Operation (`X-Amz-Target` without its prefix) and the secret's id or the parameter's name of every request, in
   * order; `decrypt` for `GetParameter`.
   */
  readonly calls: { operation: string; secretId: string; decrypt?: boolean }[] = [];

  constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      void this.#handle(req, res);
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    this.requests += 1;
    const target = String(req.headers['x-amz-target'] ?? '');
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as {
      SecretId?: string;
      Name?: string;
      WithDecryption?: boolean;
    };
    const send = (status: number, json: unknown) =>
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' }).end(JSON.stringify(json));
    if (target === 'AmazonSSM.GetParameter') {
      const name = body.Name ?? '';
      this.calls.push({ operation: 'GetParameter', secretId: name, decrypt: body.WithDecryption === true });
      const value = this.parameters.get(name);
      if (value === undefined) {
        send(400, { __type: 'ParameterNotFound', message: '' });
        return;
      }
      send(200, {
        Parameter: {
          Name: name,
          Type: 'SecureString',
          // Without decryption SSM returns the ciphertext, never the value.
          Value: body.WithDecryption ? value : Buffer.from(`ciphertext:${randomUUID()}`).toString('base64'),
          Version: 1,
          DataType: 'text',
          ARN: `arn:aws:ssm:eu-west-1:123456789012:parameter/${name.replace(/^\//, '')}`,
          LastModifiedDate: Date.now() / 1000,
        },
      });
      return;
    }
    this.calls.push({ operation: target.split('.')[1] ?? target, secretId: body.SecretId ?? '' });
    if (target !== 'secretsmanager.GetSecretValue') {
      send(400, { __type: 'InvalidRequestException', message: `${target} is not supported by the stand-in` });
      return;
    }
    const id = body.SecretId ?? '';
    const value = this.secrets.get(id);
    if (value === undefined) {
      send(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
      return;
    }
    send(200, {
      ARN: id.startsWith('arn:') ? id : `arn:aws:secretsmanager:eu-west-1:123456789012:secret:${id}-AbCdEf`,
      Name: id,
      SecretString: value,
      VersionId: randomUUID(),
      VersionStages: ['AWSCURRENT'],
      CreatedDate: Date.now() / 1000,
    });
  }
}

export async function startSecretsStandIn(): Promise<SecretsStandIn> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return new SecretsStandIn(server, `http://127.0.0.1:${port}`);
}
