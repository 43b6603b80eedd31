import type { Migration } from '../../lib/sqlite.js';

/** Desired objects and their status, keyed by kind/namespace/name. */
export const m001: Migration = {
  version: 1,
  name: 'resources',
  up(db) {
    db.exec(`
      CREATE TABLE resources (
        kind TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        uid TEXT NOT NULL,
        resource_version INTEGER NOT NULL,
        spec TEXT NOT NULL,
        status TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (kind, namespace, name)
      ) WITHOUT ROWID;
      CREATE UNIQUE INDEX resources_uid ON resources(uid);
    `);
  },
};
