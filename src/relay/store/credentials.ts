/**
 * What every relay replica must share about nodes: their credentials (the hash each node's broker
 * password checks against, its join labels), bootstrap tokens, re-join permissions, and a revision
 * that grows on every credential change (replicas poll it to refresh what they derive: broker
 * password files, admitted sessions, the set of nodes they hear). Asynchronous: SQLite
 * (credentials-sqlite.ts, the embedded default, in relay.db beside the rest of the RelayStore) and
 * PostgreSQL (credentials-postgres.ts, with `store.kind: postgres`, so a node that joined through
 * one replica is served by any other) both satisfy it; test/helpers/credential-store-contract.ts is
 * the contract both pass.
 */
import type { NodeRecord } from './types.js';

export interface CredentialStore {
  createToken(tokenHash: string, expiresAt: Date, now: Date): Promise<void>;
  /** true when the token exists and has not expired (tokens are reusable until they expire) */
  checkToken(tokenHash: string, now: Date): Promise<boolean>;
  /** create or re-join (a re-join rotates the password; the caller decides whether a re-join is allowed) */
  upsertNode(name: string, passwordHash: string, labels: Record<string, string>, now: Date, passwordCheck?: string): Promise<NodeRecord>;
  getNode(name: string): Promise<NodeRecord | undefined>;
  listNodes(): Promise<NodeRecord[]>;
  /** forget a node's credentials and its re-join permission (its Node object was deleted) */
  deleteNode(name: string): Promise<boolean>;
  /** replace a node's password hash, dropping its check (rotation: an unusable hash locks the node out); false if no such node */
  setNodePassword(name: string, passwordHash: string): Promise<boolean>;
  /** store the check of a password just verified against `passwordHash`, unless that hash was replaced meanwhile (not a credential change: no revision bump) */
  setPasswordCheck(name: string, passwordHash: string, passwordCheck: string): Promise<void>;
  /** let an existing node name join again until `until` (an admin's explicit action) */
  allowRejoin(name: string, until: Date): Promise<void>;
  /** consume that permission: true when it existed and had not expired (of two concurrent takers, one) */
  takeRejoin(name: string, now: Date): Promise<boolean>;
  /** grows with every change of node credentials (upsert, delete, password) and every explicit bump */
  credentialsRevision(): Promise<number>;
  bumpCredentialsRevision(): Promise<number>;
  close(): Promise<void>;
}
