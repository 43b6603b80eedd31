/**
 * Desired state from the store: Pods (validated against the contract schema), and the ConfigMaps
 * and Secrets they reference (env, envFrom, volumes, imagePullSecrets).
 */
import { statSync } from 'node:fs';
import { configMapFiles, parseConfigMap } from '../../contract/resources/configmap.js';
import { parseStored } from '../../contract/resources/kinds.js';
import { parsePod, type Container, type Pod } from '../../contract/resources/pod.js';
import { parseSecret, secretFiles, type Secret } from '../../contract/resources/secret.js';
import { errorMessage, isValidationError } from '../../core/errors.js';
import type { ResourceStore } from '../../store/resources.js';
import { podDns, type ClusterDns } from './dockerspec.js';
import { hashOf } from './labels.js';
import type { DesiredPod } from './model.js';

/** ConfigMap/Secret content by namespace and name: files, or why they cannot be used. */
export interface Lookups {
  configMap(namespace: string, name: string): Map<string, Buffer> | string;
  secret(namespace: string, name: string): Map<string, Buffer> | string;
  secretObject(namespace: string, name: string): Secret | string;
}

export function storeLookups(resources: ResourceStore): Lookups {
  const read = <T extends { metadata: { name: string; namespace: string } }>(kind: string, namespace: string, name: string, parse: (v: unknown) => T): T | string => {
    const r = resources.get({ kind, namespace, name });
    if (!r) return `${kind} ${namespace}/${name} not found`;
    try {
      return parseStored(parse, r.spec, r);
    } catch (e) {
      return `${kind} ${namespace}/${name} is invalid: ${errorMessage(e)}`;
    }
  };
  return {
    configMap: (ns, n) => {
      const cm = read('ConfigMap', ns, n, parseConfigMap);
      return typeof cm === 'string' ? cm : configMapFiles(cm);
    },
    secret: (ns, n) => {
      const s = read('Secret', ns, n, parseSecret);
      return typeof s === 'string' ? s : secretFiles(s);
    },
    secretObject: (ns, n) => read('Secret', ns, n, parseSecret),
  };
}

/** The container's environment as KEY=value lines, or why it cannot be built. */
export function resolveEnv(namespace: string, c: Container, lk: Lookups): { env: string[] } | { error: string } {
  const env = new Map<string, string>();
  for (const [i, ef] of (c.envFrom ?? []).entries()) {
    const ref = ef.configMapRef ?? ef.secretRef!;
    const files = ef.configMapRef ? lk.configMap(namespace, ref.name) : lk.secret(namespace, ref.name);
    if (typeof files === 'string') {
      if (ref.optional) continue;
      return { error: `envFrom[${i}]: ${files}` };
    }
    for (const [k, v] of files) env.set(`${ef.prefix ?? ''}${k}`, v.toString('utf8'));
  }
  for (const e of c.env ?? []) {
    if (e.valueFrom) {
      const ref = e.valueFrom.configMapKeyRef ?? e.valueFrom.secretKeyRef!;
      const files = e.valueFrom.configMapKeyRef ? lk.configMap(namespace, ref.name) : lk.secret(namespace, ref.name);
      const v = typeof files === 'string' ? undefined : files.get(ref.key);
      if (v === undefined) {
        if (ref.optional) continue;
        return { error: `env ${e.name}: ${typeof files === 'string' ? files : `key "${ref.key}" not found in ${ref.name}`}` };
      }
      env.set(e.name, v.toString('utf8'));
    } else {
      env.set(e.name, e.value ?? '');
    }
  }
  return { env: [...env].map(([k, v]) => `${k}=${v}`) };
}

/** Why a container's volumes cannot be prepared (a missing ConfigMap/Secret), if so. */
function volumeError(pod: Pod, c: Container, lk: Lookups): string | undefined {
  for (const m of c.volumeMounts ?? []) {
    const v = (pod.spec.volumes ?? []).find((x) => x.name === m.name);
    if (v?.configMap && !v.configMap.optional) {
      const r = lk.configMap(pod.metadata.namespace, v.configMap.name);
      if (typeof r === 'string') return `volume ${v.name}: ${r}`;
    }
    if (v?.hostPath && !['', 'DirectoryOrCreate', 'FileOrCreate'].includes(v.hostPath.type)) {
      const why = hostPathProblem(v.hostPath.path, v.hostPath.type);
      if (why) return `volume ${v.name}: ${why}`;
    }
    if (v?.secret && !v.secret.optional) {
      const r = lk.secret(pod.metadata.namespace, v.secret.secretName);
      if (typeof r === 'string') return `volume ${v.name}: ${r}`;
    }
  }
  return undefined;
}

/** Why a typed hostPath cannot be used (absent, or not of its type), if so. */
export function hostPathProblem(path: string, type: string): string | undefined {
  let st;
  try {
    st = statSync(path);
  } catch {
    return `hostPath ${path} does not exist (type ${type})`;
  }
  const ok =
    (type === 'Directory' && st.isDirectory()) ||
    (type === 'File' && st.isFile()) ||
    (type === 'Socket' && st.isSocket()) ||
    (type === 'CharDevice' && st.isCharacterDevice()) ||
    (type === 'BlockDevice' && st.isBlockDevice());
  return ok ? undefined : `hostPath ${path} is not a ${type}`;
}

export interface SandboxSettings {
  image: string;
  command: string[];
  network: string;
  /** the node's cluster DNS (mesh enabled with DNS): pods with dnsPolicy ClusterFirst use it */
  clusterDns?: ClusterDns;
}

export function containerHash(pod: Pod, c: Container): string {
  const used = new Set((c.volumeMounts ?? []).map((m) => m.name));
  return hashOf({ c, volumes: (pod.spec.volumes ?? []).filter((v) => used.has(v.name)), hostNetwork: pod.spec.hostNetwork });
}

export function sandboxImageOf(pod: Pod, sb: SandboxSettings): string {
  return sb.image || pod.spec.containers[0]!.image;
}

export function sandboxHash(pod: Pod, sb: SandboxSettings): string {
  const ports = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].flatMap((c) => (c.ports ?? []).filter((p) => p.hostPort !== undefined));
  const dns = podDns(pod, sb.clusterDns);
  // a pod without cluster DNS hashes as before (its sandbox is not made again on upgrade)
  return hashOf({ image: sandboxImageOf(pod, sb), command: sb.command, network: sb.network, ports, hostname: pod.spec.hostname ?? pod.metadata.name, ...(dns ? { dns } : {}) });
}

export function desiredPods(resources: ResourceStore, lk: Lookups, sb: SandboxSettings): DesiredPod[] {
  return resources.list('Pod').map((r) => {
    const base = { namespace: r.namespace, name: r.name, uid: r.uid, configErrors: {}, sandboxImage: '', sandboxHash: '', hashes: {} };
    let pod: Pod;
    try {
      pod = parseStored(parsePod, r.spec, r);
    } catch (e) {
      if (!isValidationError(e)) throw e;
      return { ...base, issues: e.issues };
    }
    const configErrors: Record<string, string> = {};
    const hashes: Record<string, string> = {};
    for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
      hashes[c.name] = containerHash(pod, c);
      const env = resolveEnv(pod.metadata.namespace, c, lk);
      const err = 'error' in env ? env.error : volumeError(pod, c, lk);
      if (err) configErrors[c.name] = err;
    }
    return { ...base, pod, configErrors, hashes, sandboxImage: sandboxImageOf(pod, sb), sandboxHash: sandboxHash(pod, sb) };
  });
}
