/**
 * The deployment controller's decisions, pure: given a Deployment, its ReplicaSets and how many
 * of each set's pods are held (on nodes that are away, pods.ts), the steps to take now — create
 * the new ReplicaSet, scale sets, carry revisions, drop old sets past revisionHistoryLimit — as
 * Kubernetes' deployment controller takes them (RollingUpdate with maxSurge/maxUnavailable,
 * Recreate, scaling events, pause), with one edge rule:
 *
 *   Held pods of old ReplicaSets are set aside. They count as existing replicas, an old set is
 *   never scaled below its held pods, and the new set never grows past `replicas − held`, so no
 *   replica is recreated elsewhere while its node is away. The rollout runs over the rest with
 *   the same maxSurge/maxUnavailable, then finishes each held replica when its node returns.
 */
import type { KubeObject } from '../../contract/kube/types.js';
import { stableStringify } from '../../lib/json.js';
import { rec, str } from '../kinds/common.js';
import { canonicalTemplate, num, scaledValue, templateHash, type LabelSelector } from '../kinds/workload.js';

export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
export const POD_TEMPLATE_HASH = 'pod-template-hash';
const NOT_COPIED = new Set(['kubectl.kubernetes.io/last-applied-configuration', REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS]);

/** One ReplicaSet as the planner sees it. */
export interface SetView {
  rs: KubeObject;
  /** active pods on nodes that are away, and how many of those were available when last reported */
  held: number;
  heldAvailable: number;
  /** the nodes those held pods are on */
  heldNodes: string[];
}

export type DeploymentStep =
  | { op: 'create'; rs: KubeObject }
  | { op: 'scale'; rs: KubeObject; replicas: number; annotations: Record<string, string> }
  | { op: 'annotate'; rs: KubeObject; annotations: Record<string, string> }
  | { op: 'delete'; rs: KubeObject }
  | { op: 'revision'; revision: string };

export const replicasOf = (rs: KubeObject): number => num(rec(rs.spec), 'replicas');
export const availableOf = (rs: KubeObject): number => num(rec(rs.status), 'availableReplicas');
export const revisionOf = (rs: KubeObject): number => Number(rs.metadata.annotations?.[REVISION] ?? 0) || 0;

/** Two pod templates are the same rollout revision when they differ at most in the pod-template-hash label. */
export function sameTemplate(a: unknown, b: unknown): boolean {
  const strip = (t: unknown) => {
    const c = structuredClone(rec(t) ?? {});
    const labels = rec(rec(c.metadata)?.labels);
    if (labels) delete labels[POD_TEMPLATE_HASH];
    return stableStringify(canonicalTemplate(c));
  };
  return strip(a) === strip(b);
}

/** maxSurge (rounded up) and maxUnavailable (rounded down) in pods, never both 0, as Kubernetes resolves them. */
export function fenceposts(d: KubeObject): { surge: number; unavailable: number } {
  const spec = rec(d.spec) ?? {};
  const replicas = num(spec, 'replicas');
  const strategy = rec(spec.strategy) ?? {};
  if (strategy.type === 'Recreate') return { surge: 0, unavailable: replicas };
  const ru = rec(strategy.rollingUpdate) ?? {};
  const surge = scaledValue(ru.maxSurge ?? '25%', replicas, true);
  let unavailable = scaledValue(ru.maxUnavailable ?? '25%', replicas, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable: Math.min(unavailable, replicas) };
}

