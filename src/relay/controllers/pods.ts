/**
 * What the workload controllers read off pods and nodes (pure): ownership, phase, readiness and
 * availability as Kubernetes' controllers judge them, node readiness, and the edge rule every
 * workload controller shares — a pod on a node that is not Ready is **held**: it keeps counting
 * as the replica it was (its status as the node last reported it), and no controller deletes,
 * replaces or moves it while its node is away. Only its own tolerations can end that (the taint
 * eviction controller deletes a pod whose tolerationSeconds ran out), and then it is no longer
 * held.
 */
import type { KubeObject, OwnerReference } from '../../contract/kube/types.js';
import { arr, rec, str } from '../kinds/common.js';
import { templateLabels } from '../kinds/workload.js';

export const PODS = { group: '', resource: 'pods' };
export const NODES = { group: '', resource: 'nodes' };

export interface PodCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export function controllerRef(o: KubeObject): OwnerReference | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller === true);
}

export function ownerReference(owner: KubeObject): OwnerReference {
  return { apiVersion: owner.apiVersion, kind: owner.kind, name: owner.metadata.name ?? '', uid: owner.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}

export const phaseOf = (pod: KubeObject): string => str(rec(pod.status)?.phase);
export const nodeNameOf = (pod: KubeObject): string => str(rec(pod.spec)?.nodeName);
export const isTerminal = (pod: KubeObject): boolean => ['Succeeded', 'Failed'].includes(phaseOf(pod));
/** Not finished and not being deleted: what a ReplicaSet counts as one of its replicas. */
export const isActive = (pod: KubeObject): boolean => !isTerminal(pod) && !pod.metadata.deletionTimestamp;

export function podCondition(pod: KubeObject, type: string): PodCondition | undefined {
  return arr(rec(pod.status)?.conditions).map((c) => rec(c) as PodCondition | undefined).find((c) => c?.type === type);
}

export const isReady = (pod: KubeObject): boolean => podCondition(pod, 'Ready')?.status === 'True';

/** When a ready pod becomes available (Ready for minReadySeconds), or undefined when it is not ready. */
export function availableAt(pod: KubeObject, minReadySeconds: number): Date | undefined {
  const c = podCondition(pod, 'Ready');
  if (c?.status !== 'True') return undefined;
  const since = Date.parse(c.lastTransitionTime ?? '');
  if (minReadySeconds <= 0 || Number.isNaN(since)) return new Date(0);
  return new Date(since + minReadySeconds * 1000);
}

export function isAvailable(pod: KubeObject, minReadySeconds: number, now: Date): boolean {
  const at = availableAt(pod, minReadySeconds);
  return !!at && at.getTime() <= now.getTime();
}

/** The node's Ready condition status ('True', 'False', 'Unknown'), or undefined without one. */
export function nodeReady(node: KubeObject | undefined): string | undefined {
  return arr(rec(node?.status)?.conditions).map(rec).find((c) => c?.type === 'Ready')?.status as string | undefined;
}

/** Pods as the edge rule sees them: which nodes are away. */
export interface NodeLookup {
  get(name: string): KubeObject | undefined;
}

/**
 * A held pod: active, bound to a node that exists and is not Ready. Controllers count it as the
 * replica it was and never act on it until its node is back (see the file comment).
 */
export function isHeld(pod: KubeObject, nodes: NodeLookup): boolean {
  const node = nodeNameOf(pod);
  if (!node || !isActive(pod)) return false;
  const n = nodes.get(node);
  return !!n && nodeReady(n) !== 'True';
}

/** A pod made from a template for `owner`: template labels and annotations, the owner as its controller. */
export function podFromTemplate(template: unknown, owner: KubeObject, extra: { labels?: Record<string, string>; generateName?: string; finalizers?: string[] } = {}): KubeObject {
  const t = rec(template) ?? {};
  const meta = rec(t.metadata) ?? {};
  const annotations = rec(meta.annotations) as Record<string, string> | undefined;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: extra.generateName ?? `${owner.metadata.name ?? 'pod'}-`,
      namespace: owner.metadata.namespace,
      labels: { ...templateLabels(template), ...(extra.labels ?? {}) },
      ...(annotations && Object.keys(annotations).length ? { annotations: { ...annotations } } : {}),
      ownerReferences: [ownerReference(owner)],
      ...(extra.finalizers?.length ? { finalizers: extra.finalizers } : {}),
    },
    spec: structuredClone(t.spec ?? {}),
  };
}

/** Pods controlled by `owner` (its uid as their controller reference). */
export function podsOf(owner: KubeObject, pods: Iterable<KubeObject>): KubeObject[] {
  const uid = owner.metadata.uid;
  const out: KubeObject[] = [];
  for (const p of pods) if (p.metadata.namespace === owner.metadata.namespace && controllerRef(p)?.uid === uid) out.push(p);
  return out;
}

/** The earliest of some optional times. */
export function earliest(...ts: (Date | undefined)[]): Date | undefined {
  let out: Date | undefined;
  for (const t of ts) if (t && (!out || t < out)) out = t;
  return out;
}

export const iso = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
