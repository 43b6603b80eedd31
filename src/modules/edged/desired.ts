/**
 * Desired state from the store: Pods (validated against the contract schema), and the ConfigMaps
 * and Secrets they reference (env, envFrom, volumes, imagePullSecrets).
 */
import { readFileSync, statSync } from 'node:fs';
import { configMapFiles, parseConfigMap } from '../../contract/resources/configmap.js';
import { parseStored } from '../../contract/resources/kinds.js';
import { parsePod, pullPolicyOf, type Container, type Pod } from '../../contract/resources/pod.js';
import { dockerConfigAuths, parseSecret, secretFiles, type RegistryAuth, type Secret } from '../../contract/resources/secret.js';
import { errorMessage, isValidationError } from '../../core/errors.js';
import type { ResourceStore } from '../../store/resources.js';
import { fieldValue, resourceValue, unfitReason, type NodeInfo } from './downward.js';
import { needsPodIP, type EnvSource } from './env.js';
import { hashOf } from './labels.js';
import type { DesiredPod, ObservedContainer } from './model.js';

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

/**
 * The container's environment sources in Kubernetes' order (envFrom, then env), values read from
 * ConfigMaps, Secrets and the pod itself; or why it cannot be built (a missing source or key).
 */
export function envSources(pod: Pod, uid: string, c: Container, lk: Lookups, node: NodeInfo): { sources: EnvSource[] } | { error: string } {
  const namespace = pod.metadata.namespace;
  const sources: EnvSource[] = [];
  for (const [i, ef] of (c.envFrom ?? []).entries()) {
    const ref = ef.configMapRef ?? ef.secretRef!;
    const files = ef.configMapRef ? lk.configMap(namespace, ref.name) : lk.secret(namespace, ref.name);
    if (typeof files === 'string') {
      if (ref.optional) continue;
      return { error: `envFrom[${i}]: ${files}` };
    }
    for (const [k, v] of files) sources.push({ name: `${ef.prefix ?? ''}${k}`, value: v.toString('utf8'), expand: false });
  }
  for (const e of c.env ?? []) {
    const from = e.valueFrom;
    if (!from) {
      sources.push({ name: e.name, value: e.value ?? '', expand: true });
    } else if (from.fieldRef) {
      const v = fieldValue(pod, uid, from.fieldRef.fieldPath, node);
      sources.push(typeof v === 'string' ? { name: e.name, value: v, expand: false } : { name: e.name, field: v.field });
    } else if (from.resourceFieldRef) {
      sources.push({ name: e.name, value: resourceValue(pod, c, from.resourceFieldRef, node), expand: false });
    } else {
      const ref = from.configMapKeyRef ?? from.secretKeyRef!;
      const kind = from.configMapKeyRef ? 'ConfigMap' : 'Secret';
      const files = from.configMapKeyRef ? lk.configMap(namespace, ref.name) : lk.secret(namespace, ref.name);
      const v = typeof files === 'string' ? undefined : files.get(ref.key);
      if (v === undefined) {
        if (ref.optional) continue;
        return { error: `env ${e.name}: ${typeof files === 'string' ? files : `key "${ref.key}" not found in ${kind} ${namespace}/${ref.name}`}` };
      }
      sources.push({ name: e.name, value: v.toString('utf8'), expand: false });
    }
  }
  return { sources };
}

/** Registry host of an image reference (Docker Hub when the first part is not a host). */
export function registryOf(image: string): string {
  const first = image.split('/')[0]!;
  return image.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost') ? first : 'docker.io';
}

/** Credentials for pulling `image`, from the pod's imagePullSecrets (kubernetes.io/dockerconfigjson). */
export function pullAuthFor(pod: Pod, image: string, lk: Lookups): RegistryAuth | undefined {
  const host = registryOf(image);
  for (const ref of pod.spec.imagePullSecrets ?? []) {
    const s = lk.secretObject(pod.metadata.namespace, ref.name);
    if (typeof s === 'string' || s.type !== 'kubernetes.io/dockerconfigjson') continue;
    const auths = dockerConfigAuths(s);
    const a = auths.get(host) ?? (host === 'docker.io' ? (auths.get('index.docker.io') ?? auths.get('registry-1.docker.io')) : undefined);
    if (a) return a;
  }
  return undefined;
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
  /** a pod with one container (no init containers, no use of its own IP in env) gets no sandbox */
  skipForSingleContainer: boolean;
  /** the node's cluster DNS (the mesh's, when it runs one): kubelet's --cluster-dns and --cluster-domain */
  clusterDns?: ClusterDns;
}

export interface ClusterDns {
  address: string;
  domain: string;
}

