/** The relay's credentials, tokens and telemetry on SQLite (one file, WAL). See types.ts for the contract. */
import type Database from 'better-sqlite3';
import { migrate, openDatabase, type Db } from '../../lib/sqlite.js';
import { RELAY_MIGRATIONS } from './migrations.js';
import type { LegacyObject, NodeRecord, RelayStore, TelemetryRecord } from './types.js';

interface NodeRow {
  name: string;
  password_hash: string;
  password_check: string | null;
  labels: string;
  joined_at: string;
}

interface TelemetryRow {
  id: number;
  node: string;
  kind: string;
  namespace: string;
  name: string;
  event: string;
  data: string;
  desired_version: number;
  seq: number | null;
  timestamp: number;
}

const nodeFromRow = (r: NodeRow): NodeRecord => ({
  name: r.name,
  passwordHash: r.password_hash,
  ...(r.password_check ? { passwordCheck: r.password_check } : {}),
  labels: JSON.parse(r.labels) as Record<string, string>,
  joinedAt: r.joined_at,
});

export class SqliteRelayStore implements RelayStore {
  /** telemetry rows appended per node since its last prune (pruning runs every few rows, not every row) */
  private readonly sincePrune = new Map<string, number>();
  /** prepared statements by SQL text: preparing costs more than running these small queries */
  private readonly statements = new Map<string, Database.Statement>();

  private constructor(private readonly db: Db) {}

  private sql(text: string): Database.Statement {
    let st = this.statements.get(text);
    if (!st) {
      st = this.db.prepare(text);
      this.statements.set(text, st);
    }
    return st;
  }

