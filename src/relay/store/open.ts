/** The relay's object store as its config says: SQLite in dataDir (one relay) or PostgreSQL (a fleet, docs/scale.md). */
import { join } from 'node:path';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { RelayConfig } from '../config.js';
import type { ObjectStore } from './objects.js';
import { PostgresObjectStore } from './objects-postgres.js';
import { SqliteObjectStore } from './objects-sqlite.js';

export async function openObjectStore(config: RelayConfig, log: Logger): Promise<ObjectStore> {
  const window = config.api.watchWindow;
  if (config.store.kind === 'sqlite') return SqliteObjectStore.open(join(config.dataDir, 'relay.db'), { window });
  const where = redacted(config.store.url);
  try {
    const s = await PostgresObjectStore.open(config.store.url, {
      window,
      poolSize: config.store.poolSize,
      // the store reconnects by itself; these say why it had to
      onError: (e) => log.warn('postgres connection', { url: where, error: errorMessage(e) }),
    });
    log.info('object store: postgres', { url: where });
    return s;
  } catch (e) {
    throw new Error(`store.url ${where}: ${errorMessage(e)}`);
  }
}

/** the URL without its password (for logs and errors) */
function redacted(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}