/** A new ReplicaSet for the Deployment's template: named and labelled by the template's hash. */
export function newReplicaSet(d: KubeObject, revision: number, collisionCount: number): KubeObject {
  const spec = rec(d.spec) ?? {};
  const template = structuredClone(rec(spec.template) ?? {});
  const hash = templateHash(spec.template, collisionCount);
  const meta = rec(template.metadata) ?? {};
  const labels = { ...((rec(meta.labels) as Record<string, string> | undefined) ?? {}), [POD_TEMPLATE_HASH]: hash };
  template.metadata = { ...meta, labels };
  const sel = (rec(spec.selector) ?? {}) as LabelSelector;
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) if (!NOT_COPIED.has(k)) annotations[k] = v;
  const { surge } = fenceposts(d);
  annotations[REVISION] = String(revision);
  annotations[DESIRED_REPLICAS] = String(num(spec, 'replicas'));
  annotations[MAX_REPLICAS] = String(num(spec, 'replicas') + surge);
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: {
      name: `${d.metadata.name ?? ''}-${hash}`,
      namespace: d.metadata.namespace,
      labels,
      annotations,
      ownerReferences: [{ apiVersion: d.apiVersion, kind: d.kind, name: d.metadata.name ?? '', uid: d.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    spec: {
      replicas: 0,
      minReadySeconds: num(spec, 'minReadySeconds'),
      selector: { ...sel, matchLabels: { ...(sel.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash } },
      template,
    },
  };
}

function scaleStep(d: KubeObject, v: SetView, replicas: number): DeploymentStep {
  const { surge } = fenceposts(d);
  const want = num(rec(d.spec), 'replicas');
  return { op: 'scale', rs: v.rs, replicas, annotations: { [DESIRED_REPLICAS]: String(want), [MAX_REPLICAS]: String(want + surge) } };
}

const active = (v: SetView): boolean => replicasOf(v.rs) > 0;

/** Kubernetes' scaling event: some active set was sized for another replica count. */
export function isScalingEvent(d: KubeObject, sets: SetView[]): boolean {
  const want = String(num(rec(d.spec), 'replicas'));
  return sets.some((v) => active(v) && v.rs.metadata.annotations?.[DESIRED_REPLICAS] !== undefined && v.rs.metadata.annotations[DESIRED_REPLICAS] !== want);
}

/** Resize for a new replica count (Kubernetes' `scale`): one active set takes it all; several share it in proportion. */
export function scaleSteps(d: KubeObject, newSet: SetView | undefined, olds: SetView[]): DeploymentStep[] {
  const want = num(rec(d.spec), 'replicas');
  const all = [...(newSet ? [newSet] : []), ...olds];
  const actives = all.filter(active);
  if (actives.length <= 1) {
    const target = actives[0] ?? newSet ?? olds[olds.length - 1];
    if (!target) return [];
    const steps: DeploymentStep[] = [];
    const replicas = Math.max(want, target === newSet ? 0 : target.held);
    if (replicasOf(target.rs) !== replicas || target.rs.metadata.annotations?.[DESIRED_REPLICAS] !== String(want)) steps.push(scaleStep(d, target, replicas));
    return steps;
  }
  if (newSet && replicasOf(newSet.rs) === want && availableOf(newSet.rs) === want) {
    return olds.filter(active).map((v) => scaleStep(d, v, v.held));
  }
  // several active sets: distribute replicas + maxSurge in proportion to their sizes, newest first
  const allowed = want + fenceposts(d).surge;
  const total = actives.reduce((n, v) => n + replicasOf(v.rs), 0);
  const sizes = new Map(actives.map((v) => [v, total ? Math.floor((replicasOf(v.rs) * allowed) / total) : 0]));
  let left = allowed - [...sizes.values()].reduce((a, b) => a + b, 0);
  for (const v of actives) {
    if (left <= 0) break;
    sizes.set(v, sizes.get(v)! + 1);
    left--;
  }
  return actives.filter((v) => sizes.get(v) !== replicasOf(v.rs) || v.rs.metadata.annotations?.[DESIRED_REPLICAS] !== String(want)).map((v) => scaleStep(d, v, Math.max(sizes.get(v)!, v === newSet ? 0 : v.held)));
}

/** One RollingUpdate step: grow the new set within maxSurge, shrink old ones within maxUnavailable (held pods set aside). */
export function rollingSteps(d: KubeObject, newSet: SetView, olds: SetView[]): DeploymentStep[] {
  const want = num(rec(d.spec), 'replicas');
  const { surge, unavailable } = fenceposts(d);
  const held = olds.reduce((n, v) => n + v.held, 0);
  const wantReachable = Math.max(0, want - held);
  // old sets without their held pods (spec and available)
  const oldSpec = olds.map((v) => Math.max(0, replicasOf(v.rs) - v.held));
  const oldAvail = olds.map((v) => Math.max(0, availableOf(v.rs) - v.heldAvailable));
  const newSpec = replicasOf(newSet.rs);
  const steps: DeploymentStep[] = [];

  // the new set: up to (replicas − held) + maxSurge pods in all, never more than replicas − held of its own
  const current = newSpec + oldSpec.reduce((a, b) => a + b, 0);
  const maxTotal = wantReachable + surge;
  let newTarget = newSpec;
  if (newSpec > want) newTarget = want;
  else if (current < maxTotal) newTarget = Math.min(newSpec + (maxTotal - current), wantReachable);
  if (newTarget !== newSpec) return [scaleStep(d, newSet, newTarget)];

  // old sets: what may go without falling below (replicas − held) − maxUnavailable available pods
  const oldTotal = oldSpec.reduce((a, b) => a + b, 0);
  if (oldTotal === 0) return steps;
  const allPods = newSpec + oldTotal;
  const minAvailable = wantReachable - unavailable;
  const newUnavailable = Math.max(0, newSpec - availableOf(newSet.rs));
  const maxScaledDown = allPods - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return steps;
  const next = [...oldSpec];
  // unhealthy old pods go first (they serve nothing), oldest sets first
  let cleaned = 0;
  for (let i = 0; i < olds.length && cleaned < maxScaledDown; i++) {
    const unhealthy = Math.max(0, next[i]! - oldAvail[i]!);
    const n = Math.min(unhealthy, maxScaledDown - cleaned);
    next[i]! -= n;
    cleaned += n;
  }
  // then available ones, as far as the availability floor allows
  const available = availableOf(newSet.rs) + oldAvail.reduce((a, b) => a + b, 0);
  let room = Math.min(available - minAvailable, maxScaledDown - cleaned);
  for (let i = 0; i < olds.length && room > 0; i++) {
    const n = Math.min(next[i]!, room);
    next[i]! -= n;
    room -= n;
  }
  olds.forEach((v, i) => {
    if (next[i] !== oldSpec[i]) steps.push(scaleStep(d, v, next[i]! + v.held));
  });
  return steps;
}

/** Recreate: old sets down to their held pods, wait until their other pods are gone, then the new set up. */
export function recreateSteps(d: KubeObject, newSet: SetView, olds: SetView[], oldPodsLeft: number): DeploymentStep[] {
  const down = olds.filter((v) => replicasOf(v.rs) > v.held).map((v) => scaleStep(d, v, v.held));
  if (down.length || oldPodsLeft > 0) return down;
  const held = olds.reduce((n, v) => n + v.held, 0);
  const target = Math.max(0, num(rec(d.spec), 'replicas') - held);
  return replicasOf(newSet.rs) === target ? [] : [scaleStep(d, newSet, target)];
}

/** Old sets with nothing left, beyond revisionHistoryLimit, oldest first. */
export function cleanupSteps(d: KubeObject, olds: SetView[]): DeploymentStep[] {
  const limit = num(rec(d.spec), 'revisionHistoryLimit');
  const empty = olds.filter((v) => replicasOf(v.rs) === 0 && num(rec(v.rs.status), 'replicas') === 0 && !v.rs.metadata.deletionTimestamp);
  const extra = empty.length - limit;
  return extra > 0 ? empty.slice(0, extra).map((v) => ({ op: 'delete', rs: v.rs })) : [];
}

/** The new set takes the next revision (a rollback makes an old template the newest revision). */
export function revisionSteps(d: KubeObject, newSet: SetView, olds: SetView[]): DeploymentStep[] {
  const steps: DeploymentStep[] = [];
  const maxOld = Math.max(0, ...olds.map((v) => revisionOf(v.rs)));
  const mine = revisionOf(newSet.rs);
  let revision = mine;
  if (mine <= maxOld) {
    revision = maxOld + 1;
    const history = [newSet.rs.metadata.annotations?.[REVISION_HISTORY], mine ? String(mine) : ''].filter(Boolean).join(',');
    const annotations: Record<string, string> = { [REVISION]: String(revision), ...(history ? { [REVISION_HISTORY]: history } : {}) };
    for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) if (!NOT_COPIED.has(k)) annotations[k] = v;
    steps.push({ op: 'annotate', rs: newSet.rs, annotations });
  }
  if (str(d.metadata.annotations?.[REVISION]) !== String(revision)) steps.push({ op: 'revision', revision: String(revision) });
  return steps;
}
