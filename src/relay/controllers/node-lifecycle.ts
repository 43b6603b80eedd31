/**
 * Node lifecycle: the one place that turns what the relay hears of a node (presence, heartbeats,
 * the node's own word about itself — a LivenessSource) into the Node's status conditions and
 * lifecycle taints, through the API (kinds/node-lifecycle.ts computes them):
 * - Ready True / False / Unknown (relay clock only), lastHeartbeatTime refreshed at most every
 *   heartbeatWriteSeconds, so a heartbeat is not a store write;
 * - the node's own conditions (MemoryPressure, DiskPressure, PIDPressure, UnderVoltage...) beside
 *   Ready, all Unknown while the node cannot be reached (it stopped posting them);
 * - the not-ready / unreachable taints, and unschedulable for a cordoned node.
 * The edge rule lives here: an unreachable node keeps its pods. Nothing here (or anywhere in the
 * relay) evicts or deletes a pod because its node is NotReady or Unknown; the taints only say so.
 * A deleted Node ends its node's access (the `deleted` hook removes its credentials). Only Nodes
 * the `managed` hook names are written (edgecore nodes that joined; not API clients that post
 * their own status).
 */
import type { KubeObject } from '../../contract/kube/types.js';
import type { NodeCondition as ReportedCondition } from '../../contract/node-status.js';
import type { Logger } from '../../core/logger.js';
import { stableStringify } from '../../lib/json.js';
import type { ApiClient } from '../apiserver/client.js';
import { lifecycleTaints, readyCondition, readyDeadline, type NodeCondition, type NodeLifecycleParams, type NodeLiveness, type Taint } from '../kinds/node-lifecycle.js';
import { Informer } from './informer.js';
import { Pace } from './pace.js';
import { ReadinessLog } from './readiness-log.js';
import { WorkQueue } from './queue.js';

const NODES = { group: '', resource: 'nodes' };

export interface NodeLivenessView extends NodeLiveness {
  /** the node's own conditions from its last report */
  conditions?: ReportedCondition[];
}

/** Where liveness comes from (the node link), and how it says something changed. */
export interface LivenessSource {
  get(node: string): NodeLivenessView;
  onChange(listener: (node: string) => void): void;
}

export interface NodeLifecycleHooks {
  /** a Node object was deleted: end that node's access */
  deleted(node: string): void;
  /**
   * Whether this controller owns the Node's status (an edgecore node that joined the relay). A
   * Node registered otherwise — a client of the API that writes its own status, as a kubelet or a
   * virtual kubelet does — is left to that client. Absent: every Node.
   */
  managed?(node: string): boolean | Promise<boolean>;
  /**
   * Whether this relay writes Node status now (fleet: only the replica holding the controllers'
   * Lease; every replica still sees deletions). Absent: always. `resync()` when it starts to.
   */
  leading?(): boolean;
  /**
   * Whether the relay is working through a backlog of connections now (the embedded broker's
   * connect line): the controller's writes then go one a second, so a connect or reconnect storm
   * is not slowed by the Node writes it causes (and a node back before its turn costs none).
   * Absent: never.
   */
  busy?(): boolean;
}

/** The conditions a Node should carry: the node's own (Unknown while unreachable), then Ready. */
export function nodeConditions(prev: NodeCondition[] | undefined, ready: NodeCondition, reported: ReportedCondition[] | undefined): NodeCondition[] {
  const kept = reported
    ? reported.filter((c) => c.type !== 'Ready').map((c): NodeCondition => ({ ...c, lastHeartbeatTime: ready.lastHeartbeatTime! }))
    : (prev ?? []).filter((c) => c.type !== 'Ready');
  const others = kept.map((c): NodeCondition => {
    if (ready.status !== 'Unknown' || c.status === 'Unknown') return c;
    const was = (prev ?? []).find((p) => p.type === c.type);
    const transition = was?.status === 'Unknown' && was.lastTransitionTime ? was.lastTransitionTime : ready.lastTransitionTime!;
    return { type: c.type, status: 'Unknown', lastHeartbeatTime: c.lastHeartbeatTime!, lastTransitionTime: transition, reason: 'NodeStatusUnknown', message: ready.message! };
  });
  return [...others, ready];
}

/** while the relay admits a backlog of connections, one Node write per this many ms */
const BUSY_GAP_MS = 1000;

export class NodeLifecycleController {
  private readonly informer: Informer;
  private readonly queue: WorkQueue;
  private readonly readiness: ReadinessLog;
  private readonly pace: Pace;

