/**
 * Pod spec → Docker create options (pure). The sandbox holds the pod's network namespace (and its
 * host ports); every other container joins it with `NetworkMode: container:<sandbox name>`.
 */
import { join } from 'node:path';
import type { ContainerCreateOptions } from 'dockerode';
import { cpuToNano, memoryToBytes } from '../../contract/resources/common.js';
import { isDeviceVolume, type Container, type Pod } from '../../contract/resources/pod.js';
import { containerName, labelsFor, type PodIdentity, type Role } from './labels.js';
import { volumeSource } from './volumes.js';

export interface SandboxOptions {
  image: string;
  command: string[];
  network: string;
  hash: string;
  attempt: number;
  /** the node's cluster DNS (the mesh's), when it runs one */
  clusterDns?: ClusterDns;
}

/** The node's cluster DNS: kubelet's --cluster-dns and --cluster-domain. */
export interface ClusterDns {
  address: string;
  domain: string;
}

/**
 * The resolver a pod's sandbox gets (Docker writes its resolv.conf), as kubelet gives it:
 * dnsPolicy ClusterFirst (the default) → the cluster DNS, the search path `<ns>.svc.<domain>
 * svc.<domain> <domain>` and ndots:5, so `name` and `name.ns` resolve; Default → the node's own
 * resolv.conf (Docker's default). A node without a cluster DNS gives every pod the node's own, as
 * kubelet does without --cluster-dns. hostNetwork pods get the node's (Kubernetes: ClusterFirst
 * with hostNetwork falls back to Default; ClusterFirstWithHostNet is not supported here).
 */
export function podDns(pod: Pod, dns: ClusterDns | undefined): { Dns: string[]; DnsSearch: string[]; DnsOptions: string[] } | undefined {
  const policy = pod.spec.dnsPolicy ?? 'ClusterFirst';
  if (!dns || pod.spec.hostNetwork || policy !== 'ClusterFirst') return undefined;
  const ns = pod.metadata.namespace ?? 'default';
  return { Dns: [dns.address], DnsSearch: [`${ns}.svc.${dns.domain}`, `svc.${dns.domain}`, dns.domain], DnsOptions: ['ndots:5'] };
}

export function sandboxCreateOptions(id: PodIdentity, pod: Pod, sb: SandboxOptions): ContainerCreateOptions {
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp?: string; HostPort: string }[]> = {};
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    for (const p of c.ports ?? []) {
      if (p.hostPort === undefined) continue;
      const k = `${p.containerPort}/${p.protocol.toLowerCase()}`;
      exposed[k] = {};
      (bindings[k] ??= []).push({ HostPort: String(p.hostPort), ...(p.hostIP ? { HostIp: p.hostIP } : {}) });
    }
  }
  return {
    name: containerName(id, 'sandbox', 'sandbox', sb.attempt),
    Image: sb.image,
    Entrypoint: sb.command,
    Cmd: [],
    Hostname: pod.spec.hostname ?? pod.metadata.name,
    Labels: labelsFor(id, 'sandbox', 'sandbox', sb.attempt, sb.hash, 2),
    ExposedPorts: exposed,
    HostConfig: {
      Init: true,
      NetworkMode: sb.network,
      PortBindings: bindings,
      RestartPolicy: { Name: 'no' },
      ...podDns(pod, sb.clusterDns),
    },
  };
}

export interface ContainerInputs {
  dataDir: string;
  role: Exclude<Role, 'sandbox'>;
  attempt: number;
  hash: string;
  env: string[];
  /** name of the sandbox container to join (absent with hostNetwork) */
  sandboxName?: string;
  /** binds besides the pod's volumes (the service-account folder) */
  extraBinds?: string[];
}

export function containerCreateOptions(id: PodIdentity, pod: Pod, c: Container, inp: ContainerInputs): ContainerCreateOptions {
  const binds: string[] = [];
  const tmpfs: Record<string, string> = {};
  const devices: { PathOnHost: string; PathInContainer: string; CgroupPermissions: string }[] = [];
  for (const m of c.volumeMounts ?? []) {
    const v = (pod.spec.volumes ?? []).find((x) => x.name === m.name)!;
    if (isDeviceVolume(v)) {
      devices.push({ PathOnHost: v.hostPath!.path, PathInContainer: m.mountPath, CgroupPermissions: m.readOnly ? 'r' : 'rwm' });
      continue;
    }
    if (v.emptyDir?.medium === 'Memory') {
      const size = v.emptyDir.sizeLimit !== undefined ? memoryToBytes(v.emptyDir.sizeLimit) : undefined;
      tmpfs[m.mountPath] = [m.readOnly ? 'ro' : 'rw', ...(size ? [`size=${size}`] : [])].join(',');
      continue;
    }
    const src = volumeSource(inp.dataDir, id.uid, v);
    const readOnly = m.readOnly || !!v.configMap || !!v.secret;
    binds.push(`${m.subPath ? join(src, m.subPath) : src}:${m.mountPath}${readOnly ? ':ro' : ''}`);
  }
  const limits = c.resources?.limits;
  const sc = c.securityContext;
  const user = sc?.runAsUser !== undefined ? `${sc.runAsUser}${sc.runAsGroup !== undefined ? `:${sc.runAsGroup}` : ''}` : undefined;
  const exposed: Record<string, object> = {};
  for (const p of c.ports ?? []) exposed[`${p.containerPort}/${p.protocol.toLowerCase()}`] = {};
  return {
    name: containerName(id, inp.role, c.name, inp.attempt),
    Image: c.image,
    ...(c.command ? { Entrypoint: c.command } : {}),
    ...(c.args ? { Cmd: c.args } : c.command ? { Cmd: [] } : {}),
    ...(c.workingDir ? { WorkingDir: c.workingDir } : {}),
    ...(user ? { User: user } : {}),
    Env: inp.env,
    Tty: c.tty ?? false,
    OpenStdin: c.stdin ?? false,
    ExposedPorts: pod.spec.hostNetwork ? exposed : {},
    Labels: labelsFor(id, inp.role, c.name, inp.attempt, inp.hash, pod.spec.terminationGracePeriodSeconds),
    StopTimeout: pod.spec.terminationGracePeriodSeconds,
    HostConfig: {
      NetworkMode: pod.spec.hostNetwork ? 'host' : `container:${inp.sandboxName}`,
      Binds: [...binds, ...(inp.extraBinds ?? [])],
      Tmpfs: tmpfs,
      Devices: devices,
      Privileged: sc?.privileged ?? false,
      RestartPolicy: { Name: 'no' },
      ...(limits?.memory !== undefined ? { Memory: memoryToBytes(limits.memory) } : {}),
      ...(limits?.cpu !== undefined ? { NanoCpus: cpuToNano(limits.cpu) } : {}),
    },
  };
}
