/**
 * The deployment controller: one ReplicaSet per template revision, rolled by the planner
 * (deployment-plan.ts: RollingUpdate, Recreate, scaling, revisions, history; held pods set
 * aside) and reported by deployment-status.ts. Each pass reads the caches, takes the steps the
 * planner returns, and writes the status; the changes those steps cause bring the next pass.
 */
import type { KubeObject } from '../../contract/kube/types.js';
import { rec } from '../kinds/common.js';
import { num } from '../kinds/workload.js';
import { writeStatus } from './actions.js';
import { ownerKey, type Controller, type ControllerContext } from './context.js';
import {
  cleanupSteps,
  isScalingEvent,
  newReplicaSet,
  recreateSteps,
  replicasOf,
  revisionOf,
  revisionSteps,
  rollingSteps,
  sameTemplate,
  scaleSteps,
  type DeploymentStep,
  type SetView,
} from './deployment-plan.js';
import { conditionOf, deploymentStatus } from './deployment-status.js';
import type { Informer } from './informer.js';
import { controllerRef, isAvailable, isHeld, isTerminal, NODES, nodeNameOf, PODS, type NodeLookup } from './pods.js';
import { WorkQueue } from './queue.js';
import { BY_CONTROLLER, BY_NODE, REPLICASETS } from './replicaset.js';

export const DEPLOYMENTS = { group: 'apps', resource: 'deployments' };

export class DeploymentController implements Controller {
  readonly name = 'deployment';
  private readonly deployments: Informer;
  private readonly sets: Informer;
  private readonly pods: Informer;
  private readonly nodes: Informer;
  private readonly queue: WorkQueue;
  private readonly lookup: NodeLookup;

  constructor(private readonly c: ControllerContext) {
    this.deployments = c.informers.for(DEPLOYMENTS);
    this.sets = c.informers.for(REPLICASETS);
    this.pods = c.informers.for(PODS);
    this.nodes = c.informers.for(NODES);
    this.lookup = { get: (n) => this.nodes.get(`/${n}`) };
    this.sets.addIndex(BY_CONTROLLER, (o) => {
      const r = controllerRef(o);
      return r ? [r.uid] : [];
    });
    this.queue = new WorkQueue((k) => this.sync(k), c.log);
    this.deployments.onChange((k) => this.queue.add(k));
    this.sets.onChange((_k, obj, old) => {
      for (const o of [obj, old]) {
        const k = o && ownerKey(o, 'Deployment');
        if (k) this.queue.add(k);
      }
    });
    this.nodes.onChange((_k, obj, old) => {
      for (const p of this.pods.byIndex(BY_NODE, (obj ?? old)?.metadata.name ?? '')) this.wakeOwnerOf(p);
    });
    // a pod gone for good: Recreate waits for the last old one (its set's status no longer changes then)
    this.pods.onChange((_k, obj, old) => {
      if (!obj && old) this.wakeOwnerOf(old);
    });
  }

  private wakeOwnerOf(pod: KubeObject): void {
    const rsKey = ownerKey(pod, 'ReplicaSet');
    const rs = rsKey && this.sets.get(rsKey);
    const k = rs && ownerKey(rs, 'Deployment');
    if (k) this.queue.add(k);
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  stop(): void {
    this.queue.stop();
  }

  private view(rs: KubeObject, minReadySeconds: number, now: Date): SetView {
    const held = this.pods.byIndex(BY_CONTROLLER, rs.metadata.uid ?? '').filter((p) => isHeld(p, this.lookup));
    return { rs, held: held.length, heldAvailable: held.filter((p) => isAvailable(p, minReadySeconds, now)).length, heldNodes: held.map(nodeNameOf) };
  }

  private async sync(key: string): Promise<void> {
    const d = this.deployments.get(key);
    if (!d || d.metadata.deletionTimestamp) return;
    const now = this.c.clock.now();
    const spec = rec(d.spec) ?? {};
    const minReady = num(spec, 'minReadySeconds');
    const views = this.sets
      .byIndex(BY_CONTROLLER, d.metadata.uid ?? '')
      .filter((rs) => !rs.metadata.deletionTimestamp)
      .sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '') || revisionOf(a) - revisionOf(b))
      .map((rs) => this.view(rs, minReady, now));
    const newSet = views.find((v) => sameTemplate(rec(v.rs.spec)?.template, spec.template));
    const olds = views.filter((v) => v !== newSet);
    const paused = spec.paused === true;