  constructor(
    private readonly client: ApiClient,
    private readonly liveness: LivenessSource,
    private readonly params: NodeLifecycleParams,
    private readonly hooks: NodeLifecycleHooks,
    private readonly now: () => Date,
    log: Logger,
  ) {
    this.informer = new Informer(client, NODES, log);
    this.queue = new WorkQueue((name) => this.sync(name), log);
    this.readiness = new ReadinessLog(log);
    this.pace = new Pace(params.statusWritesPerSecond, undefined, hooks.busy ? { busy: hooks.busy, busyGapMs: BUSY_GAP_MS } : undefined);
    this.informer.onChange((_key, obj, old) => {
      const name = (obj ?? old)!.metadata.name ?? '';
      if (obj) this.queue.add(name);
      else if (old) this.hooks.deleted(name);
    });
    liveness.onChange((node) => this.queue.add(node));
  }

  async start(): Promise<void> {
    await this.informer.start();
  }

  stop(): void {
    this.informer.stop();
    this.queue.stop();
    this.readiness.flush();
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Look at every Node again (this relay just became the leader). */
  resync(): void {
    for (const o of this.informer.list()) this.queue.add(o.metadata.name ?? '');
  }

  /** Look at a node again (it just became managed: its credentials were stored). */
  touch(node: string): void {
    this.queue.add(node);
  }

  private async sync(name: string): Promise<void> {
    if (this.hooks.leading && !this.hooks.leading()) return;
    if (this.hooks.managed && !(await this.hooks.managed(name))) return;
    let p = this.plan(name);
    if (p && (p.conditions || p.taints)) {
      // writes go at the controller's pace (nodes.statusWritesPerSecond); what is still due after
      // the wait is written — in a mass disconnection a node back meanwhile costs no write at all
      await this.pace.take();
      p = this.plan(name);
    }
    if (!p) return;
    const { ready, now } = p;
    let node = p.node;
    if (p.prevReadyStatus !== ready.status) this.readiness.change(name, ready.status, ready.reason);
    if (p.conditions) {
      // a merge patch of conditions only: the node's report writes nodeInfo, addresses, capacity
      const written = await this.client.patch(NODES, undefined, name, 'merge', { status: { conditions: p.conditions } }, { subresource: 'status' });
      // the taints go onto the version just written when its spec is still the one planned
      // against (otherwise the version read, so a user's change in between wins a conflict): the
      // informer has not seen this write yet, and its version would always conflict
      if (stableStringify(written.spec ?? {}) === stableStringify(node.spec ?? {})) node = written;
    }
    if (p.taints) {
      // taints are shared with users (kubectl taint): written only onto the version read
      await this.client.patch(NODES, undefined, name, 'merge', { metadata: { resourceVersion: node.metadata.resourceVersion }, spec: { taints: p.taints } }).catch((e: unknown) => {
        if ((e as { code?: number }).code !== 409) throw e;
        this.queue.add(name);
      });
    }
    const deadline = readyDeadline(this.liveness.get(name), this.params);
    if (deadline && deadline > now) this.queue.after(name, deadline.getTime() - now.getTime());
  }

  /** What the Node should carry now: the conditions and taints to write (absent: as stored). */
  private plan(name: string): { node: KubeObject; now: Date; ready: NodeCondition; prevReadyStatus: string | undefined; conditions?: NodeCondition[]; taints?: Taint[] } | undefined {
    // the informer's copy (a stale one only costs a conflict on the taints, retried)
    const node = this.informer.get(`/${name}`);
    if (!node) return undefined;
    const now = this.now();
    const live = this.liveness.get(name);
    const status = (node.status ?? {}) as { conditions?: NodeCondition[] };
    const prevReady = status.conditions?.find((c) => c.type === 'Ready');
    const ready = readyCondition(prevReady, live, now, node.metadata.creationTimestamp ?? now.toISOString(), this.params);
    const conditions = nodeConditions(status.conditions, ready, live.conditions);
    const spec = (node.spec ?? {}) as { taints?: Taint[]; unschedulable?: boolean };
    const taints = lifecycleTaints(spec.taints, ready.status, spec.unschedulable === true, now);
    return {
      node,
      now,
      ready,
      prevReadyStatus: prevReady?.status,
      ...(stableStringify(conditions) !== stableStringify(status.conditions ?? []) ? { conditions } : {}),
      ...(stableStringify(taints) !== stableStringify(spec.taints ?? []) ? { taints } : {}),
    };
  }

  /** The Node as the informer holds it (tests). */
  cached(name: string): KubeObject | undefined {
    return this.informer.get(`/${name}`);
  }
}
