/**
 * core/v1 Service: Kubernetes' defaulting and validation (service-validate.ts), field selectors
 * and the `kubectl get svc` table. The ClusterIP and node ports are not chosen here (a kind is
 * pure): the API's service allocator (src/relay/apiserver/service-alloc.ts) fills them in on
 * the write path, after validation, committed with the Service itself.
 */
import type { KubeObject } from '../../contract/kube/types.js';
import { AGE_COLUMN, ageOf, column, NAME_COLUMN } from '../../contract/kube/table.js';
import { arr, pruneNulls, rec, str, type Obj } from './common.js';
import { validateService } from './service-validate.js';
import type { ResourceDef } from './types.js';

/** Kubernetes' default session affinity timeout (3 hours). */
export const DEFAULT_AFFINITY_TIMEOUT = 10_800;

const set = (o: Obj, k: string, v: unknown): void => {
  if (o[k] === undefined || o[k] === '') o[k] = v;
};

/** SetDefaults_Service (and the strategy's IP family defaults), in place. */
export function defaultService(obj: KubeObject): void {
  pruneNulls(obj);
  const spec = rec(obj.spec) ?? {};
  obj.spec = spec;
  set(spec, 'type', 'ClusterIP');
  set(spec, 'sessionAffinity', 'None');
  if (spec.sessionAffinity === 'ClientIP') {
    const cfg = rec(spec.sessionAffinityConfig) ?? {};
    const client = rec(cfg.clientIP) ?? {};
    set(client, 'timeoutSeconds', DEFAULT_AFFINITY_TIMEOUT);
    cfg.clientIP = client;
    spec.sessionAffinityConfig = cfg;
  }
  for (const p of arr(spec.ports)) {
    const port = rec(p);
    if (!port) continue;
    set(port, 'protocol', 'TCP');
    if (port.targetPort === undefined || port.targetPort === 0 || port.targetPort === '') port.targetPort = port.port;
  }
  const type = spec.type;
  if (type === 'NodePort' || type === 'LoadBalancer') set(spec, 'externalTrafficPolicy', 'Cluster');
  if (type === 'LoadBalancer' && spec.allocateLoadBalancerNodePorts === undefined) spec.allocateLoadBalancerNodePorts = true;
  if (type !== 'ExternalName') {
    set(spec, 'internalTrafficPolicy', 'Cluster');
    if (typeof spec.clusterIP === 'string' && spec.clusterIP && spec.clusterIPs === undefined) spec.clusterIPs = [spec.clusterIP];
    if (spec.clusterIP === undefined && Array.isArray(spec.clusterIPs) && typeof spec.clusterIPs[0] === 'string') spec.clusterIP = spec.clusterIPs[0];
    set(spec, 'ipFamilyPolicy', 'SingleStack');
    if (spec.ipFamilies === undefined) spec.ipFamilies = ['IPv4'];
  }
  if (obj.status === undefined) obj.status = { loadBalancer: {} };
}

export const SERVICE_COLUMNS = [
  NAME_COLUMN,
  column('Type', 'The type of the service: ClusterIP, NodePort, LoadBalancer or ExternalName.'),
  column('Cluster-IP', 'The IP address the service is reached at inside the cluster.'),
  column('External-IP', 'The external address: the load balancer ingress, external IPs, or the external name.'),
  column('Port(s)', 'The ports the service listens on, with node ports.'),
  AGE_COLUMN,
  column('Selector', 'The labels of the pods the service sends traffic to.', 1),
];

/** kubectl's loadBalancerStatusStringer: ingress IPs (or host names), sorted and unique, clipped to 16 characters unless wide. */
export function loadBalancerText(status: unknown, wide: boolean): string {
  const out = new Set<string>();
  for (const i of arr(rec(rec(status)?.loadBalancer)?.ingress)) {
    const r = rec(i);
    const v = str(r?.ip) || str(r?.hostname);
    if (v) out.add(v);
  }
  const text = [...out].sort().join(',');
  return !wide && text.length > 16 ? `${text.slice(0, 13)}...` : text;
}

export function serviceExternalIp(svc: KubeObject, wide = false): string {
  const spec = rec(svc.spec) ?? {};
  const external = arr(spec.externalIPs).map(str);
  switch (spec.type) {
    case 'ClusterIP':
    case 'NodePort':
      return external.length ? external.join(',') : '<none>';
    case 'LoadBalancer': {
      const lb = loadBalancerText(svc.status, wide);
      if (external.length) return [...(lb ? lb.split(',') : []), ...external].join(',');
      return lb || '<pending>';
    }
    case 'ExternalName':
      return str(spec.externalName);
    default:
      return '<unknown>';
  }
}

/** `80/TCP,53:30053/UDP` — kubectl's makePortString. */
export function servicePortsText(ports: unknown): string {
  const text = arr(ports)
    .map(rec)
    .map((p) => {
      const np = typeof p?.nodePort === 'number' && p.nodePort > 0 ? `:${p.nodePort}` : '';
      return `${String(p?.port ?? '')}${np}/${str(p?.protocol)}`;
    })
    .join(',');
  return text || '<none>';
}

/** kubectl's labels.FormatLabels: `k=v` sorted by key, or `<none>`. */
export function formatLabels(labels: unknown): string {
  const entries = Object.entries(rec(labels) ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.length ? entries.map(([k, v]) => `${k}=${str(v)}`).join(',') : '<none>';
}

export function serviceRow(svc: KubeObject, now: Date): unknown[] {
  const spec = rec(svc.spec) ?? {};
  const ips = arr(spec.clusterIPs).map(str);
  return [
    svc.metadata.name ?? '',
    str(spec.type),
    ips[0] || '<none>',
    serviceExternalIp(svc),
    servicePortsText(spec.ports),
    ageOf(svc.metadata.creationTimestamp, now),
    formatLabels(spec.selector),
  ];
}

export const serviceDef: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Service',
  plural: 'services',
  singular: 'service',
  shortNames: ['svc'],
  categories: ['all'],
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: ['status'],
  strategicMerge: true,
  statusSubresource: true,
  defaults: defaultService,
  validate: (obj, old) => validateService(obj, old),
  fields: (o) => ({ 'spec.clusterIP': str(rec(o.spec)?.clusterIP), 'spec.type': str(rec(o.spec)?.type) }),
  columns: SERVICE_COLUMNS,
  row: serviceRow,
  schemaName: 'io.k8s.api.core.v1.Service',
};
