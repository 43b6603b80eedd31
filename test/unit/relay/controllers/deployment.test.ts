/** Deployments over fake nodes: spreading, rolling updates within maxUnavailable, undo, scale, and nodes that go away mid-rollout. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { DEPLOY, deployment, fleet, imageOf, nodeOf, PODS, podsOf, RS } from './fleet.js';

const ready = (p: KubeObject) => ((p.status as { conditions?: { type: string; status: string }[] }).conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
const live = (ps: KubeObject[]) => ps.filter((p) => !p.metadata.deletionTimestamp);

test('a Deployment of 3 spreads over 3 nodes, reports kubectl\'s status, and scales to 5 and 0', async (t) => {
  const f = await fleet();
  t.after(() => f.stop());
  for (const n of ['a', 'b', 'c']) await f.addNode(n);
  await f.admin.create(DEPLOY, deployment('web', 3, 'img:1'));
  await f.settle();
  const pods = await podsOf(f, 'app=web');
  assert.equal(pods.length, 3);
  assert.deepEqual(pods.map(nodeOf).sort(), ['a', 'b', 'c']);
  assert.ok(pods.every((p) => p.metadata.labels?.['pod-template-hash']));
  // the edge default toleration is written into each pod
  assert.ok(((pods[0]!.spec as { tolerations: { key: string; tolerationSeconds?: number }[] }).tolerations).some((x) => x.key === 'node.kubernetes.io/unreachable' && x.tolerationSeconds === undefined));
  const d = await f.admin.get(DEPLOY, 'default', 'web');
  const s = d.status as Record<string, unknown> & { conditions: { type: string; status: string; reason: string }[] };
  assert.deepEqual([s.observedGeneration, s.replicas, s.updatedReplicas, s.readyReplicas, s.availableReplicas], [1, 3, 3, 3, 3]);
  assert.deepEqual(s.conditions.map((c) => [c.type, c.status, c.reason]).sort(), [
    ['Available', 'True', 'MinimumReplicasAvailable'],
    ['Progressing', 'True', 'NewReplicaSetAvailable'],
  ]);
  assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');

  await f.admin.patchScale(DEPLOY, 'default', 'web', 'merge', { spec: { replicas: 5 } });
  await f.settle();
  assert.equal(live(await podsOf(f, 'app=web')).length, 5);
  const scale = await f.admin.getScale(DEPLOY, 'default', 'web');
  assert.deepEqual([scale.kind, (scale.spec as { replicas: number }).replicas, (scale.status as { replicas: number; selector: string }).selector], ['Scale', 5, 'app=web']);
  await f.admin.patchScale(DEPLOY, 'default', 'web', 'merge', { spec: { replicas: 0 } });
  await f.settle();
  assert.equal((await podsOf(f, 'app=web')).length, 0);
  assert.equal(((await f.admin.get(DEPLOY, 'default', 'web')).status as { replicas: number }).replicas, 0);
});

test('a rolling update with maxUnavailable 1 never has fewer than 2 of 3 ready, then undo goes back to revision 1', async (t) => {
  const f = await fleet();
  t.after(() => f.stop());
  for (const n of ['a', 'b', 'c']) await f.addNode(n);
  await f.admin.create(DEPLOY, deployment('web', 3, 'img:1', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } } }));
  await f.settle();
  let minReady = 3;
  let maxPods = 0;
  const order: string[] = [];
  const marked = new Set<string>();
  await f.admin.watch(PODS, 'default', { resourceVersion: String(await f.store.revision()) }, (e) => {
    const p = e.object as KubeObject;
    if (e.type === 'ADDED') order.push(`+${imageOf(p)}`);
    // a pod is on its way out from its deletionTimestamp on
    if (e.type === 'MODIFIED' && p.metadata.deletionTimestamp && !marked.has(p.metadata.uid!)) {
      marked.add(p.metadata.uid!);
      order.push(`-${imageOf(p)}`);
    }
  });
  await f.admin.patch(DEPLOY, 'default', 'web', 'strategic', { spec: { template: { spec: { containers: [{ name: 'c', image: 'img:2' }] } } } });
  for (let i = 0; i < 40; i++) {
    await f.controllers.idle();
    for (const n of f.nodes.values()) {
      await n.sync();
      const pods = live(await podsOf(f, 'app=web'));
      minReady = Math.min(minReady, pods.filter(ready).length);
      maxPods = Math.max(maxPods, pods.length);
    }
  }
  await f.settle();
  const pods = await podsOf(f, 'app=web');
  assert.deepEqual(pods.map(imageOf), ['img:2', 'img:2', 'img:2']);
  assert.deepEqual(pods.map(nodeOf).sort(), ['a', 'b', 'c'], 'each replacement lands where its old pod was');
  assert.ok(minReady >= 2, `never fewer than 2 ready (saw ${minReady})`);
  assert.equal(maxPods, 3, 'maxSurge 0: never a 4th pod');
  assert.deepEqual(order.slice(0, 2), ['-img:1', '+img:2'], `one old pod goes before a new one comes: ${order.join(' ')}`);
  const sets = (await f.admin.list(RS, 'default')).items;
  assert.deepEqual(sets.map((r) => [r.metadata.annotations?.['deployment.kubernetes.io/revision'], (r.spec as { replicas: number }).replicas]).sort(), [['1', 0], ['2', 3]]);

  // undo as kubectl does it: the revision-1 template, by a JSON patch
  const old = sets.find((r) => r.metadata.annotations?.['deployment.kubernetes.io/revision'] === '1')!;
  const template = structuredClone((old.spec as { template: { metadata: { labels: Record<string, string> } } }).template);
  delete template.metadata.labels['pod-template-hash'];
  await f.admin.patch(DEPLOY, 'default', 'web', 'json', [{ op: 'replace', path: '/spec/template', value: template }]);
  await f.settle(60);
  assert.deepEqual((await podsOf(f, 'app=web')).map(imageOf), ['img:1', 'img:1', 'img:1']);
  const revs = (await f.admin.list(RS, 'default')).items.map((r) => [imageOf({ ...r, spec: (r.spec as { template: { spec: unknown } }).template.spec } as KubeObject), r.metadata.annotations?.['deployment.kubernetes.io/revision']]);
  assert.deepEqual(revs.sort(), [['img:1', '3'], ['img:2', '2']]);
});
