/**
 * Desired objects and their status in SQLite. Writes are transactions; a put whose spec is
 * unchanged is reported as such (so nothing downstream is recreated). Listeners hear every
 * committed change (metamanager's watch, edged's reconcile trigger).
 */
import { randomUUID } from 'node:crypto';
import type { Db } from '../lib/sqlite.js';
import { stableStringify } from '../lib/json.js';

export type Origin = 'cloud' | 'static' | 'local';

export interface ResourceKey {
  kind: string;
  namespace: string;
  name: string;
}

export interface StoredResource<Spec = unknown, Status = unknown> extends ResourceKey {
  uid: string;
  resourceVersion: number;
  spec: Spec;
  status: Status | null;
  origin: Origin;
  createdAt: string;
  updatedAt: string;
}

export type ResourceChange =
  | { op: 'upsert'; resource: StoredResource; previous?: StoredResource }
  | { op: 'delete'; resource: StoredResource }
  | { op: 'status'; resource: StoredResource };

export interface PutOptions {
  uid?: string;
  resourceVersion?: number;
  origin?: Origin;
}

interface Row {
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  resource_version: number;
  spec: string;
  status: string | null;
  origin: Origin;
  created_at: string;
  updated_at: string;
}

const fromRow = (r: Row): StoredResource => ({
  kind: r.kind,
  namespace: r.namespace,
  name: r.name,
  uid: r.uid,
  resourceVersion: r.resource_version,
  spec: JSON.parse(r.spec) as unknown,
  status: r.status === null ? null : (JSON.parse(r.status) as unknown),
  origin: r.origin,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class ResourceStore {
  private readonly listeners = new Set<(c: ResourceChange) => void>();

  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
  ) {}

  onChange(listener: (c: ResourceChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(c: ResourceChange): void {
    for (const l of this.listeners) {
      try {
        l(c);
      } catch {
        /* a listener's failure is its own */
      }
    }
  }

  get<Spec = unknown, Status = unknown>(key: ResourceKey): StoredResource<Spec, Status> | undefined {
    const r = this.db
      .prepare('SELECT * FROM resources WHERE kind = ? AND namespace = ? AND name = ?')
      .get(key.kind, key.namespace, key.name) as Row | undefined;
    return r ? (fromRow(r) as StoredResource<Spec, Status>) : undefined;
  }

  list<Spec = unknown, Status = unknown>(kind: string, namespace?: string): StoredResource<Spec, Status>[] {
    const rows = (
      namespace === undefined
        ? this.db.prepare('SELECT * FROM resources WHERE kind = ? ORDER BY namespace, name').all(kind)
        : this.db.prepare('SELECT * FROM resources WHERE kind = ? AND namespace = ? ORDER BY name').all(kind, namespace)
    ) as Row[];
    return rows.map(fromRow) as StoredResource<Spec, Status>[];
  }

  /** Every kind held, for resync and diagnostics. */
  kinds(): string[] {
    return (this.db.prepare('SELECT DISTINCT kind FROM resources ORDER BY kind').all() as { kind: string }[]).map((r) => r.kind);
  }

  /** Insert or update. Returns `changed: false` (and writes nothing) when the spec is identical. */
  put(key: ResourceKey, spec: unknown, opts: PutOptions = {}): { changed: boolean; resource: StoredResource } {
    const tx = this.db.transaction(() => this.putInTx(key, spec, opts));
    const res = tx();
    if (res.changed) this.emit({ op: 'upsert', resource: res.resource, ...(res.previous ? { previous: res.previous } : {}) });
    return { changed: res.changed, resource: res.resource };
  }

  /**
   * Replace the whole set of one origin's objects of some kinds with `items` in one transaction
   * (level-triggered sync: what is not listed is deleted). Returns the changes made.
   */
  replaceAll(
    origin: Origin,
    kinds: readonly string[],
    items: readonly { key: ResourceKey; spec: unknown; opts?: PutOptions }[],
  ): ResourceChange[] {
    const changes: ResourceChange[] = [];
    this.db.transaction(() => {
      const wanted = new Set(items.map((i) => `${i.key.kind}/${i.key.namespace}/${i.key.name}`));
      for (const kind of kinds) {
        for (const r of this.list(kind)) {
          if (r.origin !== origin || wanted.has(`${r.kind}/${r.namespace}/${r.name}`)) continue;
          this.db.prepare('DELETE FROM resources WHERE kind = ? AND namespace = ? AND name = ?').run(r.kind, r.namespace, r.name);
          changes.push({ op: 'delete', resource: r });
        }
      }
      for (const i of items) {
        const res = this.putInTx(i.key, i.spec, { ...i.opts, origin });
        if (res.changed) changes.push({ op: 'upsert', resource: res.resource, ...(res.previous ? { previous: res.previous } : {}) });
      }
    })();
    for (const c of changes) this.emit(c);
    return changes;
  }

  private putInTx(
    key: ResourceKey,
    spec: unknown,
    opts: PutOptions,
  ): { changed: boolean; resource: StoredResource; previous?: StoredResource } {
    const prev = this.get(key);
    const specJson = stableStringify(spec);
    const origin = opts.origin ?? prev?.origin ?? 'cloud';
    if (prev && stableStringify(prev.spec) === specJson && prev.origin === origin) {
      return { changed: false, resource: prev };
    }
    const ts = this.now().toISOString();
    const rv = opts.resourceVersion ?? (prev ? prev.resourceVersion + 1 : 1);
    const uid = prev?.uid ?? opts.uid ?? randomUUID();
    if (prev) {
      this.db
        .prepare(
          'UPDATE resources SET spec = ?, resource_version = ?, origin = ?, updated_at = ? WHERE kind = ? AND namespace = ? AND name = ?',
        )
        .run(specJson, rv, origin, ts, key.kind, key.namespace, key.name);
    } else {
      this.db
        .prepare(
          `INSERT INTO resources (kind, namespace, name, uid, resource_version, spec, status, origin, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)`,
        )
        .run(key.kind, key.namespace, key.name, uid, rv, specJson, origin, ts, ts);
    }
    const resource = this.get(key)!;
    return { changed: true, resource, ...(prev ? { previous: prev } : {}) };
  }

  /**
   * Record the observed status. `alongside` runs in the same transaction whether or not the
   * status changed (the uplink queues the report there); listeners hear the change after the
   * commit. Returns false when the object is gone or the status is unchanged.
   */
  setStatus(key: ResourceKey, status: unknown, alongside?: () => void): boolean {
    const changed = this.db.transaction(() => {
      const written = this.writeStatus(key, status);
      alongside?.();
      return written;
    })();
    if (changed) this.emit({ op: 'status', resource: changed });
    return changed !== undefined;
  }

  /**
   * Reports arrive many times a second (device twins): the stored status text (written stable, so
   * equal statuses are equal strings) is compared without parsing, and the row is read once.
   */
  private writeStatus(key: ResourceKey, status: unknown): StoredResource | undefined {
    const row = this.db.prepare('SELECT * FROM resources WHERE kind = ? AND namespace = ? AND name = ?').get(key.kind, key.namespace, key.name) as Row | undefined;
    if (!row) return undefined;
    const json = stableStringify(status);
    if (row.status === json) return undefined;
    const updatedAt = this.now().toISOString();
    this.db.prepare('UPDATE resources SET status = ?, updated_at = ? WHERE kind = ? AND namespace = ? AND name = ?').run(json, updatedAt, key.kind, key.namespace, key.name);
    return fromRow({ ...row, status: json, updated_at: updatedAt });
  }

  delete(key: ResourceKey): StoredResource | undefined {
    const prev = this.get(key);
    if (!prev) return undefined;
    this.db.prepare('DELETE FROM resources WHERE kind = ? AND namespace = ? AND name = ?').run(key.kind, key.namespace, key.name);
    this.emit({ op: 'delete', resource: prev });
    return prev;
  }
}
