import type { MonitorEvent } from '../domain/events.js';
import { cut, SHRINK_STEPS } from './limits.js';

/*
 * Making an event smaller without breaking it, for the places where AWS limits its size (an SNS message, a DynamoDB
 * item holding an outbox). Only free text and lists of items shrink: ids, types, times, counts and totals stay, so the
 * event is still valid contract v1 JSON, its dedupe key is unchanged, and a list still says "and N more".
 */

/** Fields whose string value is free text (server text, names, reasons, titles): cut at a shrink step. */
const TEXT_KEYS = new Set(['error', 'reason', 'repositoryName', 'name', 'state', 'previousState', 'title', 'note']);

/**
 * Fields whose array value is a list of items with its total kept elsewhere (`summary.running|failed|other` and
 * `summary.totals`, `group.items`/`held.items` and `total`, `impact.jobs` and `total`, `digest.problems` and
 * `digest.syncs`): cut at a shrink step. Lists whose length is their count (`digest.outOfSync`) are not cut.
 */
const LIST_KEYS = new Set(['running', 'failed', 'other', 'items', 'jobs', 'problems']);

/** Parts that are configuration, not server text (the server's own name and URL): never cut. */
const KEEP_KEYS = new Set(['server']);

/** Number of shrink steps after the event as it is (step 0). */
export const LAST_SHRINK_STEP = SHRINK_STEPS.length - 1;

/**
 * `event` at shrink `step` (0: unchanged; see `SHRINK_STEPS`). Pure: returns a new event and leaves the given one as
 * it is.
 */
export function shrinkEvent(event: MonitorEvent, step: number): MonitorEvent {
  const bounds = SHRINK_STEPS[Math.min(Math.max(step, 0), LAST_SHRINK_STEP)] ?? SHRINK_STEPS[0];
  if (bounds === undefined || step <= 0) return event;
  return shrinkValue(event, bounds.textChars, bounds.listItems) as MonitorEvent;
}

function shrinkValue(value: unknown, textChars: number, listItems: number): unknown {
  if (Array.isArray(value)) return value.map((v) => shrinkValue(v, textChars, listItems));
  if (typeof value !== 'object' || value === null) return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (KEEP_KEYS.has(key)) out[key] = v;
    else if (TEXT_KEYS.has(key) && typeof v === 'string') out[key] = cut(v, textChars);
    else if (LIST_KEYS.has(key) && Array.isArray(v)) {
      out[key] = v.slice(0, listItems).map((item) => shrinkValue(item, textChars, listItems));
    } else out[key] = shrinkValue(v, textChars, listItems);
  }
  return out;
}
