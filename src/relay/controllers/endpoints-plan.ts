/**
 * What a Service's EndpointSlices and Endpoints should hold, from its pods and their nodes
 * (pure): Kubernetes' EndpointSlice and Endpoints controllers' rules, and one edge rule.
 *
 * - A pod counts when it matches the selector in the Service's namespace, has an IP and has not
 *   finished. `serving` is its Ready condition; `terminating` its deletionTimestamp; `ready` is
 *   serving and not terminating (always true with publishNotReadyAddresses).
 * - Edge rule: an endpoint whose node is not Ready (NotReady or Unknown: edgecore stopped, the
 *   link to the relay is gone) is not `ready`, so proxies stop sending it new connections within
 *   seconds of the relay's node lifecycle noticing — but it stays `serving` (the pod may well
 *   run), and a proxy with no ready endpoint left falls back to serving ones (docs/mesh.md).
 * - Ports: each Service port's targetPort, a name resolved against the pod's container ports
 *   (a pod that lacks it is left out of that port's group). Endpoints with the same resolved
 *   ports share slices of at most 100; Endpoints subsets group the same way.
 * - Existing slices of the Service that the controller manages are reused by port group in name
 *   order (so names stay stable), extra ones are deleted, missing ones created with generateName.
 */
import type { KubeObject, ObjectMeta } from '../../contract/kube/types.js';
import { ENDPOINTSLICE_CONTROLLER, LABEL_MANAGED_BY, LABEL_SERVICE_NAME } from '../../contract/resources/service.js';
import { stableStringify } from '../../lib/json.js';
import { arr, rec, str } from '../kinds/common.js';

export const MAX_ENDPOINTS_PER_SLICE = 100;
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';
const ZONE_LABEL = 'topology.kubernetes.io/zone';

export interface SlicePort {
  name: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

export interface PlannedEndpoint {
  address: string;
  nodeName?: string;
  zone?: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  pod: { namespace: string; name: string; uid: string };
}

export type SlicePlan =
  | { op: 'create'; object: KubeObject }
  | { op: 'update'; object: KubeObject }
  | { op: 'delete'; name: string; uid: string };

export interface EndpointsPlan {
  slices: SlicePlan[];
  /** the v1 Endpoints object (undefined: it should not exist) */
  endpoints?: KubeObject;
}

const conditionTrue = (o: KubeObject, type: string): boolean => arr(rec(o.status)?.conditions).some((c) => rec(c)?.type === type && rec(c)?.status === 'True');

export const nodeReady = (node: KubeObject | undefined): boolean => !!node && conditionTrue(node, 'Ready');

/** Does the Service select this pod (same namespace; a selector, all of whose labels the pod has)? */
export function selects(svc: KubeObject, pod: KubeObject): boolean {
  const sel = rec(rec(svc.spec)?.selector);
  if (!sel || !Object.keys(sel).length) return false;
  if ((pod.metadata.namespace ?? 'default') !== (svc.metadata.namespace ?? 'default')) return false;
  const labels = pod.metadata.labels ?? {};
  return Object.entries(sel).every(([k, v]) => labels[k] === v);
}

/** Does the controller keep slices for this Service (a selector, not ExternalName)? */
export function managesService(svc: KubeObject): boolean {
  const spec = rec(svc.spec) ?? {};
  return spec.type !== 'ExternalName' && !!rec(spec.selector) && Object.keys(rec(spec.selector)!).length > 0;
}

/** A service port's target on this pod, or undefined when a named port is not there. */
export function resolvePort(pod: KubeObject, target: unknown, protocol: string): number | undefined {
  if (typeof target === 'number') return target;
  const name = str(target);
  for (const c of [...arr(rec(pod.spec)?.containers)]) {
    for (const p of arr(rec(c)?.ports)) {
      const port = rec(p);
      if (port && port.name === name && (str(port.protocol) || 'TCP') === protocol && typeof port.containerPort === 'number') return port.containerPort;
    }
  }
  return undefined;
}

function podEndpoint(svc: KubeObject, pod: KubeObject, node: KubeObject | undefined): PlannedEndpoint | undefined {
  const status = rec(pod.status) ?? {};
  const ip = str(status.podIP) || str(rec(arr(status.podIPs)[0])?.ip);
  if (!ip || status.phase === 'Succeeded' || status.phase === 'Failed') return undefined;
  const publish = rec(svc.spec)?.publishNotReadyAddresses === true;
  const terminating = !!pod.metadata.deletionTimestamp;
  const serving = conditionTrue(pod, 'Ready');
  const nodeName = str(rec(pod.spec)?.nodeName);
  const ready = publish || (serving && !terminating && (!nodeName || nodeReady(node)));
  const zone = node?.metadata.labels?.[ZONE_LABEL];
  return {
    address: ip,
    ...(nodeName ? { nodeName } : {}),
    ...(zone ? { zone } : {}),
    ready,
    serving: publish || serving,
    terminating,
    pod: { namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name ?? '', uid: pod.metadata.uid ?? '' },
  };
}

/** Endpoints grouped by their resolved ports (key: the ports as stable JSON). */
export function groupEndpoints(svc: KubeObject, pods: readonly KubeObject[], nodes: (name: string) => KubeObject | undefined): Map<string, { ports: SlicePort[]; endpoints: PlannedEndpoint[] }> {
  const groups = new Map<string, { ports: SlicePort[]; endpoints: PlannedEndpoint[] }>();
  const svcPorts = arr(rec(svc.spec)?.ports).map(rec);
  for (const pod of pods) {
    if (!selects(svc, pod)) continue;
    const ep = podEndpoint(svc, pod, nodes(str(rec(pod.spec)?.nodeName)));
    if (!ep) continue;
    const ports: SlicePort[] = [];
    for (const p of svcPorts) {
      if (!p) continue;
      const protocol = str(p.protocol) || 'TCP';
      const port = resolvePort(pod, p.targetPort ?? p.port, protocol);
      if (port === undefined) continue;
      ports.push({ name: str(p.name), port, protocol, ...(p.appProtocol ? { appProtocol: str(p.appProtocol) } : {}) });
    }
    const key = stableStringify(ports);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports, endpoints: [] }));
    g.endpoints.push(ep);
  }
  for (const g of groups.values()) g.endpoints.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : a.pod.name < b.pod.name ? -1 : 1));
  return groups;
}

