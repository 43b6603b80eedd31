import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ResourceDef } from '../../../../src/relay/kinds/types.js';
import { builtinCatalog, byGroupVersion, DEVICE_SCHEMA_NAMES, METRICS_SCHEMA_NAMES, openapiV3Document, openapiV3Root, typeInfoFor, unknownFields } from '../../../../src/relay/openapi/index.js';
import { ROOT } from '../../../helpers/tmp.js';

const def = (group: string, version: string, kind: string, plural: string, schemaName: string, over: Partial<ResourceDef> = {}): ResourceDef => ({
  group, version, kind, plural, singular: kind.toLowerCase(), shortNames: [], categories: [], namespaced: true,
  verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'], subresources: [], strategicMerge: true, statusSubresource: false,
  validate: () => [], columns: [], row: () => [], schemaName, ...over,
});
interface Op { 'x-kubernetes-group-version-kind': unknown; parameters: { name: string; in: string }[]; requestBody: { content: Record<string, unknown> } }
const op = (doc: { paths: Record<string, Record<string, unknown>> }, path: string, method = 'patch') => doc.paths[path]![method] as Op;
const pods = def('', 'v1', 'Pod', 'pods', 'io.k8s.api.core.v1.Pod', { subresources: ['status', 'log', 'exec'] });
const nodes = def('', 'v1', 'Node', 'nodes', 'io.k8s.api.core.v1.Node', { namespaced: false });
const deploys = def('apps', 'v1', 'Deployment', 'deployments', 'io.k8s.api.apps.v1.Deployment', { subresources: ['status', 'scale'] });
const devices = def('devices.kubeedge.io', 'v1beta1', 'Device', 'devices', DEVICE_SCHEMA_NAMES.Device, { strategicMerge: false });

test('the root links one document per group-version by content hash', () => {
  const gvs = byGroupVersion([pods, nodes, deploys, devices]);
  const root = openapiV3Root(gvs);
  assert.deepEqual(Object.keys(root.paths).sort(), ['api/v1', 'apis/apps/v1', 'apis/devices.kubeedge.io/v1beta1']);
  assert.match(root.paths['api/v1']!.serverRelativeURL, /^\/openapi\/v3\/api\/v1\?hash=[0-9A-F]{128}$/);
  assert.deepEqual(openapiV3Root(gvs), root, 'deterministic');
  assert.notEqual(openapiV3Root(byGroupVersion([pods])).paths['api/v1']!.serverRelativeURL, root.paths['api/v1']!.serverRelativeURL, 'content changes the hash');
});

test('every PATCH operation carries its kind and a fieldValidation query parameter (kubectl moves validation to the server)', () => {
  const doc = openapiV3Document('v1', [pods, nodes]);
  const patch = op(doc, '/api/v1/namespaces/{namespace}/pods/{name}');
  assert.deepEqual(patch['x-kubernetes-group-version-kind'], { group: '', version: 'v1', kind: 'Pod' });
  assert.ok(patch.parameters.some((p) => p.name === 'fieldValidation' && p.in === 'query'));
  assert.ok('application/strategic-merge-patch+json' in patch.requestBody.content);
  assert.ok(op(doc, '/api/v1/namespaces/{namespace}/pods/{name}/status').parameters.some((p) => p.name === 'fieldValidation'));
  assert.equal(doc.paths['/api/v1/namespaces/{namespace}/pods/{name}/log'], undefined, 'streams have no document');
  assert.ok(doc.paths['/api/v1/nodes/{name}'], 'cluster-scoped path');
  const apps = openapiV3Document('apps/v1', [deploys]);
  assert.deepEqual(op(apps, '/apis/apps/v1/namespaces/{namespace}/deployments/{name}/scale')['x-kubernetes-group-version-kind'], { group: 'autoscaling', version: 'v1', kind: 'Scale' });
  const dev = openapiV3Document('devices.kubeedge.io/v1beta1', [devices]);
  const devPatch = op(dev, '/apis/devices.kubeedge.io/v1beta1/namespaces/{namespace}/devices/{name}');
  assert.equal('application/strategic-merge-patch+json' in devPatch.requestBody.content, false, 'custom kinds take no strategic merge');
  assert.throws(() => openapiV3Document('apps/v1', [pods]), /pods is v1, not apps\/v1/);
});

