import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SNSClient } from '@aws-sdk/client-sns';

/*
 * A loopback stand-in for Amazon SNS that speaks the awsQuery protocol the AWS SDK v3 SNS client uses (Publish and
 * PublishBatch). It records what it received and can fail entries or whole requests, so the real SDK client can be
 * tested without AWS.
 */

export interface ReceivedMessage {
  readonly topicArn: string;
  readonly message: string;
  readonly subject: string | undefined;
  readonly messageStructure: string | undefined;
  readonly attributes: Readonly<Record<string, string>>;
}

/** What to do with the next requests: fail the whole request with an AWS error, or fail chosen entries. */
export type SnsFault =
  | { kind: 'error'; status: number; code: string; message: string }
  | { kind: 'entries'; fail: (message: ReceivedMessage) => boolean; code?: string; senderFault?: boolean };

export class SnsStandIn {
  readonly received: ReceivedMessage[] = [];
  readonly requests: { action: string; entries: number }[] = [];
  /** Delay before each answer (benchmark latency). */
  latencyMs = 0;
  readonly #faults: { fault: SnsFault; times: number }[] = [];

  constructor(
    private readonly server: Server,
    readonly endpoint: string,
  ) {
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      this.#handle(req, res).catch((err: unknown) => {
        res.writeHead(500).end(String(err));
      });
    });
  }

  /** Serve `fault` for the next `times` requests. */
  inject(fault: SnsFault, times = 1): void {
    this.#faults.push({ fault, times });
  }

  /** Parsed `default` JSON of every message received (MessageStructure=json), in order. */
  defaults<T = unknown>(): T[] {
    return this.received.map((m) => JSON.parse((JSON.parse(m.message) as { default: string }).default) as T);
  }

  /** A real SDK client pointed at the stand-in (`maxAttempts: 1` to see each fault as the caller would). */
  client(maxAttempts = 2): SNSClient {
    return new SNSClient({
      endpoint: this.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      maxAttempts,
    });
  }

  /** Drops faults not served yet. */
  clearFaults(): void {
    this.#faults.length = 0;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const params = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const action = params.get('Action') ?? '';
    if (this.latencyMs > 0) await new Promise((r) => setTimeout(r, this.latencyMs));
    const next = this.#faults[0];
    const fault = next?.fault;
    if (next) {
      next.times -= 1;
      if (next.times <= 0) this.#faults.shift();
    }
    if (fault?.kind === 'error') {
      this.requests.push({ action, entries: 0 });
      xml(
        res,
        fault.status,
        `<ErrorResponse xmlns="${NS}"><Error><Type>${fault.status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${fault.code}</Code><Message>${xmlEscape(fault.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
      );
      return;
    }
    const topicArn = params.get('TopicArn') ?? '';
    if (action === 'Publish') {
      this.requests.push({ action, entries: 1 });
      this.received.push(messageFrom(params, '', topicArn));
      xml(
        res,
        200,
        `<PublishResponse xmlns="${NS}"><PublishResult><MessageId>${randomUUID()}</MessageId></PublishResult>${meta()}</PublishResponse>`,
      );
      return;
    }
    if (action === 'PublishBatch') {
      const ok: string[] = [];
      const failed: string[] = [];
      let count = 0;
      for (let n = 1; params.has(`PublishBatchRequestEntries.member.${n}.Id`); n++) {
        count += 1;
        const prefix = `PublishBatchRequestEntries.member.${n}.`;
        const id = params.get(`${prefix}Id`) ?? '';
        const message = messageFrom(params, prefix, topicArn);
        if (fault?.kind === 'entries' && fault.fail(message)) {
          failed.push(
            `<member><Id>${id}</Id><Code>${fault.code ?? 'InternalError'}</Code><Message>injected</Message><SenderFault>${fault.senderFault ?? false}</SenderFault></member>`,
          );
        } else {
          this.received.push(message);
          ok.push(`<member><Id>${id}</Id><MessageId>${randomUUID()}</MessageId></member>`);
        }
      }
      this.requests.push({ action, entries: count });
      xml(
        res,
        200,
        `<PublishBatchResponse xmlns="${NS}"><PublishBatchResult><Successful>${ok.join('')}</Successful><Failed>${failed.join('')}</Failed></PublishBatchResult>${meta()}</PublishBatchResponse>`,
      );
      return;
    }
    xml(
      res,
      400,
      `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>${xmlEscape(action)} is not supported by the stand-in</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
    );
  }
}

/** Start the stand-in on a free loopback port. */
export async function startSnsStandIn(): Promise<SnsStandIn> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as AddressInfo;
  return new SnsStandIn(server, `http://127.0.0.1:${port}`);
}

const NS = 'http://sns.amazonaws.com/doc/2010-03-31/';

function messageFrom(params: URLSearchParams, prefix: string, topicArn: string): ReceivedMessage {
  const attributes: Record<string, string> = {};
  for (let m = 1; params.has(`${prefix}MessageAttributes.entry.${m}.Name`); m++) {
    const name = params.get(`${prefix}MessageAttributes.entry.${m}.Name`) ?? '';
    attributes[name] = params.get(`${prefix}MessageAttributes.entry.${m}.Value.StringValue`) ?? '';
  }
  return {
    topicArn,
    message: params.get(`${prefix}Message`) ?? '',
    subject: params.get(`${prefix}Subject`) ?? undefined,
    messageStructure: params.get(`${prefix}MessageStructure`) ?? undefined,
    attributes,
  };
}

function meta(): string {
  return `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata>`;
}

function xml(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/xml' }).end(body);
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
