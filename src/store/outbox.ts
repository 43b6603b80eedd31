/**
 * The persistent upstream outbox. Everything that must reach the relay is written here first
 * and removed only after the broker acknowledged it.
 *
 * - `state` rows carry a key (one object's latest state): a new one replaces the old (latest
 *   wins) and moves to the end of the queue.
 * - `telemetry` rows append.
 * - `app` rows append: messages apps on the node sent up (docs/appchannel.md).
 * - The daemon's rows (state, telemetry) are bounded by rows and bytes: over the bound the oldest
 *   telemetry is dropped first; state is never dropped (it is bounded by the number of objects).
 * - App rows have bounds of their own, so an app's flood never pushes out the daemon's rows, with
 *   an explicit policy: drop the oldest app rows, or refuse the new one.
 * - Drops are counted in `meta`. Rows and bytes per class are kept by triggers (`outbox_usage`),
 *   so bounding a large backlog costs no scan.
 */
import type { Db } from '../lib/sqlite.js';
import type { MetaStore } from './meta.js';

export type OutboxClass = 'state' | 'telemetry' | 'app';

export interface OutboxEntry {
  seq: number;
  class: OutboxClass;
  key: string | null;
  topic: string;
  payload: Buffer;
  createdAt: string;
}

export interface OutboxLimits {
  maxRows: number;
  maxBytes: number;
}

export interface AppOutboxLimits extends OutboxLimits {
  /** over the bound: drop the oldest app rows (keep the newest data) or refuse the new message */
  dropPolicy: 'oldest' | 'newest';
}

export interface OutboxStats {
  rows: number;
  bytes: number;
  state: number;
  telemetry: number;
  app: number;
  appBytes: number;
  /** the daemon's rows dropped over its bound */
  dropped: number;
  /** app rows dropped over the app bound (either policy) */
  appDropped: number;
}

const DROPPED = 'outbox.dropped';
const APP_DROPPED = 'outbox.dropped.app';

export const DEFAULT_APP_OUTBOX_LIMITS: AppOutboxLimits = { maxRows: 200_000, maxBytes: 128 * 1024 * 1024, dropPolicy: 'oldest' };

type Usage = Record<OutboxClass, { rows: number; bytes: number }>;

export class Outbox {
  private readonly listeners = new Set<() => void>();
  /** rows and bytes the daemon's rows may still take before their usage is read again (enforceLimits) */
  private room = { rows: 0, bytes: 0 };

  constructor(
    private readonly db: Db,
    private readonly meta: MetaStore,
    private readonly limits: OutboxLimits,
    private readonly now: () => Date = () => new Date(),
    private readonly appLimits: AppOutboxLimits = DEFAULT_APP_OUTBOX_LIMITS,
  ) {}

