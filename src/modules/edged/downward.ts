/**
 * What a pod may read about itself and its node (pure): Downward API field and resource values
 * (env and downwardAPI volume files), and whether the pod fits this node at all (nodeSelector,
 * required node affinity), as the kubelet decides at admission.
 */
import { termMatches } from '../../contract/kube/node-affinity.js';
import { cpuToNano, memoryToBytes } from '../../contract/resources/common.js';
import { SUBSCRIPT_PATH, type Container, type DownwardFile, type Pod, type ResourceFieldRef } from '../../contract/resources/pod.js';
import type { RuntimeField } from './env.js';

/** The node as pods see it. */
export interface NodeInfo {
  name: string;
  /** well-known labels (kubernetes.io/hostname, os, arch) and the configured ones */
  labels: Record<string, string>;
  /** allocatable: what an unset limit reads as */
  cpus: number;
  memoryBytes: number;
  storageBytes: number;
}

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', riscv64: 'riscv64', ppc64: 'ppc64le', s390x: 's390x' };

/** The labels Kubernetes puts on every node, then the configured ones (which win). */
export function nodeLabels(name: string, arch: string, configured: Record<string, string>): Record<string, string> {
  return {
    'kubernetes.io/hostname': name,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': ARCH[arch] ?? arch,
    'node-role.kubernetes.io/edge': '',
    ...configured,
  };
}

export const serviceAccountOf = (pod: Pod): string => pod.spec.serviceAccountName ?? pod.spec.serviceAccount ?? 'default';

/** A fieldRef's value, or the runtime field it names (filled in when the container is created). */
export function fieldValue(pod: Pod, uid: string, path: string, node: NodeInfo): string | { field: RuntimeField } {
  const sub = SUBSCRIPT_PATH.exec(path);
  if (sub) return (sub[1] === 'labels' ? pod.metadata.labels : pod.metadata.annotations)?.[sub[2]!] ?? '';
  switch (path) {
    case 'metadata.name':
      return pod.metadata.name;
    case 'metadata.namespace':
      return pod.metadata.namespace;
    case 'metadata.uid':
      return pod.metadata.uid ?? uid;
    case 'metadata.labels':
      return formatMap(pod.metadata.labels);
    case 'metadata.annotations':
      return formatMap(pod.metadata.annotations);
    case 'spec.nodeName':
      return pod.spec.nodeName ?? node.name;
    case 'spec.serviceAccountName':
      return serviceAccountOf(pod);
    case 'status.podIP':
    case 'status.podIPs':
    case 'status.hostIP':
    case 'status.hostIPs':
      return { field: path };
    default:
      return '';
  }
}

/** Labels/annotations as a downwardAPI file: `key="value"` lines, sorted by key. */
function formatMap(m: Record<string, string> | undefined): string {
  return Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m![k])}\n`)
    .join('');
}

/**
 * A resourceFieldRef's value, as Kubernetes computes it: the quantity divided by the divisor,
 * rounded up. An unset limit reads as the node's allocatable amount; an unset request as the
 * limit if one is set, else 0.
 */
export function resourceValue(pod: Pod, self: Container, ref: ResourceFieldRef, node: NodeInfo): string {
  const c = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].find((x) => x.name === (ref.containerName || self.name)) ?? self;
  const [kind, what] = ref.resource.split('.') as ['limits' | 'requests', 'cpu' | 'memory' | 'ephemeral-storage'];
  const limits = c.resources?.limits;
  const requests = c.resources?.requests;
  if (what === 'cpu') {
    const set = kind === 'limits' ? limits?.cpu : (requests?.cpu ?? limits?.cpu);
    const milli = set !== undefined ? (cpuToNano(set) ?? 0) / 1e6 : kind === 'limits' ? node.cpus * 1000 : 0;
    const div = (cpuToNano(ref.divisor ?? 1) ?? 1e9) / 1e6;
    return String(Math.ceil(milli / div));
  }
  const setBytes = what === 'memory' ? (kind === 'limits' ? limits?.memory : (requests?.memory ?? limits?.memory)) : undefined;
  const bytes = setBytes !== undefined ? (memoryToBytes(setBytes) ?? 0) : kind === 'limits' ? (what === 'memory' ? node.memoryBytes : node.storageBytes) : 0;
  const div = memoryToBytes(ref.divisor ?? 1) ?? 1;
  return String(Math.ceil(bytes / div));
}

/** The files of a downwardAPI volume: path → content and mode. */
export function downwardFiles(pod: Pod, uid: string, items: readonly DownwardFile[], defaultMode: number, node: NodeInfo): Map<string, { data: Buffer; mode: number }> {
  const out = new Map<string, { data: Buffer; mode: number }>();
  for (const it of items) {
    let v = '';
    if (it.fieldRef) {
      const f = fieldValue(pod, uid, it.fieldRef.fieldPath, node);
      v = typeof f === 'string' ? f : '';
    } else if (it.resourceFieldRef) {
      const c = [...pod.spec.containers, ...(pod.spec.initContainers ?? [])].find((x) => x.name === it.resourceFieldRef!.containerName)!;
      v = resourceValue(pod, c, it.resourceFieldRef, node);
    }
    out.set(it.path, { data: Buffer.from(v, 'utf8'), mode: it.mode ?? defaultMode });
  }
  return out;
}

/**
 * Why the pod cannot run on this node (its nodeSelector or required node affinity does not match
 * the node's labels), or undefined. Kubernetes' kubelet refuses such a pod the same way.
 */
export function unfitReason(pod: Pod, node: NodeInfo): { reason: string; message: string } | undefined {
  const labels = node.labels;
  const fail = (why: string) => ({ reason: 'NodeAffinity', message: `Pod Predicate NodeAffinity failed: ${why}` });
  for (const [k, v] of Object.entries(pod.spec.nodeSelector ?? {})) {
    if (labels[k] !== v) return fail(`nodeSelector ${k}=${v} does not match node ${node.name} (${k}=${labels[k] ?? '<unset>'})`);
  }
  const terms = pod.spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  if (terms) {
    // An empty term matches nothing (as in Kubernetes).
    const fits = terms.some((t) => termMatches(t, labels, node.name));
    if (!fits) return fail(`no required node affinity term matches node ${node.name}`);
  }
  return undefined;
}