  static open(file: string): SqliteRelayStore {
    const db = openDatabase(file);
    try {
      migrate(db, RELAY_MIGRATIONS);
    } catch (e) {
      db.close();
      throw e;
    }
    return new SqliteRelayStore(db);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  createToken(tokenHash: string, expiresAt: Date, now: Date): void {
    this.sql('DELETE FROM tokens WHERE expires_at < ?').run(now.toISOString());
    this.sql('INSERT INTO tokens (hash, expires_at, created_at) VALUES (?, ?, ?)').run(tokenHash, expiresAt.toISOString(), now.toISOString());
  }

  checkToken(tokenHash: string, now: Date): boolean {
    const r = this.sql('SELECT expires_at FROM tokens WHERE hash = ?').get(tokenHash) as { expires_at: string } | undefined;
    return !!r && new Date(r.expires_at).getTime() > now.getTime();
  }

  upsertNode(name: string, passwordHash: string, labels: Record<string, string>, now: Date, passwordCheck?: string): NodeRecord {
    this.db
      .prepare(
        `INSERT INTO nodes (name, password_hash, password_check, labels, joined_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT(name) DO UPDATE SET password_hash = excluded.password_hash, password_check = excluded.password_check, labels = excluded.labels`,
      )
      .run(name, passwordHash, passwordCheck ?? null, JSON.stringify(labels), now.toISOString());
    return this.getNode(name)!;
  }

  getNode(name: string): NodeRecord | undefined {
    const r = this.sql('SELECT name, password_hash, password_check, labels, joined_at FROM nodes WHERE name = ?').get(name) as NodeRow | undefined;
    return r ? nodeFromRow(r) : undefined;
  }

  listNodes(): NodeRecord[] {
    return (this.db.prepare('SELECT name, password_hash, password_check, labels, joined_at FROM nodes ORDER BY name').all() as NodeRow[]).map(nodeFromRow);
  }

  deleteNode(name: string): boolean {
    return this.db.transaction(() => {
      this.db.prepare('DELETE FROM streams WHERE node = ?').run(name);
      this.db.prepare('DELETE FROM relay_meta WHERE key = ?').run(`rejoin/${name}`);
      return this.db.prepare('DELETE FROM nodes WHERE name = ?').run(name).changes > 0;
    })();
  }

  setNodePassword(name: string, passwordHash: string): boolean {
    return this.sql('UPDATE nodes SET password_hash = ?, password_check = NULL WHERE name = ?').run(passwordHash, name).changes > 0;
  }

  setPasswordCheck(name: string, passwordHash: string, passwordCheck: string): void {
    this.sql('UPDATE nodes SET password_check = ? WHERE name = ? AND password_hash = ?').run(passwordCheck, name, passwordHash);
  }

  // permissions and revisions live in relay_meta: no schema change
  allowRejoin(name: string, until: Date): void {
    this.sql('INSERT INTO relay_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(`rejoin/${name}`, until.toISOString());
  }

  takeRejoin(name: string, now: Date): boolean {
    return this.db.transaction(() => {
      const r = this.db.prepare('SELECT value FROM relay_meta WHERE key = ?').get(`rejoin/${name}`) as { value: string } | undefined;
      if (!r) return false;
      this.sql('DELETE FROM relay_meta WHERE key = ?').run(`rejoin/${name}`);
      return new Date(r.value).getTime() > now.getTime();
    })();
  }

  credentialsRevision(): number {
    const r = this.sql("SELECT value FROM relay_meta WHERE key = 'credentials.revision'").get() as { value: string } | undefined;
    return r ? Number(r.value) : 0;
  }

  bumpCredentialsRevision(): number {
    return this.db.transaction(() => {
      const next = this.credentialsRevision() + 1;
      this.sql("INSERT INTO relay_meta (key, value) VALUES ('credentials.revision', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(String(next));
      return next;
    })();
  }

  appendTelemetry(rows: readonly Omit<TelemetryRecord, 'id'>[], stream: string | undefined, keepPerNode: number): boolean {
    const t = rows[0];
    if (!t) return true;
    const fresh = this.db.transaction(() => {
      if (stream !== undefined && t.seq !== null) {
        const r = this.sql('SELECT hwm FROM streams WHERE node = ? AND stream = ?').get(t.node, stream) as { hwm: number } | undefined;
        if (r && t.seq <= r.hwm) {
          // older than the newest: a resend, or one the broker redelivered after newer ones (NATS
          // redelivers what a consumer left unacknowledged after later messages): kept unless
          // this very sample is here already (same sequence, time and event)
          if (this.sql('SELECT 1 FROM telemetry WHERE node = ? AND seq = ? AND timestamp = ? AND event = ? LIMIT 1').get(t.node, t.seq, t.timestamp, t.event)) return false;
        } else {
          this.sql('INSERT INTO streams (node, stream, hwm) VALUES (?, ?, ?) ON CONFLICT(node, stream) DO UPDATE SET hwm = excluded.hwm').run(t.node, stream, t.seq);
        }
      }
      const insert = this.sql('INSERT INTO telemetry (node, kind, namespace, name, event, data, desired_version, seq, timestamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
      for (const x of rows) insert.run(x.node, x.kind, x.namespace, x.name, x.event, JSON.stringify(x.data ?? null), x.desiredVersion, x.seq, x.timestamp);
      return true;
    })();
    if (fresh) this.prune(t.node, keepPerNode, rows.length);
    return fresh;
  }

  /** Keep a node's newest `keep` rows; checked every keep/10 (at most 100) rows appended for that node. */
  private prune(node: string, keep: number, added: number): void {
    const n = (this.sincePrune.get(node) ?? 0) + added;
    if (n < Math.max(1, Math.min(100, Math.floor(keep / 10)))) {
      this.sincePrune.set(node, n);
      return;
    }
    this.sincePrune.set(node, 0);
    const edge = this.db.prepare('SELECT id FROM telemetry WHERE node = ? ORDER BY id DESC LIMIT 1 OFFSET ?').get(node, keep) as { id: number } | undefined;
    if (edge) this.db.prepare('DELETE FROM telemetry WHERE node = ? AND id <= ?').run(node, edge.id);
  }

  listTelemetry(f: { node?: string; limit?: number }): TelemetryRecord[] {
    const limit = f.limit ?? 1000;
    const rows = (
      f.node
        ? this.db.prepare('SELECT * FROM (SELECT * FROM telemetry WHERE node = ? ORDER BY id DESC LIMIT ?) ORDER BY id').all(f.node, limit)
        : this.db.prepare('SELECT * FROM (SELECT * FROM telemetry ORDER BY id DESC LIMIT ?) ORDER BY id').all(limit)
    ) as TelemetryRow[];
    return rows.map((r) => ({
      id: r.id,
      node: r.node,
      kind: r.kind,
      namespace: r.namespace,
      name: r.name,
      event: r.event,
      data: JSON.parse(r.data) as unknown,
      desiredVersion: r.desired_version,
      seq: r.seq,
      timestamp: r.timestamp,
    }));
  }

  legacyObjects(): LegacyObject[] {
    const rows = this.db.prepare('SELECT kind, namespace, name, node, manifest FROM legacy_objects ORDER BY kind, namespace, name').all() as (Omit<LegacyObject, 'manifest'> & { manifest: string })[];
    return rows.map((r) => ({ ...r, manifest: JSON.parse(r.manifest) as Record<string, unknown> }));
  }

  dropLegacyObject(kind: string, namespace: string, name: string): void {
    this.db.prepare('DELETE FROM legacy_objects WHERE kind = ? AND namespace = ? AND name = ?').run(kind, namespace, name);
  }
}
