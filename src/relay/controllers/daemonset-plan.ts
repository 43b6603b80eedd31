/**
 * The daemonset controller's decisions, pure: which nodes should run the daemon pod
 * (nodeSelector, required node affinity, tolerations — with the tolerations Kubernetes adds to
 * daemon pods), which pods to create, which to delete (extras, misplaced, failed, and old
 * revisions under RollingUpdate within maxUnavailable), and the status kubectl shows.
 *
 * Edge rules: a node that is away (not Ready) still counts as one that should run the pod, so
 * `desiredNumberScheduled` does not shrink in an outage; its pod is held (never deleted for an
 * update, never counted against maxUnavailable) and is updated when the node returns — which is
 * when `kubectl rollout status` stops waiting. New pods go only to nodes the scheduler may use.
 * A node gets its new pod once its old one is gone (no two daemon pods on one board).
 */
import type { KubeObject } from '../../contract/kube/types.js';
import { arr, rec, str, type Obj } from '../kinds/common.js';
import { TAINT_UNSCHEDULABLE } from '../kinds/node-lifecycle.js';
import { TAINT_NOT_READY, TAINT_UNREACHABLE } from '../kinds/pod.js';
import { num, scaledValue } from '../kinds/workload.js';
import { availableAt, earliest, isAvailable, isReady, isTerminal, nodeNameOf, nodeReady, phaseOf } from './pods.js';
import { matchesNode, nodeTaints, untolerated, type Taint, type Toleration } from './scheduler/predicates.js';

export const REVISION_HASH = 'controller-revision-hash';
export const TEMPLATE_GENERATION = 'pod-template-generation';

