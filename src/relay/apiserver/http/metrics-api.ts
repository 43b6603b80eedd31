/**
 * metrics.k8s.io/v1beta1 — NodeMetrics and PodMetrics, what `kubectl top` reads — served from the
 * usage the nodes report (kept in memory by the node link, as metrics-server keeps its scrapes:
 * no objects, no revisions, no watch). Each answer is built from the API's own Nodes and Pods,
 * read with the caller's identity (so it may see metrics only of what it may read), and a pod
 * shows usage only when the node the API places it on reported that pod with its uid: a node's
 * word about any other pod is never shown.
 */
import { forbidden, methodNotAllowed, notFound } from '../../../contract/kube/status.js';
import type { KubeObject } from '../../../contract/kube/types.js';
import type { NodeMetricsReport, Usage } from '../../../contract/metrics.js';
import type { ServedResource } from '../../../contract/kube/resources.js';
import { NAME_COLUMN } from '../../../contract/kube/table.js';
import type { ResourceDef } from '../../kinds/types.js';
import { METRICS_SCHEMA_NAMES, type DocumentedResource } from '../../openapi/index.js';
import { authorize, forbiddenMessage } from '../authz.js';
import type { ApiCore, CallContext, ListOptions } from '../core.js';

export const METRICS_GROUP = 'metrics.k8s.io';
export const METRICS_VERSION = 'v1beta1';
const API_VERSION = `${METRICS_GROUP}/${METRICS_VERSION}`;

/** The newest usage report of a node (undefined: none since the relay started, or the node is gone). */
export interface UsageSource {
  latest(node: string): NodeMetricsReport | undefined;
}

/** The group's two resources, as discovery and the OpenAPI documents list them (get and list only; no table columns of their own). */
export const METRICS_RESOURCES: readonly (ServedResource & DocumentedResource)[] = [
  { kind: 'NodeMetrics', plural: 'nodes', singular: 'nodemetrics', namespaced: false, schemaName: METRICS_SCHEMA_NAMES.NodeMetrics },
  { kind: 'PodMetrics', plural: 'pods', singular: 'podmetrics', namespaced: true, schemaName: METRICS_SCHEMA_NAMES.PodMetrics },
].map((r) => ({ ...r, group: METRICS_GROUP, version: METRICS_VERSION, shortNames: [], categories: [], verbs: ['get', 'list'], subresources: [], strategicMerge: false, columns: [NAME_COLUMN], row: (o: KubeObject) => [o.metadata.name] }));

/** Kubernetes quantities: CPU in nanocores, memory in KiB (as metrics-server writes them). */
export const usageQuantities = (u: Usage): { cpu: string; memory: string } => ({ cpu: `${u.cpuNanoCores}n`, memory: `${Math.round(u.memoryWorkingSetBytes / 1024)}Ki` });

const seconds = (ms: number): string => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
const windowOf = (r: NodeMetricsReport): string => `${Math.round(r.windowSeconds * 1000) / 1000}s`;

export interface MetricsRequest {
  verb: string;
  resource: string;
  namespace: string | undefined;
  name: string | undefined;
  query: URLSearchParams;
}

export class MetricsApi {
  constructor(
    private readonly core: ApiCore,
    private readonly usage: UsageSource,
    private readonly now: () => Date,
  ) {}

  private def(resource: 'nodes' | 'pods'): ResourceDef {
    const d = this.core.registry.byResource('', 'v1', resource);
    if (!d) throw new Error(`no ${resource} resource registered`);
    return d;
  }

  /** One request under /apis/metrics.k8s.io/v1beta1: the answer's body. */
  async serve(ctx: CallContext, r: MetricsRequest): Promise<unknown> {
    const spec = METRICS_RESOURCES.find((x) => x.plural === r.resource);
    if (!spec) throw notFound({ group: METRICS_GROUP, resource: r.resource });
    if (r.verb !== 'get' && r.verb !== 'list') throw methodNotAllowed(`the server does not allow this method on the requested resource (${r.verb} ${r.resource}.${METRICS_GROUP})`);
    const attrs = { verb: r.verb as 'get' | 'list', group: METRICS_GROUP, resource: r.resource, ...(r.namespace ? { namespace: r.namespace } : {}), ...(r.name ? { name: r.name } : {}) };
    if (authorize(ctx.identity, attrs, undefined).allowed !== true) throw forbidden(forbiddenMessage(ctx.identity, attrs), { group: METRICS_GROUP, resource: r.resource, ...(r.name ? { name: r.name } : {}) });
    const opts: ListOptions = r.query.get('labelSelector') ? { labelSelector: r.query.get('labelSelector')! } : {};
    const subject = { group: METRICS_GROUP, resource: r.resource, ...(r.name ? { name: r.name } : {}) };
    if (r.resource === 'nodes') {
      const nodes = r.name ? [await this.core.get(ctx, this.def('nodes'), undefined, r.name)] : (await this.core.list(ctx, this.def('nodes'), undefined, opts)).items;
      const items = nodes.map((n) => this.nodeMetrics(n)).filter((x) => x !== undefined);
      if (r.name) return items[0] ?? notFoundError(subject);
      return { kind: 'NodeMetricsList', apiVersion: API_VERSION, metadata: {}, items };
    }
    const pods = r.name ? [await this.core.get(ctx, this.def('pods'), r.namespace, r.name)] : (await this.core.list(ctx, this.def('pods'), r.namespace, opts)).items;
    const items = pods.map((p) => this.podMetrics(p)).filter((x) => x !== undefined);
    if (r.name) return items[0] ?? notFoundError(subject);
    return { kind: 'PodMetricsList', apiVersion: API_VERSION, metadata: {}, items };
  }

  private meta(o: KubeObject): Record<string, unknown> {
    const m = o.metadata;
    return { name: m.name, ...(m.namespace ? { namespace: m.namespace } : {}), creationTimestamp: seconds(this.now().getTime()), ...(m.labels ? { labels: m.labels } : {}) };
  }

  private nodeMetrics(n: KubeObject): unknown {
    const r = this.usage.latest(n.metadata.name ?? '');
    if (!r) return undefined;
    return { kind: 'NodeMetrics', apiVersion: API_VERSION, metadata: this.meta(n), timestamp: seconds(r.sampledAt), window: windowOf(r), usage: usageQuantities(r.node) };
  }

  private podMetrics(p: KubeObject): unknown {
    const node = (p as { spec?: { nodeName?: string } }).spec?.nodeName;
    const r = node ? this.usage.latest(node) : undefined;
    const u = r?.pods.find((x) => x.uid === p.metadata.uid && x.namespace === p.metadata.namespace && x.name === p.metadata.name);
    if (!r || !u) return undefined;
    return { kind: 'PodMetrics', apiVersion: API_VERSION, metadata: this.meta(p), timestamp: seconds(r.sampledAt), window: windowOf(r), containers: u.containers.map((c) => ({ name: c.name, usage: usageQuantities(c) })) };
  }
}

function notFoundError(subject: { group: string; resource: string; name?: string }): never {
  throw notFound(subject);
}
