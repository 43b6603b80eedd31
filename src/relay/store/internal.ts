/**
 * The relay's non-object data as internal resources of the ObjectStore (group
 * `internal.edgerelay`, never registered with the API, so no URL reaches them): node credentials,
 * bootstrap tokens, report dedup marks. Kept in the same store so one PostgreSQL implementation
 * covers everything and a report commits with its dedup mark (docs/architecture.md).
 * Telemetry is not here: it is an append-only log of its own.
 */
import type { KubeObject } from '../../contract/kube/types.js';
import type { ObjectKey, ObjectStore, StoreOp } from './objects.js';

export const INTERNAL_GROUP = 'internal.edgerelay';

export type InternalResource = 'nodecredentials' | 'bootstraptokens' | 'reportmarks' | 'serviceips' | 'nodeports';

export interface NodeCredential {
  /** mosquitto `$7$` PBKDF2-SHA512 hash */
  passwordHash: string;
  rotatedAt: string;
}

export interface BootstrapToken {
  expiresAt: string;
  createdAt: string;
}

export interface ReportMark {
  /** the highest sequence number accepted from this node on this stream */
  seq: number;
  /**
   * Reports at or below it that `applied` does not list count as seen. A mark written before
   * `applied` existed has none: its `seq` is its floor (a high-water mark, as it was).
   */
  floor?: number;
  /**
   * What was applied above `floor`, by the report's identity: an object's key → the seq of its
   * latest applied state, or an event's own seq → itself. A broker may hand reports over again
   * after newer ones (NATS, when a member dies with deliveries unacknowledged): a late report is
   * then applied unless its identity has that seq or a newer one already.
   */
  applied?: Record<string, number>;
}

/** Identities kept in a mark above its floor; past it the oldest go and the floor rises to them. */
export const MARK_APPLIED_MAX = 256;

/**
 * The mark after accepting report `seq` with identity `id`, or undefined when it is seen already
 * (or stale: its object's state is newer). Without an identity: a high-water mark. Pure.
 */
export function admitReport(cur: ReportMark | undefined, seq: number, id: string | undefined, max = MARK_APPLIED_MAX): ReportMark | undefined {
  const top = cur?.seq ?? 0;
  if (id === undefined) return seq <= top ? undefined : { ...cur, seq };
  const floor = cur === undefined ? 0 : (cur.floor ?? cur.seq);
  const applied = { ...(cur?.applied ?? {}) };
  if (seq <= (applied[id] ?? floor)) return undefined;
  applied[id] = seq;
  const ids = Object.keys(applied);
  let next = floor;
  if (ids.length > max) {
    // the oldest quarter goes at once (not one per report), and the floor covers what went
    const order = ids.sort((a, b) => applied[a]! - applied[b]!);
    for (const k of order.slice(0, ids.length - Math.floor((max * 3) / 4))) {
      next = Math.max(next, applied[k]!);
      delete applied[k];
    }
  }
  return { seq: Math.max(top, seq), floor: next, applied };
}

/**
 * Who holds a Service's ClusterIP (named by the IP) or a node port (named `<port>-<protocol>`):
 * one record per address, so two Services can never commit the same one (the store refuses a
 * second create of a key). A record whose Service is gone, or no longer uses it, is free.
 */
export interface ServiceAllocation {
  namespace: string;
  name: string;
  uid: string;
}

interface Specs {
  nodecredentials: NodeCredential;
  bootstraptokens: BootstrapToken;
  reportmarks: ReportMark;
  serviceips: ServiceAllocation;
  nodeports: ServiceAllocation;
}

export const internalKey = (resource: InternalResource, name: string): ObjectKey => ({ group: INTERNAL_GROUP, resource, namespace: '', name });

/** The mark's name: node and stream (a node name is a DNS label, so `.` cannot be ambiguous in it). */
export const reportMarkName = (node: string, stream: string): string => `${node}.${stream}`;

export class InternalRecords {
  constructor(private readonly store: ObjectStore) {}

  async get<R extends InternalResource>(resource: R, name: string): Promise<{ spec: Specs[R]; revision: number } | undefined> {
    const o = await this.store.get(internalKey(resource, name));
    return o ? { spec: o.spec as Specs[R], revision: Number(o.metadata.resourceVersion) } : undefined;
  }

  /** The op that writes `spec` at `name`, given what is there now (`revision`, or undefined when absent). */
  putOp<R extends InternalResource>(resource: R, name: string, spec: Specs[R], revision: number | undefined): StoreOp {
    const object: KubeObject = { apiVersion: `${INTERNAL_GROUP}/v1`, kind: resource, metadata: { name }, spec };
    const key = internalKey(resource, name);
    return revision === undefined ? { op: 'create', key, object } : { op: 'update', key, object, expect: revision };
  }

  async put<R extends InternalResource>(resource: R, name: string, spec: Specs[R]): Promise<void> {
    const cur = await this.get(resource, name);
    await this.store.commit([this.putOp(resource, name, spec, cur?.revision)]);
  }

  async remove(resource: InternalResource, name: string): Promise<boolean> {
    const cur = await this.get(resource, name);
    if (!cur) return false;
    await this.store.commit([{ op: 'delete', key: internalKey(resource, name), expect: cur.revision }]);
    return true;
  }

  /**
   * The ops that mark report `seq` of (node, stream) as seen — to commit with the report's own
   * write (`WriteOptions.alsoCommit`) — or undefined when it was seen already (a duplicate, or a
   * state older than its object's: see admitReport; `id` is the report's identity).
   * The precondition on the mark's revision makes two concurrent writers of one mark conflict.
   */
  async markOps(node: string, stream: string, seq: number, id?: string): Promise<StoreOp[] | undefined> {
    const name = reportMarkName(node, stream);
    const cur = await this.get('reportmarks', name);
    const next = admitReport(cur?.spec, seq, id);
    return next && [this.putOp('reportmarks', name, next, cur?.revision)];
  }
}
