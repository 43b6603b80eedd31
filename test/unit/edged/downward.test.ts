/** Downward API values, resource values and node fit (pure). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePod } from '../../../src/contract/resources/pod.js';
import { downwardFiles, fieldValue, nodeLabels, resourceValue, unfitReason, type NodeInfo } from '../../../src/modules/edged/downward.js';

const NODE: NodeInfo = { name: 'pi-7', labels: nodeLabels('pi-7', 'arm64', { zone: 'shed' }), cpus: 4, memoryBytes: 4 * 2 ** 30, storageBytes: 32 * 2 ** 30 };

const pod = (spec: Record<string, unknown> = {}, meta: Record<string, unknown> = {}) =>
  parsePod({
    metadata: { name: 'web', namespace: 'shop', labels: { app: 'web', tier: 'front' }, annotations: { 'build/commit': 'abc"1' }, ...meta },
    spec: { containers: [{ name: 'a', image: 'i', resources: { limits: { cpu: '500m', memory: '64Mi' }, requests: { cpu: '250m' } } }, { name: 'b', image: 'i' }], ...spec },
  });

test('field values: metadata, labels/annotations by key, node and service account; IPs left for create time', () => {
  const p = pod({ serviceAccountName: 'reader' });
  const v = (path: string) => fieldValue(p, 'store-uid', path, NODE);
  assert.deepEqual(
    ['metadata.name', 'metadata.namespace', 'metadata.uid', "metadata.labels['tier']", "metadata.annotations['build/commit']", "metadata.labels['nope']", 'spec.nodeName', 'spec.serviceAccountName'].map(v),
    ['web', 'shop', 'store-uid', 'front', 'abc"1', '', 'pi-7', 'reader'],
  );
  assert.equal(fieldValue(pod({}, { uid: 'cloud-uid' }), 'store-uid', 'metadata.uid', NODE), 'cloud-uid');
  assert.equal(fieldValue(pod(), 'u', 'spec.serviceAccountName', NODE), 'default');
  assert.equal(fieldValue(pod({ nodeName: 'assigned' }), 'u', 'spec.nodeName', NODE), 'assigned');
  assert.deepEqual(v('status.podIP'), { field: 'status.podIP' });
  assert.deepEqual(v('status.hostIP'), { field: 'status.hostIP' });
});

test('resource values: quantity / divisor rounded up; unset limits read as the node, unset requests as the limit or 0', () => {
  const p = pod();
  const [a, b] = p.spec.containers as [never, never];
  const r = (c: never, resource: string, divisor?: string) => resourceValue(p, c, { resource: resource as 'limits.cpu', ...(divisor ? { divisor } : {}) }, NODE);
  assert.equal(r(a, 'limits.cpu'), '1');
  assert.equal(r(a, 'limits.cpu', '1m'), '500');
  assert.equal(r(a, 'requests.cpu', '1m'), '250');
  assert.equal(r(a, 'limits.memory'), String(64 * 2 ** 20));
  assert.equal(r(a, 'limits.memory', '1Mi'), '64');
  assert.equal(r(a, 'requests.memory', '1Mi'), '64', 'request defaults to the limit');
  assert.equal(r(b, 'limits.cpu'), '4', 'no limit: the node');
  assert.equal(r(b, 'limits.memory', '1Gi'), '4');
  assert.equal(r(b, 'requests.cpu'), '0');
  assert.equal(r(b, 'limits.ephemeral-storage', '1Gi'), '32');
  assert.equal(resourceValue(p, b, { containerName: 'a', resource: 'limits.cpu', divisor: '1m' }, NODE), '500', 'another container named');
});

test('downwardAPI volume files: labels and annotations as sorted key="value" lines, modes', () => {
  const files = downwardFiles(
    pod(),
    'u',
    [
      { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
      { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' }, mode: 0o600 },
      { path: 'cpu_limit', resourceFieldRef: { containerName: 'a', resource: 'limits.cpu', divisor: '1m' } },
    ],
    0o644,
    NODE,
  );
  assert.equal(files.get('labels')!.data.toString(), 'app="web"\ntier="front"\n');
  assert.equal(files.get('annotations')!.data.toString(), 'build/commit="abc\\"1"\n');
  assert.deepEqual([files.get('labels')!.mode, files.get('annotations')!.mode], [0o644, 0o600]);
  assert.equal(files.get('cpu_limit')!.data.toString(), '500');
});

test('node fit: nodeSelector and required node affinity against the node labels; preferences do not refuse', () => {
  assert.equal(unfitReason(pod({ nodeSelector: { 'kubernetes.io/arch': 'arm64', zone: 'shed' } }), NODE), undefined);
  const bad = unfitReason(pod({ nodeSelector: { 'kubernetes.io/arch': 'amd64' } }), NODE);
  assert.equal(bad?.reason, 'NodeAffinity');
  assert.match(bad!.message, /kubernetes\.io\/arch=amd64 does not match node pi-7 \(kubernetes\.io\/arch=arm64\)/);
  const aff = (terms: unknown[]) => pod({ affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms } } } });
  assert.equal(unfitReason(aff([{ matchExpressions: [{ key: 'zone', operator: 'In', values: ['yard'] }] }, { matchFields: [{ key: 'metadata.name', operator: 'In', values: ['pi-7'] }] }]), NODE), undefined);
  assert.equal(unfitReason(aff([{ matchExpressions: [{ key: 'gpu', operator: 'DoesNotExist' }, { key: 'zone', operator: 'NotIn', values: ['yard'] }] }]), NODE), undefined);
  assert.equal(unfitReason(aff([{ matchExpressions: [{ key: 'gpu', operator: 'Exists' }] }]), NODE)?.reason, 'NodeAffinity');
  assert.equal(unfitReason(aff([{}]), NODE)?.reason, 'NodeAffinity', 'an empty term matches nothing');
  const pref = pod({ affinity: { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 1, preference: { matchExpressions: [{ key: 'gpu', operator: 'Exists' }] } }] } } });
  assert.equal(unfitReason(pref, NODE), undefined);
  assert.deepEqual(Object.keys(NODE.labels).sort(), ['kubernetes.io/arch', 'kubernetes.io/hostname', 'kubernetes.io/os', 'node-role.kubernetes.io/edge', 'zone']);
});
