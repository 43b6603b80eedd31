/**
 * Where a pod may run, as kube-scheduler's filters judge it (pure; the scheduler and the
 * daemonset controller share them): cordoned nodes, taints and tolerations, nodeSelector and
 * required node affinity (In, NotIn, Exists, DoesNotExist, Gt, Lt; matchFields on
 * metadata.name), and resource requests against the node's allocatable. Each failing filter gives
 * kube-scheduler's reason text, so a pod that fits nowhere can say why in its words.
 */
import { type NodeRequirement, termMatches as nodeTermMatches } from '../../../contract/kube/node-affinity.js';
import type { KubeObject } from '../../../contract/kube/types.js';
import { cpuToNano, memoryToBytes } from '../../../contract/resources/common.js';
import { arr, rec, str, type Obj } from '../../kinds/common.js';
import { TAINT_UNSCHEDULABLE } from '../../kinds/node-lifecycle.js';
import { TAINT_NOT_READY, TAINT_UNREACHABLE } from '../../kinds/pod.js';
import { nodeReady } from '../pods.js';

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export interface Resources {
  cpu: number;
  memory: number;
  pods: number;
}

export const tolerationsOf = (spec: Obj | undefined): Toleration[] => arr(spec?.tolerations).map((t) => (rec(t) ?? {}) as Toleration);

/** Kubernetes' ToleratesTaint. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  if (t.operator === 'Exists') return true;
  return (t.value ?? '') === (taint.value ?? '');
}

/**
 * The node's taints, with the lifecycle ones its Ready condition implies added when missing (a
 * node link that writes them makes this a no-op): not-ready for False, unreachable for Unknown.
 */
export function nodeTaints(node: KubeObject): Taint[] {
  const out = arr(rec(node.spec)?.taints).map((t) => rec(t) as unknown as Taint);
  const ready = nodeReady(node);
  const implied = ready === 'False' ? TAINT_NOT_READY : ready === 'Unknown' ? TAINT_UNREACHABLE : undefined;
  if (implied) for (const effect of ['NoSchedule', 'NoExecute']) if (!out.some((t) => t.key === implied && t.effect === effect)) out.push({ key: implied, effect });
  return out;
}

/** The first taint of `effects` no toleration covers. */
export function untolerated(tolerations: Toleration[], taints: Taint[], effects: readonly string[]): Taint | undefined {
  return taints.find((taint) => effects.includes(taint.effect) && !tolerations.some((t) => tolerates(t, taint)));
}

/** A NodeSelectorTerm of a pod spec read from the API (src/contract/kube/node-affinity.ts). */
export function termMatches(term: unknown, node: KubeObject): boolean {
  const t = rec(term) ?? {};
  const reqs = (v: unknown) => arr(v).map((e) => rec(e) as unknown as NodeRequirement);
  return nodeTermMatches({ matchExpressions: reqs(t.matchExpressions), matchFields: reqs(t.matchFields) }, node.metadata.labels ?? {}, node.metadata.name ?? '');
}

/** nodeSelector and required node affinity (terms OR'ed): kube-scheduler's NodeAffinity filter. */
export function matchesNode(spec: Obj | undefined, node: KubeObject): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(rec(spec?.nodeSelector) ?? {})) if (labels[k] !== v) return false;
  const required = rec(rec(rec(spec?.affinity)?.nodeAffinity)?.requiredDuringSchedulingIgnoredDuringExecution);
  if (!required) return true;
  return arr(required.nodeSelectorTerms).some((t) => termMatches(t, node));
}

/** The weights of the preferred node affinity terms the node matches. */
export function preferredScore(spec: Obj | undefined, node: KubeObject): number {
  let n = 0;
  for (const p of arr(rec(rec(spec?.affinity)?.nodeAffinity)?.preferredDuringSchedulingIgnoredDuringExecution)) {
    const o = rec(p) ?? {};
    if (termMatches(o.preference, node)) n += typeof o.weight === 'number' ? o.weight : 0;
  }
  return n;
}

function quantity(v: unknown, parse: (q: string | number) => number | undefined): number {
  return typeof v === 'string' || typeof v === 'number' ? (parse(v) ?? 0) : 0;
}

/** A pod's requests: the containers' sum, or the largest init container's when larger (as Kubernetes counts). */
export function podRequests(spec: Obj | undefined): Resources {
  const req = (c: unknown) => rec(rec(rec(c)?.resources)?.requests) ?? {};
  let cpu = 0;
  let memory = 0;
  for (const c of arr(spec?.containers)) {
    cpu += quantity(req(c).cpu, cpuToNano);
    memory += quantity(req(c).memory, memoryToBytes);
  }
  for (const c of arr(spec?.initContainers)) {
    cpu = Math.max(cpu, quantity(req(c).cpu, cpuToNano));
    memory = Math.max(memory, quantity(req(c).memory, memoryToBytes));
  }
  return { cpu, memory, pods: 1 };
}

/** What a node offers (status.allocatable, else capacity); a resource it does not state is unlimited. */
export function allocatable(node: KubeObject): Resources {
  const s = rec(node.status) ?? {};
  const a = rec(s.allocatable) ?? rec(s.capacity) ?? {};
  const or = (v: unknown, parse: (q: string | number) => number | undefined) => (v === undefined ? Number.POSITIVE_INFINITY : quantity(v, parse));
  return { cpu: or(a.cpu, cpuToNano), memory: or(a.memory, memoryToBytes), pods: a.pods === undefined ? Number.POSITIVE_INFINITY : Number(str(a.pods) || a.pods) || 0 };
}

/** kube-scheduler's reasons a node cannot take `want` on top of `used` (none: it fits). */
export function insufficient(want: Resources, used: Resources, alloc: Resources): string[] {
  const out: string[] = [];
  if (used.pods + 1 > alloc.pods) out.push('Too many pods');
  if (want.cpu > 0 && used.cpu + want.cpu > alloc.cpu) out.push('Insufficient cpu');
  if (want.memory > 0 && used.memory + want.memory > alloc.memory) out.push('Insufficient memory');
  return out;
}

/**
 * Why `pod` cannot go to `node` (kube-scheduler's filter order and words), or [] when it can.
 * Resources are left to the caller (it knows what the node already runs).
 */
export function filterReasons(spec: Obj | undefined, node: KubeObject): string[] {
  const tolerations = tolerationsOf(spec);
  if (rec(node.spec)?.unschedulable === true && !tolerations.some((t) => tolerates(t, { key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' }))) return ['node(s) were unschedulable'];
  const taint = untolerated(tolerations, nodeTaints(node), ['NoSchedule', 'NoExecute']);
  if (taint) return [`node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`];
  if (!matchesNode(spec, node)) return ["node(s) didn't match Pod's node affinity/selector"];
  return [];
}

/** kube-scheduler's summary: `0/3 nodes are available: 1 node(s) didn't match …, 2 node(s) had untolerated taint {…}.` */
export function fitErrorMessage(nodeCount: number, reasons: Map<string, number>): string {
  const parts = [...reasons].map(([r, n]) => `${n} ${r}`).sort();
  return `0/${nodeCount} nodes are available${parts.length ? `: ${parts.join(', ')}` : ''}.`;
}
