/**
 * A patch the real kubectl 1.32 produced for `kubectl apply -f` of a changed Pod manifest
 * (captured by running kubectl against a fake server; test/fixtures/kubectl-1.32-apply-pod.json):
 * it carries every directive kubectl uses — $setElementOrder on maps and scalars,
 * $deleteFromPrimitiveList, $patch: delete items, $retainKeys, null deletes. The oracle is
 * kubectl's own intent: applied to the live object, the patch must yield the manifest's fields.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { strategicMergePatch, typeInfoFor } from '../../../../src/relay/patch/index.js';
import { ROOT } from '../../../helpers/tmp.js';

const fixture = JSON.parse(readFileSync(join(ROOT, 'test/fixtures/kubectl-1.32-apply-pod.json'), 'utf8')) as { live: KubeObject; patch: Record<string, unknown>; manifest: KubeObject };

test('kubectl 1.32 apply patch: live + patch = the applied manifest', () => {
  const patchText = JSON.stringify(fixture.patch);
  for (const directive of ['$setElementOrder/containers', '$deleteFromPrimitiveList/finalizers', '"$patch":"delete"', '$retainKeys', '"tolerations":null']) {
    assert.ok(patchText.includes(directive), `the captured patch uses ${directive}`);
  }
  const out = strategicMergePatch(fixture.live, fixture.patch, typeInfoFor('', 'v1', 'Pod'));
  assert.deepEqual(out.spec, fixture.manifest.spec);
  assert.deepEqual(out.metadata.labels, fixture.manifest.metadata.labels);
  assert.deepEqual(out.metadata.finalizers, fixture.manifest.metadata.finalizers);
  assert.equal(out.metadata.annotations!['kubectl.kubernetes.io/last-applied-configuration'], `${JSON.stringify(fixture.manifest)}\n`);
});

test('kubectl 1.32 apply patch over a live object with server-side additions: those survive, in place', () => {
  const live = JSON.parse(JSON.stringify(fixture.live)) as KubeObject;
  const spec = live.spec as { containers: Record<string, unknown>[] };
  spec.containers.unshift({ name: 'injected', image: 'proxy' });
  spec.containers.find((c) => c.name === 'a')!.terminationMessagePath = '/dev/termination-log';
  const out = strategicMergePatch(live, fixture.patch, typeInfoFor('', 'v1', 'Pod'));
  const containers = (out.spec as { containers: Record<string, unknown>[] }).containers;
  assert.deepEqual(containers.map((c) => c.name), ['c', 'injected', 'a']);
  assert.equal(containers[2]!.terminationMessagePath, '/dev/termination-log', 'a field kubectl never set is kept');
  assert.equal(containers[2]!.image, 'a:2');
});
