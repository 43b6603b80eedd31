/**
 * The edge rules over fake nodes: a node that goes away keeps its pods (nothing recreated
 * elsewhere, however long), a rollout finishes on the reachable nodes, waits for the one away
 * (saying so in Progressing), and completes when it returns with no duplicate; a workload that
 * asks (tolerationSeconds on unreachable) is moved; a pod that fits nowhere says why.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { DEPLOY, deployment, EVENTS, fleet, imageOf, nodeOf, PODS, podsOf } from './fleet.js';

const live = (ps: KubeObject[]) => ps.filter((p) => !p.metadata.deletionTimestamp);
const progressing = (d: KubeObject) => ((d.status as { conditions?: { type: string; reason: string; message: string }[] }).conditions ?? []).find((c) => c.type === 'Progressing')!;

test('a node stopped mid-rollout: the rollout finishes on the others, waits for it by name, completes when it returns, no duplicates', async (t) => {
  const f = await fleet();
  t.after(() => f.stop());
  for (const n of ['a', 'b', 'c']) await f.addNode(n);
  await f.admin.create(DEPLOY, deployment('web', 3, 'img:1', { strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } } }));
  await f.settle();
  const c = f.nodes.get('c')!;
  c.up = false;
  await c.ready('Unknown');
  await f.admin.patch(DEPLOY, 'default', 'web', 'strategic', { spec: { template: { spec: { containers: [{ name: 'c', image: 'img:2' }] } } } });
  await f.settle();
  f.clock.advance(3600_000); // an hour away: past Kubernetes' 300 s, and past the progress deadline
  await f.settle();
  let pods = live(await podsOf(f, 'app=web'));
  assert.deepEqual(pods.map((p) => `${nodeOf(p)}:${imageOf(p)}`).sort(), ['a:img:2', 'b:img:2', 'c:img:1'], 'done on a and b; c keeps its pod, nothing recreated elsewhere');
  const d = await f.admin.get(DEPLOY, 'default', 'web');
  assert.equal((d.status as { updatedReplicas: number }).updatedReplicas, 2);
  assert.equal(progressing(d).reason, 'ReplicaSetUpdated', 'waiting for a node is not a missed deadline');
  assert.match(progressing(d).message, /Waiting for nodes that are not ready: c\.$/);
  const waits = (await f.admin.list(EVENTS, 'default', { fieldSelector: 'reason=WaitingForNodes' })).items as { message?: string; involvedObject?: { name?: string } }[];
  assert.deepEqual(waits.map((e) => [e.involvedObject?.name, e.message]), [['web', 'Waiting for nodes that are not ready: c.']], 'an event kubectl describe shows');

  c.up = true;
  await c.ready('True');
  await f.settle(60);
  pods = await podsOf(f, 'app=web');
  assert.deepEqual(pods.map((p) => `${nodeOf(p)}:${imageOf(p)}`).sort(), ['a:img:2', 'b:img:2', 'c:img:2']);
  const done = await f.admin.get(DEPLOY, 'default', 'web');
  assert.equal(progressing(done).reason, 'NewReplicaSetAvailable');
});

test('a node away longer than Kubernetes\' default keeps its pods; a workload that tolerates unreachable for 60 s is moved after 60 s', async (t) => {
  const f = await fleet();
  t.after(() => f.stop());
  for (const n of ['a', 'b']) await f.addNode(n);
  await f.admin.create(DEPLOY, deployment('stay', 2, 'img:1'));
  const tol = [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 60 }];
  const move = deployment('move', 2, 'img:1');
  (move.spec as { template: { spec: Record<string, unknown> } }).template.spec.tolerations = tol;
  await f.admin.create(DEPLOY, move);
  await f.settle();
  const b = f.nodes.get('b')!;
  b.up = false;
  await b.ready('Unknown');
  f.clock.advance(30_000);
  await f.settle();
  assert.deepEqual(live(await podsOf(f, 'app=move')).map(nodeOf).sort(), ['a', 'b'], 'within its 60 s the pod stays');
  f.clock.advance(10 * 60_000);
  await f.settle();
  assert.deepEqual(live(await podsOf(f, 'app=stay')).map(nodeOf).sort(), ['a', 'b'], 'the default: b keeps its pod, none recreated');
  assert.equal((await podsOf(f, 'app=stay')).length, 2);
  assert.deepEqual(live(await podsOf(f, 'app=move')).map(nodeOf).sort(), ['a', 'a'], 'evicted and recreated on a node that is there');
  const evictions = (await f.admin.list(EVENTS, 'default', { fieldSelector: 'reason=TaintManagerEviction' })).items;
  assert.equal(evictions.length, 1);
  // b comes back: its evicted pod goes, the stayer is still the one it had
  b.up = true;
  await b.ready('True');
  await f.settle();
  assert.equal((await podsOf(f, 'app=move')).length, 2);
  assert.deepEqual((await podsOf(f, 'app=stay')).map(nodeOf).sort(), ['a', 'b']);
});

test('a pod that fits nowhere stays Pending with kube-scheduler\'s message, and is bound once a node fits', async (t) => {
  const f = await fleet();
  t.after(() => f.stop());
  await f.addNode('a', { zone: 'north' });
  const b = await f.addNode('b', { zone: 'south' });
  await f.addNode('c', { zone: 'south' });
  await f.admin.patch({ group: '', resource: 'nodes' }, undefined, 'c', 'merge', { spec: { taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] } });
  await b.ready('Unknown');
  const pod: KubeObject = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'picky', namespace: 'default' },
    spec: { nodeSelector: { zone: 'south' }, containers: [{ name: 'c', image: 'img:1' }] },
  };
  await f.admin.create(PODS, pod);
  await f.settle();
  const p = await f.admin.get(PODS, 'default', 'picky');
  const cond = ((p.status as { conditions?: { type: string; status: string; reason: string; message: string }[] }).conditions ?? []).find((c) => c.type === 'PodScheduled')!;
  const msg = "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) had untolerated taint {node.kubernetes.io/unreachable: }.";
  assert.deepEqual([cond.status, cond.reason, cond.message], ['False', 'Unschedulable', msg]);
  const ev = (await f.admin.list(EVENTS, 'default', { fieldSelector: 'reason=FailedScheduling' })).items;
  assert.equal((ev[0] as { message?: string }).message, msg);
  await b.ready('True');
  await new Promise((r) => setTimeout(r, 600)); // the scheduler's retry debounce (real time)
  await f.settle();
  const bound = await f.admin.get(PODS, 'default', 'picky');
  assert.equal(nodeOf(bound), 'b');
  assert.ok((await f.admin.list(EVENTS, 'default', { fieldSelector: 'reason=Scheduled' })).items.some((e) => (e as { message?: string }).message === 'Successfully assigned default/picky to b'));
});

test('resources: a pod bigger than every node is refused with Insufficient; cordon keeps new pods off', async (t) => {
  const f = await fleet();
  t.after(() => f.stop());
  await f.addNode('small', {}, { cpu: '1', memory: '1Gi', pods: '110' });
  await f.addNode('full', {}, { cpu: '4', memory: '4Gi', pods: '0' });
  await f.admin.patch({ group: '', resource: 'nodes' }, undefined, 'full', 'merge', { spec: { unschedulable: true } });
  await f.admin.create(PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'big', namespace: 'default' }, spec: { containers: [{ name: 'c', image: 'i:1', resources: { requests: { cpu: '2', memory: '512Mi' } } }] } });
  await f.settle();
  const p = await f.admin.get(PODS, 'default', 'big');
  const cond = ((p.status as { conditions: { type: string; message: string }[] }).conditions).find((c) => c.type === 'PodScheduled')!;
  assert.equal(cond.message, '0/2 nodes are available: 1 Insufficient cpu, 1 node(s) were unschedulable.');
});
