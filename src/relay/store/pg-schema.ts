/**
 * The PostgreSQL store's tables (objects-postgres.ts), created on first open. Replicas starting
 * together take one advisory lock, so exactly one creates them and stamps the epoch.
 * Objects are kept as text, not jsonb: jsonb reorders keys, and an object must come back as it went in.
 */
import type pg from 'pg';
import type { StoredEvent } from './objects.js';

/** the NOTIFY channel every commit wakes the replicas on */
export const CHANNEL = 'kube_changes';

/** an arbitrary constant: the advisory lock held while the schema is created */
const SCHEMA_LOCK = 0x6564_6765;

export interface LogRow {
  revision: string;
  type: StoredEvent['type'];
  grp: string;
  resource: string;
  namespace: string;
  name: string;
  object: string;
  prev: string | null;
}

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS kube_revision (
    id integer PRIMARY KEY CHECK (id = 1),
    revision bigint NOT NULL,
    compacted bigint NOT NULL,
    epoch text NOT NULL
  );
  CREATE TABLE IF NOT EXISTS kube_objects (
    grp text NOT NULL, resource text NOT NULL, namespace text NOT NULL, name text NOT NULL,
    revision bigint NOT NULL,
    object text NOT NULL,
    PRIMARY KEY (grp, resource, namespace, name)
  );
  CREATE TABLE IF NOT EXISTS kube_log (
    revision bigint PRIMARY KEY,
    type text NOT NULL,
    grp text NOT NULL, resource text NOT NULL, namespace text NOT NULL, name text NOT NULL,
    object text NOT NULL,
    prev text
  );
`;

export async function ensureSchema(pool: pg.Pool, epoch: string): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
    await client.query(SCHEMA);
    await client.query('INSERT INTO kube_revision (id, revision, compacted, epoch) VALUES (1, 0, 0, $1) ON CONFLICT (id) DO NOTHING', [epoch]);
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}
