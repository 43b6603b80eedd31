/** The application channel's store on SQLite (its own file, WAL). See messages.ts for the contract. */
import { randomUUID } from 'node:crypto';
import { migrate, openDatabase, type Db, type Migration } from '../../lib/sqlite.js';
import type { AppMessage, Delivery, DownMessage, IngestResult, MessageStore, NewDelivery, StoredMessage } from './messages.js';

/** dead letters kept per rule (the newest) */
const DEAD_KEPT = 1000;

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    name: 'app_messages',
    up(db) {
      db.exec(`
        CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
        CREATE TABLE marks (node TEXT NOT NULL, stream TEXT NOT NULL, hwm INTEGER NOT NULL, PRIMARY KEY (node, stream)) WITHOUT ROWID;
        CREATE TABLE deliveries (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          rule_uid TEXT NOT NULL, lane TEXT NOT NULL,
          node TEXT NOT NULL, topic TEXT NOT NULL, payload BLOB NOT NULL, message_id TEXT NOT NULL, time INTEGER NOT NULL,
          attempts INTEGER NOT NULL DEFAULT 0, next_at INTEGER NOT NULL DEFAULT 0, first_try INTEGER NOT NULL DEFAULT 0, last_error TEXT
        );
        CREATE INDEX deliveries_rule ON deliveries(rule_uid);
        CREATE TABLE stored (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          rule_uid TEXT NOT NULL, dead INTEGER NOT NULL DEFAULT 0, error TEXT,
          node TEXT NOT NULL, topic TEXT NOT NULL, payload BLOB NOT NULL, message_id TEXT NOT NULL, time INTEGER NOT NULL, received INTEGER NOT NULL
        );
        CREATE INDEX stored_rule ON stored(rule_uid, dead, seq);
        CREATE INDEX stored_rule_node ON stored(rule_uid, dead, node, seq);
        CREATE TABLE down (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          node TEXT NOT NULL, rule_uid TEXT NOT NULL, rule TEXT NOT NULL, target TEXT NOT NULL, payload BLOB NOT NULL,
          expires INTEGER NOT NULL, reply INTEGER NOT NULL, created INTEGER NOT NULL
        );
        CREATE INDEX down_node ON down(node, id);
        CREATE INDEX down_expires ON down(expires);
        CREATE TABLE counters (rule_uid TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
      `);
      db.prepare("INSERT INTO meta (key, value) VALUES ('down.stream', ?)").run(randomUUID());
    },
  },
];

interface DeliveryRow {
  seq: number;
  rule_uid: string;
  lane: string;
  node: string;
  topic: string;
  payload: Buffer;
  message_id: string;
  time: number;
  attempts: number;
  next_at: number;
  first_try: number;
  last_error: string | null;
}

interface DownRow {
  id: number;
  node: string;
  rule_uid: string;
  rule: string;
  target: string;
  payload: Buffer;
  expires: number;
  reply: number;
  created: number;
}

const delivery = (r: DeliveryRow): Delivery => ({
  seq: r.seq,
  ruleUid: r.rule_uid,
  lane: r.lane,
  message: { node: r.node, topic: r.topic, payload: r.payload, id: r.message_id, time: r.time },
  attempts: r.attempts,
  nextAt: r.next_at,
  firstTry: r.first_try,
  ...(r.last_error ? { lastError: r.last_error } : {}),
});

const down = (r: DownRow): DownMessage => ({ id: r.id, node: r.node, ruleUid: r.rule_uid, rule: r.rule, target: r.target, payload: r.payload, expires: r.expires, reply: r.reply === 1, created: r.created });

export class SqliteMessageStore implements MessageStore {
  private constructor(
    private readonly db: Db,
    private readonly now: () => number,
  ) {}

  static open(file: string, now: () => number = Date.now): SqliteMessageStore {
    const db = openDatabase(file);
    try {
      migrate(db, MIGRATIONS);
    } catch (e) {
      db.close();
      throw e;
    }
    return new SqliteMessageStore(db, now);
  }

  async downStream(): Promise<string> {
    return (this.db.prepare("SELECT value FROM meta WHERE key = 'down.stream'").get() as { value: string }).value;
  }

