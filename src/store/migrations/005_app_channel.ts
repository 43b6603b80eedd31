import type { Migration } from '../../lib/sqlite.js';

/**
 * The application channel. The outbox gains an `app` class (an app's messages, bounded apart
 * from the daemon's own state and telemetry) — SQLite cannot change a CHECK constraint, so the
 * table is rebuilt with its rows and its AUTOINCREMENT sequence (the relay drops anything at or
 * below the last sequence it saw, so numbering must never restart). `outbox_usage` keeps rows
 * and bytes per class through triggers, so bounding a large backlog costs O(1) per message, not
 * a scan. `app_inbound` remembers the last MQTT packet id per publishing client (with a digest
 * of the message), so a QoS 1 resend after a crash is recognised and not queued twice.
 * Self-contained: it must mean the same thing whatever the code around it becomes.
 */
export const m005: Migration = {
  version: 5,
  name: 'app_channel',
  up(db) {
    const seq = db.prepare("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'").get() as { seq: number } | undefined;
    db.exec(`
      CREATE TABLE outbox_v5 (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        class TEXT NOT NULL CHECK (class IN ('state', 'telemetry', 'app')),
        key TEXT,
        topic TEXT NOT NULL,
        payload BLOB NOT NULL,
        bytes INTEGER NOT NULL,
        created_at TEXT NOT NULL
      );
      INSERT INTO outbox_v5 (seq, class, key, topic, payload, bytes, created_at)
        SELECT seq, class, key, topic, payload, bytes, created_at FROM outbox;
      DROP TABLE outbox;
      ALTER TABLE outbox_v5 RENAME TO outbox;
      CREATE UNIQUE INDEX outbox_state_key ON outbox(key) WHERE class = 'state';
      CREATE INDEX outbox_class_seq ON outbox(class, seq);

      CREATE TABLE outbox_usage (
        class TEXT PRIMARY KEY,
        rows INTEGER NOT NULL,
        bytes INTEGER NOT NULL
      ) WITHOUT ROWID;
      INSERT INTO outbox_usage (class, rows, bytes) VALUES ('state', 0, 0), ('telemetry', 0, 0), ('app', 0, 0);
      UPDATE outbox_usage SET
        rows = (SELECT COUNT(*) FROM outbox o WHERE o.class = outbox_usage.class),
        bytes = (SELECT COALESCE(SUM(bytes), 0) FROM outbox o WHERE o.class = outbox_usage.class);
      CREATE TRIGGER outbox_usage_add AFTER INSERT ON outbox BEGIN
        UPDATE outbox_usage SET rows = rows + 1, bytes = bytes + NEW.bytes WHERE class = NEW.class;
      END;
      CREATE TRIGGER outbox_usage_remove AFTER DELETE ON outbox BEGIN
        UPDATE outbox_usage SET rows = rows - 1, bytes = bytes - OLD.bytes WHERE class = OLD.class;
      END;

      CREATE TABLE app_inbound (
        client TEXT NOT NULL,
        message_id INTEGER NOT NULL,
        digest TEXT NOT NULL,
        at INTEGER NOT NULL,
        PRIMARY KEY (client, message_id)
      ) WITHOUT ROWID;
      CREATE INDEX app_inbound_at ON app_inbound(at);
    `);
    // the new table's sequence continues where the old one stopped, even when it was empty
    const max = Math.max(seq?.seq ?? 0, (db.prepare('SELECT COALESCE(MAX(seq), 0) AS m FROM outbox').get() as { m: number }).m);
    db.prepare("DELETE FROM sqlite_sequence WHERE name = 'outbox'").run();
    if (max > 0) db.prepare("INSERT INTO sqlite_sequence (name, seq) VALUES ('outbox', ?)").run(max);
  },
};