  /** Called after every enqueue (the uplink wakes up and flushes). */
  onEnqueue(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  enqueueState(key: string, topic: string, payload: Buffer | string): number {
    return this.enqueue('state', key, topic, payload)!;
  }

  enqueueTelemetry(topic: string, payload: Buffer | string): number {
    return this.enqueue('telemetry', null, topic, payload)!;
  }

  /** An app message; undefined when the app bound refused it (policy `newest`). */
  enqueueApp(topic: string, payload: Buffer | string): number | undefined {
    return this.enqueue('app', null, topic, payload);
  }

  private enqueue(cls: OutboxClass, key: string | null, topic: string, payload: Buffer | string): number | undefined {
    const buf = typeof payload === 'string' ? Buffer.from(payload) : payload;
    this.enqueueTx ??= this.db.transaction((c: OutboxClass, k: string | null, t: string, b: Buffer) => this.enqueueInTx(c, k, t, b));
    const seq = this.enqueueTx(cls, key, topic, buf);
    if (seq !== undefined) for (const l of this.listeners) l();
    return seq;
  }

  /** made once (better-sqlite3 builds a transaction function's wrappers on every `transaction()`: an enqueue is a hot path) */
  private enqueueTx?: (cls: OutboxClass, key: string | null, topic: string, buf: Buffer) => number | undefined;
  private ackTx?: (seqs: readonly number[]) => void;

  private enqueueInTx(cls: OutboxClass, key: string | null, topic: string, buf: Buffer): number | undefined {
    if (cls === 'app' && this.appLimits.dropPolicy === 'newest' && !this.appRoom(buf.length)) {
      this.meta.add(APP_DROPPED, 1);
      return undefined;
    }
    if (cls === 'state') this.db.prepare("DELETE FROM outbox WHERE class = 'state' AND key = ?").run(key);
    const info = this.db
      .prepare('INSERT INTO outbox (class, key, topic, payload, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(cls, key, topic, buf, buf.length, this.now().toISOString());
    if (cls === 'app') this.enforceAppLimits();
    else this.enforceLimits(buf.length);
    return Number(info.lastInsertRowid);
  }

  private usage(): Usage {
    const rows = this.db.prepare('SELECT class, rows, bytes FROM outbox_usage').all() as { class: OutboxClass; rows: number; bytes: number }[];
    const u: Usage = { state: { rows: 0, bytes: 0 }, telemetry: { rows: 0, bytes: 0 }, app: { rows: 0, bytes: 0 } };
    for (const r of rows) u[r.class] = { rows: r.rows, bytes: r.bytes };
    return u;
  }

  /** whether one more app message of `bytes` fits the app bound */
  private appRoom(bytes: number): boolean {
    const a = this.usage().app;
    return a.rows + 1 <= this.appLimits.maxRows && a.bytes + bytes <= this.appLimits.maxBytes;
  }

  /** Drop the oldest rows of `cls` until the class fits `overRows`/`overBytes`; returns how many. */
  private dropOldest(cls: 'telemetry' | 'app', overRows: number, overBytes: number): number {
    const oldest = this.db.prepare('SELECT seq, bytes FROM outbox WHERE class = ? ORDER BY seq').iterate(cls) as IterableIterator<{ seq: number; bytes: number }>;
    const victims: number[] = [];
    for (const r of oldest) {
      if (overRows <= 0 && overBytes <= 0) break;
      victims.push(r.seq);
      overRows--;
      overBytes -= r.bytes;
    }
    const del = this.db.prepare('DELETE FROM outbox WHERE seq = ?');
    for (const s of victims) del.run(s);
    return victims.length;
  }

  /**
   * Keep the daemon's rows within their bound. The usage is read only when the room known from
   * the last reading is used up: that room is conservative (a replaced state row, an ack or a
   * rolled-back enqueue only leave more), and after a drop it is read again next time.
   */
  private enforceLimits(added: number): void {
    this.room.rows -= 1;
    this.room.bytes -= added;
    if (this.room.rows >= 0 && this.room.bytes >= 0) return;
    const u = this.usage();
    const overRows = u.state.rows + u.telemetry.rows - this.limits.maxRows;
    const overBytes = u.state.bytes + u.telemetry.bytes - this.limits.maxBytes;
    if (overRows <= 0 && overBytes <= 0) {
      this.room = { rows: -overRows, bytes: -overBytes };
      return;
    }
    this.room = { rows: 0, bytes: 0 };
    const dropped = this.dropOldest('telemetry', overRows, overBytes);
    if (dropped > 0) this.meta.add(DROPPED, dropped);
  }

  private enforceAppLimits(): void {
    const a = this.usage().app;
    const overRows = a.rows - this.appLimits.maxRows;
    const overBytes = a.bytes - this.appLimits.maxBytes;
    if (overRows <= 0 && overBytes <= 0) return;
    const dropped = this.dropOldest('app', overRows, overBytes);
    if (dropped > 0) this.meta.add(APP_DROPPED, dropped);
  }

  /** The oldest `limit` of the daemon's entries (state, telemetry), in order. */
  peek(limit: number): OutboxEntry[] {
    return this.read("SELECT seq, class, key, topic, payload, created_at FROM outbox WHERE class IN ('state', 'telemetry') ORDER BY seq LIMIT ?", limit);
  }

  /** The oldest `limit` app entries, in order. */
  peekApp(limit: number): OutboxEntry[] {
    return this.read("SELECT seq, class, key, topic, payload, created_at FROM outbox WHERE class = 'app' ORDER BY seq LIMIT ?", limit);
  }

  private read(sql: string, limit: number): OutboxEntry[] {
    const rows = this.db.prepare(sql).all(limit) as { seq: number; class: OutboxClass; key: string | null; topic: string; payload: Buffer; created_at: string }[];
    return rows.map((r) => ({ seq: r.seq, class: r.class, key: r.key, topic: r.topic, payload: r.payload, createdAt: r.created_at }));
  }

  /** Remove acknowledged entries. A seq that was coalesced away meanwhile is simply absent. */
  ack(seqs: readonly number[]): void {
    if (seqs.length === 0) return;
    // one transaction for the batch; the per-class usage is kept by the store's triggers
    this.ackTx ??= this.db.transaction((list: readonly number[]) => {
      const del = this.db.prepare('DELETE FROM outbox WHERE seq = ?');
      for (const s of list) del.run(s);
    });
    this.ackTx(seqs);
  }

  stats(): OutboxStats {
    const u = this.usage();
    return {
      rows: u.state.rows + u.telemetry.rows + u.app.rows,
      bytes: u.state.bytes + u.telemetry.bytes + u.app.bytes,
      state: u.state.rows,
      telemetry: u.telemetry.rows,
      app: u.app.rows,
      appBytes: u.app.bytes,
      dropped: this.meta.getNumber(DROPPED),
      appDropped: this.meta.getNumber(APP_DROPPED),
    };
  }
}
