/** The relay store on SQLite (one file, WAL). See types.ts for the contract. */
import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import type { Manifest } from '../../contract/resources/kinds.js';
import { stableStringify } from '../../lib/json.js';
import { migrate, openDatabase, type Db } from '../../lib/sqlite.js';
import { RELAY_MIGRATIONS } from './migrations.js';
import type {
  ApplyOutcome,
  NodeRecord,
  ObjectFilter,
  ObjectRecord,
  RelayStore,
  ReportedRecord,
  TelemetryRecord,
} from './types.js';

interface NodeRow {
  name: string;
  password_hash: string;
  labels: string;
  joined_at: string;
  online: number;
  last_contact: string | null;
  applied_version: number;
  info: string;
}

interface ObjectRow {
  kind: string;
  namespace: string;
  name: string;
  node: string;
  uid: string;
  generation: number;
  manifest: string;
  created_at: string;
  updated_at: string;
}

const nodeFromRow = (r: NodeRow): NodeRecord => ({
  name: r.name,
  passwordHash: r.password_hash,
  labels: JSON.parse(r.labels) as Record<string, string>,
  joinedAt: r.joined_at,
  online: r.online === 1,
  lastContact: r.last_contact,
  appliedVersion: r.applied_version,
  info: JSON.parse(r.info) as Record<string, unknown>,
});