test('components hold each kind with its x-kubernetes-group-version-kind and everything it references', () => {
  const doc = openapiV3Document('v1', [pods]);
  const s = doc.components.schemas;
  assert.deepEqual(s['io.k8s.api.core.v1.Pod']!['x-kubernetes-group-version-kind'], [{ group: '', version: 'v1', kind: 'Pod' }]);
  for (const n of ['io.k8s.api.core.v1.PodSpec', 'io.k8s.api.core.v1.Container', 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta', 'io.k8s.apimachinery.pkg.api.resource.Quantity']) assert.ok(s[n], n);
  assert.equal(s['io.k8s.api.apps.v1.Deployment'], undefined, 'only what the group-version needs');
  const refs = JSON.stringify(doc).match(/#\/components\/schemas\/[^"]+/g)!;
  for (const r of refs) assert.ok(s[r.slice('#/components/schemas/'.length)], `dangling ${r}`);
  const dev = openapiV3Document('devices.kubeedge.io/v1beta1', [devices]).components.schemas;
  assert.ok(dev['io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta'], 'device metadata is ObjectMeta');
});

test('the built-in data: every served kind present, small, with its licence noted', () => {
  for (const [g, v, k] of [['', 'v1', 'Pod'], ['', 'v1', 'Node'], ['', 'v1', 'Namespace'], ['', 'v1', 'ConfigMap'], ['', 'v1', 'Secret'], ['', 'v1', 'Event'], ['', 'v1', 'Binding'], ['', 'v1', 'Service'],
    ['apps', 'v1', 'Deployment'], ['apps', 'v1', 'ReplicaSet'], ['apps', 'v1', 'DaemonSet'], ['batch', 'v1', 'Job'], ['batch', 'v1', 'CronJob'], ['autoscaling', 'v1', 'Scale'],
    ['discovery.k8s.io', 'v1', 'EndpointSlice'], ['coordination.k8s.io', 'v1', 'Lease'], ['devices.kubeedge.io', 'v1beta1', 'Device'], ['devices.kubeedge.io', 'v1beta1', 'DeviceModel']] as const) {
    assert.ok(typeInfoFor(g, v, k), `${g}/${v} ${k}`);
  }
  assert.equal(typeInfoFor('', 'v1', 'PersistentVolume'), undefined);
  const size = statSync(join(ROOT, 'src/relay/openapi/data/kubernetes.json')).size;
  assert.ok(size < 600_000, `${size} bytes`);
  assert.ok(Object.keys(builtinCatalog().schemas).length > 100);
});

test('schema navigation: list types, map keys, patch strategies, atomic maps', () => {
  const pod = typeInfoFor('', 'v1', 'Pod')!.root;
  const spec = pod.field('spec')!;
  const c = spec.field('containers')!;
  assert.deepEqual([c.kind, c.listType, c.listMapKeys, c.patchStrategies, c.patchMergeKey], ['list', 'map', ['name'], ['merge'], 'name']);
  const ports = c.elem().field('ports')!;
  assert.deepEqual([ports.listMapKeys, ports.patchMergeKey], [['containerPort', 'protocol'], 'containerPort']);
  assert.equal(spec.field('tolerations')!.listType, 'atomic');
  assert.deepEqual(spec.field('volumes')!.patchStrategies, ['merge', 'retainKeys']);
  assert.equal(pod.field('metadata')!.field('finalizers')!.listType, 'set');
  assert.equal(pod.field('metadata')!.field('labels')!.kind, 'map');
  assert.equal(spec.field('nodeName')!.kind, 'scalar');
  assert.equal(spec.field('bogus'), undefined);
  const dspec = typeInfoFor('apps', 'v1', 'Deployment')!.root.field('spec')!;
  assert.equal(dspec.field('selector')!.atomic, true, 'LabelSelector is an atomic map');
  assert.deepEqual(dspec.field('strategy')!.patchStrategies, ['retainKeys'], 'the allOf wrapper\'s extension wins');
  assert.equal(dspec.field('strategy')!.kind, 'struct');
  const dev = typeInfoFor('devices.kubeedge.io', 'v1beta1', 'Device')!.root.field('spec')!;
  assert.equal(dev.field('protocol')!.field('configData')!.kind, 'untyped');
  assert.equal(dev.field('properties')!.listType, 'atomic');
});

test('unknownFields names each field the schema does not declare, with Kubernetes\' path notation', () => {
  const t = typeInfoFor('', 'v1', 'Pod')!;
  const pod = {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', labels: { any: 'x' }, bogusMeta: 1 },
    spec: { containers: [{ name: 'c', image: 'i' }, { name: 'd', imagee: 'i', resources: { limits: { cpu: '1' } } }], extra: true },
  };
  assert.deepEqual(unknownFields(pod, t), ['metadata.bogusMeta', 'spec.containers[1].imagee', 'spec.extra']);
  const devT = typeInfoFor('devices.kubeedge.io', 'v1beta1', 'Device')!;
  const device = { apiVersion: 'devices.kubeedge.io/v1beta1', kind: 'Device', metadata: { name: 'd' }, spec: { deviceModelRef: { name: 'm' }, protocol: { configData: { free: { x: 1 } } }, properties: [{ name: 'p', desird: {} }] }, status: { twins: [] } };
  assert.deepEqual(unknownFields(device, devT), ['spec.properties[0].desird']);
  assert.deepEqual(unknownFields(pod, undefined), []);
});

test('metrics.k8s.io: NodeMetrics and PodMetrics documented read-only, with their kinds and every reference resolved', () => {
  const ro = { verbs: ['get', 'list'] as ResourceDef['verbs'], strategicMerge: false };
  const nodeMetrics = def('metrics.k8s.io', 'v1beta1', 'NodeMetrics', 'nodes', METRICS_SCHEMA_NAMES.NodeMetrics, { ...ro, namespaced: false });
  const podMetrics = def('metrics.k8s.io', 'v1beta1', 'PodMetrics', 'pods', METRICS_SCHEMA_NAMES.PodMetrics, ro);
  const doc = openapiV3Document('metrics.k8s.io/v1beta1', [nodeMetrics, podMetrics]);
  const s = doc.components.schemas;
  assert.deepEqual(s[METRICS_SCHEMA_NAMES.NodeMetrics]!['x-kubernetes-group-version-kind'], [{ group: 'metrics.k8s.io', version: 'v1beta1', kind: 'NodeMetrics' }]);
  assert.deepEqual(s[METRICS_SCHEMA_NAMES.PodMetrics]!['x-kubernetes-group-version-kind'], [{ group: 'metrics.k8s.io', version: 'v1beta1', kind: 'PodMetrics' }]);
  for (const n of [METRICS_SCHEMA_NAMES.ContainerMetrics, 'io.k8s.apimachinery.pkg.api.resource.Quantity', 'io.k8s.apimachinery.pkg.apis.meta.v1.Time', 'io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta']) assert.ok(s[n], n);
  for (const r of JSON.stringify(doc).match(/#\/components\/schemas\/[^"]+/g)!) assert.ok(s[r.slice('#/components/schemas/'.length)], `dangling ${r}`);
  const item = doc.paths['/apis/metrics.k8s.io/v1beta1/namespaces/{namespace}/pods/{name}']!;
  assert.deepEqual(Object.keys(item).sort(), ['get', 'parameters'], 'get only: no write operation');
  assert.ok(doc.paths['/apis/metrics.k8s.io/v1beta1/nodes']!.get, 'nodes are listed cluster-wide');
  const usage = typeInfoFor('metrics.k8s.io', 'v1beta1', 'PodMetrics')!.root.field('containers')!.elem().field('usage')!;
  assert.equal(usage.kind, 'map');
  assert.equal(typeInfoFor('metrics.k8s.io', 'v1beta1', 'NodeMetrics')!.root.field('window')!.kind, 'scalar');
});
