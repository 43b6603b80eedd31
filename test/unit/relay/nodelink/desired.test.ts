/** What a node's document holds: its pods, only what they reference (the node authorizer rule), its devices and their models. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { MESH_KEY_ANNOTATION, MESH_PORT_ANNOTATION } from '../../../../src/contract/mesh.js';
import { desiredDocumentSchema } from '../../../../src/contract/payloads.js';
import { desiredItems, mergeSorted, nodeManifest, ownItems, peerNode, podReferences, sharedItems } from '../../../../src/relay/nodelink/desired.js';

const obj = (kind: string, name: string, extra: Record<string, unknown> = {}, apiVersion = 'v1'): KubeObject =>
  ({ apiVersion, kind, metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: '42', generation: 2, managedFields: [{ manager: 'kubectl' }] }, ...extra }) as KubeObject;

const pod = (name: string, spec: Record<string, unknown>): KubeObject => obj('Pod', name, { spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }], ...spec }, status: { phase: 'Running' } });

test('a pod references ConfigMaps and Secrets through env, envFrom, volumes (projected too) and imagePullSecrets', () => {
  const p = pod('p', {
    imagePullSecrets: [{ name: 's-pull' }],
    initContainers: [{ name: 'i', image: 'x', env: [{ name: 'A', valueFrom: { secretKeyRef: { name: 's-init', key: 'k' } } }] }],
    containers: [
      {
        name: 'c',
        image: 'x',
        env: [{ name: 'B', valueFrom: { configMapKeyRef: { name: 'cm-env', key: 'k' } } }, { name: 'C', value: 'plain' }],
        envFrom: [{ configMapRef: { name: 'cm-from' } }, { secretRef: { name: 's-from' } }],
      },
    ],
    volumes: [
      { name: 'v1', configMap: { name: 'cm-vol' } },
      { name: 'v2', secret: { secretName: 's-vol' } },
      { name: 'v3', projected: { sources: [{ configMap: { name: 'cm-proj' } }, { secret: { name: 's-proj' } }] } },
      { name: 'v4', emptyDir: {} },
    ],
  });
  const r = podReferences(p);
  assert.deepEqual([...r.configMaps].sort(), ['cm-env', 'cm-from', 'cm-proj', 'cm-vol']);
  assert.deepEqual([...r.secrets].sort(), ['s-from', 's-init', 's-proj', 's-pull', 's-vol']);
});

test('the document: the pods, what they reference that exists, the devices and their models — nothing else, in a stable order', () => {
  const cms = new Map([['cm-used', obj('ConfigMap', 'cm-used', { data: { a: '1' } })], ['cm-unused', obj('ConfigMap', 'cm-unused')]]);
  const secrets = new Map([['s-used', obj('Secret', 's-used', { data: {} })], ['s-other', obj('Secret', 's-other')]]);
  const models = new Map([['thermostat', obj('DeviceModel', 'thermostat', { spec: {} }, 'devices.kubeedge.io/v1beta1')]]);
  const items = desiredItems({
    pods: [pod('web', { volumes: [{ name: 'v', secret: { secretName: 's-used' } }], containers: [{ name: 'c', image: 'x', envFrom: [{ configMapRef: { name: 'cm-used' } }, { configMapRef: { name: 'cm-missing' } }] }] })],
    devices: [obj('Device', 'd1', { spec: { nodeName: 'n1', deviceModelRef: { name: 'thermostat' } } }, 'devices.kubeedge.io/v1beta1')],
    configMap: (_ns, n) => cms.get(n),
    secret: (_ns, n) => secrets.get(n),
    deviceModel: (_ns, n) => models.get(n),
    shared: [],
  });
  assert.deepEqual(
    items.map((i) => `${i.kind}/${i.name}`),
    ['ConfigMap/cm-used', 'Device/d1', 'DeviceModel/thermostat', 'Pod/web', 'Secret/s-used'],
  );
  const web = items.find((i) => i.name === 'web')!;
  assert.equal(web.uid, 'uid-web');
  assert.equal(web.generation, 2);
  assert.equal((web.spec as { status?: unknown }).status, undefined, 'status is not sent down');
  assert.deepEqual(Object.keys(web.spec.metadata).sort(), ['generation', 'name', 'namespace', 'uid'], 'no resourceVersion or managedFields: a status write does not change the document');
  // the node's contract takes it
  const doc = desiredDocumentSchema.safeParse({ node: 'n1', epoch: 'e', version: 5, kinds: ['Pod'], items, timestamp: 1 });
  assert.ok(doc.success, JSON.stringify(!doc.success && doc.error.issues));
});

test('a pod being deleted goes down with its deletion time and grace period', () => {
  const p = pod('going', {});
  p.metadata.deletionTimestamp = '2026-01-01T00:00:30Z';
  p.metadata.deletionGracePeriodSeconds = 30;
  const m = nodeManifest(p);
  assert.equal(m.metadata.deletionTimestamp, '2026-01-01T00:00:30Z');
  assert.equal(m.metadata.deletionGracePeriodSeconds, 30);
});

test('every Service and EndpointSlice goes to every node (the mesh), without status', () => {
  const svc = obj('Service', 'web', { spec: { clusterIP: '10.96.0.5', ports: [{ port: 80 }] }, status: { loadBalancer: {} } });
  const slice = { ...obj('EndpointSlice', 'web-x1', { addressType: 'IPv4', endpoints: [{ addresses: ['172.17.0.2'], nodeName: 'n2' }], ports: [{ port: 8080 }] }, 'discovery.k8s.io/v1') };
  const none = { configMap: () => undefined, secret: () => undefined, deviceModel: () => undefined };
  const items = desiredItems({ pods: [], devices: [], ...none, shared: sharedItems({ services: [svc], endpointSlices: [slice], nodes: [] }) });
  assert.deepEqual(
    items.map((i) => `${i.kind}/${i.namespace}/${i.name}`),
    ['EndpointSlice/default/web-x1', 'Service/default/web'],
  );
  assert.equal((items[1]!.spec as { status?: unknown }).status, undefined);
  const doc = desiredDocumentSchema.safeParse({ node: 'n1', epoch: 'e', version: 5, kinds: ['Service', 'EndpointSlice'], items, timestamp: 1 });
  assert.ok(doc.success, JSON.stringify(!doc.success && doc.error.issues));
});

test('peer Nodes: only those with a mesh key, reduced to name, uid, key, port and addresses', () => {
  const key = 'ab'.repeat(32);
  const n1 = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n1', uid: 'u1', resourceVersion: '9', labels: { a: 'b' }, annotations: { [MESH_KEY_ANNOTATION]: key, [MESH_PORT_ANNOTATION]: '10550', other: 'x' } },
    status: {
      addresses: [
        { type: 'InternalIP', address: '192.168.5.2' },
        { type: 'Hostname', address: 'n1' },
      ],
      conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2026-01-01T00:00:00Z' }],
    },
  };
  const n2 = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n2', uid: 'u2' }, status: { addresses: [{ type: 'InternalIP', address: '192.168.5.3' }] } };
  const none = { configMap: () => undefined, secret: () => undefined, deviceModel: () => undefined };
  const items = desiredItems({ pods: [], devices: [], ...none, shared: sharedItems({ services: [], endpointSlices: [], nodes: [n1, n2] }) });
  assert.deepEqual(items.map((i) => `${i.kind}/${i.namespace}/${i.name}`), ['Node//n1'], 'a Node without a key is no peer');
  assert.deepEqual(items[0]!.spec, {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'n1', namespace: '', uid: 'u1', annotations: { [MESH_KEY_ANNOTATION]: key, [MESH_PORT_ANNOTATION]: '10550' } },
    status: { addresses: [{ type: 'InternalIP', address: '192.168.5.2' }] },
  });
  // a heartbeat (conditions) changes nothing a peer gets
  const beat = { ...n1, status: { ...n1.status, conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2026-01-01T00:01:00Z' }] } };
  assert.deepEqual(peerNode(beat), peerNode(n1));
  const doc = desiredDocumentSchema.safeParse({ node: 'n2', epoch: 'e', version: 5, kinds: ['Node'], items, timestamp: 1 });
  assert.ok(doc.success, JSON.stringify(!doc.success && doc.error.issues));
});

test('a document is its own items and the shared ones in one order, as if sorted together', () => {
  const none = { configMap: () => undefined, secret: () => undefined, deviceModel: () => undefined };
  const own = ownItems({ pods: [pod('b-pod', {}), pod('a-pod', {})], devices: [obj('Device', 'd1', { spec: { nodeName: 'n1' } }, 'devices.kubeedge.io/v1beta1')], ...none });
  const shared = sharedItems({
    services: [obj('Service', 'z-svc', { spec: {} }), obj('Service', 'a-svc', { spec: {} })],
    endpointSlices: [obj('EndpointSlice', 'a-svc-1', { endpoints: [] }, 'discovery.k8s.io/v1')],
    nodes: [{ apiVersion: 'v1', kind: 'Node', metadata: { name: 'peer', uid: 'u', annotations: { [MESH_KEY_ANNOTATION]: 'cd'.repeat(32) } } }],
  });
  const merged = mergeSorted(own, shared);
  const names = (xs: { kind: string; name: string }[]) => xs.map((i) => `${i.kind}/${i.name}`);
  assert.deepEqual(names(merged), ['Device/d1', 'EndpointSlice/a-svc-1', 'Node/peer', 'Pod/a-pod', 'Pod/b-pod', 'Service/a-svc', 'Service/z-svc']);
  assert.deepEqual(names(desiredItems({ pods: [pod('b-pod', {}), pod('a-pod', {})], devices: [obj('Device', 'd1', { spec: { nodeName: 'n1' } }, 'devices.kubeedge.io/v1beta1')], ...none, shared })), names(merged));
  assert.deepEqual(names(mergeSorted([], shared)), names(shared));
  assert.deepEqual(names(mergeSorted(own, [])), names(own));
});
