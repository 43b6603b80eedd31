/**
 * The newest usage report of each node (`kubectl top`), in memory: like metrics-server's
 * scrapes, figures are not API objects — a restarted relay shows them again after each node's
 * next report. A report older than the one kept (a late redelivery) is ignored. Bounded by the
 * joined nodes (the ingress hears only those) and the contract's limits per report.
 */
import type { NodeMetricsReport } from '../../contract/metrics.js';
import type { UsageSource } from '../apiserver/http/metrics-api.js';

export class NodeUsageStore implements UsageSource {
  private readonly byNode = new Map<string, NodeMetricsReport>();

  /** Keep `r` as `node`'s newest; false when an equal or newer one is kept already. */
  record(node: string, r: NodeMetricsReport): boolean {
    const cur = this.byNode.get(node);
    if (cur && cur.sampledAt >= r.sampledAt) return false;
    this.byNode.set(node, r);
    return true;
  }

  latest(node: string): NodeMetricsReport | undefined {
    return this.byNode.get(node);
  }

  /** nodes with a report */
  size(): number {
    return this.byNode.size;
  }

  forget(node: string): void {
    this.byNode.delete(node);
  }
}
