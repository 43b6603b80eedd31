/**
 * Node lifecycle as pure functions, for the relay's node sync: the Node status built from what a
 * node reports about itself (nodeInfo, addresses, capacity), the Ready condition from presence
 * and heartbeats, and the taints Kubernetes' node lifecycle controller keeps in step with it.
 *
 * Times are the relay's: `lastHeartbeat` is when the relay received the node's last heartbeat or
 * report, never a time the node wrote (a node's clock must not decide anything here).
 *
 * Ready, as Kubernetes writes it:
 *  - True  (KubeletReady): the node is connected and its last heartbeat is fresh;
 *  - False (KubeletNotReady): it is connected and fresh but says it cannot run pods;
 *  - Unknown (NodeStatusUnknown): it disconnected offlineGraceSeconds ago and is not back, or no
 *    heartbeat within notReadyAfterSeconds (within the grace a disconnected node is judged as connected);
 *  - Unknown (NodeStatusNeverUpdated): it never reported.
 * A node the relay has not heard since it started keeps its stored condition for the grace from
 * the start, as Kubernetes' node lifecycle controller gives a node it first observes.
 * lastTransitionTime moves only when the status changes; lastHeartbeatTime is the last heartbeat
 * the condition was written for, refreshed at most every heartbeatWriteSeconds while nothing
 * else changes (so a heartbeat is not a store write).
 */
import { nodeRuntimeSchema, nodeSystemInfoSchema, printable, type NodeRuntime } from '../../contract/node-status.js';
import * as z from 'zod';
import { parseOrThrow } from '../../lib/schema.js';
import { TAINT_NOT_READY, TAINT_UNREACHABLE } from './pod.js';

export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

export interface NodeCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface Taint {
  key: string;
  value?: string;
  effect: 'NoSchedule' | 'PreferNoSchedule' | 'NoExecute';
  timeAdded?: string;
}

export interface NodeAddress {
  type: 'InternalIP' | 'ExternalIP' | 'Hostname' | 'InternalDNS' | 'ExternalDNS';
  address: string;
}

export interface NodeSystemStatus {
  nodeInfo: Record<string, string>;
  addresses: NodeAddress[];
  capacity: Record<string, string>;
  allocatable: Record<string, string>;
}

export interface NodeLifecycleParams {
  /** no heartbeat for this long: Ready becomes Unknown (relay config nodes.notReadyAfterSeconds) */
  notReadyAfterSeconds: number;
  /**
   * refresh lastHeartbeatTime at most this often while the condition stays the same (relay config
   * nodes.heartbeatWriteSeconds; a kubelet's nodeStatusReportFrequency is 5 min): each refresh is a
   * Node write, so 20,000 nodes at 60 s were 333 writes a second — half the relay's CPU
   */
  heartbeatWriteSeconds: number;
  /**
   * a node whose connection dropped (its Will) keeps its Ready condition this long before it
   * turns Unknown (relay config nodes.offlineGraceSeconds; Kubernetes' node-monitor-grace-period
   * is 40 s): a node back within it costs no write, so a reconnect storm is not 4 writes per node
   */
  offlineGraceSeconds: number;
  /** pods capacity when the node does not say */
  defaultMaxPods: number;
  /**
   * Nodes whose conditions or taints the lifecycle controller writes per second at most (relay
   * config nodes.statusWritesPerSecond; 0: no pace), as a Kubernetes controller's client QPS
   * bounds it: when thousands of nodes drop at once their Unknown writes do not crowd out the
   * reconnects, and a node back before its turn is not written at all
   */
  statusWritesPerSecond: number;
}

export const NODE_LIFECYCLE_DEFAULTS: NodeLifecycleParams = { notReadyAfterSeconds: 90, heartbeatWriteSeconds: 300, offlineGraceSeconds: 40, defaultMaxPods: 110, statusWritesPerSecond: 100 };

/** What the relay knows about a node's liveness right now. */
export interface NodeLiveness {
  /** the node's presence (false after its Last Will or a clean disconnect) */
  online: boolean;
  /** when its presence went false (relay clock; absent: at once Unknown, as before a grace existed) */
  offlineSince?: Date;
  /**
   * not heard at all since this relay started, at `offlineSince`: the Node's stored condition
   * stands through the grace (a restarted relay does not judge a node by a heartbeat time it only
   * read from the store, which may be heartbeatWriteSeconds old)
   */
  sinceStart?: boolean;
  /** when the relay last heard from it (heartbeat or report), relay clock */
  lastHeartbeat?: Date;
  /** the node's own word on whether it can run pods (the report's `runtime`) */
  runtime?: NodeRuntime;
}

/** Kubernetes times: RFC 3339, whole seconds. */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// ------------------------------------------------------------------ the node's report

/**
 * A node's report: NodeReportedStatus with the optional `system` and `runtime` sections of
 * src/contract/node-status.ts. Unknown fields (a newer node) are ignored.
 */
