/**
 * The daemonset controller: one pod per node that should run it (daemonset-plan.ts decides),
 * placed through the scheduler with the node as its required affinity, as Kubernetes does;
 * RollingUpdate within maxUnavailable or OnDelete; the status kubectl shows. Woken by its
 * DaemonSets, their pods and every node change (a node that joins or gets a label gets its pod).
 */
import { rec } from '../kinds/common.js';
import { templateHash } from '../kinds/workload.js';
import { num } from '../kinds/workload.js';
import { PodActions, writeStatus } from './actions.js';
import { ownerKey, type Controller, type ControllerContext } from './context.js';
import { daemonPod, planDaemonSet } from './daemonset-plan.js';
import type { Informer } from './informer.js';
import { NODES, PODS, podFromTemplate } from './pods.js';
import { WorkQueue } from './queue.js';
import { BY_CONTROLLER } from './replicaset.js';

export const DAEMONSETS = { group: 'apps', resource: 'daemonsets' };

export class DaemonSetController implements Controller {
  readonly name = 'daemonset';
  private readonly sets: Informer;
  private readonly pods: Informer;
  private readonly nodes: Informer;
  private readonly queue: WorkQueue;
  private readonly actions: PodActions;

  constructor(private readonly c: ControllerContext) {
    this.sets = c.informers.for(DAEMONSETS);
    this.pods = c.informers.for(PODS);
    this.nodes = c.informers.for(NODES);
    this.queue = new WorkQueue((k) => this.sync(k), c.log);
    this.actions = new PodActions(c.client, this.pods, c.events);
    this.sets.onChange((k) => this.queue.add(k));
    this.pods.onChange((_k, obj, old) => {
      for (const p of [obj, old]) {
        const k = p && ownerKey(p, 'DaemonSet');
        if (k) this.queue.add(k);
      }
    });
    this.nodes.onChange(() => {
      for (const ds of this.sets.list()) this.queue.add(`${ds.metadata.namespace ?? ''}/${ds.metadata.name ?? ''}`);
    });
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  stop(): void {
    this.queue.stop();
  }

  private async sync(key: string): Promise<void> {
    const ds = this.sets.get(key);
    if (!ds || ds.metadata.deletionTimestamp) return;
    const spec = rec(ds.spec) ?? {};
    const hash = templateHash(spec.template, num(rec(ds.status), 'collisionCount'));
    const pods = this.pods.byIndex(BY_CONTROLLER, ds.metadata.uid ?? '');
    const plan = planDaemonSet(ds, this.nodes.list(), pods, hash, this.c.clock.now());
    for (const p of plan.delete) await this.actions.delete(ds, p);
    if (plan.create.length) {
      const base = podFromTemplate(spec.template, ds);
      await this.actions.create(ds, plan.create.map((n) => daemonPod(ds, n, hash, base)));
    }
    if (plan.create.length || plan.delete.length) return this.queue.add(key);
    await writeStatus(this.c.client, DAEMONSETS, this.sets, ds, plan.status);
    if (plan.wakeAt) this.queue.wakeAt(key, plan.wakeAt, this.c.clock);
  }
}
