/**
 * The node link: the relay's half of the sync contract, with the Kubernetes API as the single
 * source of truth. Desired documents are computed from the API's objects (node-sync.ts), what
 * nodes report becomes API writes with their own identity (reports.ts), their events become
 * core/v1 Events (events.ts), their presence and heartbeats drive the Nodes' Ready condition
 * (liveness.ts → controllers/node-lifecycle.ts). Logs, exec and the rest travel as streams
 * (src/relay/streams), beside the link.
 * Constructors do no I/O; `start()` imports what the old object API left, makes sure every
 * joined node has its Node, and starts the controllers.
 */
import type { RelayConfig } from '../config.js';
import type { Logger } from '../../core/logger.js';
import { errorMessage } from '../../core/errors.js';
import type { DesiredDocument } from '../../contract/payloads.js';
import type { NodeChannel } from '../../contract/topics.js';
import { topics } from '../../contract/topics.js';
import { controllerIdentity, nodeIdentity } from '../apiserver/authz.js';
import { ApiClient } from '../apiserver/client.js';
import type { ApiCore } from '../apiserver/core.js';
import type { RelayTransport } from '../broker/transport.js';
import { NodeLifecycleController } from '../controllers/node-lifecycle.js';
import { NODE_LIFECYCLE_DEFAULTS, newNodeLifecycle } from '../kinds/node-lifecycle.js';
import type { RpcRouter } from '../rpc.js';
import { InternalRecords } from '../store/internal.js';
import type { ObjectStore } from '../store/objects.js';
import type { CredentialStore } from '../store/credentials.js';
import type { RelayStore } from '../store/types.js';
import { EventRecorder } from './events.js';
import { NodeIngress } from './ingress.js';
import { importLegacyObjects } from './legacy.js';
import { Liveness } from './liveness.js';
import { NodeSync } from './node-sync.js';
import { NodeReports } from './reports.js';
import { NodeRateLimiter } from './telemetry.js';
import { NodeUsageStore } from './usage.js';

const NODES = { group: '', resource: 'nodes' };

export interface NodeLinkDeps {
  core: ApiCore;
  objects: ObjectStore;
  /** this replica's telemetry and legacy objects */
  store: RelayStore;
  /** node credentials (shared by a fleet) */
  credentials: CredentialStore;
  transport: RelayTransport;
  rpc: RpcRouter;
  nodes: RelayConfig['nodes'];
  log: Logger;
  now: () => Date;
  /** whether this relay writes Node status now (fleet: the controllers' leader); absent: always */
  leading?(): boolean;
  /** a node's access ended (its Node was deleted): close its broker session, rewrite broker files */
  onNodeGone?(node: string): void;
  /** whether a document published now reaches the node (NodeSyncDeps.reaches); absent: every node */
  reaches?(node: string): boolean;
  /** whether connections wait their turn on the relay's broker now (NodeLifecycleHooks.busy); absent: never */
  busy?(): boolean;
}

/** The labels a Node starts with: the join's, the hostname, and the edge role. */
export function joinLabels(node: string, labels: Record<string, string>): Record<string, string> {
  return { ...labels, 'kubernetes.io/hostname': node, 'node-role.kubernetes.io/edge': '' };
}

export class NodeLink {
  readonly liveness: Liveness;
  readonly events: EventRecorder;
  readonly nodeSync: NodeSync;
  readonly reports: NodeReports;
  readonly ingress: NodeIngress;
  readonly lifecycle: NodeLifecycleController;
  readonly limiter: NodeRateLimiter;
  /** the newest usage report per node (metrics.k8s.io) */
  readonly usage = new NodeUsageStore();
  private readonly controller: ApiClient;
  private readonly clients = new Map<string, ApiClient>();

