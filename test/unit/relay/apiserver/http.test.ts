/** Pure pieces of the HTTP layer: URL reading, content negotiation, discovery documents, tables, ages. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { humanDuration } from '../../../../src/contract/kube/table.js';
import { isStatusError } from '../../../../src/contract/kube/status.js';
import { aggregatedDiscovery, apiResourceList, toTable } from '../../../../src/contract/kube/resources.js';
import { chooseDiscovery, chooseObject } from '../../../../src/contract/kube/negotiate.js';
import { requestInfo } from '../../../../src/contract/kube/request.js';
import { ResourceRegistry } from '../../../../src/relay/apiserver/registry.js';
import { builtinKinds } from '../../../../src/relay/kinds/index.js';
import { configMapDef } from '../../../../src/relay/kinds/configmap.js';
import { eventDef } from '../../../../src/relay/kinds/event.js';

const q = (s = ''): URLSearchParams => new URLSearchParams(s);

test('request URLs read as kube-apiserver reads them', () => {
  assert.deepEqual(requestInfo('GET', '/api/v1/namespaces/default/pods', q()), { type: 'resource', verb: 'list', group: '', version: 'v1', resource: 'pods', namespace: 'default' });
  assert.deepEqual(requestInfo('GET', '/api/v1/namespaces/default/pods', q('watch=1')), { type: 'resource', verb: 'watch', group: '', version: 'v1', resource: 'pods', namespace: 'default' });
  assert.deepEqual(requestInfo('GET', '/api/v1/namespaces/default/pods/p', q('watch=true')), { type: 'resource', verb: 'watch', group: '', version: 'v1', resource: 'pods', namespace: 'default', name: 'p' });
  assert.deepEqual(requestInfo('PATCH', '/apis/devices.kubeedge.io/v1beta1/namespaces/ns/devices/d1/status', q()), {
    type: 'resource', verb: 'patch', group: 'devices.kubeedge.io', version: 'v1beta1', resource: 'devices', namespace: 'ns', name: 'd1', subresource: 'status',
  });
  assert.deepEqual(requestInfo('GET', '/api/v1/namespaces/team', q()), { type: 'resource', verb: 'get', group: '', version: 'v1', resource: 'namespaces', name: 'team' });
  assert.deepEqual(requestInfo('PUT', '/api/v1/namespaces/team/status', q()), { type: 'resource', verb: 'update', group: '', version: 'v1', resource: 'namespaces', name: 'team', subresource: 'status' });
  assert.deepEqual(requestInfo('DELETE', '/api/v1/namespaces/a/configmaps', q()), { type: 'resource', verb: 'deletecollection', group: '', version: 'v1', resource: 'configmaps', namespace: 'a' });
  assert.deepEqual(requestInfo('GET', '/api/v1/watch/namespaces/a/configmaps', q()), { type: 'resource', verb: 'watch', group: '', version: 'v1', resource: 'configmaps', namespace: 'a' });
  assert.deepEqual(requestInfo('GET', '/apis', q()), { type: 'discovery', prefix: 'apis' });
  assert.deepEqual(requestInfo('GET', '/api/v1', q()), { type: 'discovery', prefix: 'api', group: '', version: 'v1' });
  assert.deepEqual(requestInfo('GET', '/apis/devices.kubeedge.io', q()), { type: 'discovery', prefix: 'apis', group: 'devices.kubeedge.io' });
  assert.deepEqual(requestInfo('GET', '/healthz', q()), { type: 'other', path: '/healthz' });
  assert.deepEqual(requestInfo('GET', '/api/v1/pods/a/b/c/d', q()).type, 'other');
  // a malformed escape is a 400 Status, not a crash
  assert.throws(() => requestInfo('GET', '/api/v1/namespaces/%zz/pods', q()), (e: unknown) => isStatusError(e) && e.code === 400);
});

const V2 = 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';
const V2BETA1 = 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json';

test('discovery negotiation: v2 to kubectl 1.30+, v2beta1 to 1.27-1.29, legacy to plain JSON, each named exactly', () => {
  assert.deepEqual(chooseDiscovery(V2), { kind: 'aggregated', version: 'v2', contentType: 'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList' });
  assert.deepEqual(chooseDiscovery(V2BETA1), { kind: 'aggregated', version: 'v2beta1', contentType: 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList' });
  assert.deepEqual(chooseDiscovery('application/json'), { kind: 'legacy' });
  assert.deepEqual(chooseDiscovery(undefined), { kind: 'legacy' });
  assert.deepEqual(chooseDiscovery('application/json;g=apidiscovery.k8s.io;v=v3;as=APIGroupDiscoveryList'), { kind: 'legacy' });
  // the client's order wins: JSON first means legacy
  assert.deepEqual(chooseDiscovery(`application/json, ${V2}`), { kind: 'legacy' });
});

test('object negotiation: Table v1/v1beta1, PartialObjectMetadata, JSON after protobuf, 406 for protobuf only', () => {
  const kubectlGet = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json';
  assert.deepEqual(chooseObject(kubectlGet), { kind: 'table', version: 'v1' });
  assert.deepEqual(chooseObject('application/json;as=Table;v=v1beta1;g=meta.k8s.io'), { kind: 'table', version: 'v1beta1' });
  assert.deepEqual(chooseObject('application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io,application/json'), { kind: 'partial', version: 'v1' });
  assert.deepEqual(chooseObject('application/vnd.kubernetes.protobuf,application/json'), { kind: 'json' });
  assert.deepEqual(chooseObject('*/*'), { kind: 'json' });
  assert.deepEqual(chooseObject('application/yaml'), { kind: 'yaml' });
  assert.deepEqual(chooseObject(kubectlGet, false), { kind: 'json' }, 'writes answer JSON');
  assert.throws(() => chooseObject('application/vnd.kubernetes.protobuf'), (e: unknown) => isStatusError(e) && e.code === 406);
});

