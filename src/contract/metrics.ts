/**
 * Resource usage a node measures for `kubectl top` (metrics.k8s.io at the relay): the node's own
 * CPU and memory working set, and each of its pods' containers' (from the container engine's
 * stats). It travels as a ReportedState of kind NODE_METRICS_KIND (namespace '', name = the node)
 * on `reported/state`, so the outbox keeps only the newest one while the node is offline. The
 * node sends one when a figure moved (see nodestatus); the relay keeps the newest per node in
 * memory — as metrics-server does, these are not API objects and have no revisions — and shows a
 * pod's usage only for a pod the API places on that node, with the uid the node names.
 */
import * as z from 'zod';
import { printable } from './node-status.js';

/** The `kind` of the ReportedState that carries a NodeMetricsReport. */
export const NODE_METRICS_KIND = 'NodeMetrics';

/** containers per pod and pods per report a node may send (kubelet's default maxPods is 110) */
export const METRICS_LIMITS = { pods: 500, containers: 32 } as const;

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** What one thing uses: CPU in nanocores over the window, memory working set in bytes. */
export const usageSchema = z.strictObject({ cpuNanoCores: count, memoryWorkingSetBytes: count });
export type Usage = z.output<typeof usageSchema>;

const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS label');

export const podUsageSchema = z.strictObject({
  namespace: dnsLabel,
  name: z.string().min(1).max(253).regex(/^[a-z0-9]([-.a-z0-9]*[a-z0-9])?$/, 'must be a DNS subdomain'),
  /** the pod's uid as the node runs it: the relay shows the figures only on that incarnation */
  uid: printable(64).min(1),
  containers: z
    .array(z.strictObject({ name: dnsLabel, ...usageSchema.shape }))
    .min(1)
    .max(METRICS_LIMITS.containers),
});
export type PodUsage = z.output<typeof podUsageSchema>;

/** `status` of a NODE_METRICS_KIND report. */
export const nodeMetricsReportSchema = z.strictObject({
  /** the window the CPU figures were averaged over, in seconds (the sampling period) */
  windowSeconds: z.number().min(0.1).max(3600),
  /** when the figures were taken (ms since epoch) */
  sampledAt: z.number().int().min(0).max(8.64e15),
  node: usageSchema,
  pods: z.array(podUsageSchema).max(METRICS_LIMITS.pods),
});
export type NodeMetricsReport = z.output<typeof nodeMetricsReportSchema>;
