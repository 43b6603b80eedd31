/** Stored Services, EndpointSlices and peer Nodes as a node holds them, for the mesh's unit tests. */
import { MESH_KEY_ANNOTATION, MESH_PORT_ANNOTATION } from '../../../src/contract/mesh.js';
import { buildTable, type MeshTable } from '../../../src/modules/mesh/table.js';

type Stored = { namespace: string; name: string; spec: unknown };

export const service = (name: string, spec: Record<string, unknown>, namespace = 'default'): Stored => ({
  namespace,
  name,
  spec: { apiVersion: 'v1', kind: 'Service', metadata: { name, namespace }, spec: { type: 'ClusterIP', ...spec } },
});

export interface Ep {
  ip: string;
  node?: string;
  ready?: boolean;
  serving?: boolean;
  hostname?: string;
}

export const slice = (svc: string, eps: Ep[], ports: { name?: string; port: number; protocol?: string }[], namespace = 'default', addressType = 'IPv4'): Stored => ({
  namespace,
  name: `${svc}-x${Math.random().toString(36).slice(2, 7)}`,
  spec: {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: `${svc}-abcde`, namespace, labels: { 'kubernetes.io/service-name': svc } },
    addressType,
    endpoints: eps.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: false },
      ...(e.node ? { nodeName: e.node } : {}),
      ...(e.hostname ? { hostname: e.hostname } : {}),
    })),
    ports: ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
  },
});

export const peerNode = (name: string, addresses: string[], key = 'ab'.repeat(32), port = 10550): Stored => ({
  namespace: '',
  name,
  spec: {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, annotations: { [MESH_KEY_ANNOTATION]: key, [MESH_PORT_ANNOTATION]: String(port) } },
    status: { addresses: addresses.map((address) => ({ type: 'InternalIP', address })) },
  },
});

/** A small cluster: web (ClusterIP, endpoints on a, b, c), db (headless), ext (ExternalName), np (NodePort), dns (UDP). */
export function world(self = 'a'): MeshTable {
  return buildTable({
    self,
    nodePorts: true,
    services: [
      service('web', { clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }] }),
      service('db', { clusterIP: 'None', ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] }),
      service('ext', { type: 'ExternalName', externalName: 'db.example.com' }),
      service('np', { type: 'NodePort', clusterIP: '10.96.0.30', ports: [{ port: 81, protocol: 'TCP', nodePort: 30081 }] }),
      service('udp', { clusterIP: '10.96.0.40', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] }, 'tools'),
    ],
    slices: [
      slice('web', [{ ip: '172.17.0.2', node: 'a' }, { ip: '172.17.0.2', node: 'b' }, { ip: '172.17.0.3', node: 'c', ready: false, serving: true }], [{ name: 'http', port: 8080 }]),
      slice('db', [{ ip: '172.17.0.5', node: 'a', hostname: 'db-0' }, { ip: '172.17.0.6', node: 'b' }, { ip: '172.17.0.7', node: 'b', ready: false, serving: false }], [{ name: 'pg', port: 5432 }]),
      slice('np', [{ ip: '172.17.0.9', node: 'b' }], [{ port: 81 }]),
    ],
    nodes: [peerNode('a', ['192.168.1.1']), peerNode('b', ['192.168.1.2']), peerNode('c', ['10.2.0.2'])],
  });
}
