/**
 * Desired objects and their status in SQLite. Writes are transactions; a put whose spec is
 * unchanged is reported as such (so nothing downstream is recreated). Listeners hear every
 * committed change (the MetaServer's watch, edged's reconcile trigger).
 *
 * Every write takes the next store-wide revision (store migration 4): the row keeps it, and a
 * delete leaves a tombstone, so `changesSince(N)` answers a watch that resumes from N — from
 * SQLite, across restarts — until the tombstone window has moved past N (`StoreGoneError`).
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
  /** the store revision of this object's last write (its manifest or its status) */
  revision: number;
  /** the store revision of its first write */
  createdRevision: number;
}

/** A change as committed; `resource.revision` is its revision (for a delete: the tombstone's). */
export type ResourceChange =
  | { op: 'upsert'; resource: StoredResource; previous?: StoredResource }
  | { op: 'delete'; resource: StoredResource }
  | { op: 'status'; resource: StoredResource; previous?: StoredResource };

/** A watch asked for changes older than the tombstones kept: it must list again (Kubernetes: 410 Gone). */
export class StoreGoneError extends Error {
  constructor(
    readonly requested: number,
    readonly oldest: number,
  ) {
    super(`revision ${requested} is older than the oldest kept (${oldest})`);
    this.name = 'StoreGoneError';
  }
}

export interface ResourceStoreOptions {
  /** tombstones kept for watches that resume (the oldest go first) */
  deletionWindow?: number;
}

const META_REVISION = 'store.revision';
const META_COMPACTED = 'store.compacted';

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
  revision: number;
  created_revision: number;
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
  revision: r.revision,
  createdRevision: r.created_revision,
});

/**
 * As fromRow, but `spec` and `status` are parsed only when first read (own enumerable accessors,
 * so spreading, JSON and structuredClone see them as plain members). A status write tells its
 * listeners about an object that most of them never open (device twins, many a second).
 */
/** what a status write did: the object's uid (absent: no such object), whether the status changed, and the change listeners hear (when one wants it) */
interface StatusWrite {
  uid?: string;
  changed?: boolean;
  change?: { resource: StoredResource; previous: StoredResource };
}

function lazyFromRow(r: Row): StoredResource {
  const o = fromRowMeta(r);
  lazyJson(o, 'spec', r.spec);
  lazyJson(o, 'status', r.status);
  return o;
}

const fromRowMeta = (r: Row): StoredResource => ({
  kind: r.kind,
  namespace: r.namespace,
  name: r.name,
  uid: r.uid,
  resourceVersion: r.resource_version,
  spec: undefined,
  status: null,
  origin: r.origin,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  revision: r.revision,
  createdRevision: r.created_revision,
});

function lazyJson(o: StoredResource, field: 'spec' | 'status', text: string | null): void {
  let parsed = false;
  let value: unknown = null;
  Object.defineProperty(o, field, {
    enumerable: true,
    configurable: true,
    get: () => {
      if (!parsed) {
        value = text === null ? null : (JSON.parse(text) as unknown);
        parsed = true;
      }
      return value;
    },
    set: (v: unknown) => {
      value = v;
      parsed = true;
    },
  });
}

export class ResourceStore {
  private readonly listeners = new Set<{ fn: (c: ResourceChange) => void; statuses: () => boolean }>();

  private readonly deletionWindow: number;
  /** made once: statuses are written many times a second (better-sqlite3 builds a transaction's wrappers on every `transaction()`) */
  private statusTx?: (key: ResourceKey, status: unknown, alongside?: (uid: string | undefined) => void) => StatusWrite;

  constructor(
    private readonly db: Db,
    private readonly now: () => Date = () => new Date(),
    opts: ResourceStoreOptions = {},
  ) {
    this.deletionWindow = opts.deletionWindow ?? 1000;
  }

  /** The store's revision now (that of its last write). */
  revision(): number {
    const r = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(META_REVISION) as { value: string } | undefined;
    return r ? Number(r.value) : 0;
  }

  /** The oldest revision a watch can resume from (older ones were compacted away). */
  compacted(): number {
    const r = this.db.prepare('SELECT value FROM meta WHERE key = ?').get(META_COMPACTED) as { value: string } | undefined;
    return r ? Number(r.value) : 0;
  }

  /** Take the next revision (inside the writer's transaction). */
  private nextRevision(): number {
    const r = this.db
      .prepare("INSERT INTO meta (key, value) VALUES (?, '1') ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1 RETURNING value")
      .get(META_REVISION) as { value: string };
    return Number(r.value);
  }

