import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { isPatchError, strategicMergePatch, typeInfoFor } from '../../../../src/relay/patch/index.js';

const podType = typeInfoFor('', 'v1', 'Pod')!;
const deployType = typeInfoFor('apps', 'v1', 'Deployment')!;

function pod(spec: Record<string, unknown>, metadata: Record<string, unknown> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', ...metadata }, spec };
}
const smp = (obj: KubeObject, patch: unknown) => strategicMergePatch(obj, patch, podType);
const names = (list: unknown) => (list as { name: string }[]).map((x) => x.name);

test('containers merge by name: a patched container keeps its other fields, others are untouched', () => {
  const live = pod({ containers: [{ name: 'a', image: 'a:1', ports: [{ containerPort: 80 }] }, { name: 'b', image: 'b:1' }] });
  const out = smp(live, { spec: { containers: [{ name: 'b', image: 'b:2' }] } });
  assert.deepEqual(out.spec, { containers: [{ name: 'a', image: 'a:1', ports: [{ containerPort: 80 }] }, { name: 'b', image: 'b:2' }] });
  assert.equal((live.spec as { containers: { image: string }[] }).containers[1]!.image, 'b:1', 'the live object is not mutated');
});

test('a new item without $setElementOrder goes before the server-only items, as Kubernetes orders it', () => {
  const out = smp(pod({ containers: [{ name: 'a' }, { name: 'b' }] }), { spec: { containers: [{ name: 'c', image: 'c' }] } });
  assert.deepEqual(names((out.spec as { containers: unknown }).containers), ['c', 'a', 'b']);
});

test('$setElementOrder sets the final order; server-only items keep their place relative to the listed ones', () => {
  const live = pod({ containers: [{ name: 'a' }, { name: 'b', other: 1 }, { name: 'x' }] });
  const out = smp(live, { spec: { '$setElementOrder/containers': [{ name: 'c' }, { name: 'a' }, { name: 'b' }], containers: [{ name: 'c', image: 'c' }] } });
  assert.deepEqual(names((out.spec as { containers: unknown }).containers), ['c', 'a', 'b', 'x']);
  assert.deepEqual((out.spec as { containers: unknown[] }).containers[2], { name: 'b', other: 1 });
});

test('$patch: delete removes an item by merge key; null deletes a field', () => {
  const live = pod({ containers: [{ name: 'a', image: 'a', command: ['x'] }, { name: 'b' }] });
  const out = smp(live, { spec: { containers: [{ name: 'b', $patch: 'delete' }, { name: 'a', command: null }] } });
  assert.deepEqual(out.spec, { containers: [{ name: 'a', image: 'a' }] });
});

test('$patch: replace in a list replaces the list; in a map replaces the map', () => {
  const live = pod({ containers: [{ name: 'a' }, { name: 'b' }], nodeSelector: { x: '1', y: '2' } });
  const out = smp(live, { spec: { containers: [{ $patch: 'replace' }, { name: 'z' }], nodeSelector: { $patch: 'replace', k: 'v' } } });
  assert.deepEqual(out.spec, { containers: [{ name: 'z' }], nodeSelector: { k: 'v' } });
  assert.deepEqual(smp(live, { spec: { nodeSelector: { $patch: 'delete' } } }).spec, { containers: [{ name: 'a' }, { name: 'b' }], nodeSelector: {} });
});

test('lists without a merge strategy are replaced whole (tolerations, args); primitive merge lists union (finalizers)', () => {
  const live = pod({ tolerations: [{ key: 'a' }, { key: 'b' }], containers: [{ name: 'c', args: ['1', '2'] }] }, { finalizers: ['f1', 'f2'] });
  const out = smp(live, { metadata: { finalizers: ['f3'] }, spec: { tolerations: [{ key: 'c' }], containers: [{ name: 'c', args: ['3'] }] } });
  assert.deepEqual((out.spec as { tolerations: unknown }).tolerations, [{ key: 'c' }]);
  assert.deepEqual((out.spec as { containers: { args: string[] }[] }).containers[0]!.args, ['3']);
  assert.deepEqual(out.metadata.finalizers, ['f3', 'f1', 'f2']);
});

test('$deleteFromPrimitiveList and $setElementOrder on a list of scalars', () => {
  const live = pod({ containers: [] }, { finalizers: ['a', 'b', 'c'] });
  const out = smp(live, { metadata: { '$deleteFromPrimitiveList/finalizers': ['b'], '$setElementOrder/finalizers': ['c', 'a'] } });
  assert.deepEqual(out.metadata.finalizers, ['c', 'a']);
});

