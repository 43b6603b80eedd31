/** Node at the API: what users may edit (label/taint/cordon), status shape, `kubectl get nodes` columns, field selectors. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import type { FieldIssue } from '../../../../src/core/errors.js';
import { lifecycleTaints, nodeSystemStatus, readyCondition } from '../../../../src/relay/kinds/node-lifecycle.js';
import { NODE_COLUMNS, nodeDef, nodeFields, nodeRoles, nodeRow, nodeStatusText } from '../../../../src/relay/kinds/node.js';
import type { KindContext } from '../../../../src/relay/kinds/types.js';

const ctx: KindContext = { get: async () => undefined, now: () => new Date() };
const NOW = new Date('2026-01-03T00:00:00Z');
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function node(extra: Partial<KubeObject> = {}): KubeObject {
  const sys = nodeSystemStatus({ appliedVersion: 1, epoch: 'e', agentVersion: '0.1.0', bootId: 'b', arch: 'arm64', platform: 'linux', outbox: { rows: 0, dropped: 0 }, system: { hostname: 'pi-1', osImage: 'Debian GNU/Linux 12 (bookworm)', kernelVersion: '6.6.31', containerRuntimeVersion: 'docker://24.0.7', addresses: ['192.168.1.20'], cpus: 4, memoryBytes: 4 * 1024 ** 3 } });
  const ready = readyCondition(undefined, { online: true, lastHeartbeat: new Date('2026-01-02T23:59:50Z') }, new Date('2026-01-02T23:59:50Z'), '2026-01-01T00:00:00Z');
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: 'pi-1', creationTimestamp: '2026-01-01T00:00:00Z', labels: { 'node-role.kubernetes.io/edge': '', 'node-role.kubernetes.io/agent': '', 'kubernetes.io/arch': 'arm64' } },
    spec: {},
    status: { ...sys, conditions: [ready] },
    ...extra,
  };
}

async function check(obj: KubeObject, old?: KubeObject): Promise<FieldIssue[]> {
  const o = clone(obj);
  nodeDef.defaults?.(o);
  return nodeDef.validate(o, old, ctx);
}

test('columns: NAME STATUS ROLES AGE VERSION, and the machine columns with -o wide', () => {
  assert.deepEqual(
    NODE_COLUMNS.map((c) => `${c.name.toUpperCase()}:${c.priority}`),
    ['NAME:0', 'STATUS:0', 'ROLES:0', 'AGE:0', 'VERSION:0', 'INTERNAL-IP:1', 'EXTERNAL-IP:1', 'OS-IMAGE:1', 'KERNEL-VERSION:1', 'CONTAINER-RUNTIME:1'],
  );
  assert.deepEqual(nodeRow(node(), NOW), ['pi-1', 'Ready', 'agent,edge', '2d', 'v0.1.0', '192.168.1.20', '<none>', 'Debian GNU/Linux 12 (bookworm)', '6.6.31', 'docker://24.0.7']);
});

test('STATUS as kubectl prints it: Ready, NotReady (False or Unknown), Unknown without a Ready condition, SchedulingDisabled', () => {
  const withReady = (status: string, unschedulable = false) => node({ spec: { unschedulable }, status: { conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status }] } });
  assert.equal(nodeStatusText(withReady('True')), 'Ready');
  assert.equal(nodeStatusText(withReady('False')), 'NotReady');
  assert.equal(nodeStatusText(withReady('Unknown')), 'NotReady');
  assert.equal(nodeStatusText(withReady('True', true)), 'Ready,SchedulingDisabled');
  assert.equal(nodeStatusText(node({ status: {} })), 'Unknown');
  assert.equal(nodeStatusText(node({ status: undefined, spec: { unschedulable: true } })), 'Unknown,SchedulingDisabled');
  // a new node: no version, machine columns unknown
  assert.deepEqual(nodeRow(node({ status: undefined, metadata: { name: 'new' } }), NOW), ['new', 'Unknown', '<none>', '<unknown>', '', '<none>', '<none>', '<unknown>', '<unknown>', '<unknown>']);
});

test('ROLES from node-role labels (and the legacy kubernetes.io/role), sorted', () => {
  assert.deepEqual(nodeRoles({ 'node-role.kubernetes.io/worker': '', 'node-role.kubernetes.io/edge': 'x', 'node-role.kubernetes.io/': '', 'kubernetes.io/role': 'gateway', app: 'x' }), ['edge', 'gateway', 'worker']);
  assert.deepEqual(nodeRoles(undefined), []);
  assert.equal(nodeRow(node({ metadata: { name: 'n', labels: {} } }), NOW)[2], '<none>');
});

test('what kubectl label, annotate, taint and cordon do is accepted', async () => {
  const old = node();
  const next = clone(old);
  next.metadata.labels = { ...next.metadata.labels, mapper: 'modbus' };
  next.metadata.annotations = { note: 'rack 3' };
  next.spec = { unschedulable: true, taints: [{ key: 'dedicated', value: 'modbus', effect: 'NoSchedule' }, { key: 'example.com/gpu', effect: 'NoExecute' }] };
  assert.deepEqual(await check(next, old), []);
  // the lifecycle taints the relay adds validate too
  const lost = clone(next);
  (lost.spec as { taints: unknown }).taints = lifecycleTaints((next.spec as { taints: never }).taints, 'Unknown', true, NOW);
  assert.deepEqual(await check(lost, next), []);
});

test('invalid Node fields are named by path', async () => {
  const cases: [Partial<KubeObject>, string, RegExp?][] = [
    [{ spec: { taints: [{ key: 'bad key', effect: 'NoSchedule' }] } }, 'spec.taints[0].key', /name part/],
    [{ spec: { taints: [{ key: 'k', effect: 'Never' }] } }, 'spec.taints[0].effect'],
    [{ spec: { taints: [{ key: 'k' }] } }, 'spec.taints[0].effect'],
    [{ spec: { taints: [{ key: 'k', value: 'a b', effect: 'NoSchedule' }] } }, 'spec.taints[0].value'],
    [{ spec: { taints: [{ key: 'k', effect: 'NoSchedule' }, { key: 'k', value: 'v', effect: 'NoSchedule' }] } }, 'spec.taints[1]', /listed twice/],
    [{ spec: { unschedulable: 'yes' } }, 'spec.unschedulable'],
    [{ spec: { configSource: {} } }, 'spec.configSource', /unknown field/],
    [{ metadata: { name: 'pi.1' } }, 'metadata.name', /DNS label/],
    [{ metadata: { name: 'pi-1', namespace: 'default' } }, 'metadata.namespace', /not namespaced/],
    [{ status: { addresses: [{ type: 'InternalIP', address: 'pi-1' }] } }, 'status.addresses[0].address', /IP address/],
    [{ status: { conditions: [{ type: 'Ready', status: 'Maybe' }] } }, 'status.conditions[0].status'],
    [{ status: { nodeInfo: { osImage: 'a\u001b[2Jb' } } }, 'status.nodeInfo.osImage', /control characters/],
    [{ status: { nodeInfo: { favouriteColour: 'blue' } } }, 'status.nodeInfo.favouriteColour', /unknown field/],
    [{ status: { capacity: { memory: 'lots' } } }, 'status.capacity.memory', /quantity/],
    [{ stauts: {} } as Partial<KubeObject>, 'stauts', /unknown field/],
  ];
  // a name that is no DNS subdomain is the API machinery's to report, for every kind
  assert.deepEqual(await check(node({ metadata: { name: 'Pi_1' } })), []);
  for (const [extra, path, reason] of cases) {
    const issues = await check(node(extra));
    const hit = issues.find((i) => i.path === path);
    assert.ok(hit, `${path}: got ${JSON.stringify(issues)}`);
    if (reason) assert.match(hit.reason, reason, path);
  }
});

test('podCIDR, podCIDRs and providerID may be set once, not changed', async () => {
  const old = node({ spec: { podCIDR: '10.244.1.0/24', providerID: 'edge://pi-1' } });
  const next = clone(old);
  next.spec = { podCIDR: '10.244.2.0/24', providerID: 'edge://pi-1', unschedulable: true };
  assert.deepEqual(
    (await check(next, old)).map((i) => i.path),
    ['spec.podCIDR'],
  );
  const fresh = node();
  const set = clone(fresh);
  set.spec = { podCIDRs: ['10.244.3.0/24'] };
  assert.deepEqual(await check(set, fresh), []);
});

test('defaults: nulls mean absent; allocatable defaults to capacity; an unchanged stored status is not judged again', async () => {
  const n = node({ spec: { taints: null } as unknown as Record<string, unknown>, status: { capacity: { cpu: '2', pods: '110' } } });
  nodeDef.defaults!(n);
  assert.deepEqual(n.spec, {});
  assert.deepEqual((n.status as { allocatable: unknown }).allocatable, { cpu: '2', pods: '110' });
  const legacy = node({ status: { phase: 'Running', whatever: 1 } });
  const relabel = clone(legacy);
  relabel.metadata.labels = { a: 'b' };
  assert.deepEqual(await check(relabel, legacy), []);
});

test('the definition: cluster-scoped, status subresource, field selector spec.unschedulable', () => {
  assert.deepEqual([nodeDef.kind, nodeDef.plural, nodeDef.shortNames, nodeDef.namespaced, nodeDef.subresources, nodeDef.statusSubresource, nodeDef.strategicMerge], ['Node', 'nodes', ['no'], false, ['status'], true, true]);
  assert.equal(nodeDef.schemaName, 'io.k8s.api.core.v1.Node');
  assert.deepEqual(nodeFields(node({ spec: { unschedulable: true } })), { 'spec.unschedulable': 'true' });
  assert.deepEqual(nodeFields(node()), { 'spec.unschedulable': 'false' });
});
