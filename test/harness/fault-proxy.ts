import { createServer, type IncomingMessage, request, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/*
 * A loopback HTTP proxy in front of a real AWS-protocol engine (DynamoDB Local, dynalite) that records every request
 * and can answer chosen ones with an AWS error instead of forwarding them: throttling and 5xx, which a local engine
 * never produces.
 * The real SDK client sees a real HTTP error response and runs its own retry logic on it.
 */

export interface ProxyFault {
  /** DynamoDB operation (`PutItem`, `Query`, …, from `X-Amz-Target`), or `*`. */
  readonly operation: string;
  readonly status: number;
  /** AWS error code, e.g. `ProvisionedThroughputExceededException`. */
  readonly code: string;
  /** Requests affected. */
  times: number;
}

export class FaultProxy {
  readonly #faults: ProxyFault[] = [];
  /** Requests answered with a fault, by operation. */
  readonly injected = new Map<string, number>();
  /** Every request seen, in order: its operation and parsed JSON body (to check what a client really sends). */
  readonly requests: { operation: string; body: Record<string, unknown> }[] = [];

  constructor(
    private readonly server: Server,
    readonly endpoint: string,
    target: string,
  ) {
    const upstream = new URL(target);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
        this.requests.push({ operation, body: parseBody(Buffer.concat(chunks)) });
        const fault = this.#take(operation);
        if (fault) {
          this.injected.set(operation, (this.injected.get(operation) ?? 0) + 1);
          res
            .writeHead(fault.status, { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-requestid': 'fault' })
            .end(JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${fault.code}`, message: 'injected' }));
          return;
        }
        const forward = request(
          {
            host: upstream.hostname,
            port: upstream.port,
            method: req.method,
            path: req.url,
            headers: req.headers,
          },
          (up) => {
            res.writeHead(up.statusCode ?? 502, up.headers);
            up.pipe(res);
          },
        );
        forward.on('error', () => res.writeHead(502).end());
        forward.end(Buffer.concat(chunks));
      });
    });
  }

  /** Answer the next `times` requests of `operation` with the error. */
  inject(fault: Omit<ProxyFault, 'times'> & { times?: number }): void {
    this.#faults.push({ ...fault, times: fault.times ?? 1 });
  }

  clear(): void {
    this.#faults.length = 0;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  #take(operation: string): ProxyFault | undefined {
    const fault = this.#faults.find((f) => f.operation === '*' || f.operation === operation);
    if (!fault) return undefined;
    fault.times -= 1;
    if (fault.times <= 0) this.#faults.splice(this.#faults.indexOf(fault), 1);
    return fault;
  }
}

function parseBody(body: Buffer): Record<string, unknown> {
  try {
    return JSON.parse(body.toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** Starts a proxy on a free loopback port in front of `target` (an `http://` endpoint). */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const server = createServer();
  server.keepAliveTimeout = 1_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return new FaultProxy(server, `http://127.0.0.1:${port}`, target);
}
