/**
 * The relay's object store: every API object in the Kubernetes shape, under one global revision
 * (kine/etcd semantics). Each write takes the next revision; `metadata.resourceVersion` is that
 * number as a string; a watch is "every change after revision N", served from a bounded window
 * of past changes (older → GoneError, which the API answers with 410 Expired).
 *
 * Asynchronous on purpose: the embedded implementation is SQLite (synchronous underneath), the
 * fleet implementation is PostgreSQL (objects-postgres.ts, issue 19), and both satisfy this one interface. The only
 * multi-object primitive is `commit` (all-or-nothing, with per-object preconditions), which is
 * what compare-and-swap writes, a status report plus its dedup mark, or a cascade need.
 */
import type { KubeObject } from '../../contract/kube/types.js';

/** Where an object lives: API group ('' = core), plural resource, namespace ('' = cluster-scoped), name. */
export interface ObjectKey {
  group: string;
  resource: string;
  namespace: string;
  name: string;
}

/** Which objects a list or watch covers: one resource, optionally one namespace. */
export interface ResourceScope {
  group: string;
  resource: string;
  namespace?: string;
}

export type StoredEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoredEvent {
  type: StoredEventType;
  key: ObjectKey;
  /** the object after the change; for DELETED its last state, resourceVersion = the deletion's revision */
  object: KubeObject;
  /** the revision this change created */
  revision: number;
  /**
   * the object before the change (MODIFIED, DELETED); a watch with a selector needs it to turn
   * "no longer matches" into DELETED and "now matches" into ADDED, as Kubernetes does
   */
  prev?: KubeObject;
}

/** One write of a commit. `expect` is the object's current revision (optimistic concurrency). */
export type StoreOp =
  | { op: 'create'; key: ObjectKey; object: KubeObject }
  | { op: 'update'; key: ObjectKey; object: KubeObject; expect: number }
  | { op: 'delete'; key: ObjectKey; expect?: number }
  /** precondition only: the object is at `expect` (null: it does not exist) */
  | { op: 'check'; key: ObjectKey; expect: number | null };

export interface StoreWatch {
  stop(): void;
}

export interface ObjectStore {
  /** identifies this store's history (a new store, a new epoch); nodes order desired documents by (epoch, version) */
  epoch(): Promise<string>;
  /** the newest revision written (0 for an empty store) */
  revision(): Promise<number>;
  get(key: ObjectKey): Promise<KubeObject | undefined>;
  /** every object of a scope, sorted by namespace then name, and the revision the list is consistent with */
  list(scope: ResourceScope): Promise<{ items: KubeObject[]; revision: number }>;
  /**
   * Apply all ops or none. Each write gets the next revision, in op order; the stored
   * object's metadata.resourceVersion is set to it. Throws StoreConflictError (a precondition
   * failed), StoreExistsError (create of an existing key), StoreNotFoundError (update/delete of a
   * missing key).
   */
  commit(ops: readonly StoreOp[]): Promise<StoredEvent[]>;
  /**
   * Every change in scope after `fromRevision` (in revision order), then live ones as they are
   * committed. Throws StoreGoneError when `fromRevision` is older than the window kept.
   * Events of one commit arrive in order, after the commit is durable.
   * `onGone`: the watch ended because the changes it had not yet been handed left the window
   * (PostgreSQL: this replica lost the database for longer than the window lasted); no event
   * follows, the watcher must relist. The SQLite store never calls it.
   */
  watch(scope: ResourceScope | undefined, fromRevision: number, onEvent: (e: StoredEvent) => void, onGone?: (e: StoreGoneError) => void): Promise<StoreWatch>;
  close(): Promise<void>;
}

export class StoreConflictError extends Error {
  constructor(readonly key: ObjectKey, readonly expected: number | null, readonly actual: number | null) {
    super(`${key.resource} "${key.name}": the object has been modified (expected revision ${expected ?? 'none'}, found ${actual ?? 'none'})`);
    this.name = 'StoreConflictError';
  }
}

export class StoreExistsError extends Error {
  constructor(readonly key: ObjectKey) {
    super(`${key.resource} "${key.name}" already exists`);
    this.name = 'StoreExistsError';
  }
}

export class StoreNotFoundError extends Error {
  constructor(readonly key: ObjectKey) {
    super(`${key.resource} "${key.name}" not found`);
    this.name = 'StoreNotFoundError';
  }
}

/**
 * The store could not be reached or did not answer (its connection cut, the server restarting):
 * no verdict on the request, which may succeed when tried again. Every other error is one.
 */
export class StoreUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`the store is unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StoreUnavailableError';
  }
}

export class StoreGoneError extends Error {
  constructor(readonly requested: number, readonly oldest: number) {
    super(`too old resource version: ${requested} (${oldest})`);
    this.name = 'StoreGoneError';
  }
}

/**
 * One op's precondition against the object's current revision (undefined: it does not exist),
 * the same for every store implementation: throws the store's error when it fails; true when the
 * op is a `check` (nothing to write).
 */
export function checkPrecondition(op: StoreOp, current: number | undefined): op is Extract<StoreOp, { op: 'check' }> {
  const k = op.key;
  if (op.op === 'check') {
    if ((current ?? null) !== op.expect) throw new StoreConflictError(k, op.expect, current ?? null);
    return true;
  }
  if (op.op === 'create' && current !== undefined) throw new StoreExistsError(k);
  if ((op.op === 'update' || op.op === 'delete') && current === undefined) throw new StoreNotFoundError(k);
  if ((op.op === 'update' || (op.op === 'delete' && op.expect !== undefined)) && current !== op.expect) {
    throw new StoreConflictError(k, op.expect ?? null, current ?? null);
  }
  return false;
}
