/**
 * The ReplicaSet controller: keeps `spec.replicas` active pods of the template (the planner
 * decides, replicaset-plan.ts) and writes the status Deployments and kubectl read. Woken by its
 * ReplicaSets, their pods and the nodes they run on (held pods change with node readiness).
 */
import { rec } from '../kinds/common.js';
import { PodActions, writeStatus } from './actions.js';
import { ownerKey, type Controller, type ControllerContext } from './context.js';
import type { Informer } from './informer.js';
import { controllerRef, NODES, nodeNameOf, PODS, podFromTemplate } from './pods.js';
import { WorkQueue } from './queue.js';
import { planReplicaSet } from './replicaset-plan.js';

export const REPLICASETS = { group: 'apps', resource: 'replicasets' };
export const BY_CONTROLLER = 'controller';
export const BY_NODE = 'node';

/** The pod informer's indexes every workload controller uses: by controller uid and by node. */
export function indexPods(pods: Informer): void {
  pods.addIndex(BY_CONTROLLER, (p) => {
    const r = controllerRef(p);
    return r ? [r.uid] : [];
  });
  pods.addIndex(BY_NODE, (p) => (nodeNameOf(p) ? [nodeNameOf(p)] : []));
}

export class ReplicaSetController implements Controller {
  readonly name = 'replicaset';
  private readonly sets: Informer;
  private readonly pods: Informer;
  private readonly nodes: Informer;
  private readonly queue: WorkQueue;
  private readonly actions: PodActions;

  constructor(private readonly c: ControllerContext) {
    this.sets = c.informers.for(REPLICASETS);
    this.pods = c.informers.for(PODS);
    this.nodes = c.informers.for(NODES);
    this.queue = new WorkQueue((k) => this.sync(k), c.log);
    this.actions = new PodActions(c.client, this.pods, c.events);
    this.sets.onChange((k) => this.queue.add(k));
    this.pods.onChange((_k, obj, old) => {
      for (const p of [obj, old]) {
        const k = p && ownerKey(p, 'ReplicaSet');
        if (k) this.queue.add(k);
      }
    });
    this.nodes.onChange((_k, obj, old) => {
      const name = (obj ?? old)?.metadata.name ?? '';
      for (const p of this.pods.byIndex(BY_NODE, name)) {
        const k = ownerKey(p, 'ReplicaSet');
        if (k) this.queue.add(k);
      }
    });
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  stop(): void {
    this.queue.stop();
  }

  private async sync(key: string): Promise<void> {
    const rs = this.sets.get(key);
    if (!rs || rs.metadata.deletionTimestamp) return;
    const pods = this.pods.byIndex(BY_CONTROLLER, rs.metadata.uid ?? '');
    const plan = planReplicaSet(rs, pods, { get: (n) => this.nodes.get(`/${n}`) }, this.c.clock.now());
    if (plan.create) {
      const template = rec(rs.spec)?.template;
      const made = Array.from({ length: plan.create }, () => podFromTemplate(template, rs));
      await this.actions.create(rs, made);
    }
    for (const p of plan.delete) await this.actions.delete(rs, p);
    if (plan.create || plan.delete.length) return this.queue.add(key); // status from what the writes left
    await writeStatus(this.c.client, REPLICASETS, this.sets, rs, plan.status);
    if (plan.wakeAt) this.queue.wakeAt(key, plan.wakeAt, this.c.clock);
  }
}

