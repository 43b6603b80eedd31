/**
 * A Deployment's status as Kubernetes' deployment controller writes it — the counts kubectl reads
 * (observedGeneration, replicas, updatedReplicas, readyReplicas, availableReplicas,
 * unavailableReplicas) and the conditions with Kubernetes' reasons:
 *   Available    True MinimumReplicasAvailable / False MinimumReplicasUnavailable
 *   Progressing  True NewReplicaSetCreated / FoundNewReplicaSet / ReplicaSetUpdated /
 *                NewReplicaSetAvailable, False ProgressDeadlineExceeded,
 *                Unknown DeploymentPaused / DeploymentResumed.
 * Edge rule: while replicas wait for nodes that are away, Progressing says which nodes
 * (`ReplicaSet "web-5d8f" is progressing. Waiting for nodes that are not ready: pi-3.`) and the
 * progress deadline does not run — waiting for a node is not a stalled rollout. Pure.
 */
import type { KubeObject } from '../../contract/kube/types.js';
import { arr, rec } from '../kinds/common.js';
import { num, type Condition } from '../kinds/workload.js';
import { fenceposts, replicasOf } from './deployment-plan.js';
import type { SetView } from './deployment-plan.js';
import { iso } from './pods.js';

export function conditionOf(status: unknown, type: string): Condition | undefined {
  return arr(rec(status)?.conditions).map((c) => rec(c) as Condition | undefined).find((c) => c?.type === type);
}

/**
 * `conds` with `c` set: an unchanged condition keeps its times; a change keeps lastTransitionTime
 * while the status stays and moves lastUpdateTime.
 */
export function setCondition(conds: Condition[], c: Omit<Condition, 'lastUpdateTime' | 'lastTransitionTime'>, now: Date, touch = false): Condition[] {
  const prev = conds.find((x) => x.type === c.type);
  const t = iso(now);
  if (prev && prev.status === c.status && prev.reason === c.reason && prev.message === c.message && !touch) return conds;
  const next: Condition = {
    type: c.type,
    status: c.status,
    lastUpdateTime: t,
    lastTransitionTime: prev && prev.status === c.status ? (prev.lastTransitionTime ?? t) : t,
    ...(c.reason ? { reason: c.reason } : {}),
    ...(c.message ? { message: c.message } : {}),
  };
  return [...conds.filter((x) => x.type !== c.type), next];
}

export interface StatusInput {
  d: KubeObject;
  newSet?: SetView;
  olds: SetView[];
  now: Date;
  /** the new set was created by this pass */
  created?: boolean;
  collisionCount?: number;
}

export interface DeploymentStatusResult {
  status: Record<string, unknown>;
  /** when the progress deadline falls, if it may */
  wakeAt?: Date;
}

const statusNum = (rs: KubeObject, k: string): number => num(rec(rs.status), k);

export function deploymentStatus(i: StatusInput): DeploymentStatusResult {
  const { d, newSet, olds, now } = i;
  const spec = rec(d.spec) ?? {};
  const old = rec(d.status) ?? {};
  const all = [...(newSet ? [newSet] : []), ...olds].map((v) => v.rs);
  const want = num(spec, 'replicas');
  const sum = (k: string) => all.reduce((n, rs) => n + statusNum(rs, k), 0);
  const available = sum('availableReplicas');
  const status: Record<string, unknown> = {
    observedGeneration: d.metadata.generation ?? 0,
    replicas: sum('replicas'),
    updatedReplicas: newSet ? statusNum(newSet.rs, 'replicas') : 0,
    readyReplicas: sum('readyReplicas'),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, all.reduce((n, rs) => n + replicasOf(rs), 0) - available),
  };
  const collisions = i.collisionCount ?? (typeof old.collisionCount === 'number' ? old.collisionCount : undefined);
  if (collisions) status.collisionCount = collisions;

  let conds = arr(old.conditions).map((c) => rec(c) as unknown as Condition);
  const minAvailable = want - fenceposts(d).unavailable;
  conds =
    available >= minAvailable
      ? setCondition(conds, { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' }, now)
      : setCondition(conds, { type: 'Available', status: 'False', reason: 'MinimumReplicasUnavailable', message: 'Deployment does not have minimum availability.' }, now);

  const name = newSet?.rs.metadata.name ?? '';
  const progressing = conditionOf({ conditions: conds }, 'Progressing');
  let wakeAt: Date | undefined;
  const waitingNodes = [...new Set(olds.flatMap((v) => v.heldNodes))].sort();
  if (spec.paused === true) {
    if (progressing?.reason !== 'DeploymentPaused') conds = setCondition(conds, { type: 'Progressing', status: 'Unknown', reason: 'DeploymentPaused', message: 'Deployment is paused' }, now);
  } else if (progressing?.reason === 'DeploymentPaused') {
    conds = setCondition(conds, { type: 'Progressing', status: 'Unknown', reason: 'DeploymentResumed', message: 'Deployment is resumed' }, now);
  } else if (i.created) {
    conds = setCondition(conds, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetCreated', message: `Created new replica set "${name}"` }, now);
  } else if (typeof spec.progressDeadlineSeconds === 'number') {
    const updated = status.updatedReplicas as number;
    const complete = updated === want && status.replicas === want && available === want && (d.metadata.generation ?? 0) <= (status.observedGeneration as number);
    const alreadyComplete = status.replicas === updated && progressing?.reason === 'NewReplicaSetAvailable';
    if (alreadyComplete) {
      // nothing to estimate: a resync of a finished rollout
    } else if (complete) {
      conds = setCondition(conds, { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${name}" has successfully progressed.` }, now);
    } else {
      const oldOld = num(old, 'replicas') - num(old, 'updatedReplicas');
      const moved =
        updated > num(old, 'updatedReplicas') ||
        (status.replicas as number) - updated < oldOld ||
        (status.readyReplicas as number) > num(old, 'readyReplicas') ||
        available > num(old, 'availableReplicas');
      const waiting = waitingNodes.length ? ` Waiting for nodes that are not ready: ${waitingNodes.join(', ')}.` : '';
      const message = `ReplicaSet "${name}" is progressing.${waiting}`;
      const timedOut = progressing?.reason === 'ProgressDeadlineExceeded';
      if (moved || (waitingNodes.length && !timedOut) || (progressing && progressing.status !== 'False' && progressing.message !== message && !timedOut)) {
        conds = setCondition(conds, { type: 'Progressing', status: 'True', reason: 'ReplicaSetUpdated', message }, now, moved);
      } else if (!timedOut && progressing && !waitingNodes.length) {
        const from = Date.parse(progressing.lastUpdateTime ?? '') || now.getTime();
        const deadline = from + spec.progressDeadlineSeconds * 1000;
        if (now.getTime() > deadline) conds = setCondition(conds, { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: `ReplicaSet "${name}" has timed out progressing.` }, now);
        else wakeAt = new Date(deadline + 1);
      }
    }
  }
  if (conds.length) status.conditions = conds;
  return { status, ...(wakeAt ? { wakeAt } : {}) };
}