test('ports merge by containerPort, env by name, volumes by name with $retainKeys clearing the old source', () => {
  const live = pod({
    containers: [{ name: 'c', ports: [{ containerPort: 80, name: 'http' }], env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }],
    volumes: [{ name: 'v', hostPath: { path: '/x' } }, { name: 'w', emptyDir: {} }],
  });
  const out = smp(live, {
    spec: {
      containers: [{ name: 'c', ports: [{ containerPort: 80, protocol: 'TCP' }, { containerPort: 443 }], env: [{ name: 'B', value: '3' }] }],
      volumes: [{ name: 'v', $retainKeys: ['configMap', 'name'], configMap: { name: 'cm' } }],
    },
  });
  const c = (out.spec as { containers: Record<string, unknown>[] }).containers[0]!;
  assert.deepEqual(c.ports, [{ containerPort: 80, name: 'http', protocol: 'TCP' }, { containerPort: 443 }]);
  assert.deepEqual(c.env, [{ name: 'A', value: '1' }, { name: 'B', value: '3' }]);
  assert.deepEqual((out.spec as { volumes: unknown }).volumes, [{ name: 'v', configMap: { name: 'cm' } }, { name: 'w', emptyDir: {} }]);
});

test('retainKeys on a struct field (Deployment strategy): switching to Recreate drops rollingUpdate', () => {
  const live: KubeObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 1, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 1 } } } };
  const out = strategicMergePatch(live, { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }, deployType);
  assert.deepEqual(out.spec, { replicas: 1, strategy: { type: 'Recreate' } });
  assert.throws(() => strategicMergePatch(live, { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: {} } } }, deployType), (e) => isPatchError(e) && e.code === 422);
});

test('a container added by the patch takes its nested directives (no $-keys or nulls are stored)', () => {
  const out = smp(pod({ containers: [] }), { spec: { containers: [{ name: 'n', image: 'i', env: [{ name: 'X', value: null }], '$setElementOrder/env': [{ name: 'X' }] }] } });
  assert.deepEqual(out.spec, { containers: [{ name: 'n', image: 'i', env: [{ name: 'X' }] }] });
});

test('labels and annotations merge as maps; null removes one key', () => {
  const live = pod({ containers: [] }, { labels: { a: '1', b: '2' } });
  assert.deepEqual(smp(live, { metadata: { labels: { b: null, c: '3' } } }).metadata.labels, { a: '1', c: '3' });
});

test('without type information (custom kinds) lists are replaced and maps merged', () => {
  const live: KubeObject = { apiVersion: 'x/v1', kind: 'X', metadata: { name: 'x' }, spec: { items: [{ name: 'a', v: 1 }], m: { a: 1 } } };
  const out = strategicMergePatch(live, { spec: { items: [{ name: 'b' }], m: { b: 2 } } }, undefined);
  assert.deepEqual(out.spec, { items: [{ name: 'b' }], m: { a: 1, b: 2 } });
});

test('malformed patches are refused with a 400 naming the place, and change nothing', () => {
  const live = pod({ containers: [{ name: 'a' }] });
  const before = JSON.stringify(live);
  const cases: [unknown, RegExp][] = [
    [[], /must be a JSON object/],
    [{ spec: { containers: [{ image: 'no-name' }] } }, /spec\.containers.*merge key "name"/],
    [{ spec: { containers: [{ name: 'a', $patch: 'explode' }] } }, /unknown \$patch directive/],
    [{ spec: { $patch: 'merge' } }, /unknown \$patch directive/],
    [{ spec: { '$setElementOrder/containers': 'x' } }, /must be a list/],
    [{ spec: { '$setElementOrder/containers': [{ name: 'a' }, { name: 'b' }], containers: [{ name: 'b' }, { name: 'a' }] } }, /order of the patch list/],
    [{ spec: { $bogus: 1 } }, /unknown directive/],
    [JSON.parse('{"metadata":{"labels":{"__proto__":{"polluted":"yes"}}}}'), /__proto__/],
  ];
  for (const [patch, re] of cases) {
    assert.throws(() => smp(live, patch), (e) => isPatchError(e) && e.code === 400 && re.test(e.message), JSON.stringify(patch));
  }
  assert.equal(JSON.stringify(live), before);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
