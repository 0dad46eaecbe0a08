import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SNSClient } from '@aws-sdk/client-sns';

/*
 * A loopback stand-in for Amazon SNS that speaks the awsQuery protocol the AWS SDK v3 SNS client uses (Publish and
 * PublishBatch). It records what it received and can fail entries or whole requests, so the real SDK client can be
 * tested without AWS. It refuses what SNS refuses (see SNS_RULES), with SNS's error codes: a message over 256 KiB, a
 * batch over 256 KiB in all or over 10 entries, bad or repeated batch ids, a subject that is not short printable ASCII,
 * more than 10 attributes, an empty attribute value, a MessageStructure=json message without a `default` string.
 */

/**
 * The Amazon SNS publish limits the stand-in enforces. Written out here rather than imported from the adapters, so
 * that a wrong constant there is caught here.
 */
export const SNS_RULES = {
  /** `Message` (the whole JSON with MessageStructure=json) plus every attribute's name, type and value. */
  messageBytes: 262_144,
  batchBytes: 262_144,
  batchEntries: 10,
  subjectChars: 100,
  attributes: 10,
  /** Batch entry ids: letters, digits, hyphens and underscores, 1 to 80 characters. */
  batchId: /^[A-Za-z0-9_-]{1,80}$/,
} as const;

export interface ReceivedMessage {
  readonly topicArn: string;
  readonly message: string;
  readonly subject: string | undefined;
  readonly messageStructure: string | undefined;
  readonly attributes: Readonly<Record<string, string>>;
  /** Size as SNS counts it against `SNS_RULES.messageBytes`. */
  readonly bytes: number;
}

/** A request SNS refuses as a whole. */
interface Refusal {
  readonly code: string;
  readonly message: string;
}

/** What to do with the next requests: fail the whole request with an AWS error, or fail chosen entries. */
export type SnsFault =
  | { kind: 'error'; status: number; code: string; message: string }
  | { kind: 'entries'; fail: (message: ReceivedMessage) => boolean; code?: string; senderFault?: boolean };

export class SnsStandIn {
  readonly received: ReceivedMessage[] = [];
  /** Every request: its action, its entry count, its size as SNS counts it, and the error code if it was refused. */
  readonly requests: { action: string; entries: number; bytes?: number; refused?: string }[] = [];
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
      const message = messageFrom(params, '', topicArn);
      const refusal = entryRefusal(message, params, '');
      this.requests.push({ action, entries: 1, bytes: message.bytes, ...(refusal ? { refused: refusal.code } : {}) });
      if (refusal) {
        refuse(res, refusal);
        return;
      }
      this.received.push(message);
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
      const entries: { id: string; prefix: string; message: ReceivedMessage }[] = [];
      for (let n = 1; params.has(`PublishBatchRequestEntries.member.${n}.Id`); n++) {
        const prefix = `PublishBatchRequestEntries.member.${n}.`;
        entries.push({ id: params.get(`${prefix}Id`) ?? '', prefix, message: messageFrom(params, prefix, topicArn) });
      }
      const bytes = entries.reduce((sum, e) => sum + e.message.bytes, 0);
      const refusal = batchRefusal(
        entries.map((e) => e.id),
        bytes,
      );
      this.requests.push({ action, entries: entries.length, bytes, ...(refusal ? { refused: refusal.code } : {}) });
      if (refusal) {
        refuse(res, refusal);
        return;
      }
      for (const { id, prefix, message } of entries) {
        const invalid = entryRefusal(message, params, prefix);
        if (invalid) {
          failed.push(
            `<member><Id>${id}</Id><Code>${invalid.code}</Code><Message>${xmlEscape(invalid.message)}</Message><SenderFault>true</SenderFault></member>`,
          );
        } else if (fault?.kind === 'entries' && fault.fail(message)) {
          failed.push(
            `<member><Id>${id}</Id><Code>${fault.code ?? 'InternalError'}</Code><Message>injected</Message><SenderFault>${fault.senderFault ?? false}</SenderFault></member>`,
          );
        } else {
          this.received.push(message);
          ok.push(`<member><Id>${id}</Id><MessageId>${randomUUID()}</MessageId></member>`);
        }
      }
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
  const message = params.get(`${prefix}Message`) ?? '';
  let bytes = Buffer.byteLength(message);
  for (let m = 1; params.has(`${prefix}MessageAttributes.entry.${m}.Name`); m++) {
    const name = params.get(`${prefix}MessageAttributes.entry.${m}.Name`) ?? '';
    const value = params.get(`${prefix}MessageAttributes.entry.${m}.Value.StringValue`) ?? '';
    const type = params.get(`${prefix}MessageAttributes.entry.${m}.Value.DataType`) ?? '';
    attributes[name] = value;
    bytes += Buffer.byteLength(name) + Buffer.byteLength(type) + Buffer.byteLength(value);
  }
  return {
    topicArn,
    message,
    subject: params.get(`${prefix}Subject`) ?? undefined,
    messageStructure: params.get(`${prefix}MessageStructure`) ?? undefined,
    attributes,
    bytes,
  };
}

