/**
 * The ObjectStore on PostgreSQL, for a fleet of relay replicas on one database (issue 19). Same
 * tables as the SQLite store (pg-schema.ts): `kube_objects` (current state), `kube_log` (the last
 * `window` changes, each with the state before), `kube_revision` (one row: the global revision,
 * the newest revision compacted away, the epoch).
 *
 * Revision order = commit order: a commit first locks the one `kube_revision` row (SELECT … FOR
 * UPDATE), so commits from every replica run one after another and revision N+1 can only be taken
 * once N is committed. A sequence would not do: two transactions could take 5 and 6 and commit 6
 * first, and a watcher reading "after 4" would see 6 and never 5.
 *
 * Watches: each commit NOTIFYs `kube_changes` (delivered at commit). The notify is only a wake-up:
 * every replica reads the log by revision from where it stopped (changes.ts), so a lost or merged
 * notify, a reconnect, or another replica's change all end up the same way.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { pgSession, type PgSessionLimits } from './pg-session.js';
import type { KubeObject } from '../../contract/kube/types.js';
import { batchKeys, CommitQueue, keyId, planBatch, type StoredRow } from './commit-plan.js';
import { ChangeFeed } from './pg-changes.js';
import { CHANNEL, ensureSchema } from './pg-schema.js';
import { pgError } from './pg-errors.js';
import {
  type StoreGoneError,
  StoreUnavailableError,
  type ObjectKey,
  type ObjectStore,
  type ResourceScope,
  type StoredEvent,
  type StoreOp,
  type StoreWatch,
} from './objects.js';

export interface PostgresObjectStoreOptions {
  /** changes kept for watches that resume from a revision (older → StoreGoneError) */
  window?: number;
  /** connections for reads and commits (the change feed has one more of its own) */
  poolSize?: number;
  /** wait before reconnecting the change feed after its connection is lost (doubles to 5 s) */
  reconnectMs?: number;
  /** connection errors (the store retries; this only reports them) */
  onError?: (e: Error) => void;
  /** commits in one transaction at most (group commit: those that arrive while one runs) */
  maxBatch?: number;
  /** the connections' limits (pg-session.ts; tests shorten them) */
  session?: Partial<PgSessionLimits>;
}

type Query = (text: string, values?: unknown[]) => Promise<pg.QueryResult>;

/** the lock that orders every replica's commits, and the head it reads */
const LOCK_HEAD = 'SELECT revision, compacted FROM kube_revision WHERE id = 1 FOR UPDATE';

const keyArgs = (k: ObjectKey): string[] => [k.group, k.resource, k.namespace, k.name];
const WHERE_KEY = 'grp = $1 AND resource = $2 AND namespace = $3 AND name = $4';

