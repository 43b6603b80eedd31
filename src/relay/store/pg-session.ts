/**
 * How the relay opens every PostgreSQL connection (the object store's pool, its change feed's
 * listener, the credential store's pool), so a fleet survives a replica or a network that goes
 * quiet instead of failing loudly:
 *
 * - `idle_in_transaction_session_timeout`: a replica frozen or cut off inside a transaction holds
 *   the lock every commit of every replica takes (`kube_revision … FOR UPDATE`). The server ends
 *   such a session after this long, its transaction rolls back, and the others go on; the frozen
 *   replica's commit fails as "unavailable" and is tried again (pg-errors.ts, 25P03).
 * - TCP keepalive: a connection whose peer vanished without a FIN or RST (a partition, a host
 *   powered off) is found dead by the kernel instead of waited on for ever — for the listener
 *   that means watches that would otherwise silently stop seeing other replicas' changes.
 * - a connect timeout: a server that does not answer a new connection fails it instead of
 *   holding the caller.
 */
import type pg from 'pg';

export interface PgSessionLimits {
  /** the server ends a session idle inside a transaction for this long */
  idleInTransactionMs: number;
  /** a new connection not established in this long fails */
  connectMs: number;
  /** TCP keepalive probes start after this long idle */
  keepAliveMs: number;
}

export const PG_SESSION_DEFAULTS: PgSessionLimits = { idleInTransactionMs: 30_000, connectMs: 10_000, keepAliveMs: 10_000 };

/** The connection settings for one of the relay's connections (`application` names it in pg_stat_activity). */
export function pgSession(url: string, application: string, limits: Partial<PgSessionLimits> = {}): pg.ClientConfig {
  const l = { ...PG_SESSION_DEFAULTS, ...limits };
  return {
    connectionString: url,
    application_name: application,
    idle_in_transaction_session_timeout: l.idleInTransactionMs,
    connectionTimeoutMillis: l.connectMs,
    keepAlive: true,
    keepAliveInitialDelayMillis: l.keepAliveMs,
  };
}
