/**
 * Overlapping subscriptions on an external broker (docs/appchannel.md): the app tap wants the
 * fixed upload spaces and every rule's filter, and a topic may match several of them (`+/user/#`
 * and `plant/user/#`). MQTT 5 lets a broker send one copy per matching subscription (mosquitto 2
 * does), each carrying that subscription's identifier, and while the tap is away every copy takes
 * a place in the session's queue (mosquitto's `max_queued_messages`, 1,000 by default): two copies
 * of each message halve what a node can be away for before the broker drops apps' messages it has
 * already acknowledged.
 *
 * So the tap subscribes only the filters no other wanted filter covers (`subscriptionCover`), and
 * of the copies that still come — filters that overlap without one covering the other, or a
 * session kept from before, still subscribed to a filter now covered — keeps the one carrying the
 * identifier of the first subscribed filter that matches. Every filter's identifier is derived
 * from the filter itself, stable across restarts (the broker keeps the persistent session's
 * subscriptions and queued copies). Pure.
 */
import { createHash } from 'node:crypto';
import { topicMatches } from '../../contract/appchan.js';

/** MQTT 5 subscription identifiers run from 1 to 268,435,455 (a variable byte integer). */
const MAX_ID = 268_435_455;

export function subscriptionIdOf(filter: string): number {
  return (createHash('sha256').update(filter).digest().readUInt32BE(0) % MAX_ID) + 1;
}

/** Whether every topic `inner` matches is matched by `outer` (both valid MQTT filters). */
export function covers(outer: string, inner: string): boolean {
  const o = outer.split('/');
  const n = inner.split('/');
  for (let i = 0; i < n.length; i++) {
    // a wildcard in the first level never matches a `$` topic; a literal `$…` level must be named
    if (i === 0 && (o[0] === '#' || o[0] === '+') && n[0]!.startsWith('$')) return false;
    if (o[i] === '#') return true;
    if (i >= o.length || n[i] === '#') return false;
    if (o[i] !== '+' && o[i] !== n[i]) return false;
  }
  // `a/#` also matches `a` itself
  return o.length === n.length || (o.length === n.length + 1 && o[n.length] === '#');
}

/**
 * The filters to subscribe for `wanted`: those no other wanted filter covers, sorted. Every topic
 * a wanted filter matches is matched by one of them.
 */
export function subscriptionCover(wanted: readonly string[]): string[] {
  const all = [...new Set(wanted)].sort();
  // two different filters never cover each other, so of a covering pair exactly one stays
  return all.filter((f) => !all.some((g) => g !== f && covers(g, f)));
}

/**
 * Whether this copy of a message on `topic` is the one to keep: it carries the identifier of the
 * first (in sort order) of the `subscribed` filters that match the topic. A copy is dropped only
 * when its identifiers name a `wanted` filter matching the topic (the subscribed ones are among
 * them) and not that one;
 * a copy without identifiers (a broker that sends one copy), or one whose identifiers name no
 * filter known now (subscriptions changed while it was queued), is kept.
 */
export function keepCopy(wanted: readonly string[], subscribed: readonly string[], topic: string, ids: readonly number[]): boolean {
  if (ids.length === 0) return true;
  const known = wanted.filter((f) => topicMatches(f, topic)).map(subscriptionIdOf);
  if (!ids.some((id) => known.includes(id))) return true;
  const chosen = subscribed.filter((f) => topicMatches(f, topic)).sort()[0];
  return chosen === undefined || ids.includes(subscriptionIdOf(chosen));
}
