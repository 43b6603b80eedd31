/**
 * Overlapping subscriptions on an external broker (docs/appchannel.md): the app tap subscribes to
 * the fixed upload spaces and to every rule's filter, and a topic may match several of them
 * (`+/user/#` and `plant/user/#`). MQTT 5 lets a broker send one copy per matching subscription
 * (mosquitto 2 does), each carrying that subscription's identifier. The tap gives every filter an
 * identifier derived from the filter itself, stable across restarts (the broker keeps the
 * persistent session's subscriptions and queued copies), and keeps only the copy of the first
 * matching filter; the others are acknowledged and dropped. Pure.
 */
import { createHash } from 'node:crypto';
import { topicMatches } from '../../contract/appchan.js';

/** MQTT 5 subscription identifiers run from 1 to 268,435,455 (a variable byte integer). */
const MAX_ID = 268_435_455;

export function subscriptionIdOf(filter: string): number {
  return (createHash('sha256').update(filter).digest().readUInt32BE(0) % MAX_ID) + 1;
}

/**
 * Whether this copy of a message on `topic` is the one to keep: it carries the identifier of the
 * first (in sort order) of `filters` that match the topic. A copy without identifiers (a broker
 * that sends one copy), or one whose identifiers name no current filter (subscriptions changed
 * while it was queued), is kept.
 */
export function keepCopy(filters: readonly string[], topic: string, ids: readonly number[]): boolean {
  if (ids.length === 0) return true;
  const matching = filters.filter((f) => topicMatches(f, topic)).sort();
  const known = matching.map(subscriptionIdOf);
  if (!ids.some((id) => known.includes(id))) return true;
  return ids.includes(known[0]!);
}