/** Why SNS would refuse this message (Publish: the request; PublishBatch: this entry), or `undefined`. */
function entryRefusal(m: ReceivedMessage, params: URLSearchParams, prefix: string): Refusal | undefined {
  if (m.message === '') return { code: 'InvalidParameter', message: 'Invalid parameter: Empty message' };
  if (m.bytes > SNS_RULES.messageBytes) {
    return { code: 'InvalidParameter', message: 'Invalid parameter: Message too long' };
  }
  if (m.messageStructure === 'json') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(m.message);
    } catch {
      return {
        code: 'InvalidParameter',
        message: 'Invalid parameter: Message Structure - JSON message body failed to parse',
      };
    }
    const fallback =
      typeof parsed === 'object' && parsed !== null ? (parsed as { default?: unknown }).default : undefined;
    if (typeof fallback !== 'string') {
      return {
        code: 'InvalidParameter',
        message: 'Invalid parameter: Message Structure - No default entry in JSON message body',
      };
    }
  }
  if (
    m.subject !== undefined &&
    (m.subject.length === 0 || m.subject.length > SNS_RULES.subjectChars || !/^[\x20-\x7e]+$/.test(m.subject))
  ) {
    return { code: 'InvalidParameter', message: 'Invalid parameter: Subject' };
  }
  const names = Object.keys(m.attributes);
  if (names.length > SNS_RULES.attributes) {
    return {
      code: 'InvalidParameterValue',
      message: `Number of message attributes [${names.length}] exceeds the allowed maximum [${SNS_RULES.attributes}].`,
    };
  }
  for (let n = 1; params.has(`${prefix}MessageAttributes.entry.${n}.Name`); n++) {
    const value = params.get(`${prefix}MessageAttributes.entry.${n}.Value.StringValue`);
    const binary = params.get(`${prefix}MessageAttributes.entry.${n}.Value.BinaryValue`);
    if (!value && !binary) {
      const name = params.get(`${prefix}MessageAttributes.entry.${n}.Name`);
      return {
        code: 'InvalidParameterValue',
        message: `The message attribute '${name}' must contain non-empty message attribute value.`,
      };
    }
  }
  return undefined;
}

/** Why SNS would refuse a PublishBatch as a whole, or `undefined`. */
function batchRefusal(ids: readonly string[], bytes: number): Refusal | undefined {
  if (ids.length === 0)
    return { code: 'EmptyBatchRequest', message: 'The batch request does not contain any entries.' };
  if (ids.length > SNS_RULES.batchEntries) {
    return {
      code: 'TooManyEntriesInBatchRequest',
      message: `The batch request contains more entries than permissible (more than ${SNS_RULES.batchEntries}).`,
    };
  }
  const invalid = ids.find((id) => !SNS_RULES.batchId.test(id));
  if (invalid !== undefined) {
    return {
      code: 'InvalidBatchEntryId',
      message: `The Id of a batch entry in a batch request doesn't abide by the specification: ${invalid}`,
    };
  }
  if (new Set(ids).size !== ids.length) {
    return { code: 'BatchEntryIdsNotDistinct', message: 'Two or more batch entries in the request have the same Id.' };
  }
  if (bytes > SNS_RULES.batchBytes) {
    return {
      code: 'BatchRequestTooLong',
      message: `The length of all the messages put together (${bytes} bytes) is more than the limit (${SNS_RULES.batchBytes}).`,
    };
  }
  return undefined;
}

function refuse(res: ServerResponse, refusal: Refusal): void {
  xml(
    res,
    400,
    `<ErrorResponse xmlns="${NS}"><Error><Type>Sender</Type><Code>${refusal.code}</Code><Message>${xmlEscape(refusal.message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  );
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