  /** Delete a row and leave its tombstone (inside the writer's transaction); returns the tombstone's revision. */
  private deleteInTx(r: StoredResource): StoredResource {
    const revision = this.nextRevision();
    const gone = { ...r, revision };
    this.db.prepare('DELETE FROM resources WHERE kind = ? AND namespace = ? AND name = ?').run(r.kind, r.namespace, r.name);
    this.db
      .prepare('INSERT INTO resource_deletions (revision, kind, namespace, name, created_revision, object) VALUES (?, ?, ?, ?, ?, ?)')
      .run(revision, r.kind, r.namespace, r.name, r.createdRevision, JSON.stringify(gone));
    const cut = this.db.prepare('SELECT revision FROM resource_deletions ORDER BY revision DESC LIMIT 1 OFFSET ?').get(this.deletionWindow) as { revision: number } | undefined;
    if (cut) {
      this.db.prepare('DELETE FROM resource_deletions WHERE revision <= ?').run(cut.revision);
      this.db.prepare("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(META_COMPACTED, String(cut.revision));
    }
    return gone;
  }

  /**
   * What changed after `revision` in the kinds asked for, oldest first, one entry per object
   * (its current state, or its tombstone): `created` tells whether it was made after `revision`
   * (an ADDED rather than a MODIFIED). Throws StoreGoneError when tombstones after `revision`
   * may have been dropped.
   */
  changesSince(revision: number, kind: string): { op: 'upsert' | 'delete'; resource: StoredResource; created: boolean }[] {
    const compacted = this.compacted();
    if (revision < compacted) throw new StoreGoneError(revision, compacted);
    const rows = this.db.prepare('SELECT * FROM resources WHERE kind = ? AND revision > ?').all(kind, revision) as Row[];
    const dead = this.db.prepare('SELECT object, created_revision FROM resource_deletions WHERE kind = ? AND revision > ?').all(kind, revision) as { object: string; created_revision: number }[];
    const out: { op: 'upsert' | 'delete'; resource: StoredResource; created: boolean }[] = rows.map((r) => ({ op: 'upsert', resource: fromRow(r), created: r.created_revision > revision }));
    for (const d of dead) {
      // made and gone after `revision`: the watcher never saw it
      if (d.created_revision > revision) continue;
      // deleted, then made again under the same key: the delete sorts first, the new row is `created`
      out.push({ op: 'delete', resource: JSON.parse(d.object) as StoredResource, created: false });
    }
    return out.sort((a, b) => a.resource.revision - b.resource.revision);
  }

  /**
   * Hear every committed change. `statuses` says whether the listener wants status writes now
   * (default: always); while no listener does, a status write reads and builds only what it
   * needs (device twins write several a second: docs/benchmarks.md, footprint, fourth round).
   */
  onChange(listener: (c: ResourceChange) => void, statuses: () => boolean = () => true): () => void {
    const l = { fn: listener, statuses };
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  private statusesWanted(): boolean {
    for (const l of this.listeners) if (l.statuses()) return true;
    return false;
  }

  private emit(c: ResourceChange): void {
    for (const l of this.listeners) {
      if (c.op === 'status' && !l.statuses()) continue;
      try {
        l.fn(c);
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
          changes.push({ op: 'delete', resource: this.deleteInTx(r) });
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
    const revision = this.nextRevision();
    if (prev) {
      this.db
        .prepare(
          'UPDATE resources SET spec = ?, resource_version = ?, origin = ?, updated_at = ?, revision = ? WHERE kind = ? AND namespace = ? AND name = ?',
        )
        .run(specJson, rv, origin, ts, revision, key.kind, key.namespace, key.name);
    } else {
      this.db
        .prepare(
          `INSERT INTO resources (kind, namespace, name, uid, resource_version, spec, status, origin, created_at, updated_at, revision, created_revision)
           VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)`,
        )
        .run(key.kind, key.namespace, key.name, uid, rv, specJson, origin, ts, ts, revision, revision);
    }
    const resource = this.get(key)!;
    return { changed: true, resource, ...(prev ? { previous: prev } : {}) };
  }

  /**
   * Record the observed status. `alongside` runs in the same transaction whether or not the
   * status changed (the uplink queues the report there); listeners hear the change after the
   * commit. Returns false when the object is gone or the status is unchanged.
   */
  setStatus(key: ResourceKey, status: unknown, alongside?: (uid: string | undefined) => void): boolean {
    this.statusTx ??= this.db.transaction((k: ResourceKey, st: unknown, along?: (uid: string | undefined) => void) => {
      const written = this.writeStatus(k, st);
      along?.(written.uid);
      return written;
    });
    const written = this.statusTx(key, status, alongside);
    if (written.change) this.emit({ op: 'status', resource: written.change.resource, previous: written.change.previous });
    return written.changed === true;
  }

  /**
   * Reports arrive many times a second (device twins): the stored status text (written stable, so
   * equal statuses are equal strings) is compared without parsing, the row is read once, and the
   * objects its listeners hear about parse their spec and status only if someone reads them.
   * Also returns the object's uid (undefined: no such object), which the writer's report carries.
   */
  private writeStatus(key: ResourceKey, status: unknown): StatusWrite {
    // the whole row (spec included) only when a listener will hear of the change
    const wanted = this.statusesWanted();
    const row = this.db
      .prepare(wanted ? 'SELECT * FROM resources WHERE kind = ? AND namespace = ? AND name = ?' : 'SELECT uid, status FROM resources WHERE kind = ? AND namespace = ? AND name = ?')
      .get(key.kind, key.namespace, key.name) as Row | undefined;
    if (!row) return {};
    const json = stableStringify(status);
    if (row.status === json) return { uid: row.uid };
    const updatedAt = this.now().toISOString();
    const revision = this.nextRevision();
    this.db
      .prepare('UPDATE resources SET status = ?, updated_at = ?, revision = ? WHERE kind = ? AND namespace = ? AND name = ?')
      .run(json, updatedAt, revision, key.kind, key.namespace, key.name);
    if (!wanted) return { uid: row.uid, changed: true };
    return { uid: row.uid, changed: true, change: { resource: lazyFromRow({ ...row, status: json, updated_at: updatedAt, revision }), previous: lazyFromRow(row) } };
  }

  delete(key: ResourceKey): StoredResource | undefined {
    const gone = this.db.transaction(() => {
      const prev = this.get(key);
      return prev ? this.deleteInTx(prev) : undefined;
    })();
    if (gone) this.emit({ op: 'delete', resource: gone });
    return gone;
  }
}
