/**
 * The relay's non-object data: device telemetry (an append-only log with per-node retention and
 * its own dedup marks) and legacy objects, per replica (RelayStore, SQLite: `sqlite.ts`); node
 * credentials and bootstrap tokens (CredentialStore, credentials.ts: SQLite or the fleet's
 * PostgreSQL). Every Kubernetes object — Nodes included — lives in the ObjectStore (objects.ts).
 */
import type { TelemetryRow } from '../../contract/api.js';

export interface NodeRecord {
  name: string;
  /** mosquitto `$7$` PBKDF2-SHA512 hash of the node's broker password */
  passwordHash: string;
  /**
   * `passwordCheck(password, passwordHash)` (auth.ts), written with the hash by a join: the
   * embedded broker's fast check. Absent for a node that joined before it existed (checked with
   * PBKDF2 once, then written) and after `setNodePassword`.
   */
  passwordCheck?: string;
  /** the labels the join asked for (the Node object carries the live ones) */
  labels: Record<string, string>;
  joinedAt: string;
}

export type TelemetryRecord = TelemetryRow;

/** An object edgectl applied before the Kubernetes API was the source of truth (imported once). */
export interface LegacyObject {
  kind: string;
  namespace: string;
  name: string;
  /** the node it was placed on, or '*' */
  node: string;
  manifest: Record<string, unknown>;
}

/**
 * One replica's own data: the telemetry log and the legacy objects. Node credentials and tokens
 * are the CredentialStore's (credentials.ts: shared by a fleet); the SQLite class keeps their
 * tables in the same relay.db and serves them to SqliteCredentialStore.
 */
export interface RelayStore {
  /**
   * Append the rows of one message (a sample, an event, or the samples of one device's report:
   * all with the message's seq) unless (node, stream, seq) was seen already — the dedup mark and
   * the rows in one transaction — then keep at most `keepPerNode` rows of that node (oldest
   * dropped first). Returns false for a duplicate.
   */
  appendTelemetry(rows: readonly Omit<TelemetryRecord, 'id'>[], stream: string | undefined, keepPerNode: number): boolean;
  listTelemetry(filter: { node?: string; limit?: number }): TelemetryRecord[];

  /** objects of the old private object API still waiting to be imported into the Kubernetes API */
  legacyObjects(): LegacyObject[];
  dropLegacyObject(kind: string, namespace: string, name: string): void;

  close(): void;
}
