/**
 * The ObjectStore on SQLite (kine-like): `kube_objects` holds each object's current state,
 * `kube_log` the last `window` changes, and `relay_meta` the global revision and the newest
 * revision compacted away. A commit runs in one IMMEDIATE transaction (so a second process —
 * `edgerelay token` — serialises with it), then its events go to the watchers in order.
 */
import type { KubeObject } from '../../contract/kube/types.js';
import { migrate, openDatabase, type Db } from '../../lib/sqlite.js';
import { RELAY_MIGRATIONS } from './migrations.js';
import { keyId, planBatch, type StoredRow } from './commit-plan.js';
import {
  StoreGoneError,
  type ObjectKey,
  type ObjectStore,
  type ResourceScope,
  type StoredEvent,
  type StoreOp,
  type StoreWatch,
} from './objects.js';

export interface SqliteObjectStoreOptions {
  /** changes kept for watches that resume from a revision (older → StoreGoneError) */
  window?: number;
}

interface Watcher {
  scope: ResourceScope | undefined;
  /** live events at or below this revision were in the backlog */
  after: number;
  onEvent: (e: StoredEvent) => void;
  stopped: boolean;
}

interface LogRow {
  revision: number;
  type: StoredEvent['type'];
  grp: string;
  resource: string;
  namespace: string;
  name: string;
  object: string;
  prev: string | null;
}

const inScope = (scope: ResourceScope | undefined, k: ObjectKey): boolean =>
  !scope || (scope.group === k.group && scope.resource === k.resource && (scope.namespace === undefined || scope.namespace === k.namespace));

export class SqliteObjectStore implements ObjectStore {
  private readonly watchers = new Set<Watcher>();
  /** events waiting for delivery (a watcher that commits from its callback queues behind) */
  private readonly outbox: StoredEvent[] = [];
  private delivering = false;
  private readonly window: number;

  private constructor(
    private readonly db: Db,
    opts: SqliteObjectStoreOptions,
  ) {
    this.window = Math.max(1, opts.window ?? 10_000);
  }

  static open(file: string, opts: SqliteObjectStoreOptions = {}): SqliteObjectStore {
    const db = openDatabase(file);
    try {
      migrate(db, RELAY_MIGRATIONS);
    } catch (e) {
      db.close();
      throw e;
    }
    return new SqliteObjectStore(db, opts);
  }

  private meta(key: string): string {
    return (this.db.prepare('SELECT value FROM relay_meta WHERE key = ?').get(key) as { value: string }).value;
  }

  private setMeta(key: string, value: string): void {
    this.db.prepare('UPDATE relay_meta SET value = ? WHERE key = ?').run(value, key);
  }

  async epoch(): Promise<string> {
    return this.meta('epoch');
  }

  async revision(): Promise<number> {
    return Number(this.meta('revision'));
  }

  /** the oldest revision a watch may resume from */
  async compacted(): Promise<number> {
    return Number(this.meta('compacted'));
  }

  private row(k: ObjectKey): { revision: number; object: string } | undefined {
    return this.db
      .prepare('SELECT revision, object FROM kube_objects WHERE grp = ? AND resource = ? AND namespace = ? AND name = ?')
      .get(k.group, k.resource, k.namespace, k.name) as { revision: number; object: string } | undefined;
  }

  async get(key: ObjectKey): Promise<KubeObject | undefined> {
    const r = this.row(key);
    return r ? (JSON.parse(r.object) as KubeObject) : undefined;
  }

  async list(scope: ResourceScope): Promise<{ items: KubeObject[]; revision: number }> {
    return this.db.transaction(() => {
      const rows = (
        scope.namespace === undefined
          ? this.db.prepare('SELECT object FROM kube_objects WHERE grp = ? AND resource = ? ORDER BY namespace, name').all(scope.group, scope.resource)
          : this.db
              .prepare('SELECT object FROM kube_objects WHERE grp = ? AND resource = ? AND namespace = ? ORDER BY name')
              .all(scope.group, scope.resource, scope.namespace)
      ) as { object: string }[];
      return { items: rows.map((r) => JSON.parse(r.object) as KubeObject), revision: Number(this.meta('revision')) };
    })();
  }

  async commit(ops: readonly StoreOp[]): Promise<StoredEvent[]> {
    const events = this.db.transaction(() => this.apply(ops)).immediate();
    this.compact(events);
    this.publish(events);
    return events;
  }

