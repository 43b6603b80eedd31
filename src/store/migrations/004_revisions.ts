import type { Migration } from '../../lib/sqlite.js';

/**
 * One store-wide revision, as Kubernetes' resourceVersion is: every write of an object (its
 * manifest or its status) takes the next number, kept on the row (`revision`, and
 * `created_revision` from its first write); a delete leaves a tombstone with its revision and
 * the object's last state. A watch from revision N is then "rows and tombstones after N", read
 * from SQLite — it survives a daemon restart. Tombstones are kept in a bounded window; a watch
 * from before the window's start (meta `store.compacted`) is told 410 Gone and relists.
 * Existing rows are numbered 1..n in key order. Self-contained: it must mean the same thing
 * whatever the code around it becomes.
 */
export const m004: Migration = {
  version: 4,
  name: 'revisions',
  up(db) {
    db.exec(`
      ALTER TABLE resources ADD COLUMN revision INTEGER NOT NULL DEFAULT 0;
      ALTER TABLE resources ADD COLUMN created_revision INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE resource_deletions (
        revision INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        created_revision INTEGER NOT NULL,
        object TEXT NOT NULL
      );
    `);
    const rows = db.prepare('SELECT kind, namespace, name FROM resources ORDER BY kind, namespace, name').all() as { kind: string; namespace: string; name: string }[];
    const update = db.prepare('UPDATE resources SET revision = ?, created_revision = ? WHERE kind = ? AND namespace = ? AND name = ?');
    rows.forEach((r, i) => update.run(i + 1, i + 1, r.kind, r.namespace, r.name));
    db.exec('CREATE INDEX resources_revision ON resources(revision)');
    const set = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value');
    set.run('store.revision', String(rows.length));
    set.run('store.compacted', '0');
  },
};
