/**
 * The mesh's view of the cluster, built from what the node stores (pure): every Service with
 * its ports and the endpoints its EndpointSlices list, the routes (ClusterIP:port and node
 * ports) the proxy listens on, the names the DNS answers, and the peers (other nodes: their
 * addresses and the key the relay vouches for). Built again from the store on every change —
 * with the relay away it is what the node last knew.
 */
import { isIP } from 'node:net';
import { MESH_KEY_ANNOTATION, MESH_PORT_ANNOTATION } from '../../contract/mesh.js';
import { LABEL_SERVICE_NAME, parseEndpointSlice, parseService, type EndpointSlice, type Service } from '../../contract/resources/service.js';

export type Protocol = 'TCP' | 'UDP';

export interface EndpointInfo {
  address: string;
  /** the node it runs on; absent for an endpoint outside the edge (a cloud-side backend, reached through the relay) */
  nodeName?: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  hostname?: string;
  /** port name → number, for this endpoint (slices group endpoints by their ports) */
  ports: Map<string, { port: number; protocol: string }>;
  /** an FQDN endpoint (addressType FQDN): dialled by name */
  fqdn: boolean;
}

export interface ServiceInfo {
  namespace: string;
  name: string;
  type: string;
  clusterIP?: string;
  headless: boolean;
  externalName?: string;
  ports: { name: string; port: number; protocol: string; targetPort?: number | string; nodePort?: number }[];
  /** ClientIP affinity timeout, ms (undefined: no affinity) */
  affinityMs?: number;
  /** internalTrafficPolicy: Local */
  localOnly: boolean;
  /** trafficDistribution: PreferClose */
  preferClose: boolean;
  endpoints: EndpointInfo[];
}

/** A listener's route: which Service port a (ClusterIP or node) port stands for. */
export interface PortRoute {
  service: ServiceInfo;
  portName: string;
  protocol: Protocol;
}

export interface PeerInfo {
  name: string;
  addresses: string[];
  keySha256?: string;
  port?: number;
}

export interface MeshTable {
  services: Map<string, ServiceInfo>;
  /** `ip:port/PROTO` → route */
  vips: Map<string, PortRoute>;
  /** `port/PROTO` → route (NodePort and LoadBalancer services) */
  nodePorts: Map<string, PortRoute>;
  /** ClusterIP → service (PTR) */
  byIp: Map<string, ServiceInfo>;
  peers: Map<string, PeerInfo>;
  /** what was refused while building (a stored object the mesh cannot use) */
  problems: string[];
}

export const routeKey = (ip: string, port: number, protocol: string): string => `${ip}:${port}/${protocol}`;
export const svcKey = (namespace: string, name: string): string => `${namespace}/${name}`;

type Stored = { namespace: string; name: string; spec: unknown };

function endpointsOf(slice: EndpointSlice): EndpointInfo[] {
  if (slice.addressType === 'IPv6') return [];
  const ports = new Map<string, { port: number; protocol: string }>();
  for (const p of slice.ports ?? []) if (p.port !== undefined) ports.set(p.name ?? '', { port: p.port, protocol: p.protocol ?? 'TCP' });
  return slice.endpoints.flatMap((e) =>
    e.addresses.slice(0, 1).map((address) => ({
      address,
      ...(e.nodeName ? { nodeName: e.nodeName } : {}),
      ready: e.conditions?.ready ?? true,
      serving: e.conditions?.serving ?? e.conditions?.ready ?? true,
      terminating: e.conditions?.terminating ?? false,
      ...(e.hostname ? { hostname: e.hostname } : {}),
      ports,
      fqdn: slice.addressType === 'FQDN',
    })),
  );
}

function serviceInfo(s: Service): ServiceInfo {
  const spec = s.spec;
  const headless = spec.clusterIP === 'None';
  const ip = spec.clusterIP && !headless && isIP(spec.clusterIP) === 4 ? spec.clusterIP : undefined;
  return {
    namespace: s.metadata.namespace,
    name: s.metadata.name,
    type: spec.type ?? 'ClusterIP',
    ...(ip ? { clusterIP: ip } : {}),
    headless,
    ...(spec.type === 'ExternalName' && spec.externalName ? { externalName: spec.externalName.replace(/\.$/, '') } : {}),
    ports: (spec.ports ?? []).map((p) => ({
      name: p.name ?? '',
      port: p.port,
      protocol: p.protocol ?? 'TCP',
      ...(p.targetPort !== undefined ? { targetPort: p.targetPort } : {}),
      ...(p.nodePort ? { nodePort: p.nodePort } : {}),
    })),
    ...(spec.sessionAffinity === 'ClientIP' ? { affinityMs: (spec.sessionAffinityConfig?.clientIP?.timeoutSeconds ?? 10_800) * 1000 } : {}),
    localOnly: spec.internalTrafficPolicy === 'Local',
    preferClose: spec.trafficDistribution === 'PreferClose',
    endpoints: [],
  };
}

