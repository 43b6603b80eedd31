/**
 * The endpoint controller: EndpointSlices and Endpoints from pod readiness and node readiness,
 * as a planner (pure) and as a controller over the in-process API.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { createLogger } from '../../../../src/core/logger.js';
import { planEndpoints } from '../../../../src/relay/controllers/endpoints-plan.js';
import { startControllers } from '../../../../src/relay/controllers/index.js';
import { waitFor } from '../../../helpers/wait.js';
import { fixture } from '../apiserver/fixture.js';

const log = createLogger({ level: 'silent', format: 'json' }, 'test');
const R = {
  svc: { group: '', resource: 'services' },
  pods: { group: '', resource: 'pods' },
  nodes: { group: '', resource: 'nodes' },
  slices: { group: 'discovery.k8s.io', resource: 'endpointslices' },
  ep: { group: '', resource: 'endpoints' },
};

const service = (spec: Record<string, unknown>, name = 'web'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name, namespace: 'default', uid: 'svc-uid', labels: { tier: 'front' } },
  spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }], ...spec },
});

interface PodOpts {
  ip?: string;
  node?: string;
  ready?: boolean;
  port?: number;
  deleting?: boolean;
  labels?: Record<string, string>;
}
const pod = (name: string, o: PodOpts = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: o.labels ?? { app: 'web' }, ...(o.deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {}) },
  spec: { nodeName: o.node ?? 'n1', containers: [{ name: 'c', image: 'x:1', ports: o.port === undefined ? [{ name: 'http', containerPort: 8080 }] : [{ name: 'other', containerPort: o.port }] }] },
  status: { phase: 'Running', ...(o.ip ? { podIP: o.ip } : {}), conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }] },
});
const node = (name: string, ready: boolean): KubeObject => ({ apiVersion: 'v1', kind: 'Node', metadata: { name }, status: { conditions: [{ type: 'Ready', status: ready ? 'True' : 'Unknown' }] } });
const nodes = (m: Record<string, boolean>) => (n: string) => (n in m ? node(n, m[n]!) : undefined);

test('planner: ready/serving/terminating, the edge rule for a node that is not Ready, named ports, no IP no endpoint', () => {
  const plan = planEndpoints(
    service({}),
    [pod('a', { ip: '10.0.0.1' }), pod('b', { ip: '10.0.0.2', ready: false }), pod('c', { ip: '10.0.0.3', node: 'n2' }), pod('d', { ip: '10.0.0.4', deleting: true }), pod('e'), pod('f', { ip: '10.0.0.6', labels: { app: 'db' } })],
    nodes({ n1: true, n2: false }),
    [],
  );
  assert.equal(plan.slices.length, 1);
  const s = plan.slices[0]!;
  assert.equal(s.op, 'create');
  const obj = (s as { object: KubeObject }).object;
  assert.deepEqual(obj.metadata.labels, { tier: 'front', 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' });
  assert.equal(obj.metadata.generateName, 'web-');
  assert.deepEqual(obj.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'svc-uid', controller: true, blockOwnerDeletion: true }]);
  assert.deepEqual(obj.ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
  const eps = (obj.endpoints as { addresses: string[]; conditions: Record<string, boolean>; nodeName: string }[]).map((e) => [e.addresses[0], e.nodeName, e.conditions]);
  assert.deepEqual(eps, [
    ['10.0.0.1', 'n1', { ready: true, serving: true, terminating: false }],
    ['10.0.0.2', 'n1', { ready: false, serving: false, terminating: false }],
    ['10.0.0.3', 'n2', { ready: false, serving: true, terminating: false }],
    ['10.0.0.4', 'n1', { ready: false, serving: true, terminating: true }],
  ]);
  assert.deepEqual(plan.endpoints?.subsets, [
    {
      addresses: [{ ip: '10.0.0.1', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'default', name: 'a', uid: 'uid-a' } }],
      notReadyAddresses: [
        { ip: '10.0.0.2', nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'default', name: 'b', uid: 'uid-b' } },
        { ip: '10.0.0.3', nodeName: 'n2', targetRef: { kind: 'Pod', namespace: 'default', name: 'c', uid: 'uid-c' } },
      ],
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    },
  ]);
  // publishNotReadyAddresses: everyone is ready
  const pub = planEndpoints(service({ publishNotReadyAddresses: true }), [pod('b', { ip: '10.0.0.2', ready: false })], nodes({ n1: false }), []);
  assert.deepEqual(((pub.slices[0] as { object: KubeObject }).object.endpoints as { conditions: unknown }[])[0]!.conditions, { ready: true, serving: true, terminating: false });
});

test('planner: port groups, slices reused by name, chunks of 100, extra slices deleted, unchanged means nothing to do', () => {
  const pods = [pod('a', { ip: '10.0.0.1' }), pod('z', { ip: '10.0.0.9', port: 9090 })];
  const svc = service({ ports: [{ name: 'http', port: 80, targetPort: 'http', protocol: 'TCP' }, { name: 'raw', port: 81, targetPort: 9090, protocol: 'TCP' }] });
  const first = planEndpoints(svc, pods, nodes({ n1: true }), []);
  // a has http (8080) and raw (9090); z lacks the named port: only raw
  assert.deepEqual(
    first.slices.map((s) => (s as { object: KubeObject }).object.ports),
    [
      [
        { name: 'http', port: 8080, protocol: 'TCP' },
        { name: 'raw', port: 9090, protocol: 'TCP' },
      ],
      [{ name: 'raw', port: 9090, protocol: 'TCP' }],
    ],
  );
  const stored = first.slices.map((s, i) => ({ ...(s as { object: KubeObject }).object, metadata: { ...(s as { object: KubeObject }).object.metadata, name: `web-${i}`, uid: `u${i}` } }));
  assert.deepEqual(planEndpoints(svc, pods, nodes({ n1: true }), stored).slices, []);
  const extra = { ...stored[0]!, metadata: { ...stored[0]!.metadata, name: 'web-x', uid: 'ux' } };
  assert.deepEqual(planEndpoints(svc, pods, nodes({ n1: true }), [...stored, extra]).slices, [{ op: 'delete', name: 'web-x', uid: 'ux' }]);
  const many = Array.from({ length: 250 }, (_, i) => pod(`p${i}`, { ip: `10.1.${Math.floor(i / 200)}.${i % 200}` }));
  const big = planEndpoints(service({}), many, nodes({ n1: true }), []);
  assert.deepEqual(
    big.slices.map((s) => ((s as { object: KubeObject }).object.endpoints as unknown[]).length),
    [100, 100, 50],
  );
  // gone, or no selector: the managed slices go
  assert.deepEqual(planEndpoints(undefined, [], nodes({}), stored).slices.map((s) => s.op), ['delete', 'delete']);
  assert.deepEqual(planEndpoints(service({ selector: undefined }), pods, nodes({}), []).slices, []);
});

test('controller: slices and Endpoints follow pods and nodes through the API; a NotReady node takes its endpoints out of ready', async (t) => {
  const f = await fixture();
  const c = await startControllers(f.core, log);
  t.after(() => c.stop());
  for (const n of ['n1', 'n2']) {
    await f.admin.create(R.nodes, { apiVersion: 'v1', kind: 'Node', metadata: { name: n } });
    const cur = await f.admin.get(R.nodes, undefined, n);
    await f.admin.updateStatus(R.nodes, { ...cur, status: { conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2026-01-01T00:00:00Z', reason: 'KubeletReady', message: 'ok' }] } });
  }
  const mkPod = async (name: string, nodeName: string, ip: string): Promise<void> => {
    await f.admin.create(R.pods, { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels: { app: 'web' } }, spec: { nodeName, containers: [{ name: 'c', image: 'busybox:1', ports: [{ name: 'http', containerPort: 8080 }] }] } });
    const cur = await f.admin.get(R.pods, 'default', name);
    await f.admin.updateStatus(R.pods, { ...cur, status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] } });
  };
  await mkPod('a', 'n1', '172.17.0.2');
  await f.admin.create(R.svc, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { selector: { app: 'web' }, ports: [{ port: 80, targetPort: 'http' }] } });
  await mkPod('b', 'n2', '172.17.0.2');
  const endpointsOf = async (): Promise<string[]> => {
    const items = (await f.admin.list(R.slices, 'default', { labelSelector: 'kubernetes.io/service-name=web' })).items;
    return items.flatMap((s) => (s.endpoints as { addresses: string[]; nodeName: string; conditions: { ready: boolean } }[]).map((e) => `${e.nodeName}:${e.addresses[0]}:${e.conditions.ready}`)).sort();
  };
  await waitFor('both endpoints ready', async () => JSON.stringify(await endpointsOf()) === JSON.stringify(['n1:172.17.0.2:true', 'n2:172.17.0.2:true']));
  await c.idle();
  assert.equal((await f.admin.list(R.slices, 'default')).items.length, 1, 'one slice, not one per event');
  const ep = await f.admin.get(R.ep, 'default', 'web');
  assert.equal((ep.subsets as { addresses: unknown[] }[])[0]!.addresses.length, 2);
  // n2 stops posting status: its endpoint is no longer ready
  const n2 = await f.admin.get(R.nodes, undefined, 'n2');
  await f.admin.updateStatus(R.nodes, { ...n2, status: { conditions: [{ type: 'Ready', status: 'Unknown', lastHeartbeatTime: '2026-01-01T00:00:00Z', lastTransitionTime: '2026-01-01T00:01:00Z', reason: 'NodeStatusUnknown', message: 'gone' }] } });
  await waitFor('n2 endpoint not ready', async () => (await endpointsOf()).includes('n2:172.17.0.2:false'));
  await f.admin.delete(R.pods, 'default', 'a', { gracePeriodSeconds: 0 });
  await waitFor('a gone', async () => JSON.stringify(await endpointsOf()) === JSON.stringify(['n2:172.17.0.2:false']));
  await f.admin.delete(R.svc, 'default', 'web');
  await waitFor('slices and Endpoints gone', async () => (await f.admin.list(R.slices, 'default')).items.length === 0 && !(await f.admin.find(R.ep, 'default', 'web')));
});