/** How a pod is networked (see DesiredPod.network). */
export function networkOf(pod: Pod, sb: SandboxSettings, env: Record<string, EnvSource[]>): DesiredPod['network'] {
  if (pod.spec.hostNetwork) return 'host';
  const single = pod.spec.containers.length === 1 && !pod.spec.initContainers?.length;
  return sb.skipForSingleContainer && single && !Object.values(env).some(needsPodIP) ? 'own' : 'shared';
}

/**
 * DNS settings of the pod's network holder, as kubelet makes them (none: the engine's default, the
 * host's resolv.conf):
 * - ClusterFirst (the default) with a cluster DNS: `nameserver <cluster DNS>`, `search
 *   <ns>.svc.<domain> svc.<domain> <domain>`, `ndots:5` — so `name` and `name.ns` resolve; a
 *   hostNetwork pod falls back to the host's unless it asks for ClusterFirstWithHostNet;
 * - Default, or no cluster DNS on this node: the host's;
 * - None: only what dnsConfig says; dnsConfig is merged over any of them.
 */
export function dnsOf(pod: Pod, hostResolv: () => string, cluster?: ClusterDns): DnsSettings | undefined {
  const cfg = pod.spec.dnsConfig;
  const policy = pod.spec.dnsPolicy ?? 'ClusterFirst';
  const useCluster = !!cluster && (policy === 'ClusterFirstWithHostNet' || (policy === 'ClusterFirst' && !pod.spec.hostNetwork));
  if (!cfg && policy !== 'None' && !useCluster) return undefined;
  const ns = pod.metadata.namespace ?? 'default';
  const base =
    policy === 'None'
      ? { servers: [], search: [], options: [] }
      : useCluster
        ? { servers: [cluster!.address], search: [`${ns}.svc.${cluster!.domain}`, `svc.${cluster!.domain}`, cluster!.domain], options: ['ndots:5'] }
        : parseResolv(hostResolv());
  const servers = [...base.servers, ...(cfg?.nameservers ?? [])].filter((v, i, a) => a.indexOf(v) === i).slice(0, 3);
  const search = [...base.search, ...(cfg?.searches ?? [])].filter((v, i, a) => a.indexOf(v) === i).slice(0, 32);
  const opts = new Map(base.options.map((o) => [o.split(':')[0]!, o]));
  for (const o of cfg?.options ?? []) opts.set(o.name, o.value !== undefined ? `${o.name}:${o.value}` : o.name);
  return { servers, search, options: [...opts.values()] };
}

export interface DnsSettings {
  servers: string[];
  search: string[];
  options: string[];
}

/** nameserver/search/options of a resolv.conf text. */
export function parseResolv(text: string): DnsSettings {
  const out: DnsSettings = { servers: [], search: [], options: [] };
  for (const line of text.split('\n')) {
    const [k, ...rest] = line.trim().split(/\s+/);
    if (k === 'nameserver' && rest[0]) out.servers.push(rest[0]);
    else if (k === 'search' || k === 'domain') out.search = rest;
    else if (k === 'options') out.options.push(...rest);
  }
  return out;
}

/**
 * A container as its hash sees it: values the Kubernetes API server fills in when they are absent
 * (imagePullPolicy from the tag, terminationMessagePath/Policy, a hostNetwork port's hostPort,
 * requests copied from limits) are left out when they hold that default. So a pod hashes the same
 * whether the relay defaulted it or not: filling in defaults (a relay that starts doing it, a pod
 * re-sent from the API's store) restarts nothing, and pods made before keep their hash.
 */
export function hashView(c: Container, hostNetwork: boolean): Container {
  const { terminationMessagePath, terminationMessagePolicy, imagePullPolicy, ...rest } = c;
  const out: Record<string, unknown> = { ...rest };
  if (terminationMessagePath !== undefined && terminationMessagePath !== '/dev/termination-log') out.terminationMessagePath = terminationMessagePath;
  if (terminationMessagePolicy !== undefined && terminationMessagePolicy !== 'File') out.terminationMessagePolicy = terminationMessagePolicy;
  if (imagePullPolicy !== undefined && imagePullPolicy !== pullPolicyOf({ ...c, imagePullPolicy: undefined })) out.imagePullPolicy = imagePullPolicy;
  if (hostNetwork && c.ports) out.ports = c.ports.map(({ hostPort, ...p }) => (hostPort === undefined || hostPort === p.containerPort ? p : { ...p, hostPort }));
  const limits = c.resources?.limits;
  const requests = c.resources?.requests;
  if (limits && requests) {
    const kept = Object.fromEntries(Object.entries(requests).filter(([k, v]) => String(v) !== String((limits as Record<string, unknown>)[k])));
    const { requests: _, ...res } = c.resources!;
    out.resources = Object.keys(kept).length ? { ...res, requests: kept } : res;
  }
  return out as Container;
}

