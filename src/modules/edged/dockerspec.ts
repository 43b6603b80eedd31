/**
 * Pod spec → Docker create options (pure). The sandbox holds the pod's network namespace (and its
 * host ports); every other container joins it with `NetworkMode: container:<sandbox name>`.
 */
import { join } from 'node:path';
import { cpuToNano, memoryToBytes } from '../../contract/resources/common.js';
import { isDeviceVolume, type Container, type Pod } from '../../contract/resources/pod.js';
import type { DnsSettings } from './desired.js';
import { containerName, labelsFor, type PodIdentity, type Role } from './labels.js';
import { volumeSource } from './volumes.js';

/** The body of the Engine API's `POST /containers/create` (the fields edged sets) and the name. */
export interface CreateOptions {
  name: string;
  Image: string;
  Hostname?: string;
  Entrypoint?: string[];
  Cmd?: string[];
  WorkingDir?: string;
  User?: string;
  Env?: string[];
  Tty?: boolean;
  OpenStdin?: boolean;
  ExposedPorts?: Record<string, object>;
  Labels: Record<string, string>;
  StopTimeout?: number;
  HostConfig: {
    Init?: boolean;
    NetworkMode?: string;
    PortBindings?: Record<string, { HostIp?: string; HostPort: string }[]>;
    Binds?: string[];
    Tmpfs?: Record<string, string>;
    Devices?: { PathOnHost: string; PathInContainer: string; CgroupPermissions: string }[];
    Privileged?: boolean;
    GroupAdd?: string[];
    RestartPolicy?: { Name: string };
    Memory?: number;
    NanoCpus?: number;
    Dns?: string[];
    DnsSearch?: string[];
    DnsOptions?: string[];
  };
}

export interface SandboxOptions {
  image: string;
  command: string[];
  network: string;
  hash: string;
  attempt: number;
  dns?: DnsSettings;
}

/** Host port bindings of all the pod's containers (they land on the pod's network holder). */
function portBindings(pod: Pod): { exposed: Record<string, object>; bindings: Record<string, { HostIp?: string; HostPort: string }[]> } {
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
  return { exposed, bindings };
}

/** Docker's DNS fields for dnsPolicy/dnsConfig (none: the engine's default, from the host). */
const dnsFields = (dns: DnsSettings | undefined) => (dns ? { Dns: dns.servers, DnsSearch: dns.search, DnsOptions: dns.options } : {});

export function sandboxCreateOptions(id: PodIdentity, pod: Pod, sb: SandboxOptions): CreateOptions {
  const { exposed, bindings } = portBindings(pod);
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
      ...dnsFields(sb.dns),
    },
  };
}

/** Where a container's network comes from. */
export type NetworkInputs =
  | { mode: 'host'; dns?: DnsSettings }
  /** joins the pod's sandbox */
  | { mode: 'join'; sandbox: string }
  /** a single-container pod without a sandbox: its own namespace on this Docker network */
  | { mode: 'own'; network: string; dns?: DnsSettings };

export interface ContainerInputs {
  dataDir: string;
  role: Exclude<Role, 'sandbox'>;
  attempt: number;
  restarts: number;
  hash: string;
  env: string[];
  /** command/args with $(VAR) expanded (absent: the image's) */
  command?: string[];
  args?: string[];
  net: NetworkInputs;
  /** binds besides the pod's volumes (the service-account folder) */
  extraBinds?: string[];
}

export function containerCreateOptions(id: PodIdentity, pod: Pod, c: Container, inp: ContainerInputs): CreateOptions {
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
    const readOnly = m.readOnly || !!v.configMap || !!v.secret || !!v.downwardAPI;
    binds.push(`${m.subPath ? join(src, m.subPath) : src}:${m.mountPath}${readOnly ? ':ro' : ''}`);
  }
  const limits = c.resources?.limits;
  const sc = c.securityContext;
  const podSc = pod.spec.securityContext;
  // the container's own settings win over the pod's
  const uid = sc?.runAsUser ?? podSc?.runAsUser;
  const gid = sc?.runAsGroup ?? podSc?.runAsGroup;
  const user = uid !== undefined ? `${uid}${gid !== undefined ? `:${gid}` : ''}` : undefined;
  const groups = podSc?.supplementalGroups?.map(String);
  let exposed: Record<string, object> = {};
  let network: Partial<CreateOptions['HostConfig']> = {};
  const net = inp.net;
  if (net.mode === 'host') {
    for (const p of c.ports ?? []) exposed[`${p.containerPort}/${p.protocol.toLowerCase()}`] = {};
    network = { NetworkMode: 'host', ...dnsFields(net.dns) };
  } else if (net.mode === 'join') {
    network = { NetworkMode: `container:${net.sandbox}` };
  } else {
    const pb = portBindings(pod);
    exposed = pb.exposed;
    network = { NetworkMode: net.network, PortBindings: pb.bindings, ...dnsFields(net.dns) };
  }
  return {
    name: containerName(id, inp.role, c.name, inp.attempt),
    Image: c.image,
    ...(net.mode === 'own' ? { Hostname: pod.spec.hostname ?? pod.metadata.name } : {}),
    ...(inp.command ? { Entrypoint: inp.command } : {}),
    ...(inp.args ? { Cmd: inp.args } : inp.command ? { Cmd: [] } : {}),
    ...(c.workingDir ? { WorkingDir: c.workingDir } : {}),
    ...(user ? { User: user } : {}),
    Env: inp.env,
    Tty: c.tty ?? false,
    OpenStdin: c.stdin ?? false,
    ExposedPorts: exposed,
    Labels: labelsFor(id, inp.role, c.name, inp.attempt, inp.hash, pod.spec.terminationGracePeriodSeconds, inp.restarts),
    StopTimeout: pod.spec.terminationGracePeriodSeconds,
    HostConfig: {
      ...network,
      Binds: [...binds, ...(inp.extraBinds ?? [])],
      Tmpfs: tmpfs,
      Devices: devices,
      Privileged: sc?.privileged ?? false,
      ...(groups?.length ? { GroupAdd: groups } : {}),
      RestartPolicy: { Name: 'no' },
      ...(limits?.memory !== undefined ? { Memory: memoryToBytes(limits.memory) } : {}),
      ...(limits?.cpu !== undefined ? { NanoCpus: cpuToNano(limits.cpu) } : {}),
    },
  };
}
