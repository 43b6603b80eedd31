/**
 * The relay's state store, behind an interface so a PostgreSQL implementation can follow
 * (several relay replicas over one database). The SQLite implementation is `sqlite.ts`.
 * All methods are synchronous in the SQLite implementation; the interface keeps them
 * synchronous too (a networked store would wrap them in a per-request transaction).
 */
import type { ObjectView } from '../../contract/api.js';
import type { Manifest } from '../../contract/resources/kinds.js';

export interface NodeRecord {
  name: string;
  passwordHash: string;
  labels: Record<string, string>;
  joinedAt: string;
  online: boolean;
  lastContact: string | null;
  appliedVersion: number;
  /** last Node status the node reported (agent version, arch, outbox...) */
  info: Record<string, unknown>;
}

/** A stored object: the API's ObjectView without what nodes reported, the manifest typed. */
export type ObjectRecord = Omit<ObjectView, 'reported' | 'manifest'> & { manifest: Manifest };

export interface ReportedRecord {
  node: string;
  kind: string;
  namespace: string;
  name: string;
  status: unknown;
  desiredVersion: number;
  updatedAt: string;
}

export interface TelemetryRecord {
  id: number;
  node: string;
  kind: string;
  namespace: string;
  name: string;
  event: string;
  data: unknown;
  desiredVersion: number;
  seq: number | null;
  timestamp: number;
}

export interface ObjectFilter {
  kind?: string;
  namespace?: string;
  name?: string;
  /** objects placed on this node (including the '*' ones) */
  node?: string;
}

export interface ApplyOutcome {
  result: 'created' | 'configured' | 'unchanged';
  object: ObjectRecord;
  /** nodes whose desired version moved (to republish) */
  affected: string[];
}

export interface RelayStore {
  /** identifies this store (a new store = a new epoch: nodes accept its versions from scratch) */
  epoch(): string;

  createToken(tokenHash: string, expiresAt: Date, now: Date): void;
  /** true when the token exists and has not expired (tokens are reusable until they expire) */
  checkToken(tokenHash: string, now: Date): boolean;

  /** create or re-join (a re-join rotates the password; the caller decides whether a re-join is allowed) */
  upsertNode(name: string, passwordHash: string, labels: Record<string, string>, now: Date): NodeRecord;
  getNode(name: string): NodeRecord | undefined;
  listNodes(): NodeRecord[];
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
  setPresence(name: string, online: boolean, at: Date): void;
  /** batched last-contact times (the relay keeps them in memory between flushes) */
  setContacts(contacts: ReadonlyMap<string, { at: Date; appliedVersion?: number }>): void;
  setNodeInfo(name: string, info: Record<string, unknown>, appliedVersion: number): void;

  desiredVersion(node: string): number;
  applyObject(manifest: Manifest, node: string, now: Date): ApplyOutcome;
  deleteObject(kind: string, namespace: string, name: string): { deleted: boolean; affected: string[] };
  getObject(kind: string, namespace: string, name: string): ObjectRecord | undefined;
  listObjects(filter: ObjectFilter): ObjectRecord[];

  /** per (node, stream) high-water mark: false when seq was already accepted (duplicate) */
  acceptSeq(node: string, stream: string, seq: number): boolean;
  putReported(r: ReportedRecord): void;
  listReported(kind: string, namespace: string, name: string): ReportedRecord[];
  appendTelemetry(t: Omit<TelemetryRecord, 'id'>, keep: number): void;
  listTelemetry(filter: { node?: string; limit?: number }): TelemetryRecord[];

  /** run fn atomically (dedup + write of one reported message) */
  transaction<T>(fn: () => T): T;
  close(): void;
}
