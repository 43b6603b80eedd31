/**
 * The ReplicaSet controller's decisions, pure: how many pods to create, which to delete, and the
 * status (replicas, fullyLabeled, ready, available, observedGeneration) — Kubernetes' rules, plus
 * the edge rule that a held pod (on a node that is away, pods.ts) is deleted last: scaling down
 * takes pods the relay can reach first.
 */
import type { KubeObject } from '../../contract/kube/types.js';
import { rec } from '../kinds/common.js';
import { num, templateLabels } from '../kinds/workload.js';
import { availableAt, earliest, isActive, isAvailable, isHeld, isReady, nodeNameOf, phaseOf, podCondition, type NodeLookup } from './pods.js';

export interface ReplicaSetPlan {
  /** pods to create from the template */
  create: number;
  /** pods to delete, in this order */
  delete: KubeObject[];
  /** the status to write (unchanged fields included) */
  status: Record<string, unknown>;
  /** look again then (a ready pod becomes available after minReadySeconds) */
  wakeAt?: Date;
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/**
 * Pods in the order a scale-down deletes them (Kubernetes' ActivePodsWithRanks, held pods last):
 * unbound before bound, Pending before Unknown before Running, not ready before ready, more
 * pods of this set on the same node first, ready for a shorter time first, more restarts first,
 * newer first.
 */
export function deletionOrder(pods: KubeObject[], nodes: NodeLookup): KubeObject[] {
  const perNode = new Map<string, number>();
  for (const p of pods) perNode.set(nodeNameOf(p), (perNode.get(nodeNameOf(p)) ?? 0) + 1);
  const restarts = (p: KubeObject): number => ((rec(p.status)?.containerStatuses as { restartCount?: number }[] | undefined) ?? []).reduce((n, c) => n + (c.restartCount ?? 0), 0);
  const readySince = (p: KubeObject): number => Date.parse(podCondition(p, 'Ready')?.lastTransitionTime ?? '') || 0;
  const keys = (p: KubeObject): number[] => [
    isHeld(p, nodes) ? 1 : 0,
    nodeNameOf(p) ? 1 : 0,
    PHASE_RANK[phaseOf(p)] ?? 0,
    isReady(p) ? 1 : 0,
    -(perNode.get(nodeNameOf(p)) ?? 0),
    isReady(p) ? -readySince(p) : 0,
    -restarts(p),
    -(Date.parse(p.metadata.creationTimestamp ?? '') || 0),
  ];
  return [...pods].sort((a, b) => {
    const ka = keys(a);
    const kb = keys(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!;
    return 0;
  });
}

/** Counts of a set's pods as its status reports them, and when the next one becomes available. */
export function replicaCounts(template: unknown, pods: KubeObject[], minReadySeconds: number, now: Date) {
  const labels = templateLabels(template);
  const active = pods.filter(isActive);
  let wakeAt: Date | undefined;
  let available = 0;
  for (const p of active) {
    if (isAvailable(p, minReadySeconds, now)) available++;
    else wakeAt = earliest(wakeAt, availableAt(p, minReadySeconds));
  }
  return {
    replicas: active.length,
    fullyLabeledReplicas: active.filter((p) => Object.entries(labels).every(([k, v]) => p.metadata.labels?.[k] === v)).length,
    readyReplicas: active.filter(isReady).length,
    availableReplicas: available,
    terminatingReplicas: pods.filter((p) => !!p.metadata.deletionTimestamp && !['Succeeded', 'Failed'].includes(phaseOf(p))).length,
    wakeAt,
  };
}

export function planReplicaSet(rs: KubeObject, pods: KubeObject[], nodes: NodeLookup, now: Date): ReplicaSetPlan {
  const spec = rec(rs.spec) ?? {};
  const want = num(spec, 'replicas');
  const active = pods.filter(isActive);
  const c = replicaCounts(spec.template, pods, num(spec, 'minReadySeconds'), now);
  const old = rec(rs.status) ?? {};
  const status: Record<string, unknown> = {
    replicas: c.replicas,
    fullyLabeledReplicas: c.fullyLabeledReplicas,
    readyReplicas: c.readyReplicas,
    availableReplicas: c.availableReplicas,
    observedGeneration: rs.metadata.generation ?? 0,
    ...(old.conditions ? { conditions: old.conditions } : {}),
  };
  const diff = active.length - want;
  return {
    create: diff < 0 ? -diff : 0,
    delete: diff > 0 ? deletionOrder(active, nodes).slice(0, diff) : [],
    status,
    ...(c.wakeAt ? { wakeAt: c.wakeAt } : {}),
  };
}
