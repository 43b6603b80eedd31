/**
 * The CredentialStore of a relay fleet, in the PostgreSQL database the objects are in
 * (`store.kind: postgres`): every replica checks the same node passwords and tokens, so a node
 * that joined through one replica is served by any other. Each credential change and its revision
 * bump are one transaction; a re-join permission is taken with DELETE … RETURNING (one taker).
 * Tables are created on first open under an advisory lock (replicas starting together).
 */
import pg from 'pg';
import { pgSession } from './pg-session.js';
import type { CredentialStore } from './credentials.js';
import type { NodeRecord } from './types.js';

/** an arbitrary constant, not the object store's: the lock held while these tables are created */
const SCHEMA_LOCK = 0x6564_6763;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS relay_nodes (
    name text PRIMARY KEY, password_hash text NOT NULL, labels text NOT NULL, joined_at text NOT NULL
  );
  ALTER TABLE relay_nodes ADD COLUMN IF NOT EXISTS password_check text;
  CREATE TABLE IF NOT EXISTS relay_tokens (hash text PRIMARY KEY, expires_at timestamptz NOT NULL, created_at timestamptz NOT NULL);
  CREATE TABLE IF NOT EXISTS relay_rejoin (name text PRIMARY KEY, until timestamptz NOT NULL);
  CREATE TABLE IF NOT EXISTS relay_credentials_revision (id integer PRIMARY KEY CHECK (id = 1), revision bigint NOT NULL);
  INSERT INTO relay_credentials_revision (id, revision) VALUES (1, 0) ON CONFLICT (id) DO NOTHING;
`;

interface NodeRow {
  name: string;
  password_hash: string;
  password_check: string | null;
  labels: string;
  joined_at: string;
}

const nodeFromRow = (r: NodeRow): NodeRecord => ({ name: r.name, passwordHash: r.password_hash, ...(r.password_check ? { passwordCheck: r.password_check } : {}), labels: JSON.parse(r.labels) as Record<string, string>, joinedAt: r.joined_at });
const BUMP = 'UPDATE relay_credentials_revision SET revision = revision + 1 WHERE id = 1 RETURNING revision';

export class PostgresCredentialStore implements CredentialStore {
  private constructor(private readonly pool: pg.Pool) {}

  static async open(url: string, opts: { poolSize?: number; onError?: (e: Error) => void } = {}): Promise<PostgresCredentialStore> {
    const pool = new pg.Pool({ ...pgSession(url, 'edgerelay-credentials'), max: opts.poolSize ?? 2 });
    pool.on('error', (e) => opts.onError?.(e));
    const s = new PostgresCredentialStore(pool);
    try {
      await s.tx(async (c) => {
        await c.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK]);
        await c.query(SCHEMA);
      });
      return s;
    } catch (e) {
      await pool.end().catch(() => undefined);
      throw e;
    }
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }

  async createToken(tokenHash: string, expiresAt: Date, now: Date): Promise<void> {
    await this.tx(async (c) => {
      await c.query('DELETE FROM relay_tokens WHERE expires_at < $1', [now]);
      await c.query('INSERT INTO relay_tokens (hash, expires_at, created_at) VALUES ($1, $2, $3)', [tokenHash, expiresAt, now]);
    });
  }

  async checkToken(tokenHash: string, now: Date): Promise<boolean> {
    const r = await this.pool.query<{ expires_at: Date }>('SELECT expires_at FROM relay_tokens WHERE hash = $1', [tokenHash]);
    return !!r.rows[0] && r.rows[0].expires_at.getTime() > now.getTime();
  }

  async upsertNode(name: string, passwordHash: string, labels: Record<string, string>, now: Date, passwordCheck?: string): Promise<NodeRecord> {
    return this.tx(async (c) => {
      const r = await c.query<NodeRow>(
        `INSERT INTO relay_nodes (name, password_hash, password_check, labels, joined_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (name) DO UPDATE SET password_hash = excluded.password_hash, password_check = excluded.password_check, labels = excluded.labels
         RETURNING name, password_hash, password_check, labels, joined_at`,
        [name, passwordHash, passwordCheck ?? null, JSON.stringify(labels), now.toISOString()],
      );
      await c.query(BUMP);
      return nodeFromRow(r.rows[0]!);
    });
  }

  async getNode(name: string): Promise<NodeRecord | undefined> {
    const r = await this.pool.query<NodeRow>('SELECT name, password_hash, password_check, labels, joined_at FROM relay_nodes WHERE name = $1', [name]);
    return r.rows[0] ? nodeFromRow(r.rows[0]) : undefined;
  }

  async listNodes(): Promise<NodeRecord[]> {
    return (await this.pool.query<NodeRow>('SELECT name, password_hash, password_check, labels, joined_at FROM relay_nodes ORDER BY name')).rows.map(nodeFromRow);
  }

  async deleteNode(name: string): Promise<boolean> {
    return this.tx(async (c) => {
      await c.query('DELETE FROM relay_rejoin WHERE name = $1', [name]);
      const gone = ((await c.query('DELETE FROM relay_nodes WHERE name = $1', [name])).rowCount ?? 0) > 0;
      if (gone) await c.query(BUMP);
      return gone;
    });
  }

  async setNodePassword(name: string, passwordHash: string): Promise<boolean> {
    return this.tx(async (c) => {
      const ok = ((await c.query('UPDATE relay_nodes SET password_hash = $1, password_check = NULL WHERE name = $2', [passwordHash, name])).rowCount ?? 0) > 0;
      if (ok) await c.query(BUMP);
      return ok;
    });
  }

  async setPasswordCheck(name: string, passwordHash: string, passwordCheck: string): Promise<void> {
    await this.pool.query('UPDATE relay_nodes SET password_check = $1 WHERE name = $2 AND password_hash = $3', [passwordCheck, name, passwordHash]);
  }

  async allowRejoin(name: string, until: Date): Promise<void> {
    await this.pool.query('INSERT INTO relay_rejoin (name, until) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET until = excluded.until', [name, until]);
  }

  async takeRejoin(name: string, now: Date): Promise<boolean> {
    const r = await this.pool.query<{ until: Date }>('DELETE FROM relay_rejoin WHERE name = $1 RETURNING until', [name]);
    return !!r.rows[0] && r.rows[0].until.getTime() > now.getTime();
  }

  async credentialsRevision(): Promise<number> {
    return Number((await this.pool.query<{ revision: string }>('SELECT revision FROM relay_credentials_revision WHERE id = 1')).rows[0]!.revision);
  }

  async bumpCredentialsRevision(): Promise<number> {
    return Number((await this.pool.query<{ revision: string }>(BUMP)).rows[0]!.revision);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