function ownerOf(svc: KubeObject): NonNullable<ObjectMeta['ownerReferences']>[number] {
  return { apiVersion: 'v1', kind: 'Service', name: svc.metadata.name ?? '', uid: svc.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}

function labelsFor(svc: KubeObject, managed: boolean): Record<string, string> {
  const own = { ...(svc.metadata.labels ?? {}) };
  for (const k of [LABEL_SERVICE_NAME, LABEL_MANAGED_BY, LABEL_HEADLESS]) delete own[k];
  return {
    ...own,
    ...(managed ? { [LABEL_SERVICE_NAME]: svc.metadata.name ?? '', [LABEL_MANAGED_BY]: ENDPOINTSLICE_CONTROLLER } : {}),
    ...(rec(svc.spec)?.clusterIP === 'None' ? { [LABEL_HEADLESS]: '' } : {}),
  };
}

function sliceBody(ports: SlicePort[], endpoints: PlannedEndpoint[]): Pick<KubeObject, 'addressType' | 'endpoints' | 'ports'> {
  return {
    addressType: 'IPv4',
    endpoints: endpoints.map((e) => ({
      addresses: [e.address],
      conditions: { ready: e.ready, serving: e.serving, terminating: e.terminating },
      ...(e.nodeName ? { nodeName: e.nodeName } : {}),
      ...(e.zone ? { zone: e.zone } : {}),
      targetRef: { kind: 'Pod', namespace: e.pod.namespace, name: e.pod.name, uid: e.pod.uid },
    })),
    ports: ports.map((p) => ({ name: p.name, port: p.port, protocol: p.protocol, ...(p.appProtocol ? { appProtocol: p.appProtocol } : {}) })),
  };
}

/** What of a slice the plan compares (not metadata the API adds). */
const content = (o: KubeObject): string =>
  stableStringify({ addressType: o.addressType, endpoints: o.endpoints ?? [], ports: o.ports ?? [], labels: o.metadata.labels ?? {}, owners: o.metadata.ownerReferences ?? [] });

/**
 * The slices and Endpoints object of `svc` (undefined: the Service is gone or not managed, so
 * its managed slices go). `existing` are the slices labelled with the Service's name and managed
 * by this controller.
 */
export function planEndpoints(svc: KubeObject | undefined, pods: readonly KubeObject[], nodes: (name: string) => KubeObject | undefined, existing: readonly KubeObject[]): EndpointsPlan {
  if (!svc || !managesService(svc)) return { slices: existing.map((s) => ({ op: 'delete', name: s.metadata.name ?? '', uid: s.metadata.uid ?? '' })) };
  const ns = svc.metadata.namespace ?? 'default';
  const labels = labelsFor(svc, true);
  const groups = groupEndpoints(svc, pods, nodes);
  const free = new Map<string, KubeObject[]>();
  for (const s of [...existing].sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1))) {
    const key = stableStringify(arr(s.ports).map((p) => ({ name: str(rec(p)?.name), port: rec(p)?.port, protocol: str(rec(p)?.protocol) || 'TCP', ...(rec(p)?.appProtocol ? { appProtocol: rec(p)!.appProtocol } : {}) })));
    const list = free.get(key) ?? [];
    list.push(s);
    free.set(key, list);
  }
  const slices: SlicePlan[] = [];
  // a Service with no endpoints still gets one (empty) slice, as Kubernetes keeps one
  if (!groups.size) groups.set(stableStringify([]), { ports: [], endpoints: [] });
  for (const [key, g] of groups) {
    const chunks: PlannedEndpoint[][] = [];
    for (let i = 0; i < g.endpoints.length; i += MAX_ENDPOINTS_PER_SLICE) chunks.push(g.endpoints.slice(i, i + MAX_ENDPOINTS_PER_SLICE));
    if (!chunks.length) chunks.push([]);
    const reuse = free.get(key) ?? [];
    for (const chunk of chunks) {
      const body = sliceBody(g.ports, chunk);
      const prev = reuse.shift();
      if (prev) {
        const next: KubeObject = { ...prev, ...body, metadata: { ...prev.metadata, labels, ownerReferences: [ownerOf(svc)] } };
        if (content(next) !== content(prev)) slices.push({ op: 'update', object: next });
      } else {
        slices.push({
          op: 'create',
          object: { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { generateName: `${svc.metadata.name ?? ''}-`, namespace: ns, labels, ownerReferences: [ownerOf(svc)] }, ...body },
        });
      }
    }
  }
  for (const rest of free.values()) for (const s of rest) slices.push({ op: 'delete', name: s.metadata.name ?? '', uid: s.metadata.uid ?? '' });
  return { slices, endpoints: endpointsObject(svc, groups) };
}

