/** Small node-level facts (desired version seen, counters) in the `meta` table. */
import type { Db } from '../lib/sqlite.js';

export class MetaStore {
  constructor(private readonly db: Db) {}

  get(key: string): string | undefined {
    const r = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(key) as { value: string } | undefined;
    return r?.value;
  }

  set(key: string, value: string): void {
    this.db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  getNumber(key: string): number {
    const v = this.get(key);
    return v === undefined ? 0 : Number(v);
  }

  add(key: string, n: number): number {
    const next = this.getNumber(key) + n;
    this.set(key, String(next));
    return next;
  }

  delete(key: string): void {
    this.db.prepare('DELETE FROM meta WHERE key = ?').run(key);
  }
}

const NODE_LABELS = 'node.labels';

/** The labels of this node's Node object as the relay last sent them (kubectl label node); {} before any. */
export function relayNodeLabels(meta: MetaStore): Record<string, string> {
  try {
    const v = JSON.parse(meta.get(NODE_LABELS) ?? '{}') as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, string>) : {};
  } catch {
    return {};
  }
}

export function setRelayNodeLabels(meta: MetaStore, labels: Record<string, string>): void {
  meta.set(NODE_LABELS, JSON.stringify(labels));
}