const objectFromRow = (r: ObjectRow): ObjectRecord => ({
  kind: r.kind,
  namespace: r.namespace,
  name: r.name,
  node: r.node,
  uid: r.uid,
  generation: r.generation,
  manifest: JSON.parse(r.manifest) as Manifest,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export class SqliteRelayStore implements RelayStore {
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

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    if (this.db.open) this.db.close();
  }

  epoch(): string {
    return (this.sql("SELECT value FROM relay_meta WHERE key = 'epoch'").get() as { value: string }).value;
  }

  createToken(tokenHash: string, expiresAt: Date, now: Date): void {
    this.sql('DELETE FROM tokens WHERE expires_at < ?').run(now.toISOString());
    this.sql('INSERT INTO tokens (hash, expires_at, created_at) VALUES (?, ?, ?)').run(tokenHash, expiresAt.toISOString(), now.toISOString());
  }

  checkToken(tokenHash: string, now: Date): boolean {
    const r = this.sql('SELECT expires_at FROM tokens WHERE hash = ?').get(tokenHash) as { expires_at: string } | undefined;
    return !!r && new Date(r.expires_at).getTime() > now.getTime();
  }

  upsertNode(name: string, passwordHash: string, labels: Record<string, string>, now: Date): NodeRecord {
    this.transaction(() => {
      this.db
        .prepare(
          `INSERT INTO nodes (name, password_hash, labels, joined_at) VALUES (?, ?, ?, ?)
           ON CONFLICT(name) DO UPDATE SET password_hash = excluded.password_hash, labels = excluded.labels`,
        )
        .run(name, passwordHash, JSON.stringify(labels), now.toISOString());
      this.sql('INSERT OR IGNORE INTO node_versions (node, version) VALUES (?, 1)').run(name);
    });
    return this.getNode(name)!;
  }

  getNode(name: string): NodeRecord | undefined {
    const r = this.sql('SELECT * FROM nodes WHERE name = ?').get(name) as NodeRow | undefined;
    return r ? nodeFromRow(r) : undefined;
  }

  listNodes(): NodeRecord[] {
    return (this.sql('SELECT * FROM nodes ORDER BY name').all() as NodeRow[]).map(nodeFromRow);
  }

  deleteNode(name: string): boolean {
    this.sql('DELETE FROM relay_meta WHERE key = ?').run(`rejoin/${name}`);
    return this.sql('DELETE FROM nodes WHERE name = ?').run(name).changes > 0;
  }

  setNodePassword(name: string, passwordHash: string): boolean {
    return this.sql('UPDATE nodes SET password_hash = ? WHERE name = ?').run(passwordHash, name).changes > 0;
  }

  // permissions and revisions live in relay_meta: no schema change
  allowRejoin(name: string, until: Date): void {
    this.sql('INSERT INTO relay_meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(`rejoin/${name}`, until.toISOString());
  }

  takeRejoin(name: string, now: Date): boolean {
    return this.transaction(() => {
      const r = this.sql('SELECT value FROM relay_meta WHERE key = ?').get(`rejoin/${name}`) as { value: string } | undefined;
      if (!r) return false;
      this.sql('DELETE FROM relay_meta WHERE key = ?').run(`rejoin/${name}`);
      return new Date(r.value).getTime() > now.getTime();
    });
  }

  credentialsRevision(): number {
    const r = this.sql("SELECT value FROM relay_meta WHERE key = 'credentials.revision'").get() as { value: string } | undefined;
    return r ? Number(r.value) : 0;
  }

  bumpCredentialsRevision(): number {
    return this.transaction(() => {
      const next = this.credentialsRevision() + 1;
      this.sql("INSERT INTO relay_meta (key, value) VALUES ('credentials.revision', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(String(next));
      return next;
    });
  }

  setPresence(name: string, online: boolean, at: Date): void {
    this.sql('UPDATE nodes SET online = ?, last_contact = ? WHERE name = ?').run(online ? 1 : 0, at.toISOString(), name);
  }

  setContacts(contacts: ReadonlyMap<string, { at: Date; appliedVersion?: number }>): void {
    const upd = this.sql('UPDATE nodes SET last_contact = ? WHERE name = ?');
    const ver = this.sql('UPDATE nodes SET applied_version = ? WHERE name = ?');
    this.transaction(() => {
      for (const [name, c] of contacts) {
        upd.run(c.at.toISOString(), name);
        if (c.appliedVersion !== undefined) ver.run(c.appliedVersion, name);
      }
    });
  }

  setNodeInfo(name: string, info: Record<string, unknown>, appliedVersion: number): void {
    this.sql('UPDATE nodes SET info = ?, applied_version = ? WHERE name = ?').run(JSON.stringify(info), appliedVersion, name);
  }

  desiredVersion(node: string): number {
    const r = this.sql('SELECT version FROM node_versions WHERE node = ?').get(node) as { version: number } | undefined;
    return r?.version ?? 0;
  }

  /** Bump the version of `node` (or of every known node for '*'); returns the nodes bumped. */
  private bump(node: string): string[] {
    if (node === '*') {
      this.sql('UPDATE node_versions SET version = version + 1').run();
      return (this.sql('SELECT node FROM node_versions ORDER BY node').all() as { node: string }[]).map((r) => r.node);
    }
    this.db
      .prepare('INSERT INTO node_versions (node, version) VALUES (?, 2) ON CONFLICT(node) DO UPDATE SET version = version + 1')
      .run(node);
    return [node];
  }

  applyObject(manifest: Manifest, node: string, now: Date): ApplyOutcome {
    return this.transaction(() => {
      const { kind } = manifest;
      const { namespace, name } = manifest.metadata;
      const prev = this.getObject(kind, namespace, name);
      const json = stableStringify(manifest);
      if (prev && prev.node === node && stableStringify(prev.manifest) === json) return { result: 'unchanged', object: prev, affected: [] };
      const ts = now.toISOString();
      const affected = new Set<string>();
      if (prev) {
        this.db
          .prepare('UPDATE objects SET node = ?, generation = generation + 1, manifest = ?, updated_at = ? WHERE kind = ? AND namespace = ? AND name = ?')
          .run(node, json, ts, kind, namespace, name);
        if (prev.node !== node) for (const n of this.bump(prev.node)) affected.add(n);
      } else {
        this.db
          .prepare('INSERT INTO objects (kind, namespace, name, node, uid, generation, manifest, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)')
          .run(kind, namespace, name, node, randomUUID(), json, ts, ts);
      }
      for (const n of this.bump(node)) affected.add(n);
      return { result: prev ? 'configured' : 'created', object: this.getObject(kind, namespace, name)!, affected: [...affected] };
    });
  }

  deleteObject(kind: string, namespace: string, name: string): { deleted: boolean; affected: string[] } {
    return this.transaction(() => {
      const prev = this.getObject(kind, namespace, name);
      if (!prev) return { deleted: false, affected: [] };
      this.sql('DELETE FROM objects WHERE kind = ? AND namespace = ? AND name = ?').run(kind, namespace, name);
      this.sql('DELETE FROM reported WHERE kind = ? AND namespace = ? AND name = ?').run(kind, namespace, name);
      return { deleted: true, affected: this.bump(prev.node) };
    });
  }

  getObject(kind: string, namespace: string, name: string): ObjectRecord | undefined {
    const r = this.sql('SELECT * FROM objects WHERE kind = ? AND namespace = ? AND name = ?').get(kind, namespace, name) as
      | ObjectRow
      | undefined;
    return r ? objectFromRow(r) : undefined;
  }

  listObjects(f: ObjectFilter): ObjectRecord[] {
    const where: string[] = [];
    const args: unknown[] = [];
    if (f.kind) (where.push('kind = ?'), args.push(f.kind));
    if (f.namespace) (where.push('namespace = ?'), args.push(f.namespace));
    if (f.name) (where.push('name = ?'), args.push(f.name));
    if (f.node) (where.push("(node = ? OR node = '*')"), args.push(f.node));
    const sql = `SELECT * FROM objects ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY kind, namespace, name`;
    return (this.sql(sql).all(...args) as ObjectRow[]).map(objectFromRow);
  }

  acceptSeq(node: string, stream: string, seq: number): boolean {
    const r = this.sql('SELECT hwm FROM streams WHERE node = ? AND stream = ?').get(node, stream) as { hwm: number } | undefined;
    if (r && seq <= r.hwm) return false;
    this.db
      .prepare('INSERT INTO streams (node, stream, hwm) VALUES (?, ?, ?) ON CONFLICT(node, stream) DO UPDATE SET hwm = excluded.hwm')
      .run(node, stream, seq);
    return true;
  }

  putReported(r: ReportedRecord): void {
    this.db
      .prepare(
        `INSERT INTO reported (node, kind, namespace, name, status, desired_version, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT(kind, namespace, name, node) DO UPDATE SET status = excluded.status, desired_version = excluded.desired_version, updated_at = excluded.updated_at`,
      )
      .run(r.node, r.kind, r.namespace, r.name, JSON.stringify(r.status ?? null), r.desiredVersion, r.updatedAt);
  }

  listReported(kind: string, namespace: string, name: string): ReportedRecord[] {
    const rows = this.db
      .prepare('SELECT * FROM reported WHERE kind = ? AND namespace = ? AND name = ? ORDER BY node')
      .all(kind, namespace, name) as { node: string; kind: string; namespace: string; name: string; status: string; desired_version: number; updated_at: string }[];
    return rows.map((r) => ({
      node: r.node,
      kind: r.kind,
      namespace: r.namespace,
      name: r.name,
      status: JSON.parse(r.status) as unknown,
      desiredVersion: r.desired_version,
      updatedAt: r.updated_at,
    }));
  }

  appendTelemetry(t: Omit<TelemetryRecord, 'id'>, keep: number): void {
    const info = this.db
      .prepare('INSERT INTO telemetry (node, kind, namespace, name, event, data, desired_version, seq, timestamp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
      .run(t.node, t.kind, t.namespace, t.name, t.event, JSON.stringify(t.data ?? null), t.desiredVersion, t.seq, t.timestamp);
    const id = Number(info.lastInsertRowid);
    if (id % 100 === 0) this.sql('DELETE FROM telemetry WHERE id <= ?').run(id - keep);
  }

  listTelemetry(f: { node?: string; limit?: number }): TelemetryRecord[] {
    const limit = f.limit ?? 1000;
    const rows = (
      f.node
        ? this.sql('SELECT * FROM (SELECT * FROM telemetry WHERE node = ? ORDER BY id DESC LIMIT ?) ORDER BY id').all(f.node, limit)
        : this.sql('SELECT * FROM (SELECT * FROM telemetry ORDER BY id DESC LIMIT ?) ORDER BY id').all(limit)
    ) as { id: number; node: string; kind: string; namespace: string; name: string; event: string; data: string; desired_version: number; seq: number | null; timestamp: number }[];
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
}