/** The v1 Endpoints object: ready addresses, the rest (not terminating) as notReadyAddresses. */
function endpointsObject(svc: KubeObject, groups: Map<string, { ports: SlicePort[]; endpoints: PlannedEndpoint[] }>): KubeObject {
  const subsets: Record<string, unknown>[] = [];
  for (const g of groups.values()) {
    const addr = (e: PlannedEndpoint) => ({ ip: e.address, ...(e.nodeName ? { nodeName: e.nodeName } : {}), targetRef: { kind: 'Pod', namespace: e.pod.namespace, name: e.pod.name, uid: e.pod.uid } });
    const addresses = g.endpoints.filter((e) => e.ready).map(addr);
    const notReady = g.endpoints.filter((e) => !e.ready && !e.terminating).map(addr);
    if (!addresses.length && !notReady.length) continue;
    subsets.push({
      ...(addresses.length ? { addresses } : {}),
      ...(notReady.length ? { notReadyAddresses: notReady } : {}),
      ...(g.ports.length ? { ports: g.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: p.protocol })) } : {}),
    });
  }
  return {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: svc.metadata.name ?? '', namespace: svc.metadata.namespace ?? 'default', labels: labelsFor(svc, false) },
    ...(subsets.length ? { subsets } : {}),
  };
}

/** Does the stored Endpoints object already say what `want` says? */
export function sameEndpoints(cur: KubeObject, want: KubeObject): boolean {
  return stableStringify({ s: cur.subsets ?? [], l: cur.metadata.labels ?? {} }) === stableStringify({ s: want.subsets ?? [], l: want.metadata.labels ?? {} });
}
