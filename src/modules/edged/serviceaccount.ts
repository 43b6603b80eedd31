/**
 * In-cluster access for pods: unless `automountServiceAccountToken: false`, each container gets
 * what Kubernetes' in-cluster config reads — a token, the CA and the namespace under
 * /var/run/secrets/kubernetes.io/serviceaccount (read-only), and KUBERNETES_SERVICE_HOST/PORT
 * pointing at the node's MetaServer (loopback for host-network pods, the pod network's address
 * for the others). The token and CA come from metamanager (`serviceaccount.issue`).
 */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Pod } from '../../contract/resources/pod.js';
import type { NodeReplies } from '../../node/messages.js';
import { podDir } from './volumes.js';

export const SA_MOUNT_PATH = '/var/run/secrets/kubernetes.io/serviceaccount';

export type ServiceAccountMount = NonNullable<NodeReplies['serviceaccount.issue']>;
/** Asks metamanager for a pod's token (undefined: the MetaServer is off). */
export type IssueToken = (pod: { namespace: string; name: string; uid: string }, serviceAccount: string) => Promise<ServiceAccountMount | undefined>;

/** Where and how a container reaches the MetaServer: the bind and the environment it adds. */
export interface PodApiAccess {
  bind: string;
  env: string[];
}

export const serviceAccountOf = (pod: Pod): string => pod.spec.serviceAccountName || 'default';

/** Does this pod get a token? Not when it says no, nor when it mounts something of its own there. */
export function wantsToken(pod: Pod): boolean {
  if (pod.spec.automountServiceAccountToken === false) return false;
  return ![...(pod.spec.initContainers ?? []), ...pod.spec.containers].some((c) => (c.volumeMounts ?? []).some((m) => m.mountPath.replace(/\/+$/, '') === SA_MOUNT_PATH));
}

/** Write the token, CA and namespace files for a pod; returns the bind and the variables its containers get. */
export function writeServiceAccount(dataDir: string, uid: string, pod: Pod, m: ServiceAccountMount): PodApiAccess {
  const dir = join(podDir(dataDir, uid), 'serviceaccount');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  for (const [name, text] of [
    ['token', m.token],
    ['ca.crt', m.ca],
    ['namespace', pod.metadata.namespace],
  ] as const) {
    writeFileSync(join(dir, name), text, { mode: 0o644 });
    chmodSync(join(dir, name), 0o644);
  }
  const host = pod.spec.hostNetwork ? m.hosts.loopback : (m.hosts.podNetwork ?? m.hosts.loopback);
  const port = String(m.port);
  return {
    bind: `${dir}:${SA_MOUNT_PATH}:ro`,
    env: [`KUBERNETES_SERVICE_HOST=${host}`, `KUBERNETES_SERVICE_PORT=${port}`, `KUBERNETES_SERVICE_PORT_HTTPS=${port}`, `KUBERNETES_PORT=tcp://${host}:${port}`],
  };
}
