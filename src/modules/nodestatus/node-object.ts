/**
 * The node's own Node object, as the MetaServer serves it to apps on the node (pure): labels a
 * kubelet sets, nodeInfo, addresses, capacity and allocatable in Kubernetes quantities, and the
 * conditions — Ready from the node's own view (its container runtime answers), then the ones it
 * found. The relay builds its Node from the same report with its own Ready (presence, heartbeats).
 */
import { arch, platform } from 'node:os';
import type { NodeCondition, NodeHostReport } from '../../contract/node-status.js';

const GOARCH: Record<string, string> = { x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64' };
const ki = (bytes: number): string => `${Math.floor(bytes / 1024)}Ki`;

export function nodeManifest(name: string, labels: Record<string, string>): unknown {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: { ...labels, 'kubernetes.io/arch': GOARCH[arch()] ?? arch(), 'kubernetes.io/os': platform(), 'kubernetes.io/hostname': name, 'node-role.kubernetes.io/edge': '' },
    },
    spec: {},
  };
}

export function nodeStatus(r: NodeHostReport, version: string, heartbeat: Date, readySince: string): unknown {
  const sys = r.system ?? {};
  const capacity: Record<string, string> = {};
  if (sys.cpus !== undefined) capacity.cpu = String(sys.cpus);
  if (sys.ephemeralStorageBytes !== undefined) capacity['ephemeral-storage'] = ki(sys.ephemeralStorageBytes);
  if (sys.memoryBytes !== undefined) capacity.memory = ki(sys.memoryBytes);
  capacity.pods = String(sys.maxPods ?? 110);
  const a = sys.allocatable ?? {};
  const allocatable = { ...capacity };
  if (a.cpuMillis !== undefined) allocatable.cpu = `${a.cpuMillis}m`;
  if (a.memoryBytes !== undefined) allocatable.memory = ki(a.memoryBytes);
  if (a.ephemeralStorageBytes !== undefined) allocatable['ephemeral-storage'] = ki(a.ephemeralStorageBytes);
  const hb = heartbeat.toISOString().replace(/\.\d{3}Z$/, 'Z');
  const ready: NodeCondition =
    r.runtime && !r.runtime.ready
      ? { type: 'Ready', status: 'False', reason: 'KubeletNotReady', message: r.runtime.message ?? 'container runtime is not ready', lastTransitionTime: readySince }
      : { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'edgecore is posting ready status', lastTransitionTime: readySince };
  return {
    capacity,
    allocatable,
    conditions: [...(r.conditions ?? []), ready].map((c) => ({ ...c, lastHeartbeatTime: hb })),
    addresses: [...(sys.addresses ?? []).map((address) => ({ type: 'InternalIP', address })), ...(sys.hostname ? [{ type: 'Hostname', address: sys.hostname }] : [])],
    nodeInfo: {
      machineID: sys.machineID ?? '',
      systemUUID: sys.systemUUID ?? '',
      bootID: '',
      kernelVersion: sys.kernelVersion ?? '',
      osImage: sys.osImage ?? '',
      containerRuntimeVersion: sys.containerRuntimeVersion ?? '',
      kubeletVersion: version.startsWith('v') ? version : `v${version}`,
      kubeProxyVersion: '',
      operatingSystem: platform(),
      architecture: GOARCH[arch()] ?? arch(),
    },
  };
}