/** a peer's address that can only be this node's own or nobody's (loopback, unspecified, link-local, multicast and above): never dialled */
const UNDIALLABLE = /^(127|0|169\.254|22[4-9]|2[3-5]\d)\./;

function peerOf(o: Stored): PeerInfo | undefined {
  const m = o.spec as { metadata?: { name?: unknown; annotations?: Record<string, unknown> }; status?: { addresses?: { type?: unknown; address?: unknown }[] } };
  const name = typeof m?.metadata?.name === 'string' ? m.metadata.name : o.name;
  const ann = m?.metadata?.annotations ?? {};
  const addresses = (m?.status?.addresses ?? [])
    .filter((a) => (a.type === 'InternalIP' || a.type === 'ExternalIP') && typeof a.address === 'string' && isIP(a.address) === 4 && !UNDIALLABLE.test(a.address))
    .map((a) => a.address as string);
  const key = typeof ann[MESH_KEY_ANNOTATION] === 'string' && /^[0-9a-f]{64}$/.test(ann[MESH_KEY_ANNOTATION] as string) ? (ann[MESH_KEY_ANNOTATION] as string) : undefined;
  const port = Number(ann[MESH_PORT_ANNOTATION]);
  return { name, addresses, ...(key ? { keySha256: key } : {}), ...(Number.isInteger(port) && port > 0 && port < 65536 ? { port } : {}) };
}

/**
 * The table from the stored Services, EndpointSlices and peer Nodes. A Service or slice that
 * does not parse is left out and named in `problems`; `self` is this node (never its own peer).
 */
export function buildTable(input: { services: Stored[]; slices: Stored[]; nodes: Stored[]; self: string; nodePorts: boolean }): MeshTable {
  const t: MeshTable = { services: new Map(), vips: new Map(), nodePorts: new Map(), byIp: new Map(), peers: new Map(), problems: [] };
  for (const o of input.services) {
    try {
      const info = serviceInfo(parseService(o.spec));
      t.services.set(svcKey(info.namespace, info.name), info);
    } catch (e) {
      t.problems.push(`Service ${o.namespace}/${o.name}: ${(e as Error).message}`);
    }
  }
  for (const o of input.slices) {
    try {
      const slice = parseEndpointSlice(o.spec);
      const labels = (slice.metadata as { labels?: Record<string, string> }).labels ?? {};
      const svc = t.services.get(svcKey(slice.metadata.namespace, labels[LABEL_SERVICE_NAME] ?? ''));
      if (svc) svc.endpoints.push(...endpointsOf(slice));
    } catch (e) {
      t.problems.push(`EndpointSlice ${o.namespace}/${o.name}: ${(e as Error).message}`);
    }
  }
  for (const svc of t.services.values()) {
    if (svc.clusterIP) t.byIp.set(svc.clusterIP, svc);
    for (const p of svc.ports) {
      if (p.protocol !== 'TCP' && p.protocol !== 'UDP') continue;
      const route: PortRoute = { service: svc, portName: p.name, protocol: p.protocol };
      if (svc.clusterIP) t.vips.set(routeKey(svc.clusterIP, p.port, p.protocol), route);
      if (input.nodePorts && p.nodePort && (svc.type === 'NodePort' || svc.type === 'LoadBalancer')) t.nodePorts.set(`${p.nodePort}/${p.protocol}`, route);
    }
  }
  for (const o of input.nodes) {
    const p = peerOf(o);
    if (p && p.name !== input.self) t.peers.set(p.name, p);
  }
  return t;
}

/** The ClusterIPs the holder interface must carry (the DNS address is added by the caller). */
export function addressesOf(t: MeshTable): string[] {
  return [...new Set([...t.vips.keys()].map((k) => k.slice(0, k.lastIndexOf(':'))))].sort();
}
