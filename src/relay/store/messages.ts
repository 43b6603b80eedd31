/**
 * The application channel's store (docs/appchannel.md): apps' messages in flight through the
 * relay. Not Kubernetes objects: at thousands a second they would flood the one global revision
 * and every watcher's window, and nobody watches them; they need per-node bounds and retention
 * instead. Kept in their own database file, so an app flood never holds the API's write lock.
 *
 * - uplink: a node's message is taken exactly once — the (node, stream) high-water mark moves in
 *   the same transaction that queues its deliveries and keeps its stored copies.
 * - deliveries: one row per (message, rule with a delivering target), removed when delivered or
 *   dead-lettered; ordered per lane (rule, node, topic).
 * - stored: what storage rules keep, bounded per (rule, node) and by age.
 * - downlink: per node, numbered, until the node acknowledges or the message expires.
 *
 * Asynchronous, as the fleet's PostgreSQL implementation will be; the SQLite one answers at once.
 */

/** One app message as the relay took it. */
export interface AppMessage {
  node: string;
  /** the node-local topic it was published on */
  topic: string;
  payload: Buffer;
  /** `<node>/<stream>/<seq>`: unique, for consumers to drop a redelivery */
  id: string;
  /** when the node accepted it (ms) */
  time: number;
}

export interface NewDelivery {
  ruleUid: string;
  /** deliveries of one lane go out in order, one at a time */
  lane: string;
}

export interface Delivery extends NewDelivery {
  seq: number;
  message: AppMessage;
  attempts: number;
  /** ms; 0 = now */
  nextAt: number;
  /** when the first (failed) attempt was made (ms; 0 = not tried yet) */
  firstTry: number;
  lastError?: string;
}

export interface StoredMessage extends AppMessage {
  seq: number;
  ruleUid: string;
  /** set for dead letters: why delivery gave up */
  error?: string;
}

export interface DownMessage {
  id: number;
  node: string;
  ruleUid: string;
  /** `namespace/name` */
  rule: string;
  /** the contract's AppTarget, as JSON */
  target: string;
  payload: Buffer;
  /** ms */
  expires: number;
  reply: boolean;
  created: number;
}

export interface IngestResult {
  /** false: at or below the mark (a resend); nothing was written */
  fresh: boolean;
  deliveries: Delivery[];
}

export interface MessageStore {
  /** the downlink's stream id (one per store) */
  downStream(): Promise<string>;
  /**
   * Take one uplink message: if `seq` is above the (node, stream) mark, move the mark and queue
   * `deliveries` and keep `stored` copies, all at once. `seq` undefined: no dedup (a peer that
   * does not stamp).
   */
  ingest(m: AppMessage, mark: { stream: string; seq: number } | undefined, deliveries: NewDelivery[], stored: string[]): Promise<IngestResult>;
  /** Move the mark without taking anything (a dropped message is still handled). */
  advance(node: string, stream: string, seq: number): Promise<boolean>;
  /** Every queued delivery, in order (to rebuild the lanes after a start). */
  pendingDeliveries(): Promise<Delivery[]>;
  delivered(seqs: readonly number[]): Promise<void>;
  retryLater(seq: number, attempts: number, nextAt: number, error: string, firstTry: number): Promise<void>;
  /** Give up on a delivery: removed, and kept as a dead letter (bounded per rule). */
  deadLetter(seq: number, error: string): Promise<void>;
  /** Stored (or dead-letter) messages of a rule, oldest first, after `afterSeq`. */
  listStored(ruleUid: string, q: { afterSeq?: number; node?: string; limit: number; dead?: boolean }): Promise<StoredMessage[]>;
  /** Retention: stored rows older than their rule's window or over its per-node count. */
  prune(rules: ReadonlyMap<string, { keepMs: number; maxMessages: number }>, now: number): Promise<number>;
  /** Remove everything of rules that no longer exist. */
  forgetRules(keep: ReadonlySet<string>): Promise<void>;

  enqueueDown(m: Omit<DownMessage, 'id'>): Promise<DownMessage>;
  /** A node's queued downlink messages in order, after `afterId`. */
  pendingDown(node: string, afterId: number, limit: number): Promise<DownMessage[]>;
  countDown(node: string): Promise<number>;
  removeDown(ids: readonly number[]): Promise<DownMessage[]>;
  /** Messages past their expiry, removed and returned. */
  expireDown(now: number): Promise<DownMessage[]>;
  /** Nodes with something queued. */
  downNodes(): Promise<string[]>;

  /** Counters persisted across restarts (by rule uid). */
  loadCounters(): Promise<Map<string, string>>;
  saveCounters(c: ReadonlyMap<string, string>): Promise<void>;
  close(): Promise<void>;
}
