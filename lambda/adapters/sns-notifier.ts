import {
  type MessageAttributeValue,
  PublishBatchCommand,
  type PublishBatchRequestEntry,
  type SNSClient,
} from '@aws-sdk/client-sns';
import { NotifierError } from '../domain/errors.js';
import type { MonitorEvent } from '../domain/events.js';
import type { CallOptions, Notifier, PublishResult } from '../domain/ports.js';
import { subjectOf, textOf } from '../domain/render-text.js';
import { awsCause } from './aws-errors.js';

/** PublishBatch limits: 10 entries, 256 KiB for the whole request. */
const MAX_ENTRIES = 10;
const MAX_BATCH_BYTES = 256 * 1024 - 8 * 1024;

/**
 * Publishes events to an SNS topic: one message per event, in PublishBatch calls of up to 10, with
 * `MessageStructure=json` so email subscribers get readable text (`email`) while every other protocol gets the
 * event JSON (`default`). Message attributes `type`, `severity`, `serverId` and `repositoryId` let subscriptions
 * filter. Entries SNS fails on its side are retried once; what still fails is reported, never thrown. Throws
 * `NotifierError` only when no event at all got through because every call failed (SNS down, no permission).
 */
export class SnsNotifier implements Notifier {
  /** PublishBatch calls made (for metrics and the benchmark). */
  calls = 0;

  constructor(
    private readonly client: SNSClient,
    private readonly topicArn: string,
  ) {}

  async publish(events: readonly MonitorEvent[], options: CallOptions = {}): Promise<PublishResult> {
    const delivered = new Set<string>();
    const failures = new Map<string, string>();
    let lastError: unknown;
    let attempted = 0;
    let pending: { event: MonitorEvent; entry: PublishBatchRequestEntry }[] = events.map((event) => ({
      event,
      entry: entryOf(event),
    }));
    for (let round = 0; round < 2 && pending.length > 0; round++) {
      const retry: typeof pending = [];
      for (const batch of batches(pending)) {
        attempted += 1;
        this.calls += 1;
        try {
          const out = await this.client.send(
            new PublishBatchCommand({
              TopicArn: this.topicArn,
              // Ids only need to be unique within one request.
              PublishBatchRequestEntries: batch.map((b, i) => ({ ...b.entry, Id: `e${i}` })),
            }),
            { abortSignal: options.signal },
          );
          for (const ok of out.Successful ?? []) {
            const item = batch[Number(ok.Id?.slice(1))];
            if (item) {
              delivered.add(item.event.eventId);
              failures.delete(item.event.eventId);
            }
          }
          for (const f of out.Failed ?? []) {
            const item = batch[Number(f.Id?.slice(1))];
            if (!item) continue;
            failures.set(item.event.eventId, `${f.Code ?? 'Failed'}: ${f.Message ?? ''}`.trim());
            // A sender fault (bad request) will fail again; a service-side one is worth one more try.
            if (!f.SenderFault) retry.push(item);
          }
        } catch (err) {
          lastError = err;
          const e = err as Error;
          for (const b of batch) failures.set(b.event.eventId, `${e.name}: ${e.message}`);
        }
      }
      pending = retry;
    }
    if (delivered.size === 0 && lastError !== undefined && attempted > 0 && events.length > 0) {
      const e = lastError as Error;
      throw new NotifierError(`SNS PublishBatch to ${this.topicArn} failed: ${e.name}: ${e.message}`, {
        cause: awsCause(lastError),
      });
    }
    return { delivered, failed: [...failures].map(([eventId, reason]) => ({ eventId, reason })) };
  }
}

/** One SNS entry for one event (without its batch Id). */
export function entryOf(event: MonitorEvent): PublishBatchRequestEntry {
  const attributes: Record<string, MessageAttributeValue> = {
    type: { DataType: 'String', StringValue: event.type },
    severity: { DataType: 'String', StringValue: event.severity },
    serverId: { DataType: 'String', StringValue: event.server.id },
  };
  // SNS refuses empty attribute values: leave the attribute out instead.
  if (event.session?.repositoryId) {
    attributes.repositoryId = { DataType: 'String', StringValue: event.session.repositoryId };
  }
  return {
    Id: 'e0',
    Subject: subjectOf(event),
    MessageStructure: 'json',
    Message: JSON.stringify({ default: JSON.stringify(event), email: textOf(event) }),
    MessageAttributes: attributes,
  };
}

function batches<T extends { entry: PublishBatchRequestEntry }>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(item.entry.Message ?? '') + Buffer.byteLength(item.entry.Subject ?? '') + 512;
    if (current.length > 0 && (current.length === MAX_ENTRIES || bytes + size > MAX_BATCH_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) out.push(current);
  return out;
}