    if (!newSet && !paused) return this.createNewSet(d, views, now);
    let steps: DeploymentStep[] = [];
    if (isScalingEvent(d, views) || paused) steps = isScalingEvent(d, views) ? scaleSteps(d, newSet, olds) : [];
    else if (newSet && rec(spec.strategy)?.type === 'Recreate') steps = recreateSteps(d, newSet, olds, this.oldPodsLeft(olds));
    else if (newSet) steps = rollingSteps(d, newSet, olds);
    if (newSet) steps.push(...revisionSteps(d, newSet, olds));
    if (!steps.some((s) => s.op === 'scale')) steps.push(...cleanupSteps(d, olds));
    for (const s of steps) await this.execute(d, s);
    const fresh = this.deployments.get(key) ?? d;
    const r = deploymentStatus({ d: fresh, ...(newSet ? { newSet } : {}), olds, now });
    // kubectl's rollout status text is its own and describe shows no condition message: an event says which nodes the rollout waits for
    const waiting = waitingFor(r.status);
    if (waiting && waiting !== waitingFor(fresh.status)) void this.c.events.emit(fresh, 'Normal', 'WaitingForNodes', waiting);
    await writeStatus(this.c.client, DEPLOYMENTS, this.deployments, fresh, r.status);
    if (r.wakeAt) this.queue.wakeAt(key, r.wakeAt, this.c.clock);
  }

  /** Pods of old sets not yet gone (held ones aside): Recreate waits for them. */
  private oldPodsLeft(olds: SetView[]): number {
    let n = 0;
    for (const v of olds) for (const p of this.pods.byIndex(BY_CONTROLLER, v.rs.metadata.uid ?? '')) if (!isTerminal(p) && !isHeld(p, this.lookup)) n++;
    return n;
  }

  private async createNewSet(d: KubeObject, views: SetView[], now: Date): Promise<void> {
    const collisions = num(rec(d.status), 'collisionCount');
    const revision = Math.max(0, ...views.map((v) => revisionOf(v.rs))) + 1;
    const rs = newReplicaSet(d, revision, collisions);
    const clash = this.sets.get(`${d.metadata.namespace ?? ''}/${rs.metadata.name ?? ''}`);
    if (clash) {
      // another template already has this name: hash again with the next collision count
      await writeStatus(this.c.client, DEPLOYMENTS, this.deployments, d, { ...(rec(d.status) ?? {}), collisionCount: collisions + 1 });
      return;
    }
    const made = await this.c.client.create(REPLICASETS, rs);
    this.sets.observe(made);
    const r = deploymentStatus({ d, newSet: { rs: made, held: 0, heldAvailable: 0, heldNodes: [] }, olds: views, now, created: true });
    await writeStatus(this.c.client, DEPLOYMENTS, this.deployments, d, r.status);
  }

  private async execute(d: KubeObject, s: DeploymentStep): Promise<void> {
    const c = this.c.client;
    switch (s.op) {
      case 'scale': {
        const from = replicasOf(s.rs);
        const next = { ...s.rs, metadata: { ...s.rs.metadata, annotations: { ...(s.rs.metadata.annotations ?? {}), ...s.annotations } }, spec: { ...(rec(s.rs.spec) ?? {}), replicas: s.replicas } };
        this.sets.observe(await c.update(REPLICASETS, next));
        if (from !== s.replicas) {
          const how = s.replicas > from ? 'up' : 'down';
          void this.c.events.emit(d, 'Normal', 'ScalingReplicaSet', `Scaled ${how} replica set ${s.rs.metadata.name ?? ''} to ${s.replicas} from ${from}`);
        }
        return;
      }
      case 'annotate':
        this.sets.observe(await c.patch(REPLICASETS, s.rs.metadata.namespace, s.rs.metadata.name ?? '', 'merge', { metadata: { annotations: s.annotations, resourceVersion: s.rs.metadata.resourceVersion } }));
        return;
      case 'delete':
        try {
          await c.delete(REPLICASETS, s.rs.metadata.namespace, s.rs.metadata.name ?? '', { propagationPolicy: 'Background', preconditions: { uid: s.rs.metadata.uid ?? '' } });
        } catch (e) {
          if ((e as { code?: number }).code !== 404) throw e;
        }
        return;
      case 'revision':
        this.deployments.observe(await c.patch(DEPLOYMENTS, d.metadata.namespace, d.metadata.name ?? '', 'merge', { metadata: { annotations: { 'deployment.kubernetes.io/revision': s.revision } } }));
        return;
      case 'create':
        this.sets.observe(await c.create(REPLICASETS, s.rs));
    }
  }
}

/** `Waiting for nodes that are not ready: a, b.` from the Progressing condition, if it says so. */
function waitingFor(status: unknown): string | undefined {
  return /Waiting for nodes that are not ready: .*$/.exec(conditionOf(status, 'Progressing')?.message ?? '')?.[0];
}