export class PostgresObjectStore implements ObjectStore {
  private readonly window: number;
  private readonly commits: CommitQueue;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly feed: ChangeFeed,
    opts: PostgresObjectStoreOptions,
  ) {
    this.window = Math.max(1, opts.window ?? 10_000);
    // the transaction begins with the lock that orders every replica's commits (see the file comment), in one round trip
    this.commits = new CommitQueue((groups) => this.transaction(`BEGIN; ${LOCK_HEAD}`, (q, head) => this.applyBatch(q, head, groups)), {
      maxGroups: opts.maxBatch ?? 256,
      // a store that is away fails every commit of the batch alike; anything else may be one group's
      retryAlone: (e) => !(e instanceof StoreUnavailableError),
    });
  }

  /** Connect, create the tables if they are not there (one replica at a time), start the change feed. */
  static async open(url: string, opts: PostgresObjectStoreOptions = {}): Promise<PostgresObjectStore> {
    const onError = opts.onError ?? (() => undefined);
    const pool = new pg.Pool({ ...pgSession(url, 'edgerelay', opts.session), max: opts.poolSize ?? 8 });
    // an idle connection that dies (a server restart) is dropped from the pool; the next query opens another
    pool.on('error', (e) => onError(e));
    try {
      await ensureSchema(pool, randomUUID());
      const feed = await ChangeFeed.start(url, pool, { reconnectMs: opts.reconnectMs ?? 200, onError, ...(opts.session ? { session: opts.session } : {}) });
      return new PostgresObjectStore(pool, feed, opts);
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw e;
    }
  }

  async epoch(): Promise<string> {
    return String((await this.query('SELECT epoch FROM kube_revision WHERE id = 1')).rows[0].epoch);
  }

  async revision(): Promise<number> {
    return Number((await this.query('SELECT revision FROM kube_revision WHERE id = 1')).rows[0].revision);
  }

  /** the oldest revision a watch may resume from */
  async compacted(): Promise<number> {
    return Number((await this.query('SELECT compacted FROM kube_revision WHERE id = 1')).rows[0].compacted);
  }

  async get(key: ObjectKey): Promise<KubeObject | undefined> {
    const r = await this.query(`SELECT object FROM kube_objects WHERE ${WHERE_KEY}`, keyArgs(key));
    return r.rows[0] ? (JSON.parse(r.rows[0].object) as KubeObject) : undefined;
  }

  async list(scope: ResourceScope): Promise<{ items: KubeObject[]; revision: number }> {
    // one snapshot: the revision and the objects agree (a commit writes both in one transaction)
    return this.transaction('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY', async (q) => {
      const revision = Number((await q('SELECT revision FROM kube_revision WHERE id = 1')).rows[0].revision);
      const rows =
        scope.namespace === undefined
          ? await q('SELECT object FROM kube_objects WHERE grp = $1 AND resource = $2 ORDER BY namespace COLLATE "C", name COLLATE "C"', [scope.group, scope.resource])
          : await q('SELECT object FROM kube_objects WHERE grp = $1 AND resource = $2 AND namespace = $3 ORDER BY name COLLATE "C"', [scope.group, scope.resource, scope.namespace]);
      return { items: rows.rows.map((r) => JSON.parse(r.object) as KubeObject), revision };
    });
  }

  async commit(ops: readonly StoreOp[]): Promise<StoredEvent[]> {
    const events = await this.commits.submit(ops);
    // resolve once this replica's watchers have the events, as the SQLite store does
    if (events.length) await this.feed.reach(events[events.length - 1]!.revision);
    return events;
  }

  /** Transactions run for commits, and the commits they carried (group commit, commit-plan.ts). */
  commitStats(): { transactions: number; groups: number } {
    return { ...this.commits.stats };
  }

  /**
   * One transaction for a batch of commits (commit-plan.ts), begun holding the head row's lock: a
   * fixed number of round trips whatever its size — the keys' rows read, then every write, the
   * revision and the notification in one statement, then COMMIT.
   */
  private async applyBatch(q: Query, head: { revision: string; compacted: string }, groups: readonly (readonly StoreOp[])[]): Promise<(StoredEvent[] | Error)[]> {
    const keys = batchKeys(groups);
    const rows = (
      await q(
        'SELECT grp, resource, namespace, name, revision, object FROM kube_objects WHERE (grp, resource, namespace, name) IN (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]))',
        columns(keys.map(keyArgs), 4),
      )
    ).rows as { grp: string; resource: string; namespace: string; name: string; revision: string; object: string }[];
    const current = new Map<string, StoredRow>();
    for (const r of rows) current.set(keyId({ group: r.grp, resource: r.resource, namespace: r.namespace, name: r.name }), { revision: Number(r.revision), object: r.object });
    const plan = planBatch(Number(head.revision), groups, current);
    if (!plan.log.length) return plan.outcomes;
    const kept = [...plan.writes.values()].filter((w) => w.row);
    const gone = [...plan.writes.values()].filter((w) => !w.row);
    // compaction in batches (when the log is 10% over the window), in the same transaction
    const rev = plan.revision;
    let compacted = Number(head.compacted);
    if (rev - compacted > this.window + Math.ceil(this.window / 10)) {
      compacted = rev - this.window;
      await q('DELETE FROM kube_log WHERE revision <= $1', [compacted]);
    }
    // the sub-statements touch different rows (a key is kept or gone, not both); the notification
    // is delivered at commit, in commit order, and is only a wake-up (the payload is informative)
    await q(
      `WITH kept AS (
        INSERT INTO kube_objects (grp, resource, namespace, name, revision, object) SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[])
        ON CONFLICT (grp, resource, namespace, name) DO UPDATE SET revision = EXCLUDED.revision, object = EXCLUDED.object
      ), gone AS (
        DELETE FROM kube_objects WHERE (grp, resource, namespace, name) IN (SELECT * FROM unnest($7::text[], $8::text[], $9::text[], $10::text[]))
      ), logged AS (
        INSERT INTO kube_log (revision, type, grp, resource, namespace, name, object, prev) SELECT * FROM unnest($11::bigint[], $12::text[], $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[])
      )
      UPDATE kube_revision SET revision = $19, compacted = $20 WHERE id = 1 RETURNING pg_notify($21, $22)`,
      [
        ...columns(kept.map((w) => [...keyArgs(w.key), w.row!.revision, w.row!.object]), 6),
        ...columns(gone.map((w) => keyArgs(w.key)), 4),
        ...columns(plan.log.map((l) => [l.revision, l.type, ...keyArgs(l.key), l.object, l.prev]), 8),
        rev,
        compacted,
        CHANNEL,
        String(rev),
      ],
    );
    return plan.outcomes;
  }

  /** One statement outside a transaction; a server that is away is StoreUnavailableError. */
  private query(text: string, values?: unknown[]): Promise<pg.QueryResult> {
    return this.pool.query(text, values).catch((e: unknown) => Promise.reject(pgError(e)));
  }

  /** `begin` may end with one query (simple protocol, no parameters): its first row goes to `body`. */
  private async transaction<T, H = never>(begin: string, body: (q: Query, head: H) => Promise<T>): Promise<T> {
    const client = await this.pool.connect().catch((e: unknown) => Promise.reject(pgError(e)));
    let broken = false;
    // the connection dying between two queries (a server restart): the next query fails, not the process
    const cut = (): void => void (broken = true);
    client.on('error', cut);
    try {
      const begun = (await client.query(begin)) as pg.QueryResult | pg.QueryResult[];
      const out = await body((text, values) => client.query(text, values), (Array.isArray(begun) ? begun.at(-1)!.rows[0] : undefined) as H);
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw pgError(e);
    } finally {
      client.off('error', cut);
      client.release(broken);
    }
  }

  watch(scope: ResourceScope | undefined, fromRevision: number, onEvent: (e: StoredEvent) => void, onGone?: (e: StoreGoneError) => void): Promise<StoreWatch> {
    return this.feed.watch(scope, fromRevision, onEvent, onGone);
  }

  async close(): Promise<void> {
    await this.feed.stop();
    await this.pool.end();
  }
}

/** Rows (arrays of n values) as n columns: the arrays `unnest` turns back into rows. */
function columns(rows: readonly (readonly unknown[])[], n: number): unknown[][] {
  const cols: unknown[][] = Array.from({ length: n }, () => []);
  for (const row of rows) for (let i = 0; i < n; i++) cols[i]!.push(row[i]);
  return cols;
}