  private moveMark(node: string, stream: string, seq: number): boolean {
    const r = this.db.prepare('SELECT hwm FROM marks WHERE node = ? AND stream = ?').get(node, stream) as { hwm: number } | undefined;
    if (r && seq <= r.hwm) return false;
    this.db.prepare('INSERT INTO marks (node, stream, hwm) VALUES (?, ?, ?) ON CONFLICT(node, stream) DO UPDATE SET hwm = excluded.hwm').run(node, stream, seq);
    return true;
  }

  async ingest(m: AppMessage, mark: { stream: string; seq: number } | undefined, deliveries: NewDelivery[], stored: string[]): Promise<IngestResult> {
    return this.db.transaction((): IngestResult => {
      if (mark && !this.moveMark(m.node, mark.stream, mark.seq)) return { fresh: false, deliveries: [] };
      const insD = this.db.prepare('INSERT INTO deliveries (rule_uid, lane, node, topic, payload, message_id, time) VALUES (?, ?, ?, ?, ?, ?, ?)');
      const out: Delivery[] = deliveries.map((d) => {
        const info = insD.run(d.ruleUid, d.lane, m.node, m.topic, m.payload, m.id, m.time);
        return { ...d, seq: Number(info.lastInsertRowid), message: m, attempts: 0, nextAt: 0, firstTry: 0 };
      });
      const insS = this.db.prepare('INSERT INTO stored (rule_uid, node, topic, payload, message_id, time, received) VALUES (?, ?, ?, ?, ?, ?, ?)');
      for (const uid of stored) insS.run(uid, m.node, m.topic, m.payload, m.id, m.time, this.now());
      return { fresh: true, deliveries: out };
    })();
  }

  async advance(node: string, stream: string, seq: number): Promise<boolean> {
    return this.db.transaction(() => this.moveMark(node, stream, seq))();
  }

  async pendingDeliveries(): Promise<Delivery[]> {
    return (this.db.prepare('SELECT * FROM deliveries ORDER BY seq').all() as DeliveryRow[]).map(delivery);
  }

  async delivered(seqs: readonly number[]): Promise<void> {
    const del = this.db.prepare('DELETE FROM deliveries WHERE seq = ?');
    this.db.transaction(() => {
      for (const s of seqs) del.run(s);
    })();
  }

  async retryLater(seq: number, attempts: number, nextAt: number, error: string, firstTry: number): Promise<void> {
    this.db.prepare('UPDATE deliveries SET attempts = ?, next_at = ?, first_try = ?, last_error = ? WHERE seq = ?').run(attempts, nextAt, firstTry, error.slice(0, 4096), seq);
  }

  async deadLetter(seq: number, error: string): Promise<void> {
    this.db.transaction(() => {
      const r = this.db.prepare('SELECT * FROM deliveries WHERE seq = ?').get(seq) as DeliveryRow | undefined;
      if (!r) return;
      this.db.prepare('DELETE FROM deliveries WHERE seq = ?').run(seq);
      this.db
        .prepare('INSERT INTO stored (rule_uid, dead, error, node, topic, payload, message_id, time, received) VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?)')
        .run(r.rule_uid, error.slice(0, 4096), r.node, r.topic, r.payload, r.message_id, r.time, this.now());
      this.db
        .prepare('DELETE FROM stored WHERE rule_uid = ? AND dead = 1 AND seq <= (SELECT seq FROM stored WHERE rule_uid = ? AND dead = 1 ORDER BY seq DESC LIMIT 1 OFFSET ?)')
        .run(r.rule_uid, r.rule_uid, DEAD_KEPT);
    })();
  }

  async listStored(ruleUid: string, q: { afterSeq?: number; node?: string; limit: number; dead?: boolean }): Promise<StoredMessage[]> {
    const dead = q.dead ? 1 : 0;
    const rows = (
      q.node
        ? this.db.prepare('SELECT * FROM stored WHERE rule_uid = ? AND dead = ? AND node = ? AND seq > ? ORDER BY seq LIMIT ?').all(ruleUid, dead, q.node, q.afterSeq ?? 0, q.limit)
        : this.db.prepare('SELECT * FROM stored WHERE rule_uid = ? AND dead = ? AND seq > ? ORDER BY seq LIMIT ?').all(ruleUid, dead, q.afterSeq ?? 0, q.limit)
    ) as { seq: number; rule_uid: string; error: string | null; node: string; topic: string; payload: Buffer; message_id: string; time: number }[];
    return rows.map((r) => ({ seq: r.seq, ruleUid: r.rule_uid, node: r.node, topic: r.topic, payload: r.payload, id: r.message_id, time: r.time, ...(r.error ? { error: r.error } : {}) }));
  }

