/**
 * The node's one way up. Everything the relay must hear is queued here, in the outbox, in one
 * envelope built in one place: the upstream topics, the per-object state keys, the desired
 * version the node had applied (and its epoch), and the stream id that — with each row's
 * sequence number — lets the relay drop duplicates. An object's observed status is stored and
 * queued in the same transaction, so the node never holds a status the relay will not get, nor
 * sends one it did not keep.
 *
 * Writers: metamanager (`status.report`, `telemetry.report` for edged and devicetwin) and
 * edgehub (the node's own status). Reader: edgehub, which publishes `pending()` in order and
 * `ack()`s each row once the broker acknowledged it.
 */
import { randomUUID } from 'node:crypto';
import { encodeBody, type AppUp } from '../contract/appchan.js';
import { NODE_METRICS_KIND, type NodeMetricsReport } from '../contract/metrics.js';
import type { NodeMeshReport } from '../contract/mesh.js';
import type { NodeHostReport } from '../contract/node-status.js';
import { OBJECT_EVENT, type NodeReportedStatus, type ObjectEvent, type ReportedState, type ReportedTelemetry } from '../contract/payloads.js';
import { topics } from '../contract/topics.js';
import type { ResourceKey } from './resources.js';
import type { NodeStore } from './store.js';

/** meta keys (kept as they were: node databases in the field hold them) */
const META_VERSION = 'desired.version';
const META_EPOCH = 'desired.epoch';
const META_STREAM = 'edgehub.stream';
/** the node's last host report (system, runtime, conditions, usage), merged into every node status */
const META_HOST = 'node.host';
/** the node's mesh identity (its key hash and port), merged into every node status */
const META_MESH = 'node.mesh';

/** The part of the node status edgehub owns (the link: applied version, boot id, last error, outbox). */
export type NodeHubStatus = Omit<NodeReportedStatus, keyof NodeHostReport | 'mesh'>;

/** The desired document the node applied last: the relay's store (epoch) and its version for this node. */
export interface Applied {
  epoch: string;
  version: number;
}

/** One queued message, ready to publish (sequence and stream stamped in). */
export interface UpstreamMessage {
  seq: number;
  topic: string;
  payload: Buffer;
}

/** The outbox key of one object's latest state: a newer report of the same object replaces it. */
export const stateKey = (key: ResourceKey): string => `${key.kind}/${key.namespace}/${key.name}`;

export type UplinkStore = Pick<NodeStore, 'db' | 'resources' | 'outbox' | 'meta'>;

export class Uplink {
  private stream = '';
  private hub?: NodeHubStatus;
  /** the applied document as stored (read once: only setApplied writes it) */
  private appliedCache?: Applied;