  /** One commit, planned as the PostgreSQL store plans each of its batch's groups (commit-plan.ts). */
  private apply(ops: readonly StoreOp[]): StoredEvent[] {
    const current = new Map<string, StoredRow>();
    for (const op of ops) {
      const r = this.row(op.key);
      if (r) current.set(keyId(op.key), r);
    }
    const plan = planBatch(Number(this.meta('revision')), [ops], current);
    const outcome = plan.outcomes[0]!;
    if (outcome instanceof Error) throw outcome;
    const upsert = this.db.prepare(
      'INSERT INTO kube_objects (grp, resource, namespace, name, revision, object) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (grp, resource, namespace, name) DO UPDATE SET revision = excluded.revision, object = excluded.object',
    );
    const remove = this.db.prepare('DELETE FROM kube_objects WHERE grp = ? AND resource = ? AND namespace = ? AND name = ?');
    for (const { key: k, row } of plan.writes.values()) {
      if (row) upsert.run(k.group, k.resource, k.namespace, k.name, row.revision, row.object);
      else remove.run(k.group, k.resource, k.namespace, k.name);
    }
    const log = this.db.prepare('INSERT INTO kube_log (revision, type, grp, resource, namespace, name, object, prev) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    for (const l of plan.log) log.run(l.revision, l.type, l.key.group, l.key.resource, l.key.namespace, l.key.name, l.object, l.prev);
    this.setMeta('revision', String(plan.revision));
    return outcome;
  }

  /** Drop log rows beyond the window (in batches: only when the log is 10% over). */
  private compact(events: StoredEvent[]): void {
    if (events.length === 0) return;
    const rev = events[events.length - 1]!.revision;
    const compacted = Number(this.meta('compacted'));
    if (rev - compacted <= this.window + Math.ceil(this.window / 10)) return;
    const upto = rev - this.window;
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM kube_log WHERE revision <= ?').run(upto);
      this.setMeta('compacted', String(upto));
    })();
  }

  private publish(events: StoredEvent[]): void {
    this.outbox.push(...events);
    if (this.delivering) return;
    this.delivering = true;
    try {
      while (this.outbox.length) {
        const e = this.outbox.shift()!;
        for (const w of this.watchers) if (!w.stopped && e.revision > w.after && inScope(w.scope, e.key)) deliver(w, e);
      }
    } finally {
      this.delivering = false;
    }
  }

  async watch(scope: ResourceScope | undefined, fromRevision: number, onEvent: (e: StoredEvent) => void): Promise<StoreWatch> {
    const compacted = Number(this.meta('compacted'));
    if (fromRevision < compacted) throw new StoreGoneError(fromRevision, compacted);
    const rows = (
      scope
        ? this.db.prepare('SELECT * FROM kube_log WHERE revision > ? AND grp = ? AND resource = ? ORDER BY revision').all(fromRevision, scope.group, scope.resource)
        : this.db.prepare('SELECT * FROM kube_log WHERE revision > ? ORDER BY revision').all(fromRevision)
    ) as LogRow[];
    const w: Watcher = { scope, onEvent, stopped: false, after: Infinity };
    // backlog and registration in one synchronous step: no commit can fall between them
    for (const r of rows) {
      const key = { group: r.grp, resource: r.resource, namespace: r.namespace, name: r.name };
      if (!inScope(scope, key)) continue;
      deliver(w, { type: r.type, key, revision: r.revision, object: JSON.parse(r.object) as KubeObject, ...(r.prev ? { prev: JSON.parse(r.prev) as KubeObject } : {}) });
    }
    // events committed but not yet delivered (a watch opened from a watcher's callback) are in the backlog already
    w.after = Number(this.meta('revision'));
    this.watchers.add(w);
    return {
      stop: () => {
        w.stopped = true;
        this.watchers.delete(w);
      },
    };
  }

  async close(): Promise<void> {
    for (const w of this.watchers) w.stopped = true;
    this.watchers.clear();
    if (this.db.open) this.db.close();
  }
}

function deliver(w: Watcher, e: StoredEvent): void {
  try {
    w.onEvent(e);
  } catch {
    // a watcher's failure is its own; the commit and the other watchers go on
  }
}
