/** The node's store: one SQLite file holding resources, the outbox and node facts. */
import { migrate, openDatabase, type Db } from '../lib/sqlite.js';
import { MetaStore } from './meta.js';
import { NODE_MIGRATIONS } from './migrations/index.js';
import { DEFAULT_APP_OUTBOX_LIMITS, Outbox, type AppOutboxLimits, type OutboxLimits } from './outbox.js';
import { ResourceStore } from './resources.js';

export interface NodeStore {
  readonly db: Db;
  readonly file: string;
  readonly resources: ResourceStore;
  readonly outbox: Outbox;
  readonly meta: MetaStore;
  close(): void;
}

export interface NodeStoreOptions {
  busyTimeoutMs?: number;
  outbox?: OutboxLimits & { app?: AppOutboxLimits };
  /** tombstones kept for watches that resume (ResourceStore) */
  deletionWindow?: number;
}

export const DEFAULT_OUTBOX_LIMITS: OutboxLimits = { maxRows: 100_000, maxBytes: 64 * 1024 * 1024 };

export function openNodeStore(file: string, opts: NodeStoreOptions = {}): NodeStore {
  const db = openDatabase(file, { busyTimeoutMs: opts.busyTimeoutMs ?? 5000 });
  try {
    migrate(db, NODE_MIGRATIONS);
  } catch (e) {
    db.close();
    throw e;
  }
  const meta = new MetaStore(db);
  return {
    db,
    file,
    resources: new ResourceStore(db, undefined, opts.deletionWindow !== undefined ? { deletionWindow: opts.deletionWindow } : {}),
    outbox: new Outbox(db, meta, opts.outbox ?? DEFAULT_OUTBOX_LIMITS, undefined, opts.outbox?.app ?? DEFAULT_APP_OUTBOX_LIMITS),
    meta,
    close: () => {
      if (db.open) db.close();
    },
  };
}
