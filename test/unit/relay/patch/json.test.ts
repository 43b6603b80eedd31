import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { FieldSet, isPatchError, jsonPatch, mergePatch, pathString } from '../../../../src/relay/patch/index.js';

const cm = (): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { a: '1' } }, data: { k: 'v', list: 'x' } });

test('json patch: add, replace, remove, test, on a copy', () => {
  const live = cm();
  const out = jsonPatch(live, [
    { op: 'test', path: '/data/k', value: 'v' },
    { op: 'replace', path: '/data/k', value: 'w' },
    { op: 'add', path: '/metadata/labels/b', value: '2' },
    { op: 'remove', path: '/data/list' },
  ]);
  assert.deepEqual(out.data, { k: 'w' });
  assert.deepEqual(out.metadata.labels, { a: '1', b: '2' });
  assert.deepEqual(live, cm(), 'the live object is untouched');
});

test('json patch refusals: malformed (400) versus not applicable (422), with the operation named', () => {
  const cases: [unknown, number, RegExp][] = [
    [{ op: 'add' }, 400, /list of operations/],
    [[{ op: 'frobnicate', path: '/data' }], 400, /operation 0 \(frobnicate "\/data"\): op must be one of/],
    [[{ op: 'add', path: '/data/x' }], 400, /value is required/],
    [[{ op: 'test', path: '/data/k', value: 'nope' }], 422, /operation 0 \(test "\/data\/k"\): test failed/],
    [[{ op: 'remove', path: '/spec/missing' }], 422, /path does not exist/],
    [[{ op: 'replace', path: '', value: 'scalar' }], 422, /result is not an object/],
    [[{ op: 'add', path: '/metadata/__proto__', value: { polluted: 1 } }], 400, /__proto__|not an object|path/],
  ];
  for (const [ops, code, re] of cases) {
    assert.throws(() => jsonPatch(cm(), ops), (e) => isPatchError(e) && e.code === code && re.test(e.message), JSON.stringify(ops));
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('merge patch: null deletes, maps merge, lists are replaced', () => {
  const out = mergePatch({ ...cm(), spec: { l: [1, 2] } } as KubeObject, { metadata: { labels: { a: null, b: '2' } }, data: { k: 'w' }, spec: { l: [3] } });
  assert.deepEqual(out.metadata.labels, { b: '2' });
  assert.deepEqual(out.data, { k: 'w', list: 'x' });
  assert.deepEqual(out.spec, { l: [3] });
  assert.throws(() => mergePatch(cm(), [1]), (e) => isPatchError(e) && e.code === 400);
  assert.throws(() => mergePatch(cm(), JSON.parse('{"__proto__":{"polluted":1}}')), (e) => isPatchError(e) && /__proto__/.test(e.message));
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('field sets round-trip through FieldsV1 and print paths as Kubernetes does', () => {
  const v1 = { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:containers': { 'k:{"name":"c"}': { '.': {}, 'f:image': {}, 'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {} } } } }, 'f:finalizers': { 'v:"a"': {} } } };
  const s = FieldSet.fromFieldsV1(v1);
  assert.deepEqual(s.toFieldsV1(), { ...v1, 'f:spec': { ...v1['f:spec'], 'f:containers': { 'k:{"name":"c"}': { '.': {}, 'f:image': {}, 'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': {} } } } } });
  assert.ok(s.has(['f:metadata', 'f:labels']));
  assert.ok(!s.has(['f:metadata']));
  assert.equal(pathString(['f:spec', 'f:containers', 'k:{"name":"c"}', 'f:ports', 'k:{"containerPort":80,"protocol":"TCP"}']), '.spec.containers[name="c"].ports[containerPort=80,protocol="TCP"]');
  assert.equal(pathString(['f:spec', 'f:finalizers', 'v:"a"']), '.spec.finalizers[="a"]');
  assert.throws(() => FieldSet.fromFieldsV1({ 'x:bad': {} }), (e) => isPatchError(e) && /not a field path element/.test(e.message));
  assert.throws(() => FieldSet.fromFieldsV1([]), (e) => isPatchError(e));
});
