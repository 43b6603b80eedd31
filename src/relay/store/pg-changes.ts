/**
 * The PostgreSQL store's change feed: one replica's watches, fed from `kube_log` by revision.
 *
 * One connection LISTENs on `kube_changes`; a notification (or this replica's own commit, or a
 * reconnect) only asks for a read of every log row after `position`, the newest revision this
 * replica has delivered. Reads, deliveries and watch openings run one at a time (a serial chain),
 * so a watch's backlog ends exactly where live delivery takes over: no change is missed or repeated.
 * Commits are ordered by a row lock (objects-postgres.ts), so a visible revision N+1 means N is
 * visible too and reading "after position" never skips one.
 *
 * When the connection is lost the feed reconnects (backing off up to 5 s) and reads what it
 * missed; if the window moved past `position` meanwhile, every watch ends with StoreGoneError
 * (the API turns that into 410 Expired; clients relist), never with a silent gap.
 */
import pg from 'pg';
import { pgSession, type PgSessionLimits } from './pg-session.js';
import type { KubeObject } from '../../contract/kube/types.js';
import { CHANNEL, type LogRow } from './pg-schema.js';
import { StoreGoneError, type ObjectKey, type ResourceScope, type StoredEvent, type StoreWatch } from './objects.js';

interface Watcher {
  scope: ResourceScope | undefined;
  /** changes at or below this revision are not for this watcher (its backlog had them) */
  after: number;
  onEvent: (e: StoredEvent) => void;
  onGone: ((e: StoreGoneError) => void) | undefined;
  stopped: boolean;
}

export interface ChangeFeedOptions {
  reconnectMs: number;
  onError: (e: Error) => void;
  /** the listener connection's limits (pg-session.ts) */
  session?: Partial<PgSessionLimits>;
}

/** rows read per query while catching up */
const BATCH = 500;
const MAX_BACKOFF_MS = 5000;

const inScope = (scope: ResourceScope | undefined, k: ObjectKey): boolean =>
  !scope || (scope.group === k.group && scope.resource === k.resource && (scope.namespace === undefined || scope.namespace === k.namespace));

const toEvent = (r: LogRow): StoredEvent => ({
  type: r.type,
  key: { group: r.grp, resource: r.resource, namespace: r.namespace, name: r.name },
  revision: Number(r.revision),
  object: JSON.parse(r.object) as KubeObject,
  ...(r.prev ? { prev: JSON.parse(r.prev) as KubeObject } : {}),
});