  constructor(private readonly d: NodeLinkDeps) {
    const params = { ...NODE_LIFECYCLE_DEFAULTS, notReadyAfterSeconds: d.nodes.notReadyAfterSeconds, offlineGraceSeconds: d.nodes.offlineGraceSeconds, heartbeatWriteSeconds: d.nodes.heartbeatWriteSeconds, statusWritesPerSecond: d.nodes.statusWritesPerSecond };
    this.liveness = new Liveness(params, d.now);
    this.events = new EventRecorder(d.now, d.log.child('events'));
    this.controller = new ApiClient(d.core, controllerIdentity('node-sync'), 'edgerelay-node-sync');
    this.nodeSync = new NodeSync({
      client: this.controller,
      publish: (node, doc) => this.publish(node, doc),
      ...(d.reaches ? { reaches: d.reaches } : {}),
      epoch: () => d.objects.epoch(),
      revision: () => d.objects.revision(),
      events: this.events,
      log: d.log.child('node-sync'),
      now: d.now,
    });
    this.reports = new NodeReports({
      nodeClient: (n) => this.nodeClient(n),
      marks: new InternalRecords(d.objects),
      store: d.objects,
      events: this.events,
      liveness: this.liveness,
      log: d.log.child('reports'),
    });
    this.limiter = new NodeRateLimiter({ ratePerSecond: d.nodes.telemetryRatePerSecond, burst: d.nodes.telemetryBurst }, () => d.now().getTime());
    this.ingress = new NodeIngress({
      store: d.store,
      credentials: d.credentials,
      nodeSync: this.nodeSync,
      reports: this.reports,
      liveness: this.liveness,
      rpc: d.rpc,
      limiter: this.limiter,
      usage: this.usage,
      telemetryKeep: d.nodes.telemetryKeep,
      log: d.log.child('ingress'),
      now: () => d.now().getTime(),
    });
    const lifecycle = new ApiClient(d.core, controllerIdentity('node-lifecycle'), 'edgerelay-node-lifecycle');
    this.lifecycle = new NodeLifecycleController(lifecycle, this.liveness, params, { deleted: (n) => this.gone(n), managed: async (n) => this.ingress.knows(n) || !!(await d.credentials.getNode(n)), ...(d.leading ? { leading: d.leading } : {}), ...(d.busy ? { busy: d.busy } : {}) }, d.now, d.log.child('node-lifecycle'));
  }

  /** The in-process API client that acts as `node:<name>` (the node's own identity). */
  nodeClient(node: string): ApiClient {
    let c = this.clients.get(node);
    if (!c) this.clients.set(node, (c = new ApiClient(this.d.core, nodeIdentity(node), 'edgecore')));
    return c;
  }

  /** Every node → relay message (the transport's handler). */
  readonly handle = (node: string, channel: NodeChannel, payload: Buffer): Promise<void> | undefined => this.ingress.handle(node, channel, payload);

  async start(): Promise<void> {
    await importLegacyObjects(this.d.store, this.controller, this.d.log.child('legacy'));
    // nodes that joined before Nodes were API objects (an upgraded relay) get theirs
    for (const n of await this.d.credentials.listNodes()) {
      this.ingress.joined(n.name);
      await this.ensureNode(n.name, n.labels);
    }
    // the grace of nodes not heard yet runs from here (a restarted relay: liveness.ts)
    this.liveness.start();
    await this.lifecycle.start();
    await this.nodeSync.start();
  }

  stop(): void {
    this.reports.stop();
    this.ingress.stop();
    this.nodeSync.stop();
    this.lifecycle.stop();
  }

  /** Resolves when the link's controllers and report queues have nothing left to do (tests). */
  async idle(): Promise<void> {
    await this.reports.idle();
    await this.nodeSync.idle();
    await this.lifecycle.idle();
  }

  republishAll(): void {
    this.nodeSync.republishAll();
  }

  /** The Node a joining node gets (registered with its own identity, as a kubelet registers). */
  async ensureNode(node: string, labels: Record<string, string>): Promise<void> {
    const client = this.nodeClient(node);
    if (await client.find(NODES, undefined, node)) return;
    // born with the lifecycle's first verdict (never heard: Unknown, unreachable), not written three times
    const { conditions, taints } = newNodeLifecycle(this.d.now());
    const obj = { apiVersion: 'v1', kind: 'Node', metadata: { name: node, labels: joinLabels(node, labels) }, spec: { taints }, status: { conditions } };
    await client.create(NODES, obj).catch((e: unknown) => {
      if ((e as { code?: number }).code !== 409) throw e;
    });
  }

  /** A node joined (its credentials are stored): it is heard from now on. */
  joined(node: string): void {
    this.ingress.joined(node);
    this.lifecycle.touch(node);
  }

  /** Its Node was deleted: credentials go, the node is no longer heard, its session closes. */
  private gone(node: string): void {
    // every replica sees the deletion; the first removes the shared credentials, the rest find none
    void this.d.credentials.deleteNode(node).catch((e: unknown) => this.d.log.error('could not remove the credentials of a deleted node', { node, error: errorMessage(e) }));
    this.ingress.forget(node);
    this.liveness.forget(node);
    this.limiter.forget(node);
    this.usage.forget(node);
    this.clients.delete(node);
    this.d.log.info('node deleted: its credentials are removed', { node });
    this.d.onNodeGone?.(node);
  }

  private async publish(node: string, doc: DesiredDocument | null): Promise<void> {
    try {
      await this.d.transport.publish(topics.desired(node), doc ? JSON.stringify(doc) : '', { qos: 1, retain: true });
    } catch (e) {
      this.d.log.warn('could not publish desired document', { node, error: errorMessage(e) });
    }
  }
}
