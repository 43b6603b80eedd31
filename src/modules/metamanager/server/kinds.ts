/**
 * What the MetaServer serves: the kinds the node holds, each with its Kubernetes names, verbs
 * (read-only: get, list, watch), field selectors and `kubectl get` columns. Services and
 * Endpoints join this table once the node holds them.
 */
import { AGE_COLUMN, ageOf, column, NAME_COLUMN } from '../../../contract/kube/table.js';
import type { ServedResource } from '../../../contract/kube/resources.js';
import type { KubeObject } from '../../../contract/kube/types.js';

/** A served resource and the store kind it reads. */
export interface NodeResource extends ServedResource {
  /** the kind in the node store (Node: the node's own object) */
  storeKind: string;
}

const READ = ['get', 'list', 'watch'] as const;
const age = (o: KubeObject, now: Date): string => ageOf(o.metadata.creationTimestamp, now);
const obj = (v: unknown): Record<string, unknown> => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
const arr = (v: unknown): Record<string, unknown>[] => (Array.isArray(v) ? v.map(obj) : []);

interface ContainerStatusView {
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string }; terminated?: { reason?: string } };
}

/** The STATUS cell kubectl shows for a pod: a waiting or terminated reason, else the phase. */
function podStatusCell(o: KubeObject): string {
  const status = obj(o.status);
  if (o.metadata.deletionTimestamp) return 'Terminating';
  for (const c of arr(status.containerStatuses) as ContainerStatusView[]) {
    const reason = c.state?.waiting?.reason ?? c.state?.terminated?.reason;
    if (reason && !c.ready) return reason;
  }
  return typeof status.reason === 'string' ? status.reason : typeof status.phase === 'string' ? status.phase : 'Pending';
}

const pods: NodeResource = {
  storeKind: 'Pod',
  group: '',
  version: 'v1',
  kind: 'Pod',
  plural: 'pods',
  singular: 'pod',
  shortNames: ['po'],
  categories: ['all'],
  namespaced: true,
  verbs: READ,
  subresources: [],
  fields: (o) => ({
    'spec.nodeName': String(obj(o.spec).nodeName ?? ''),
    'spec.restartPolicy': String(obj(o.spec).restartPolicy ?? 'Always'),
    'status.phase': String(obj(o.status).phase ?? ''),
    'status.podIP': String(obj(o.status).podIP ?? ''),
  }),
  columns: [
    NAME_COLUMN,
    column('Ready', 'The number of ready containers out of all containers.'),
    column('Status', 'The aggregate status of the containers in this pod.'),
    column('Restarts', 'The number of times the containers in this pod have been restarted.', 0, 'string'),
    AGE_COLUMN,
    column('IP', 'The IP address of the pod.', 1),
    column('Node', 'The name of the node the pod runs on.', 1),
  ],
  row: (o, now) => {
    const status = obj(o.status);
    const cs = arr(status.containerStatuses) as ContainerStatusView[];
    const total = arr(obj(o.spec).containers).length;
    return [
      o.metadata.name,
      `${cs.filter((c) => c.ready).length}/${total}`,
      podStatusCell(o),
      String(cs.reduce((n, c) => n + (c.restartCount ?? 0), 0)),
      age(o, now),
      String(status.podIP ?? '<none>'),
      String(obj(o.spec).nodeName ?? '<none>'),
    ];
  },
};

const configmaps: NodeResource = {
  storeKind: 'ConfigMap',
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  singular: 'configmap',
  shortNames: ['cm'],
  categories: [],
  namespaced: true,
  verbs: READ,
  subresources: [],
  columns: [NAME_COLUMN, column('Data', 'Number of keys.', 0, 'integer'), AGE_COLUMN],
  row: (o, now) => [o.metadata.name, Object.keys(obj(o.data)).length + Object.keys(obj(o.binaryData)).length, age(o, now)],
};

const secrets: NodeResource = {
  storeKind: 'Secret',
  group: '',
  version: 'v1',
  kind: 'Secret',
  plural: 'secrets',
  singular: 'secret',
  shortNames: [],
  categories: [],
  namespaced: true,
  verbs: READ,
  subresources: [],
  fields: (o) => ({ type: String(o.type ?? 'Opaque') }),
  columns: [NAME_COLUMN, column('Type', 'The type of the secret.'), column('Data', 'Number of keys.', 0, 'integer'), AGE_COLUMN],
  row: (o, now) => [o.metadata.name, String(o.type ?? 'Opaque'), Object.keys(obj(o.data)).length, age(o, now)],
};

const nodes: NodeResource = {
  storeKind: 'Node',
  group: '',
  version: 'v1',
  kind: 'Node',
  plural: 'nodes',
  singular: 'node',
  shortNames: ['no'],
  categories: [],
  namespaced: false,
  verbs: READ,
  subresources: [],
  columns: [
    NAME_COLUMN,
    column('Status', 'The status of the node.'),
    column('Roles', 'The roles of the node.'),
    AGE_COLUMN,
    column('Version', 'Kubelet Version reported by the node.'),
    column('Kernel-Version', 'Kernel Version reported by the node.', 1),
    column('OS-Image', 'OS Image reported by the node.', 1),
  ],
  row: (o, now) => {
    const status = obj(o.status);
    const ready = arr(status.conditions).find((c) => c.type === 'Ready');
    const info = obj(status.nodeInfo);
    const roles = Object.keys(o.metadata.labels ?? {})
      .filter((k) => k.startsWith('node-role.kubernetes.io/'))
      .map((k) => k.slice('node-role.kubernetes.io/'.length))
      .join(',');
    return [o.metadata.name, ready?.status === 'True' ? 'Ready' : ready ? 'NotReady' : 'Unknown', roles || '<none>', age(o, now), String(info.kubeletVersion ?? ''), String(info.kernelVersion ?? ''), String(info.osImage ?? '')];
  },
};

const deviceBase = { group: 'devices.kubeedge.io', version: 'v1beta1', namespaced: true, verbs: READ, subresources: [], categories: [] };

const devices: NodeResource = {
  ...deviceBase,
  storeKind: 'Device',
  kind: 'Device',
  plural: 'devices',
  singular: 'device',
  shortNames: ['dev'],
  fields: (o) => ({ 'spec.nodeName': String(obj(o.spec).nodeName ?? '') }),
  columns: [NAME_COLUMN, column('Model', 'The DeviceModel of the device.'), column('State', 'The device state the node reports.'), AGE_COLUMN],
  row: (o, now) => [o.metadata.name, String(obj(obj(o.spec).deviceModelRef).name ?? ''), String(obj(o.status).state ?? ''), age(o, now)],
};

const devicemodels: NodeResource = {
  ...deviceBase,
  storeKind: 'DeviceModel',
  kind: 'DeviceModel',
  plural: 'devicemodels',
  singular: 'devicemodel',
  shortNames: [],
  columns: [NAME_COLUMN, column('Protocol', 'The protocol of the model.'), AGE_COLUMN],
  row: (o, now) => [o.metadata.name, String(obj(o.spec).protocol ?? ''), age(o, now)],
};

/** Every resource the MetaServer serves, in discovery order. */
export const NODE_RESOURCES: readonly NodeResource[] = [pods, configmaps, secrets, nodes, devices, devicemodels];