  async prune(rules: ReadonlyMap<string, { keepMs: number; maxMessages: number }>, now: number): Promise<number> {
    let n = 0;
    this.db.transaction(() => {
      for (const [uid, r] of rules) {
        n += this.db.prepare('DELETE FROM stored WHERE rule_uid = ? AND dead = 0 AND received < ?').run(uid, now - r.keepMs).changes;
        const nodes = this.db.prepare('SELECT node, COUNT(*) AS c FROM stored WHERE rule_uid = ? AND dead = 0 GROUP BY node HAVING c > ?').all(uid, r.maxMessages) as { node: string; c: number }[];
        for (const x of nodes) {
          n += this.db
            .prepare('DELETE FROM stored WHERE seq IN (SELECT seq FROM stored WHERE rule_uid = ? AND dead = 0 AND node = ? ORDER BY seq LIMIT ?)')
            .run(uid, x.node, x.c - r.maxMessages).changes;
        }
      }
    })();
    return n;
  }

  async forgetRules(keep: ReadonlySet<string>): Promise<void> {
    this.db.transaction(() => {
      for (const table of ['deliveries', 'stored', 'down', 'counters']) {
        const uids = this.db.prepare(`SELECT DISTINCT rule_uid FROM ${table}`).all() as { rule_uid: string }[];
        for (const u of uids) if (!keep.has(u.rule_uid)) this.db.prepare(`DELETE FROM ${table} WHERE rule_uid = ?`).run(u.rule_uid);
      }
    })();
  }

  async enqueueDown(m: Omit<DownMessage, 'id'>): Promise<DownMessage> {
    const info = this.db
      .prepare('INSERT INTO down (node, rule_uid, rule, target, payload, expires, reply, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(m.node, m.ruleUid, m.rule, m.target, m.payload, m.expires, m.reply ? 1 : 0, m.created);
    return { ...m, id: Number(info.lastInsertRowid) };
  }

  async pendingDown(node: string, afterId: number, limit: number): Promise<DownMessage[]> {
    return (this.db.prepare('SELECT * FROM down WHERE node = ? AND id > ? ORDER BY id LIMIT ?').all(node, afterId, limit) as DownRow[]).map(down);
  }

  async countDown(node: string): Promise<number> {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM down WHERE node = ?').get(node) as { n: number }).n;
  }

  async removeDown(ids: readonly number[]): Promise<DownMessage[]> {
    const get = this.db.prepare('SELECT * FROM down WHERE id = ?');
    const del = this.db.prepare('DELETE FROM down WHERE id = ?');
    return this.db.transaction(() => {
      const out: DownMessage[] = [];
      for (const id of ids) {
        const r = get.get(id) as DownRow | undefined;
        if (!r) continue;
        del.run(id);
        out.push(down(r));
      }
      return out;
    })();
  }

  async expireDown(now: number): Promise<DownMessage[]> {
    return this.db.transaction(() => {
      const rows = (this.db.prepare('SELECT * FROM down WHERE expires < ? ORDER BY id').all(now) as DownRow[]).map(down);
      if (rows.length) this.db.prepare('DELETE FROM down WHERE expires < ?').run(now);
      return rows;
    })();
  }

  async downNodes(): Promise<string[]> {
    return (this.db.prepare('SELECT DISTINCT node FROM down').all() as { node: string }[]).map((r) => r.node);
  }

  async loadCounters(): Promise<Map<string, string>> {
    return new Map((this.db.prepare('SELECT rule_uid, value FROM counters').all() as { rule_uid: string; value: string }[]).map((r) => [r.rule_uid, r.value]));
  }

  async saveCounters(c: ReadonlyMap<string, string>): Promise<void> {
    const up = this.db.prepare('INSERT INTO counters (rule_uid, value) VALUES (?, ?) ON CONFLICT(rule_uid) DO UPDATE SET value = excluded.value');
    this.db.transaction(() => {
      for (const [k, v] of c) up.run(k, v);
    })();
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}
