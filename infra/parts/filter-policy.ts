import { ALWAYS_DELIVERED, type EventType } from '../../lambda/domain/events.js';
import { GROUPABLE_TYPES } from '../../lambda/domain/storm.js';

/** SNS refuses a filter policy whose values combine more ways than this (per `$or` branch, summed). */
export const SNS_FILTER_COMBINATIONS = 150;

/** How many combinations of values a filter policy has, as SNS counts them against its limit. */
export function filterCombinations(policy: Record<string, unknown>): number {
  const { $or, ...rest } = policy as { $or?: Record<string, unknown>[] } & Record<string, unknown>;
  const product = (p: Record<string, unknown>) =>
    Object.values(p).reduce<number>((n, values) => n * (Array.isArray(values) ? values.length : 1), 1);
  const base = product(rest);
  return $or === undefined ? base : $or.reduce((n, branch) => n + base * product(branch), 0);
}

/** What a channel or email recipient filters on. */
export interface ChannelFilter {
  readonly eventTypes?: readonly EventType[] | undefined;
  readonly escalateAfterMinutes?: number | undefined;
  readonly organizations?: readonly string[] | undefined;
}

/**
 * The SNS filter policy of an email recipient's subscription to the events topic. (The monitor's alarms reach the
 * recipient through an unfiltered subscription to the alarms topic: CloudWatch publishes them without attributes, and
 * a message without attributes matches no filter policy, not even `exists: false`.) Storm control: the events a
 * `monitor.grouped` message stands for (attribute `grouped`) reach email as that one message; a recipient who chose
 * event types also gets the groups of those types (attribute `groupType`), or a storm of the very failures they asked
 * for would reach them as nothing.
 */
export function emailFilterPolicy(
  eventTypes: readonly EventType[] | undefined,
  escalateAfterMinutes?: number | undefined,
  organizations?: readonly string[] | undefined,
): Record<string, unknown> {
  if (organizations === undefined) return typeFilterPolicy(eventTypes, escalateAfterMinutes);
  // A tenant's recipient: only its repositories' events (attribute `organization`: the id and the name, lower case),
  // one by one: a storm group (`monitor.grouped`) lists every tenant's repositories and carries no organization, so a
  // tenant gets the events it stands for instead (`grouped` is not filtered out).
  const organization = [...new Set(organizations.map((o) => o.toLowerCase()))];
  if (escalateAfterMinutes !== undefined)
    return { ...typeFilterPolicy(eventTypes, escalateAfterMinutes), organization };
  return !eventTypes || eventTypes.length === 0
    ? { organization }
    : { organization, type: [...new Set([...eventTypes, ...ALWAYS_DELIVERED])] };
}

function typeFilterPolicy(
  eventTypes: readonly EventType[] | undefined,
  escalateAfterMinutes: number | undefined,
): Record<string, unknown> {
  if (escalateAfterMinutes !== undefined) {
    // Escalation: only incidents nobody acknowledged for that long (attribute `escalation`: the largest
    // escalateAfterMinutes the incident reached), every event of theirs from `incident.escalated` on, grouped or not.
    const escalated = { escalation: [{ numeric: ['>=', escalateAfterMinutes] }] };
    return !eventTypes || eventTypes.length === 0
      ? escalated
      : { ...escalated, type: [...new Set([...eventTypes, 'incident.escalated'])] };
  }
  const single = { grouped: [{ exists: false }] };
  if (!eventTypes || eventTypes.length === 0) return single;
  // Every message on the events topic has a `type` (alarms, which have none, go to the alarms topic).
  // The monitor's word about its own health (ALWAYS_DELIVERED) reaches every recipient, like its alarms.
  const chosen = { ...single, type: [...new Set([...eventTypes, ...ALWAYS_DELIVERED])] };
  const groups = eventTypes.filter((t) => GROUPABLE_TYPES.has(t));
  return groups.length === 0 ? chosen : { $or: [chosen, { groupType: groups }] };
}
