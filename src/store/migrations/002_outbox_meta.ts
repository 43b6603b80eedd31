import type { Migration } from '../../lib/sqlite.js';

/**
 * The upstream outbox (ordered; state rows coalesce on their key, telemetry rows append),
 * a small key/value table for node-level facts (desired version seen, drop counters), and the
 * origin of each resource (cloud, static file, local API) so static pods never go upstream as
 * cloud objects.
 */
export const m002: Migration = {
  version: 2,
  name: 'outbox_meta',
  up(db) {
    db.exec(`
      CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        class TEXT NOT NULL CHECK (class IN ('state', 'telemetry')),
        key TEXT,
        topic TEXT NOT NULL,
        payload BLOB NOT NULL,
        bytes INTEGER NOT NULL,
        created_at TEXT NOT NULL
      );
      CREATE UNIQUE INDEX outbox_state_key ON outbox(key) WHERE class = 'state';
      CREATE TABLE meta (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) WITHOUT ROWID;
      ALTER TABLE resources ADD COLUMN origin TEXT NOT NULL DEFAULT 'cloud';
    `);
  },
};