export class ChangeFeed {
  private readonly watchers = new Set<Watcher>();
  private readonly waiters: { revision: number; done: () => void }[] = [];
  private chain: Promise<unknown> = Promise.resolve();
  private listener: pg.Client | undefined;
  private position = 0;
  private pumpQueued = false;
  private stopped = false;
  private backoff: number;
  private timer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly url: string,
    private readonly pool: pg.Pool,
    private readonly opts: ChangeFeedOptions,
  ) {
    this.backoff = opts.reconnectMs;
  }

  static async start(url: string, pool: pg.Pool, opts: ChangeFeedOptions): Promise<ChangeFeed> {
    const feed = new ChangeFeed(url, pool, opts);
    feed.position = Number((await pool.query('SELECT revision FROM kube_revision WHERE id = 1')).rows[0].revision);
    await feed.connect();
    return feed;
  }

  /** the newest revision this replica's watchers have been handed */
  get delivered(): number {
    return this.position;
  }

  /** Resolves once every change up to `revision` has been delivered here. */
  reach(revision: number): Promise<void> {
    if (this.position >= revision || this.stopped) return Promise.resolve();
    return new Promise((done) => {
      this.waiters.push({ revision, done });
      this.kick();
    });
  }

  watch(scope: ResourceScope | undefined, from: number, onEvent: (e: StoredEvent) => void, onGone?: (e: StoreGoneError) => void): Promise<StoreWatch> {
    return this.serial(async () => {
      const w: Watcher = { scope, onEvent, onGone, stopped: false, after: Math.max(from, this.position) };
      const upto = this.position;
      const { compacted, rows } = await this.read(from, upto, scope);
      if (from < compacted) throw new StoreGoneError(from, compacted);
      for (const r of rows) {
        const e = toEvent(r);
        if (inScope(scope, e.key)) deliver(w, e);
      }
      this.watchers.add(w);
      return {
        stop: () => {
          w.stopped = true;
          this.watchers.delete(w);
        },
      };
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const w of this.watchers) w.stopped = true;
    this.watchers.clear();
    for (const w of this.waiters.splice(0)) w.done();
    const l = this.listener;
    this.listener = undefined;
    await l?.end().catch(() => undefined);
    await this.chain.catch(() => undefined);
  }

  /**
   * The compaction mark and the log rows in (after, upto] (upto undefined: all), in one snapshot:
   * one statement, so one round trip (this runs on every replica after every commit of the fleet)
   */
  private async read(after: number, upto: number | undefined, scope?: ResourceScope): Promise<{ compacted: number; revision: number; rows: LogRow[] }> {
    const args: unknown[] = [after, upto ?? Number.MAX_SAFE_INTEGER];
    let where = 'revision > $1 AND revision <= $2';
    if (scope) {
      where += ' AND grp = $3 AND resource = $4';
      args.push(scope.group, scope.resource);
    }
    const limit = upto === undefined ? ` LIMIT ${BATCH}` : '';
    // the head row joined with the rows (none: one row of nulls beside it)
    const sql = `SELECT h.revision AS head_revision, h.compacted AS head_compacted, l.* FROM kube_revision h LEFT JOIN (SELECT * FROM kube_log WHERE ${where} ORDER BY revision${limit}) l ON true WHERE h.id = 1 ORDER BY l.revision`;
    const res = (await this.pool.query(sql, args)).rows as (LogRow & { head_revision: string; head_compacted: string })[];
    const head = res[0]!;
    return { compacted: Number(head.head_compacted), revision: Number(head.head_revision), rows: head.revision === null ? [] : res };
  }

  private serial<T>(task: () => Promise<T>): Promise<T> {
    const next = this.chain.then(task, task);
    this.chain = next.catch(() => undefined);
    return next;
  }

  /** Ask for a read of what is new (several asks before it runs make one read). */
  private kick(): void {
    if (this.pumpQueued || this.stopped) return;
    this.pumpQueued = true;
    void this.serial(async () => {
      this.pumpQueued = false;
      if (!this.stopped) await this.pump();
    }).catch((e: Error) => {
      // the database is away: try again (the listener's reconnect asks too)
      this.opts.onError(e);
      if (!this.stopped) setTimeout(() => this.kick(), this.opts.reconnectMs).unref();
    });
  }

  private async pump(): Promise<void> {
    for (;;) {
      const { compacted, revision, rows } = await this.read(this.position, undefined);
      if (this.position < compacted) {
        // the changes after position are gone: every watch ends; later ones start from now
        const gone = new StoreGoneError(this.position, compacted);
        for (const w of [...this.watchers]) {
          this.watchers.delete(w);
          w.stopped = true;
          try {
            w.onGone?.(gone);
          } catch {
            // the watcher's own failure
          }
        }
        this.position = revision;
        this.settle();
        return;
      }
      for (const r of rows) {
        const e = toEvent(r);
        for (const w of this.watchers) if (!w.stopped && e.revision > w.after && inScope(w.scope, e.key)) deliver(w, e);
        this.position = e.revision;
      }
      this.settle();
      if (rows.length < BATCH) return;
    }
  }

  private settle(): void {
    for (let i = this.waiters.length - 1; i >= 0; i--) {
      if (this.waiters[i]!.revision <= this.position) this.waiters.splice(i, 1)[0]!.done();
    }
  }

  private async connect(): Promise<void> {
    const c = new pg.Client(pgSession(this.url, 'edgerelay-changes', this.opts.session));
    c.on('error', (e) => {
      this.opts.onError(e);
      this.lost(c);
    });
    c.on('end', () => this.lost(c));
    c.on('notification', () => this.kick());
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANNEL}`);
    } catch (e) {
      await c.end().catch(() => undefined);
      throw e;
    }
    if (this.stopped) {
      await c.end().catch(() => undefined);
      return;
    }
    this.listener = c;
    this.backoff = this.opts.reconnectMs;
    // what was committed while nobody listened
    this.kick();
  }

  private lost(c: pg.Client): void {
    if (this.listener !== c || this.stopped) return;
    this.listener = undefined;
    void c.end().catch(() => undefined);
    this.reconnectLater();
  }

  private reconnectLater(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.connect().catch((e: Error) => {
        this.opts.onError(e);
        this.backoff = Math.min(this.backoff * 2, MAX_BACKOFF_MS);
        this.reconnectLater();
      });
    }, this.backoff);
    this.timer.unref();
  }
}

function deliver(w: Watcher, e: StoredEvent): void {
  if (w.stopped) return;
  try {
    w.onEvent(e);
  } catch {
    // a watcher's failure is its own; the others go on
  }
}
