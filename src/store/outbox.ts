/**
 * The persistent upstream outbox. Everything that must reach the relay is written here first
 * and removed only after the broker acknowledged it.
 *
 * - `state` rows carry a key (one object's latest state): a new one replaces the old (latest
 *   wins) and moves to the end of the queue.
 * - `telemetry` rows append.
 * - Bounded by rows and bytes. Over the bound the oldest telemetry is dropped first; state is
 *   never dropped (it is bounded by the number of objects). Drops are counted in `meta`.
 */
import type { Db } from '../lib/sqlite.js';
import type { MetaStore } from './meta.js';

export type OutboxClass = 'state' | 'telemetry';

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

export interface OutboxStats {
  rows: number;
  bytes: number;
  state: number;
  telemetry: number;
  dropped: number;
}

const DROPPED = 'outbox.dropped';

export class Outbox {
  private readonly listeners = new Set<() => void>();
  /** rows and bytes held, counted once then kept up to date (every enqueue checks the bounds) */
  private held?: { rows: number; bytes: number };

  constructor(
    private readonly db: Db,
    private readonly meta: MetaStore,
    private readonly limits: OutboxLimits,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Called after every enqueue (the uplink wakes up and flushes). */
  onEnqueue(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  enqueueState(key: string, topic: string, payload: Buffer | string): number {
    return this.enqueue('state', key, topic, payload);
  }

  enqueueTelemetry(topic: string, payload: Buffer | string): number {
    return this.enqueue('telemetry', null, topic, payload);
  }

  private enqueue(cls: OutboxClass, key: string | null, topic: string, payload: Buffer | string): number {
    const buf = typeof payload === 'string' ? Buffer.from(payload) : payload;
    const tx = this.db.transaction(() => {
      const held = this.counts();
      if (cls === 'state') {
        for (const r of this.db.prepare("DELETE FROM outbox WHERE class = 'state' AND key = ? RETURNING bytes").all(key) as { bytes: number }[]) {
          held.rows--;
          held.bytes -= r.bytes;
        }
      }
      const info = this.db
        .prepare('INSERT INTO outbox (class, key, topic, payload, bytes, created_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(cls, key, topic, buf, buf.length, this.now().toISOString());
      held.rows++;
      held.bytes += buf.length;
      if (held.rows > this.limits.maxRows || held.bytes > this.limits.maxBytes) this.enforceLimits();
      return Number(info.lastInsertRowid);
    });
    let seq: number;
    try {
      seq = tx();
    } catch (e) {
      this.held = undefined; // rolled back: count again next time
      throw e;
    }
    for (const l of this.listeners) l();
    return seq;
  }

  private counts(): { rows: number; bytes: number } {
    this.held ??= this.db.prepare('SELECT COUNT(*) AS rows, COALESCE(SUM(bytes), 0) AS bytes FROM outbox').get() as { rows: number; bytes: number };
    return this.held;
  }

  private enforceLimits(): void {
    this.held = undefined; // counted again, exactly
    const { rows, bytes } = this.db.prepare('SELECT COUNT(*) AS rows, COALESCE(SUM(bytes), 0) AS bytes FROM outbox').get() as {
      rows: number;
      bytes: number;
    };
    let overRows = rows - this.limits.maxRows;
    let overBytes = bytes - this.limits.maxBytes;
    if (overRows <= 0 && overBytes <= 0) return;
    let dropped = 0;
    const oldest = this.db.prepare("SELECT seq, bytes FROM outbox WHERE class = 'telemetry' ORDER BY seq").iterate() as IterableIterator<{
      seq: number;
      bytes: number;
    }>;
    const victims: number[] = [];
    for (const r of oldest) {
      if (overRows <= 0 && overBytes <= 0) break;
      victims.push(r.seq);
      overRows--;
      overBytes -= r.bytes;
      dropped++;
    }
    const del = this.db.prepare('DELETE FROM outbox WHERE seq = ?');
    for (const s of victims) del.run(s);
    if (dropped > 0) this.meta.add(DROPPED, dropped);
    this.held = undefined;
  }

  /** The oldest `limit` entries, in order. */
  peek(limit: number): OutboxEntry[] {
    const rows = this.db.prepare('SELECT seq, class, key, topic, payload, created_at FROM outbox ORDER BY seq LIMIT ?').all(limit) as {
      seq: number;
      class: OutboxClass;
      key: string | null;
      topic: string;
      payload: Buffer;
      created_at: string;
    }[];
    return rows.map((r) => ({ seq: r.seq, class: r.class, key: r.key, topic: r.topic, payload: r.payload, createdAt: r.created_at }));
  }

  /** Remove acknowledged entries. A seq that was coalesced away meanwhile is simply absent. */
  ack(seqs: readonly number[]): void {
    if (seqs.length === 0) return;
    const del = this.db.prepare('DELETE FROM outbox WHERE seq = ? RETURNING bytes');
    this.db.transaction(() => {
      for (const s of seqs) {
        const r = del.get(s) as { bytes: number } | undefined;
        if (r && this.held) {
          this.held.rows--;
          this.held.bytes -= r.bytes;
        }
      }
    })();
  }

  stats(): OutboxStats {
    const r = this.db
      .prepare(
        `SELECT COUNT(*) AS rows, COALESCE(SUM(bytes), 0) AS bytes,
                COALESCE(SUM(class = 'state'), 0) AS state, COALESCE(SUM(class = 'telemetry'), 0) AS telemetry FROM outbox`,
      )
      .get() as { rows: number; bytes: number; state: number; telemetry: number };
    return { ...r, dropped: this.meta.getNumber(DROPPED) };
  }
}