/** Hash of everything a container's create depends on (a change replaces the container). */
export function containerHash(pod: Pod, c: Container, own?: object): string {
  const used = new Set((c.volumeMounts ?? []).map((m) => m.name));
  const sc = pod.spec.securityContext;
  return hashOf({
    c: hashView(c, pod.spec.hostNetwork),
    volumes: (pod.spec.volumes ?? []).filter((v) => used.has(v.name)),
    hostNetwork: pod.spec.hostNetwork,
    ...(own ? { own } : {}),
    ...(sc && Object.keys(sc).length ? { sc } : {}),
  });
}

/**
 * A single-container pod that already runs with a sandbox (made by an earlier edgecore, before
 * pods of one container went without) keeps it while it runs: changing its network holder would
 * restart the pod for nothing. Its containers then hash as a sandbox's members.
 */
export function keepRunningSandboxes(desired: DesiredPod[], observed: readonly ObservedContainer[]): DesiredPod[] {
  const boxes = new Map(observed.filter((c) => c.role === 'sandbox' && c.state === 'running').map((c) => [c.podUid, c.hash]));
  return desired.map((d) => {
    if (d.network !== 'own' || !d.pod || boxes.get(d.uid) !== d.sandboxHash) return d;
    const pod = d.pod;
    const hashes = Object.fromEntries([...(pod.spec.initContainers ?? []), ...pod.spec.containers].map((c) => [c.name, containerHash(pod, c)]));
    return { ...d, network: 'shared', hashes };
  });
}

export function sandboxImageOf(pod: Pod, sb: SandboxSettings): string {
  return sb.image || pod.spec.containers[0]!.image;
}

/** What the network holder's create depends on: the sandbox's, or an `own`-network container's. */
function networkKey(pod: Pod, sb: SandboxSettings, dns: DnsSettings | undefined): Record<string, unknown> {
  const ports = [...(pod.spec.initContainers ?? []), ...pod.spec.containers].flatMap((c) => (c.ports ?? []).filter((p) => p.hostPort !== undefined));
  return { network: sb.network, ports, hostname: pod.spec.hostname ?? pod.metadata.name, ...(dns ? { dns } : {}) };
}

export function sandboxHash(pod: Pod, sb: SandboxSettings, dns?: DnsSettings): string {
  return hashOf({ image: sandboxImageOf(pod, sb), command: sb.command, ...networkKey(pod, sb, dns) });
}

/** Reading the host's resolv.conf, once per pass at most. */
function hostResolver(): () => string {
  let text: string | undefined;
  return () => {
    if (text === undefined) {
      try {
        text = readFileSync('/etc/resolv.conf', 'utf8');
      } catch {
        text = '';
      }
    }
    return text;
  };
}

export function desiredPods(resources: ResourceStore, lk: Lookups, sb: SandboxSettings, node: NodeInfo): DesiredPod[] {
  const resolv = hostResolver();
  return resources.list('Pod').map((r) => {
    const base = { namespace: r.namespace, name: r.name, uid: r.uid, configErrors: {}, env: {}, pullAuth: {}, network: 'shared' as const, sandboxImage: '', sandboxHash: '', hashes: {} };
    let pod: Pod;
    try {
      pod = parseStored(parsePod, r.spec, r);
    } catch (e) {
      if (!isValidationError(e)) throw e;
      return { ...base, issues: e.issues };
    }
    const configErrors: Record<string, string> = {};
    const envs: Record<string, EnvSource[]> = {};
    const hashes: Record<string, string> = {};
    const pullAuth: Record<string, RegistryAuth> = {};
    const sandboxImage = sandboxImageOf(pod, sb);
    const all = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
    for (const c of all) {
      const env = envSources(pod, r.uid, c, lk, node);
      const err = 'error' in env ? env.error : volumeError(pod, c, lk);
      if (err) configErrors[c.name] = err;
      else if ('sources' in env) envs[c.name] = env.sources;
    }
    const network = networkOf(pod, sb, envs);
    const dns = dnsOf(pod, resolv, sb.clusterDns);
    for (const c of all) hashes[c.name] = containerHash(pod, c, network === 'own' ? networkKey(pod, sb, dns) : undefined);
    if (pod.spec.imagePullSecrets?.length) {
      for (const image of new Set([sandboxImage, ...all.map((c) => c.image)])) {
        const auth = pullAuthFor(pod, image, lk);
        if (auth) pullAuth[image] = auth;
      }
    }
    const deletion = pod.metadata.deletionTimestamp;
    const unfit = unfitReason(pod, node);
    return {
      ...base,
      pod,
      configErrors,
      env: envs,
      pullAuth,
      hashes,
      network,
      ...(dns ? { dns } : {}),
      ...(deletion ? { deleting: { graceSeconds: pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds } } : {}),
      ...(unfit ? { unfit } : {}),
      sandboxImage,
      sandboxHash: sandboxHash(pod, sb, dns),
    };
  });
}
