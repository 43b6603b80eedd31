/**
 * Opening a SQLite database the way every edgecore store wants it: file created 0600 before
 * SQLite touches it, WAL journal, a busy timeout, foreign keys on, and numbered forward-only
 * migrations applied in one transaction each (tracked in PRAGMA user_version).
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

export type Db = Database.Database;

export interface Migration {
  /** 1, 2, 3 ... with no gaps */
  version: number;
  name: string;
  up(db: Db): void;
}

export interface OpenOptions {
  busyTimeoutMs?: number;
  readonly?: boolean;
}

/** Create the file with mode 0600 (and its folder 0700) before SQLite opens it. */
function ensurePrivateFile(file: string): void {
  if (file === ':memory:') return;
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  chmodSync(file, 0o600);
}

/**
 * `db.prepare` answers from a cache: compiling a statement cost more than running it on the hot
 * paths (a status report prepared 4-6 statements; 14 % of the daemon's busy time with 50 devices,
 * docs/benchmarks.md). A cached statement that is busy (an iterator still open) is not shared: the
 * caller gets a fresh one. Bounded (oldest dropped) for stores that build SQL from their filters.
 */
function cachePrepared(db: Db, max = 256): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  db.prepare = ((sql: string) => {
    const hit = cache.get(sql);
    if (hit && !hit.busy) return hit;
    const stmt = prepare(sql);
    if (!hit) {
      if (cache.size >= max) cache.delete(cache.keys().next().value!);
      cache.set(sql, stmt);
    }
    return stmt;
  }) as Db['prepare'];
}

export function openDatabase(file: string, opts: OpenOptions = {}): Db {
  if (!opts.readonly) ensurePrivateFile(file);
  const db = new Database(file, { readonly: opts.readonly ?? false });
  cachePrepared(db);
  db.pragma(`busy_timeout = ${opts.busyTimeoutMs ?? 5000}`);
  if (!opts.readonly) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
  }
  db.pragma('foreign_keys = ON');
  if (file !== ':memory:' && !opts.readonly) {
    // WAL side files inherit the umask; keep them as private as the database.
    for (const side of [`${file}-wal`, `${file}-shm`]) if (existsSync(side)) chmodSync(side, 0o600);
  }
  return db;
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

/**
 * Apply every migration newer than the database's version, in order, each in its own
 * transaction. Refuses a database newer than the code (a downgrade would lose data).
 */
export function migrate(db: Db, migrations: readonly Migration[]): { from: number; to: number } {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration list has a gap: position ${i + 1} holds version ${m.version}`);
  });
  const from = schemaVersion(db);
  const latest = migrations.length;
  if (from > latest) {
    throw new Error(`database schema version ${from} is newer than this build supports (${latest}); refusing to downgrade`);
  }
  for (const m of migrations.slice(from)) {
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return { from, to: latest };
}