const reportSchema = z.object({
  agentVersion: printable(64),
  bootId: printable(64).default(''),
  arch: printable(32).default(''),
  platform: printable(32).default(''),
  system: nodeSystemInfoSchema.optional(),
  runtime: nodeRuntimeSchema.optional(),
});
export type NodeReport = z.output<typeof reportSchema>;

/** A node's report, checked (throws ValidationError naming each bad field; unknown fields are ignored). */
export function parseNodeReport(report: unknown): NodeReport {
  return parseOrThrow(reportSchema, report, 'Node report');
}

/** Node.js process.arch → the GOARCH names Kubernetes uses (kubernetes.io/arch). */
export function goArch(arch: string): string {
  const map: Record<string, string> = { x64: 'amd64', ia32: '386', arm: 'arm', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64' };
  return map[arch] ?? arch;
}

const ki = (bytes: number): string => `${Math.floor(bytes / 1024)}Ki`;

/** nodeInfo, addresses, capacity and allocatable from a node's report (NodeReportedStatus; parsed here). */
export function nodeSystemStatus(report: unknown, params: NodeLifecycleParams = NODE_LIFECYCLE_DEFAULTS): NodeSystemStatus {
  const r = parseNodeReport(report);
  const sys = r.system ?? {};
  const version = r.agentVersion.startsWith('v') || r.agentVersion === '' ? r.agentVersion : `v${r.agentVersion}`;
  const nodeInfo: Record<string, string> = {
    machineID: sys.machineID ?? '',
    systemUUID: sys.systemUUID ?? '',
    bootID: r.bootId,
    kernelVersion: sys.kernelVersion ?? '',
    osImage: sys.osImage ?? '',
    containerRuntimeVersion: sys.containerRuntimeVersion ?? '',
    kubeletVersion: version,
    operatingSystem: r.platform,
    architecture: goArch(r.arch),
  };
  const addresses: NodeAddress[] = (sys.addresses ?? []).map((address) => ({ type: 'InternalIP', address }));
  if (sys.hostname) addresses.push({ type: 'Hostname', address: sys.hostname });
  const capacity: Record<string, string> = {};
  if (sys.cpus !== undefined) capacity.cpu = String(sys.cpus);
  if (sys.ephemeralStorageBytes !== undefined) capacity['ephemeral-storage'] = ki(sys.ephemeralStorageBytes);
  if (sys.memoryBytes !== undefined) capacity.memory = ki(sys.memoryBytes);
  capacity.pods = String(sys.maxPods ?? params.defaultMaxPods);
  // what pods may use: the node's reservations taken off (absent: all of the capacity)
  const allocatable: Record<string, string> = { ...capacity };
  const a = sys.allocatable;
  if (a?.cpuMillis !== undefined) allocatable.cpu = a.cpuMillis % 1000 === 0 ? String(a.cpuMillis / 1000) : `${a.cpuMillis}m`;
  if (a?.memoryBytes !== undefined) allocatable.memory = ki(a.memoryBytes);
  if (a?.ephemeralStorageBytes !== undefined) allocatable['ephemeral-storage'] = ki(a.ephemeralStorageBytes);
  return { nodeInfo, addresses, capacity, allocatable };
}

/** Labels a kubelet puts on its Node (arch, os, hostname) plus the edge role KubeEdge uses. */
export function nodeSystemLabels(nodeName: string, report: unknown): Record<string, string> {
  const r = parseNodeReport(report);
  return {
    'kubernetes.io/arch': goArch(r.arch),
    'kubernetes.io/os': r.platform,
    'kubernetes.io/hostname': nodeName,
    'node-role.kubernetes.io/edge': '',
  };
}

// ------------------------------------------------------------------ Ready

/** Offline, but within the grace: Ready is judged as if it were still connected. */
function inGrace(live: NodeLiveness, now: Date, params: NodeLifecycleParams): boolean {
  return params.offlineGraceSeconds > 0 && !live.online && !!live.offlineSince && now.getTime() - live.offlineSince.getTime() <= params.offlineGraceSeconds * 1000;
}

function fresh(live: NodeLiveness, now: Date, params: NodeLifecycleParams): boolean {
  return !!live.lastHeartbeat && now.getTime() - live.lastHeartbeat.getTime() <= params.notReadyAfterSeconds * 1000;
}

/**
 * The Ready condition now, given the previous one (undefined for a new node) and the node's
 * creation time (lastHeartbeatTime of a node never heard from, as Kubernetes writes it).
 */
export function readyCondition(prev: NodeCondition | undefined, liveness: NodeLiveness, now: Date, createdAt: string, params: NodeLifecycleParams = NODE_LIFECYCLE_DEFAULTS): NodeCondition {
  if (prev && liveness.sinceStart && inGrace(liveness, now, params)) return prev;
  // after a relay restart the stored condition remembers the last heartbeat written
  const stored = prev && prev.reason !== 'NodeStatusNeverUpdated' && prev.lastHeartbeatTime ? Date.parse(prev.lastHeartbeatTime) : NaN;
  const live = !liveness.lastHeartbeat && !Number.isNaN(stored) ? { ...liveness, lastHeartbeat: new Date(stored) } : liveness;
  let next: Pick<NodeCondition, 'status' | 'reason' | 'message'>;
  if (!live.lastHeartbeat) next = { status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'edgecore never posted node status.' };
  else if (!live.online && !inGrace(live, now, params)) next = { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'edgecore disconnected from the relay.' };
  else if (!fresh(live, now, params)) next = { status: 'Unknown', reason: 'NodeStatusUnknown', message: 'edgecore stopped posting node status.' };
  else if (live.runtime && !live.runtime.ready) next = { status: 'False', reason: 'KubeletNotReady', message: live.runtime.message || 'container runtime is not ready' };
  else next = { status: 'True', reason: 'KubeletReady', message: 'edgecore is posting ready status' };

  const same = !!prev && prev.status === next.status && prev.reason === next.reason && prev.message === next.message;
  const heard = live.lastHeartbeat ? rfc3339(live.lastHeartbeat) : undefined;
  let heartbeat = heard ?? prev?.lastHeartbeatTime ?? createdAt;
  if (same && prev?.lastHeartbeatTime) {
    const last = Date.parse(prev.lastHeartbeatTime);
    const due = !live.lastHeartbeat || Number.isNaN(last) || live.lastHeartbeat.getTime() - last >= params.heartbeatWriteSeconds * 1000;
    if (!due || next.status === 'Unknown') heartbeat = prev.lastHeartbeatTime;
  }
  return {
    type: 'Ready',
    status: next.status,
    lastHeartbeatTime: heartbeat,
    lastTransitionTime: prev && prev.status === next.status && prev.lastTransitionTime ? prev.lastTransitionTime : rfc3339(now),
    reason: next.reason,
    message: next.message,
  };
}

/**
 * What a Node the relay creates for a node that joined starts with: Ready Unknown
 * (NodeStatusNeverUpdated) and the unreachable taints — exactly what the lifecycle controller
 * would write next, so the Node is one write, not three.
 */
export function newNodeLifecycle(now: Date): { conditions: NodeCondition[]; taints: Taint[] } {
  return { conditions: [readyCondition(undefined, { online: false }, now, rfc3339(now))], taints: lifecycleTaints(undefined, 'Unknown', false, now) };
}

/**
 * When Ready will turn Unknown if nothing more is heard (undefined: it will not change by itself):
 * the end of an offline node's grace, or a connected node's heartbeat deadline.
 */
export function readyDeadline(live: NodeLiveness, params: NodeLifecycleParams = NODE_LIFECYCLE_DEFAULTS): Date | undefined {
  if (!live.online) return live.offlineSince && params.offlineGraceSeconds > 0 ? new Date(live.offlineSince.getTime() + params.offlineGraceSeconds * 1000 + 1) : undefined;
  if (!live.lastHeartbeat) return undefined;
  return new Date(live.lastHeartbeat.getTime() + params.notReadyAfterSeconds * 1000 + 1);
}

/** `conditions` with Ready replaced (other condition types kept as they are). */
export function withCondition(conditions: NodeCondition[] | undefined, c: NodeCondition): NodeCondition[] {
  const out = (conditions ?? []).filter((x) => x.type !== c.type);
  out.push(c);
  return out;
}

// ------------------------------------------------------------------ taints

/**
 * The node's taints with the lifecycle ones set as Kubernetes' node lifecycle controller sets
 * them: not-ready (Ready False) or unreachable (Ready Unknown), each NoSchedule and NoExecute,
 * and unschedulable:NoSchedule for a cordoned node. Other taints are kept in place; a lifecycle
 * taint that stays keeps its timeAdded. Whether pods leave is then their tolerations' call — by
 * default a pod tolerates unreachable forever (pod.ts), so a node that drops off keeps its pods.
 */
export function lifecycleTaints(taints: Taint[] | undefined, ready: NodeCondition['status'], unschedulable: boolean, now: Date): Taint[] {
  const want: Taint[] = [];
  const lifecycle = new Set([TAINT_NOT_READY, TAINT_UNREACHABLE, TAINT_UNSCHEDULABLE]);
  const key = ready === 'False' ? TAINT_NOT_READY : ready === 'Unknown' ? TAINT_UNREACHABLE : undefined;
  if (key) want.push({ key, effect: 'NoSchedule' }, { key, effect: 'NoExecute' });
  if (unschedulable) want.push({ key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' });
  const same = (a: Taint, b: Taint) => a.key === b.key && a.effect === b.effect;
  const out = (taints ?? []).filter((t) => !lifecycle.has(t.key) || want.some((w) => same(w, t)));
  for (const w of want) {
    if (out.some((t) => same(t, w))) continue;
    out.push(w.effect === 'NoExecute' ? { ...w, timeAdded: rfc3339(now) } : w);
  }
  return out;
}
