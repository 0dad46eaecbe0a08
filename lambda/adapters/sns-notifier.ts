import {
  type MessageAttributeValue,
  PublishBatchCommand,
  type PublishBatchRequestEntry,
  type SNSClient,
} from '@aws-sdk/client-sns';
import { NotifierError } from '../domain/errors.js';
import type { MonitorEvent } from '../domain/events.js';
import { repositoriesOf } from '../domain/impact.js';
import type { CallOptions, Notifier, PublishResult } from '../domain/ports.js';
import { subjectOf, textOf } from '../domain/render-text.js';
import { awsCause } from './aws-errors.js';
import { SNS_LIMITS, utf8Bytes, wellFormed } from './limits.js';
import { LAST_SHRINK_STEP, shrinkEvent } from './shrink-event.js';

/**
 * Publishes events to an SNS topic: one message per event, in PublishBatch calls of up to 10, with
 * `MessageStructure=json` so email subscribers get readable text (`email`) while every other protocol gets the
 * event JSON (`default`). Message attributes `type`, `severity`, `serverId`, `repositoryId`, `grouped` and `groupType` let
 * subscriptions filter. Every message fits SNS's 256 KiB limit (an event too large is shrunk: its free text and item
 * lists, never the JSON text), and every batch does too (batches are split by size). Every string sent is
 * well-formed UTF-16 (a lone surrogate becomes U+FFFD), so no event can make the SDK's serializer fail its whole
 * batch. Entries SNS fails on its side are retried once; what still fails is reported, never thrown. Throws
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
    let pending: Prepared[] = [];
    for (const event of events) {
      const prepared = entryOf(event);
      if (prepared) pending.push({ event, ...prepared });
      else {
        failures.set(
          event.eventId,
          `too large for SNS even shrunk (over ${SNS_LIMITS.messageBytes} bytes): check the server's configured name and URL`,
        );
      }
    }
    for (let round = 0; round < 2 && pending.length > 0; round++) {
      const retry: Prepared[] = [];
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

interface Prepared {
  readonly event: MonitorEvent;
  readonly entry: PublishBatchRequestEntry;
  /** Size as SNS counts it (see {@link messageBytes}). */
  readonly bytes: number;
}

/**
 * One SNS entry for one event (without its batch Id) and its size, shrunk step by step until the message fits
 * `SNS_LIMITS.messageBytes`; `undefined` when even the smallest form does not fit. Every string of the event is made
 * well-formed first (see {@link wellFormedStrings}).
 */
export function entryOf(event: MonitorEvent): { entry: PublishBatchRequestEntry; bytes: number } | undefined {
  const safe = wellFormedStrings(event) as MonitorEvent;
  for (let step = 0; step <= LAST_SHRINK_STEP; step++) {
    const entry = rawEntryOf(step === 0 ? safe : shrinkEvent(safe, step));
    const bytes = messageBytes(entry);
    if (bytes <= SNS_LIMITS.messageBytes) return { entry, bytes };
  }
  return undefined;
}

/**
 * `value` (JSON-shaped) with every string and key made well-formed; the same object when nothing changes. The parser
 * already repairs server text, but an event also carries configuration and error messages: a lone surrogate left
 * anywhere would become U+FFFD for the recipient at best, and in an attribute or the subject it makes the SDK's query
 * serializer throw `URIError: URI malformed` for the whole PublishBatch, so the other events of the batch are lost too.
 */
function wellFormedStrings(value: unknown): unknown {
  if (typeof value === 'string') return wellFormed(value);
  if (Array.isArray(value)) {
    const items = value.map(wellFormedStrings);
    return items.every((item, i) => item === value[i]) ? value : items;
  }
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value);
  const fixed = entries.map(([k, v]) => [wellFormed(k), wellFormedStrings(v)] as const);
  return fixed.every(([k, v], i) => k === entries[i]?.[0] && v === entries[i]?.[1]) ? value : Object.fromEntries(fixed);
}

function rawEntryOf(event: MonitorEvent): PublishBatchRequestEntry {
  const attributes: Record<string, MessageAttributeValue> = {
    type: { DataType: 'String', StringValue: event.type },
    severity: { DataType: 'String', StringValue: event.severity },
    serverId: { DataType: 'String', StringValue: event.server.id },
  };
  // SNS refuses empty attribute values: leave the attribute out instead.
  const repositories = event.proxy ? [] : repositoriesOf(event);
  if (repositories.length === 1 && repositories[0]) {
    attributes.repositoryId = { DataType: 'String', StringValue: repositories[0] };
  }
  // Tenants: a subscription filters on the organization's id or name (lower case, either matches).
  if (event.organization) {
    const values = [event.organization.id, event.organization.name].filter((x): x is string => !!x);
    attributes.organization = {
      DataType: 'String.Array',
      StringValue: JSON.stringify(values.map((x) => x.toLowerCase())),
    };
  }
  // People's channels get the monitor.grouped event instead: email subscriptions filter these out.
  if (event.groupedIn) attributes.grouped = { DataType: 'String', StringValue: 'true' };
  // A group tells which type it stands for, so a recipient who filters on `sync.failed` still gets a storm of them.
  if (event.group) attributes.groupType = { DataType: 'String', StringValue: event.group.type };
  // Incidents: subscribers can group by key; escalation recipients filter on how long it went unacknowledged.
  if (event.incident) {
    attributes.incidentKey = { DataType: 'String', StringValue: event.incident.key };
    if (event.incident.escalatedAfterMinutes !== null) {
      attributes.escalation = { DataType: 'Number', StringValue: String(event.incident.escalatedAfterMinutes) };
    }
  }
  return {
    Id: 'e0',
    // The event's strings are well-formed, but the renderer cuts texts: a cut must not leave half a surrogate pair.
    Subject: wellFormed(subjectOf(event)),
    MessageStructure: 'json',
    Message: JSON.stringify({ default: JSON.stringify(event), email: wellFormed(textOf(event)) }),
    MessageAttributes: attributes,
  };
}

/**
 * Size of an entry as SNS limits it: the whole `Message` (with `MessageStructure=json`, the JSON text holding every
 * protocol's message) and every attribute's name, type and value, in UTF-8 bytes. The subject is counted too, which
 * SNS may not do: a margin of at most 100 bytes.
 */
export function messageBytes(entry: PublishBatchRequestEntry): number {
  let bytes = utf8Bytes(entry.Message ?? '') + utf8Bytes(entry.Subject ?? '');
  for (const [name, value] of Object.entries(entry.MessageAttributes ?? {})) {
    bytes += utf8Bytes(name) + utf8Bytes(value.DataType ?? '') + utf8Bytes(value.StringValue ?? '');
  }
  return bytes;
}

/** Greedy batches of at most `SNS_LIMITS.batchEntries` entries whose sizes add up to at most `SNS_LIMITS.batchBytes`. */
function batches<T extends { bytes: number }>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (
      current.length > 0 &&
      (current.length === SNS_LIMITS.batchEntries || bytes + item.bytes > SNS_LIMITS.batchBytes)
    ) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += item.bytes;
  }
  if (current.length > 0) out.push(current);
  return out;
}