test('discovery documents: aggregated for /api holds the core group only; legacy lists subresources', () => {
  const reg = new ResourceRegistry(builtinKinds());
  const api = aggregatedDiscovery(reg.all(), 'api', 'v2') as { apiVersion: string; items: { metadata: { name?: string }; versions: { version: string; resources: { resource: string; scope: string; verbs: string[]; shortNames?: string[] }[] }[] }[] };
  assert.equal(api.apiVersion, 'apidiscovery.k8s.io/v2');
  assert.equal(api.items.length, 1);
  assert.equal(api.items[0]!.metadata.name, undefined);
  const ns = api.items[0]!.versions[0]!.resources.find((r) => r.resource === 'namespaces')!;
  assert.equal(ns.scope, 'Cluster');
  assert.deepEqual(ns.shortNames, ['ns']);
  const apis = aggregatedDiscovery(reg.all(), 'apis', 'v2beta1') as { apiVersion: string; items: { metadata: { name: string }; versions: { version: string; resources: { resource: string; subresources?: { subresource: string }[] }[] }[] }[] };
  assert.equal(apis.apiVersion, 'apidiscovery.k8s.io/v2beta1');
  assert.deepEqual(apis.items.map((g) => [g.metadata.name, g.versions.map((v) => v.version)]), [
    ['apps', ['v1']],
    ['batch', ['v1']],
    ['discovery.k8s.io', ['v1']],
    ['coordination.k8s.io', ['v1']],
    ['devices.kubeedge.io', ['v1beta1']],
    ['rules.kubeedge.io', ['v1']],
  ]);
  assert.deepEqual(apis.items[4]!.versions[0]!.resources.map((r) => r.resource), ['devicemodels', 'devices']);
  assert.deepEqual(apis.items[0]!.versions[0]!.resources.map((r) => [r.resource, (r.subresources ?? []).map((s) => s.subresource)]), [['deployments', ['status', 'scale']], ['replicasets', ['status', 'scale']], ['daemonsets', ['status']]]);
  const pods = api.items[0]!.versions[0]!.resources.find((r) => r.resource === 'pods') as unknown as { shortNames: string[]; categories: string[] };
  assert.deepEqual([pods.shortNames, pods.categories], [['po'], ['all']]);
  const legacy = apiResourceList(reg.all(), '', 'v1') as { resources: { name: string; namespaced: boolean; verbs: string[] }[] };
  assert.ok(legacy.resources.some((r) => r.name === 'namespaces/status'));
  assert.deepEqual(legacy.resources.find((r) => r.name === 'configmaps')!.verbs, ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch']);
});

test('ages read as kubectl prints them', () => {
  const s = 1000;
  assert.deepEqual(
    [0, 45 * s, 119 * s, 120 * s, 330 * s, 600 * s, 179 * 60 * s, 3 * 3600 * s + 20 * 60 * s, 5 * 3600 * s, 30 * 3600 * s, 52 * 3600 * s, 10 * 86400 * s, 800 * 86400 * s, 9 * 365 * 86400 * s, -5 * s].map(humanDuration),
    ['0s', '45s', '119s', '2m', '5m30s', '10m', '179m', '3h20m', '5h', '30h', '2d4h', '10d', '2y70d', '9y', '<invalid>'],
  );
});

test('tables: columns with -o wide priorities, rows with the metadata or the whole object', () => {
  const now = new Date('2026-01-01T01:00:00Z');
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default', labels: { a: 'b' }, creationTimestamp: '2026-01-01T00:00:00Z' }, data: { x: '1', y: '2' } };
  const t = toTable(configMapDef, [cm], { now, include: 'Metadata', version: 'v1', resourceVersion: '7' });
  assert.deepEqual(t.columnDefinitions.map((c) => c.name), ['Name', 'Data', 'Age']);
  assert.deepEqual(t.rows[0]!.cells, ['c', 2, '60m']);
  assert.deepEqual(t.rows[0]!.object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: cm.metadata });
  assert.equal(t.metadata.resourceVersion, '7');
  assert.deepEqual(toTable(configMapDef, [cm], { now, include: 'Object', version: 'v1beta1' }).rows[0]!.object, cm);
  assert.equal(toTable(configMapDef, [cm], { now, include: 'None', version: 'v1' }).rows[0]!.object, undefined);
  const ev = {
    apiVersion: 'v1', kind: 'Event', metadata: { name: 'p.1', namespace: 'default', creationTimestamp: '2026-01-01T00:00:00Z' },
    involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' }, reason: 'Started', message: 'ok', type: 'Normal', count: 3,
    firstTimestamp: '2026-01-01T00:00:00Z', lastTimestamp: '2026-01-01T00:59:00Z', source: { component: 'edged', host: 'pi-1' },
  };
  const et = toTable(eventDef, [ev], { now, include: 'Metadata', version: 'v1' });
  assert.deepEqual(et.columnDefinitions.filter((c) => c.priority === 0).map((c) => c.name), ['Last Seen', 'Type', 'Reason', 'Object', 'Message']);
  assert.deepEqual(et.rows[0]!.cells.slice(0, 7), ['60s (x3 over 60m)', 'Normal', 'Started', 'pod/p', '', 'edged, pi-1', 'ok']);
});
