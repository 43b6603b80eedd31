/** The relay's stores as its config says (objects; node credentials and tokens): SQLite in dataDir (one relay) or PostgreSQL (a fleet, docs/scale.md). */
import { join } from 'node:path';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { RelayConfig } from '../config.js';
import type { ObjectStore } from './objects.js';
import { PostgresObjectStore } from './objects-postgres.js';
import { SqliteObjectStore } from './objects-sqlite.js';
import type { CredentialStore } from './credentials.js';
import { PostgresCredentialStore } from './credentials-postgres.js';
import { SqliteCredentialStore } from './credentials-sqlite.js';
import type { SqliteRelayStore } from './sqlite.js';

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

/**
 * Node credentials and tokens as the config says: with store.kind: postgres in the shared database
 * (every replica serves every node), else in `local` (the relay's own relay.db).
 */
export async function openCredentialStore(config: RelayConfig, local: SqliteRelayStore, log: Logger): Promise<CredentialStore> {
  if (config.store.kind === 'sqlite') return new SqliteCredentialStore(local);
  try {
    return await PostgresCredentialStore.open(config.store.url, { onError: (e) => log.warn('postgres connection (credentials)', { url: redacted(config.store.url), error: errorMessage(e) }) });
  } catch (e) {
    throw new Error(`store.url ${redacted(config.store.url)}: ${errorMessage(e)}`);
  }
}
