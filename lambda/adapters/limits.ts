/*
 * Every bound the adapters apply, in one place: on text the VB365 server sends (applied once, where its JSON is
 * parsed), and the AWS service limits the monitor's writes and messages must respect. Server text is bounded so that
 * nothing a server sends can make a DynamoDB item or an SNS message too large; the service limits are checked again
 * where the item or message is built, because outboxes and summaries combine many bounded strings.
 */

/**
 * Bounds on strings from the VB365 server (see `vb365/wire.ts`). Text is cut (ending with `…`), never rejected, and
 * made well-formed (a lone UTF-16 surrogate becomes U+FFFD, see {@link wellFormed}). An id can be neither cut nor
 * repaired without becoming another id, so an over-long id, or one holding a lone surrogate, makes its item malformed
 * (reported, skipped).
 */
export const SERVER_TEXT = {
  /** A session's `error`: the one field that legitimately carries a long text (a stack trace, an object-storage reply). */
  errorChars: 4_096,
  /** Repository and job names, state values, link names. */
  nameChars: 256,
  /**
   * Session, repository and job ids, in UTF-8 bytes. Real ids are GUIDs (36 bytes). The id is embedded in DynamoDB
   * sort keys (`SESSION#<id>`, the history's `<time>#<server>/<id>/<n>/<type>`, the delivery log's event id), each
   * limited to 1,024 bytes, so the bound leaves room for the prefixes and the server id.
   */
  idBytes: 256,
  /** Link hrefs: a longer one is dropped (a cut URL names another resource). */
  hrefChars: 2_048,
  /** Links kept per item (`self`, `repository`, … — the monitor reads two). */
  linksPerItem: 16,
  /** A malformed item's reason, and the id quoted in it. */
  reasonChars: 512,
  quotedIdChars: 64,
  /** A health entry's description (an exception message from the configuration database, say). */
  descriptionChars: 1_024,
  /** Health entries kept (VB365 checks two components: its PostgreSQL database and its NATS server). */
  healthEntries: 32,
} as const;

/** Amazon SNS publish limits (Publish and PublishBatch). */
export const SNS_LIMITS = {
  /** One message: the `Message` text (the whole JSON with `MessageStructure=json`) plus every attribute's name, type and value. */
  messageBytes: 262_144,
  /** All entries of one PublishBatch together. */
  batchBytes: 262_144,
  batchEntries: 10,
  subjectChars: 100,
  attributes: 10,
} as const;

/** Amazon DynamoDB item limits. */
export const DYNAMODB_LIMITS = {
  /** Attribute names and values together (400 KB). */
  itemBytes: 409_600,
  partitionKeyBytes: 2_048,
  sortKeyBytes: 1_024,
} as const;

/**
 * How an event is shrunk when its message or its item would be too large, step by step until it fits: free text
 * (errors, names, reasons) cut to `textChars`, lists of items (summaries, groups, held events, blocked jobs, digest
 * problems) cut to `listItems`. Totals stay, so a list still says "and N more". Step 0 is the event as it is.
 */
export const SHRINK_STEPS: readonly { readonly textChars: number; readonly listItems: number }[] = [
  { textChars: Number.POSITIVE_INFINITY, listItems: Number.POSITIVE_INFINITY },
  { textChars: 1_024, listItems: 10 },
  { textChars: 256, listItems: 3 },
  { textChars: 64, listItems: 0 },
];

/**
 * `text` cut to at most `max` UTF-16 code units, the last being `…`; unchanged when it fits. A surrogate pair is never
 * split.
 */
export function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max <= 0) return '';
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

/** A lone UTF-16 surrogate: a high one not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * `text` with every lone UTF-16 surrogate replaced by U+FFFD, exactly as `String.prototype.toWellFormed` (ES2024, not
 * in this project's `lib`) does. A lone surrogate is not Unicode text: UTF-8 cannot encode it, `encodeURIComponent`
 * (the AWS SDK's query serializer) throws `URIError` on it, and a service receiving it sees U+FFFD or refuses it.
 */
export function wellFormed(text: string): string {
  return isWellFormed(text) ? text : text.replace(LONE_SURROGATE, '\uFFFD');
}

/** Whether `text` holds no lone UTF-16 surrogate (`String.prototype.isWellFormed`). */
export function isWellFormed(text: string): boolean {
  // `search` ignores the global flag and `lastIndex`, so the shared expression holds no state between calls.
  return text.search(LONE_SURROGATE) === -1;
}

/** UTF-8 size in bytes (what AWS limits count). */
export function utf8Bytes(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}