/** The tolerations Kubernetes gives every daemon pod (it must run where ordinary pods may not). */
export function daemonTolerations(spec: Obj | undefined): Toleration[] {
  const out: Toleration[] = [
    { key: TAINT_NOT_READY, operator: 'Exists', effect: 'NoExecute' },
    { key: TAINT_UNREACHABLE, operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: TAINT_UNSCHEDULABLE, operator: 'Exists', effect: 'NoSchedule' },
  ];
  if (spec?.hostNetwork === true) out.push({ key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' });
  const own = arr(spec?.tolerations).map((t) => rec(t) as Toleration);
  return [...own, ...out.filter((t) => !own.some((o) => o.key === t.key && o.effect === t.effect))];
}

/** The node a daemon pod is for: its nodeName, else the metadata.name its node affinity requires. */
export function targetNode(pod: KubeObject): string {
  const bound = nodeNameOf(pod);
  if (bound) return bound;
  for (const t of arr(rec(rec(rec(rec(pod.spec)?.affinity)?.nodeAffinity)?.requiredDuringSchedulingIgnoredDuringExecution)?.nodeSelectorTerms)) {
    for (const f of arr(rec(t)?.matchFields)) {
      const r = rec(f);
      if (r?.key === 'metadata.name' && r.operator === 'In') return str(arr(r.values)[0]);
    }
  }
  return '';
}

const LIFECYCLE = new Set([TAINT_NOT_READY, TAINT_UNREACHABLE]);

/** shouldRun (the node is one of the set's, away or not), place (a new pod may go there now), keep (a pod there may stay). */
export function nodeFit(spec: Obj | undefined, node: KubeObject): { shouldRun: boolean; place: boolean; keep: boolean } {
  if (!matchesNode(spec, node) || node.metadata.deletionTimestamp) return { shouldRun: false, place: false, keep: false };
  const tol = daemonTolerations(spec);
  const taints = nodeTaints(node);
  const keep = !untolerated(tol, taints, ['NoExecute']);
  const place = !untolerated(tol, taints, ['NoSchedule', 'NoExecute']);
  const away = nodeReady(node) !== 'True';
  const shouldRun = place || (away && keep && !untolerated(tol, taints.filter((t: Taint) => !LIFECYCLE.has(t.key)), ['NoSchedule']));
  return { shouldRun, place, keep };
}

export interface DaemonSetPlan {
  /** nodes that get a new pod */
  create: string[];
  delete: KubeObject[];
  status: Record<string, unknown>;
  wakeAt?: Date;
}

export function planDaemonSet(ds: KubeObject, nodes: KubeObject[], pods: KubeObject[], hash: string, now: Date): DaemonSetPlan {
  const spec = rec(ds.spec) ?? {};
  const template = rec(spec.template) ?? {};
  const podSpec = rec(template.spec);
  const minReady = num(spec, 'minReadySeconds');
  const byNode = new Map<string, KubeObject[]>();
  for (const p of pods) {
    const n = targetNode(p);
    byNode.set(n, [...(byNode.get(n) ?? []), p]);
  }
  const create: string[] = [];
  const del: KubeObject[] = [];
  let desired = 0;
  let current = 0;
  let misscheduled = 0;
  let ready = 0;
  let updated = 0;
  let available = 0;
  let wakeAt: Date | undefined;
  // rolling update candidates: nodes whose one running pod is of an old revision
  const old: { pod: KubeObject; available: boolean }[] = [];
  let unavailable = 0;
  const known = new Set(nodes.map((n) => n.metadata.name ?? ''));
  for (const node of nodes) {
    const name = node.metadata.name ?? '';
    const fit = nodeFit(podSpec, node);
    const mine = byNode.get(name) ?? [];
    const running = mine.filter((p) => !p.metadata.deletionTimestamp && !isTerminal(p));
    const leaving = mine.filter((p) => p.metadata.deletionTimestamp && !isTerminal(p));
    for (const p of mine) if (phaseOf(p) === 'Failed' && !p.metadata.deletionTimestamp) del.push(p);
    const away = nodeReady(node) !== 'True';
    if (!fit.shouldRun) {
      if (running.length) misscheduled++;
      if (!fit.keep) del.push(...running);
      continue;
    }
    desired++;
    if (!running.length) {
      unavailable++;
      if (fit.place && !leaving.length) create.push(name);
      continue;
    }
    current++;
    const sorted = [...running].sort((a, b) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? ''));
    const keep = sorted.find((p) => p.metadata.labels?.[REVISION_HASH] === hash) ?? sorted[0]!;
    if (!away) del.push(...sorted.filter((p) => p !== keep));
    const isNew = keep.metadata.labels?.[REVISION_HASH] === hash;
    const avail = isAvailable(keep, minReady, now);
    if (isReady(keep)) ready++;
    if (isNew) updated++;
    if (avail) available++;
    else {
      if (!away) unavailable++;
      wakeAt = earliest(wakeAt, availableAt(keep, minReady));
    }
    if (!isNew && !away) old.push({ pod: keep, available: avail });
  }
  // pods on nodes that no longer exist
  for (const [n, ps] of byNode) if (n && !known.has(n)) del.push(...ps.filter((p) => !p.metadata.deletionTimestamp));
  const strategy = rec(spec.updateStrategy) ?? {};
  if (strategy.type !== 'OnDelete') {
    const maxUnavailable = Math.max(1, scaledValue(rec(strategy.rollingUpdate)?.maxUnavailable ?? 1, desired, true));
    // old pods that are not available anyway go first; then as many as the budget allows
    for (const o of old.filter((x) => !x.available)) del.push(o.pod);
    let budget = maxUnavailable - unavailable;
    for (const o of old.filter((x) => x.available)) {
      if (budget <= 0) break;
      del.push(o.pod);
      budget--;
    }
  }
  const status: Record<string, unknown> = {
    currentNumberScheduled: current,
    numberMisscheduled: misscheduled,
    desiredNumberScheduled: desired,
    numberReady: ready,
    observedGeneration: ds.metadata.generation ?? 0,
    updatedNumberScheduled: updated,
    numberAvailable: available,
    ...(desired - available > 0 ? { numberUnavailable: desired - available } : {}),
  };
  const prev = rec(ds.status) ?? {};
  if (prev.collisionCount !== undefined) status.collisionCount = prev.collisionCount;
  if (prev.conditions !== undefined) status.conditions = prev.conditions;
  return { create, delete: [...new Set(del)], status, ...(wakeAt ? { wakeAt } : {}) };
}

/** A daemon pod for `node`: the template, its revision labels, the node as its required affinity, the daemon tolerations. */
export function daemonPod(ds: KubeObject, node: string, hash: string, base: KubeObject): KubeObject {
  const spec = rec(base.spec) ?? {};
  const affinity = rec(spec.affinity) ?? {};
  const nodeAffinity = { ...(rec(affinity.nodeAffinity) ?? {}) };
  nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [node] }] }] };
  return {
    ...base,
    metadata: { ...base.metadata, labels: { ...(base.metadata.labels ?? {}), [REVISION_HASH]: hash, [TEMPLATE_GENERATION]: String(ds.metadata.generation ?? 1) } },
    spec: { ...spec, affinity: { ...affinity, nodeAffinity }, tolerations: daemonTolerations(spec) },
  };
}
