/**
 * The relay's non-object data that is not (yet) in the ObjectStore, behind an interface so a
 * PostgreSQL implementation can follow: node credentials (the hash each node's broker password
 * checks against), bootstrap tokens, and device telemetry (an append-only log with per-node
 * retention and its own dedup marks). Every Kubernetes object — Nodes included — lives in the
 * ObjectStore (objects.ts). The SQLite implementation is `sqlite.ts`.
 */
import type { TelemetryRow } from '../../contract/api.js';

export interface NodeRecord {
  name: string;
  /** mosquitto `$7$` PBKDF2-SHA512 hash of the node's broker password */
  passwordHash: string;
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

export interface RelayStore {
  createToken(tokenHash: string, expiresAt: Date, now: Date): void;
  /** true when the token exists and has not expired (tokens are reusable until they expire) */
  checkToken(tokenHash: string, now: Date): boolean;

  /** create or re-join (a re-join rotates the password; the caller decides whether a re-join is allowed) */
  upsertNode(name: string, passwordHash: string, labels: Record<string, string>, now: Date): NodeRecord;
  getNode(name: string): NodeRecord | undefined;
  listNodes(): NodeRecord[];
  /** forget a node's credentials (its Node object was deleted) */
  deleteNode(name: string): boolean;
  /** replace a node's password hash (rotation: an unusable hash locks the node out); false if no such node */
  setNodePassword(name: string, passwordHash: string): boolean;
  /** let an existing node name join again until `until` (an admin's explicit action) */
  allowRejoin(name: string, until: Date): void;
  /** consume that permission: true when it existed and had not expired */
  takeRejoin(name: string, now: Date): boolean;
  /** bumped whenever node credentials change outside the running relay (CLI rotation); the relay polls it */
  credentialsRevision(): number;
  bumpCredentialsRevision(): number;

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
