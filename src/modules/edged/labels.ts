/**
 * Ownership of Docker objects: every container edged creates carries `io.edgecore.*` labels and a
 * deterministic name. Containers without `io.edgecore.managed=true` are never touched. The name
 * includes the pod uid, the role, the container and the attempt, so a create repeated after a
 * crash collides (409) instead of duplicating.
 */
import { createHash } from 'node:crypto';
import { stableStringify } from '../../lib/json.js';

export const LABEL = {
  managed: 'io.edgecore.managed',
  node: 'io.edgecore.node',
  podUid: 'io.edgecore.pod.uid',
  namespace: 'io.edgecore.pod.namespace',
  podName: 'io.edgecore.pod.name',
  role: 'io.edgecore.role',
  container: 'io.edgecore.container',
  attempt: 'io.edgecore.attempt',
  /** the container's restart count (Kubernetes' restartCount) when it was created */
  restarts: 'io.edgecore.restarts',
  hash: 'io.edgecore.hash',
  grace: 'io.edgecore.grace',
} as const;

export type Role = 'sandbox' | 'init' | 'app';

export const MANAGED_FILTER = `${LABEL.managed}=true`;
/** Several nodes may share one engine (tests, development): each manages only its own. */
export const nodeFilter = (node: string): string => `${LABEL.node}=${node}`;

export function hashOf(v: unknown): string {
  return createHash('sha256').update(stableStringify(v)).digest('hex').slice(0, 16);
}

export interface PodIdentity {
  namespace: string;
  name: string;
  uid: string;
  /** the node that owns the pod (label only) */
  node?: string;
}

export function containerName(pod: PodIdentity, role: Role, container: string, attempt: number): string {
  const u = pod.uid.replace(/[^a-zA-Z0-9]/g, '').slice(0, 8);
  const r = role === 'sandbox' ? 'sandbox' : role === 'init' ? `i_${container}` : `c_${container}`;
  return `edgecore_${pod.namespace}_${pod.name}_${u}_${r}_${attempt}`;
}

export function labelsFor(pod: PodIdentity, role: Role, container: string, attempt: number, hash: string, graceSeconds: number, restarts = 0): Record<string, string> {
  return {
    [LABEL.managed]: 'true',
    ...(pod.node ? { [LABEL.node]: pod.node } : {}),
    [LABEL.podUid]: pod.uid,
    [LABEL.namespace]: pod.namespace,
    [LABEL.podName]: pod.name,
    [LABEL.role]: role,
    [LABEL.container]: container,
    [LABEL.attempt]: String(attempt),
    [LABEL.restarts]: String(restarts),
    [LABEL.hash]: hash,
    [LABEL.grace]: String(graceSeconds),
  };
}
