/** The relay's SQLite schema (numbered, forward-only). */
import { randomUUID } from 'node:crypto';
import type { Migration } from '../../lib/sqlite.js';

export const RELAY_MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'relay_initial',
    up(db) {
      db.exec(`
        CREATE TABLE relay_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE tokens (hash TEXT PRIMARY KEY, expires_at TEXT NOT NULL, created_at TEXT NOT NULL);
        CREATE TABLE nodes (
          name TEXT PRIMARY KEY,
          password_hash TEXT NOT NULL,
          labels TEXT NOT NULL DEFAULT '{}',
          joined_at TEXT NOT NULL,
          online INTEGER NOT NULL DEFAULT 0,
          last_contact TEXT,
          applied_version INTEGER NOT NULL DEFAULT 0,
          info TEXT NOT NULL DEFAULT '{}'
        );
        -- one row per node name that has (or had) desired objects: the per-node version
        CREATE TABLE node_versions (node TEXT PRIMARY KEY, version INTEGER NOT NULL);
        CREATE TABLE objects (
          kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
          node TEXT NOT NULL,
          uid TEXT NOT NULL,
          generation INTEGER NOT NULL,
          manifest TEXT NOT NULL,
          created_at TEXT NOT NULL, updated_at TEXT NOT NULL,
          PRIMARY KEY (kind, namespace, name)
        );
        CREATE INDEX objects_node ON objects(node);
        CREATE TABLE reported (
          node TEXT NOT NULL, kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
          status TEXT NOT NULL, desired_version INTEGER NOT NULL, updated_at TEXT NOT NULL,
          PRIMARY KEY (kind, namespace, name, node)
        );
        CREATE TABLE streams (node TEXT NOT NULL, stream TEXT NOT NULL, hwm INTEGER NOT NULL, PRIMARY KEY (node, stream));
        CREATE TABLE telemetry (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          node TEXT NOT NULL, kind TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
          event TEXT NOT NULL, data TEXT NOT NULL, desired_version INTEGER NOT NULL,
          seq INTEGER, timestamp INTEGER NOT NULL
        );
        CREATE INDEX telemetry_node ON telemetry(node, id);
      `);
      db.prepare('INSERT INTO relay_meta (key, value) VALUES (?, ?)').run('epoch', randomUUID());
    },
  },
  {
    version: 2,
    name: 'kube_objects',
    up(db) {
      // the Kubernetes object store (objects.ts / kube-sqlite.ts): current objects, and the
      // change log of the last revisions (each row keeps the object after and before the change)
      db.exec(`
        CREATE TABLE kube_objects (
          grp TEXT NOT NULL, resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
          revision INTEGER NOT NULL,
          object TEXT NOT NULL,
          PRIMARY KEY (grp, resource, namespace, name)
        ) WITHOUT ROWID;
        CREATE TABLE kube_log (
          revision INTEGER PRIMARY KEY,
          type TEXT NOT NULL,
          grp TEXT NOT NULL, resource TEXT NOT NULL, namespace TEXT NOT NULL, name TEXT NOT NULL,
          object TEXT NOT NULL,
          prev TEXT
        );
      `);
      db.prepare("INSERT INTO relay_meta (key, value) VALUES ('revision', '0'), ('compacted', '0')").run();
    },
  },
  {
    version: 3,
    name: 'node_sync_from_the_api',
    up(db) {
      // Desired documents are now computed from the Kubernetes objects and versioned by the object
      // store's revision: a new epoch, so every node accepts the new versions from scratch. What
      // edgectl applied through the old object routes waits in legacy_objects until the relay
      // imports it through the API; nodes' presence, reports and per-node versions are gone (Node
      // objects and their status hold them now).
      db.exec(`
        ALTER TABLE objects RENAME TO legacy_objects;
        DROP INDEX IF EXISTS objects_node;
        DROP TABLE reported;
        DROP TABLE node_versions;
      `);
      db.prepare("UPDATE relay_meta SET value = ? WHERE key = 'epoch'").run(randomUUID());
    },
  },
  {
    version: 4,
    name: 'node_password_check',
    up(db) {
      // node passwords are 24 random bytes: one SHA-256 is enough to check them (auth.ts,
      // passwordCheck), and a relay that starts checks every node without PBKDF2 (the `$7$` hash
      // stays, authoritative, and for mosquitto's password file)
      db.exec('ALTER TABLE nodes ADD COLUMN password_check TEXT');
    },
  },
];