  constructor(
    private readonly store: UplinkStore,
    private readonly node: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** The desired document applied last (epoch '' and version 0 before the first). */
  applied(): Applied {
    this.appliedCache ??= { epoch: this.store.meta.get(META_EPOCH) ?? '', version: this.store.meta.getNumber(META_VERSION) };
    return { ...this.appliedCache };
  }

  /** Record a document as applied (after its objects were written). */
  setApplied(a: Applied): void {
    // forgotten first: should the write fail (or an enclosing transaction roll back), it is read again
    this.appliedCache = undefined;
    this.store.db.transaction(() => {
      this.store.meta.set(META_EPOCH, a.epoch);
      this.store.meta.set(META_VERSION, String(a.version));
    })();
  }

  /**
   * Store an object's observed status and queue it upstream, in one transaction. `upstream` is
   * what the relay gets when it differs from what the node keeps (a Device's twins filtered to
   * its reportToCloud properties). Queued even when the stored status did not change (a
   * changed upstream view, a report the relay may have missed). Returns whether the stored
   * status changed.
   */
  reportStatus(key: ResourceKey, status: unknown, upstream: unknown = status): { changed: boolean } {
    const changed = this.store.resources.setStatus(key, status, (uid) =>
      this.queueState(key, { ...ref(key), ...(uid ? { uid } : {}), status: upstream, desiredVersion: this.applied().version, timestamp: this.now().getTime() }),
    );
    return { changed };
  }

  /** Queue the node's own status: edgehub's part, merged with the last host report. */
  reportNode(hub: NodeHubStatus): void {
    this.hub = hub;
    this.queueNode(hub, this.host());
  }

  /** The last host report stored (empty before the first). */
  host(): NodeHostReport {
    try {
      return JSON.parse(this.store.meta.get(META_HOST) ?? '{}') as NodeHostReport;
    } catch {
      return {};
    }
  }

  /**
   * The node status sampler's report: kept (meta), the node's own Node object updated (its
   * manifest and its Kubernetes status, for the MetaServer), and — once edgehub has reported
   * the link's part — the merged node status queued upstream, all in one transaction.
   */
  reportHost(host: NodeHostReport, node: { manifest: unknown; status: unknown }): void {
    const key = this.nodeKey();
    this.store.db.transaction(() => {
      this.store.meta.set(META_HOST, JSON.stringify(host));
      this.store.resources.put(key, node.manifest, { origin: 'local' });
      this.store.resources.setStatus(key, node.status, () => {
        if (this.hub) this.queueNode(this.hub, host);
      });
    })();
  }

  private nodeKey(): ResourceKey {
    return { kind: 'Node', namespace: '', name: this.node };
  }

  /** The mesh's identity: kept (meta) and, once edgehub has reported the link's part, queued with the node status. */
  reportMesh(mesh: NodeMeshReport): void {
    this.store.db.transaction(() => {
      this.store.meta.set(META_MESH, JSON.stringify(mesh));
      if (this.hub) this.queueNode(this.hub, this.host());
    })();
  }

  private mesh(): NodeMeshReport | undefined {
    try {
      const v = this.store.meta.get(META_MESH);
      return v ? (JSON.parse(v) as NodeMeshReport) : undefined;
    } catch {
      return undefined;
    }
  }

  private queueNode(hub: NodeHubStatus, host: NodeHostReport): void {
    const key = this.nodeKey();
    const mesh = this.mesh();
    const status: NodeReportedStatus = { ...hub, ...host, ...(mesh ? { mesh } : {}) };
    this.queueState(key, { ...ref(key), status, desiredVersion: this.applied().version, timestamp: this.now().getTime() });
  }

  /**
   * Queue the node's usage for `kubectl top` (the newest replaces one still queued: only the
   * latest figures matter). Not stored beside the objects: it is no object's status.
   */
  reportMetrics(report: NodeMetricsReport): void {
    const key: ResourceKey = { kind: NODE_METRICS_KIND, namespace: '', name: this.node };
    this.queueState(key, { ...ref(key), status: report, desiredVersion: this.applied().version, timestamp: this.now().getTime() });
  }

  /** Queue one event or sample of an object (appended; the oldest are dropped first over the bounds). */
  reportTelemetry(key: ResourceKey, event: string, data: unknown): void {
    const msg: ReportedTelemetry = { ...ref(key), event, data, desiredVersion: this.applied().version, timestamp: this.now().getTime() };
    this.store.outbox.enqueueTelemetry(topics.reportedTelemetry(this.node), JSON.stringify(msg));
  }

  /**
   * Queue one app message (docs/appchannel.md) in the outbox's app class; the node-local topic
   * it came on travels with it. Undefined when the app bound refused it (drop policy `newest`).
   */
  queueApp(topic: string, payload: Buffer): number | undefined {
    const msg: AppUp = { topic, ...encodeBody(payload), time: this.now().getTime() };
    return this.store.outbox.enqueueApp(topics.appUp(this.node), JSON.stringify(msg));
  }

  /**
   * Queue something that happened to an object (a container started, a device went offline):
   * appended like telemetry, as an OBJECT_EVENT the relay turns into a Kubernetes Event about
   * the object (the uid it holds is added, so an event never lands on a newer incarnation).
   */
  reportEvent(key: ResourceKey, event: ObjectEvent): void {
    const uid = event.uid ?? this.store.resources.get(key)?.uid;
    this.reportTelemetry(key, OBJECT_EVENT, { ...event, ...(uid ? { uid } : {}) });
  }

  private queueState(key: ResourceKey, msg: ReportedState): void {
    this.store.outbox.enqueueState(stateKey(key), topics.reportedState(this.node), JSON.stringify(msg));
  }

  /** Called after every queued message (edgehub wakes up and flushes); may run inside the writer's transaction. */
  onQueued(listener: () => void): () => void {
    return this.store.outbox.onEnqueue(listener);
  }

  /** The id of this node store's sequence numbers (made once, kept in meta). */
  streamId(): string {
    if (this.stream) return this.stream;
    this.stream = this.store.meta.get(META_STREAM) ?? '';
    if (!this.stream) {
      this.stream = randomUUID();
      this.store.meta.set(META_STREAM, this.stream);
    }
    return this.stream;
  }

  /** The oldest `limit` of the daemon's queued messages, in order, each stamped with its sequence and the stream id. */
  pending(limit: number): UpstreamMessage[] {
    const stream = this.streamId();
    return this.store.outbox.peek(limit).map((e) => ({ seq: e.seq, topic: e.topic, payload: stamp(e.payload, e.seq, stream) }));
  }

  /** The oldest `limit` queued app messages, in order, stamped alike (the relay orders them apart from the daemon's). */
  pendingApp(limit: number): UpstreamMessage[] {
    const stream = this.streamId();
    return this.store.outbox.peekApp(limit).map((e) => ({ seq: e.seq, topic: e.topic, payload: stamp(e.payload, e.seq, stream) }));
  }

  /** Remove messages the broker acknowledged. */
  ack(seqs: readonly number[]): void {
    this.store.outbox.ack(seqs);
  }

  /** What waits to go up, and how much was dropped over the bounds (the daemon's rows; apps' apart). */
  backlog(): { rows: number; dropped: number; app: { rows: number; bytes: number; dropped: number } } {
    const s = this.store.outbox.stats();
    return { rows: s.rows - s.app, dropped: s.dropped, app: { rows: s.app, bytes: s.appBytes, dropped: s.appDropped } };
  }
}

const ref = (key: ResourceKey): { kind: string; namespace: string; name: string } => ({ kind: key.kind, namespace: key.namespace, name: key.name });

/**
 * Add the sequence number and stream id to a queued JSON payload (rows queued before an upgrade
 * included). Every row is an object written by JSON.stringify, so the two members are spliced in
 * before its closing brace: no parse and no second stringify per message sent (a member of the
 * same name already in the payload would be followed by these, and JSON.parse keeps the last).
 * Anything else (not an object) is sent as is.
 */
export function stamp(payload: Buffer, seq: number, stream: string): Buffer {
  const n = payload.length;
  if (n < 2 || payload[0] !== 0x7b || payload[n - 1] !== 0x7d) return payload;
  const tail = `${n === 2 ? '' : ','}"seq":${seq},"stream":${JSON.stringify(stream)}}`;
  const out = Buffer.allocUnsafe(n - 1 + Buffer.byteLength(tail));
  payload.copy(out, 0, 0, n - 1);
  out.write(tail, n - 1);
  return out;
}
