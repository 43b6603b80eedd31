/**
 * Payloads of the node ⇄ relay wire contract (see topics.ts). JSON on the wire.
 */

/** node → relay on `reportedState`: the latest status of one object (coalesced per object in the node's outbox). */
export interface ReportedState {
  kind: string;
  namespace: string;
  name: string;
  /** the object's status (pod status, device twin reported values and state, node status) */
  status: unknown;
  /** the desired document version the node had applied when it produced this */
  desiredVersion: number;
  /** ms since epoch */
  timestamp: number;
  /** set by edgehub when sending: the outbox sequence number (dedup + order at the relay) */
  seq?: number;
  /** set by edgehub when sending: the id of the node store the seq belongs to */
  stream?: string;
}

/** node → relay on `reportedTelemetry`: one event or sample, appended. */
export interface ReportedTelemetry {
  kind: string;
  namespace: string;
  name: string;
  /** e.g. "twin.reported", "pod.event" */
  event: string;
  data: unknown;
  desiredVersion: number;
  timestamp: number;
  seq?: number;
  stream?: string;
}

/** One object in a node's desired document. `spec` is the whole manifest (apiVersion, kind, metadata, spec/data...). */
export interface DesiredItem {
  kind: string;
  namespace: string;
  name: string;
  uid: string;
  /** relay-side generation of this object (bumped on each change of its manifest) */
  generation: number;
  spec: Record<string, unknown>;
}

/**
 * relay → node on `desired` (retained): everything the node should run, nothing else.
 * Level-triggered: the node replaces its cloud-origin objects with exactly `items`.
 * A document whose (epoch, version) is not newer than the applied one is rejected as stale.
 */
export interface DesiredDocument {
  node: string;
  /** identifies the relay's store; a new epoch (store recreated) restarts version ordering */
  epoch: string;
  /** per-node, strictly increasing with every change of this node's set */
  version: number;
  /** every kind the relay syncs; kinds absent from `items` are emptied on the node */
  kinds: string[];
  items: DesiredItem[];
  timestamp: number;
}

/** node → relay on `sync`: sent on every connect; the relay answers by republishing `desired`. */
export interface SyncRequest {
  epoch: string;
  appliedVersion: number;
  bootId: string;
  timestamp: number;
}

/** node → relay on `presence` (retained). The Last Will carries `online: false`. */
export interface Presence {
  online: boolean;
  bootId: string;
  agentVersion: string;
  timestamp: number;
}

/** node → relay on `heartbeat` (QoS0): small on purpose (idle uplink budget). */
export interface Heartbeat {
  /** applied desired version */
  v: number;
  /** outbox rows waiting */
  q: number;
  /** ms since epoch */
  t: number;
}

/** Node status, reported as ReportedState with kind 'Node', namespace '', name = node. */
export interface NodeReportedStatus {
  appliedVersion: number;
  epoch: string;
  agentVersion: string;
  bootId: string;
  arch: string;
  platform: string;
  /** last desired document rejected (validation or stale), if any */
  lastError?: string;
  outbox: { rows: number; dropped: number };
}

export type RpcMethod = 'logs' | 'twin.get' | 'twin.set';

/** relay → node on `rpc/request`. Requests past their deadline are ignored by the node. */
export interface RpcRequest {
  id: string;
  method: RpcMethod;
  params: Record<string, unknown>;
  /** ms since epoch */
  deadline: number;
}

/** relay → node on `rpc/request` to stop a streaming call (e.g. `logs -f` client went away). */
export interface RpcCancel {
  id: string;
  cancel: true;
}

/** node → relay on `rpc/response`. A stream is chunks (`data`) ending with `done: true`. */
export interface RpcResponse {
  id: string;
  /** chunk number within this call, from 0 */
  n: number;
  data?: unknown;
  done: boolean;
  error?: { code: string; message: string; issues?: { path: string; reason: string }[] };
}
