/**
 * The node's usage report for `kubectl top` (src/contract/metrics.ts), from the node status
 * sample (the node's CPU and memory) and edged's reading of its pods' containers; and whether a
 * new one is worth sending: only when the pods or their containers changed, or a figure moved by
 * at least its deadband. Pure.
 */
import type { NodeMetricsReport, PodUsage, Usage } from '../../contract/metrics.js';
import type { NodeUsage } from '../../contract/node-status.js';

export interface UsageDeadbands {
  cpuNanoCores: number;
  memoryBytes: number;
}

/**
 * The node's own usage: the busy cores of the period, and memory in use (total less available:
 * the kernel's estimate of what could be freed without swapping — the kubelet's node working
 * set counts the same pages as in use).
 */
export function nodeUsage(u: NodeUsage): Usage {
  return { cpuNanoCores: Math.round(u.cpuCores * 1e9), memoryWorkingSetBytes: Math.max(0, u.memory.totalBytes - u.memory.availableBytes) };
}

export function metricsReport(u: NodeUsage, pods: PodUsage[], windowSeconds: number, sampledAt: Date): NodeMetricsReport {
  return { windowSeconds, sampledAt: sampledAt.getTime(), node: nodeUsage(u), pods };
}

const far = (a: Usage, b: Usage, d: UsageDeadbands): boolean => Math.abs(a.cpuNanoCores - b.cpuNanoCores) >= d.cpuNanoCores || Math.abs(a.memoryWorkingSetBytes - b.memoryWorkingSetBytes) >= d.memoryBytes;

export function metricsMoved(prev: NodeMetricsReport | undefined, next: NodeMetricsReport, d: UsageDeadbands): boolean {
  if (!prev || far(prev.node, next.node, d) || prev.pods.length !== next.pods.length) return true;
  return next.pods.some((p, i) => {
    const q = prev.pods[i]!;
    if (q.uid !== p.uid || q.containers.length !== p.containers.length) return true;
    return p.containers.some((c, j) => c.name !== q.containers[j]!.name || far(q.containers[j]!, c, d));
  });
}
