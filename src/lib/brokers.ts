/**
 * Which broker an MQTT client connects to next when it has several (a clustered broker's members,
 * issue 19, docs/scale.md): a node's uplink (edgehub) and the relay's external broker client.
 * Pure: the caller owns the client and the timers.
 *
 * - The list is the first URL followed by the others, without repeats.
 * - A client starts on the member its client id points at (a stable hash), so a fleet given one
 *   list spreads over the members instead of all starting on the first.
 * - It stays on a member while that works. A lost connection or a failed attempt moves it to the
 *   next member; the delay is the jittered backoff of the round: each member is tried once at the
 *   first step, and the backoff grows only when a whole round of members failed in a row.
 */
import { backoffDelay, type BackoffPolicy } from '../core/backoff.js';

export interface BrokerRotation {
  readonly urls: readonly string[];
  /** the member tried now / connected to */
  readonly index: number;
  /** failed attempts (or lost connections) since the last CONNACK */
  readonly failures: number;
}

/** The broker list: `url` then `urls`, empty entries and repeats left out. */
export function brokerList(url: string, urls: readonly string[] = []): string[] {
  return [...new Set([url, ...urls].map((u) => u.trim()).filter(Boolean))];
}

/** FNV-1a of the client id: where a client starts in the list. */
function hash(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** The rotation a client starts with. */
export function startRotation(urls: readonly string[], clientId: string): BrokerRotation {
  if (urls.length === 0) throw new Error('no broker URL');
  return { urls, index: hash(clientId) % urls.length, failures: 0 };
}

/** After a CONNACK: the node stays where it is. */
export function connected(r: BrokerRotation): BrokerRotation {
  return { ...r, failures: 0 };
}

/** After a failed attempt or a lost connection: the next member and how long to wait for it. */
export function nextAttempt(r: BrokerRotation, policy: BackoffPolicy, rand: () => number = Math.random): { rotation: BrokerRotation; delayMs: number } {
  const n = r.urls.length;
  const round = Math.floor(r.failures / n);
  return { rotation: { urls: r.urls, index: (r.index + 1) % n, failures: r.failures + 1 }, delayMs: backoffDelay(policy, round, rand) };
}

/** The URL of the member the rotation points at. */
export const currentUrl = (r: BrokerRotation): string => r.urls[r.index]!;
