/**
 * The strategy fields over fake nodes, time driven by the ManualClock: Recreate, minReadySeconds,
 * progressDeadlineSeconds, DaemonSet OnDelete, a Job's activeDeadlineSeconds, CronJob Replace and
 * startingDeadlineSeconds (its planner), and the scheduler's required node affinity operators.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { planCronJob } from '../../../../src/relay/controllers/cronjob-plan.js';
import { CRONJOBS, DEPLOY, deployment, DS, fleet, imageOf, JOBS, nodeOf, PODS, podsOf } from './fleet.js';

const live = (ps: KubeObject[]) => ps.filter((p) => !p.metadata.deletionTimestamp);
const status = (o: KubeObject) => o.status as Record<string, number> & { conditions?: { type: string; status: string; reason: string }[] };
const condition = (o: KubeObject, type: string) => (status(o).conditions ?? []).find((c) => c.type === type);
const at = (name: string, iso: string) => `${name}-${Date.parse(iso) / 60000}`;
const setImage = (image: string) => ({ spec: { template: { spec: { containers: [{ name: 'c', image }] } } } });

test('Recreate: every old pod is gone before the first new one is made', async (t) => {
  const f = await fleet();
  t.after(() => f.stop());
  for (const n of ['a', 'b']) await f.addNode(n);
  await f.admin.create(DEPLOY, deployment('web', 2, 'img:1', { strategy: { type: 'Recreate' } }));
  await f.settle();
  await f.admin.patch(DEPLOY, 'default', 'web', 'strategic', setImage('img:2'));
  await f.controllers.idle(); // the controllers act, the nodes have not confirmed anything yet
  await f.controllers.idle();
  const mid = await podsOf(f, 'app=web');
  assert.deepEqual(mid.map((p) => `${imageOf(p)}:${p.metadata.deletionTimestamp ? 'leaving' : 'live'}`), ['img:1:leaving', 'img:1:leaving'], 'no new pod while old ones remain');
  await f.settle();
  assert.deepEqual((await podsOf(f, 'app=web')).map(imageOf), ['img:2', 'img:2']);
});

test('minReadySeconds: ready pods count as available only after it; a rollout that makes no progress past progressDeadlineSeconds says ProgressDeadlineExceeded', async (t) => {
  const f = await fleet();
  t.after(() => f.stop());
  const a = await f.addNode('a');
  await f.admin.create(DEPLOY, deployment('web', 2, 'img:1', { minReadySeconds: 30, progressDeadlineSeconds: 120, strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } } }));
  await f.settle();
  let d = await f.admin.get(DEPLOY, 'default', 'web');
  assert.deepEqual([status(d).readyReplicas, status(d).availableReplicas ?? 0], [2, 0], 'ready, not yet available');
  f.clock.advance(31_000);
  await f.settle();
  d = await f.admin.get(DEPLOY, 'default', 'web');
  assert.equal(status(d).availableReplicas, 2);

  a.outcome = (p) => (imageOf(p) === 'img:2' ? 'pending' : 'run');
  await f.admin.patch(DEPLOY, 'default', 'web', 'strategic', setImage('img:2'));
  await f.settle();
  d = await f.admin.get(DEPLOY, 'default', 'web');
  assert.equal(condition(d, 'Progressing')?.reason, 'ReplicaSetUpdated');
  f.clock.advance(121_000);
  await f.settle();
  d = await f.admin.get(DEPLOY, 'default', 'web');
  assert.deepEqual([condition(d, 'Progressing')?.status, condition(d, 'Progressing')?.reason], ['False', 'ProgressDeadlineExceeded']);
  assert.deepEqual(live(await podsOf(f, 'app=web')).map(imageOf).sort(), ['img:1', 'img:1', 'img:2'], 'maxUnavailable 0: both old pods kept');
});

test('DaemonSet OnDelete: a template change replaces no pod; a pod deleted by hand comes back with the new template', async (t) => {
  const f = await fleet();
  t.after(() => f.stop());
  for (const n of ['a', 'b']) await f.addNode(n);
  await f.admin.create(DS, {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'agent', namespace: 'default' },
    spec: { updateStrategy: { type: 'OnDelete' }, selector: { matchLabels: { app: 'agent' } }, template: { metadata: { labels: { app: 'agent' } }, spec: { containers: [{ name: 'c', image: 'agent:1' }] } } },
  });
  await f.settle();
  await f.admin.patch(DS, 'default', 'agent', 'strategic', setImage('agent:2'));
  await f.settle();
  const view = async () => live(await podsOf(f, 'app=agent')).map((p) => `${nodeOf(p)}:${imageOf(p)}`).sort();
  assert.deepEqual(await view(), ['a:agent:1', 'b:agent:1']);
  const onA = live(await podsOf(f, 'app=agent')).find((p) => nodeOf(p) === 'a')!;
  await f.admin.delete(PODS, 'default', onA.metadata.name!);
  await f.settle();
  assert.deepEqual(await view(), ['a:agent:2', 'b:agent:1']);
  const ds = await f.admin.get(DS, 'default', 'agent');
  assert.deepEqual([status(ds).desiredNumberScheduled, status(ds).updatedNumberScheduled], [2, 1]);
});

test("a Job running past activeDeadlineSeconds fails with DeadlineExceeded and its pods are stopped", async (t) => {
  const f = await fleet();
  t.after(() => f.stop());
  await f.addNode('a');
  await f.admin.create(JOBS, { apiVersion: 'batch/v1', kind: 'Job', metadata: { name: 'slow', namespace: 'default' }, spec: { activeDeadlineSeconds: 60, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'w', image: 'work:1' }] } } } });
  await f.settle();
  const pods = async () => live((await f.admin.list(PODS, 'default', { labelSelector: 'batch.kubernetes.io/job-name=slow' })).items);
  assert.equal((await pods()).length, 1);
  f.clock.advance(59_000);
  await f.settle();
  assert.equal(condition(await f.admin.get(JOBS, 'default', 'slow'), 'Failed'), undefined);
  f.clock.advance(2_000);
  await f.settle();
  const j = await f.admin.get(JOBS, 'default', 'slow');
  assert.deepEqual([condition(j, 'Failed')?.status, condition(j, 'Failed')?.reason], ['True', 'DeadlineExceeded']);
  assert.equal((await pods()).length, 0);
});

test('CronJob Replace: the running job is deleted for the next one', async (t) => {
  const f = await fleet();
  t.after(() => f.stop());
  const n = await f.addNode('a');
  n.outcome = () => 'pending';
  await f.admin.create(CRONJOBS, {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'five', namespace: 'default' },
    spec: { schedule: '*/5 * * * *', concurrencyPolicy: 'Replace', jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'w', image: 'work:1' }] } } } } },
  });
  const jobs = async () => live((await f.admin.list(JOBS, 'default')).items).map((j) => j.metadata.name).sort();
  f.clock.set('2026-01-01T00:05:00Z');
  await f.settle();
  assert.deepEqual(await jobs(), [at('five', '2026-01-01T00:05:00Z')]);
  f.clock.set('2026-01-01T00:10:00Z');
  await f.settle();
  assert.deepEqual(await jobs(), [at('five', '2026-01-01T00:10:00Z')], 'the running job was replaced');
});

test('CronJob startingDeadlineSeconds (the planner, as after a relay that was down): a time missed by more is skipped, one within it runs late', () => {
  const cj: KubeObject = {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'five', namespace: 'default', uid: 'u', creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: { schedule: '*/5 * * * *', concurrencyPolicy: 'Allow', startingDeadlineSeconds: 60, jobTemplate: { spec: {} } },
    status: { lastScheduleTime: '2026-01-01T00:10:00Z' },
  };
  const skipped = planCronJob(cj, [], new Date('2026-01-01T00:17:00Z'));
  assert.equal(skipped.create, undefined, '00:15 is 2 min late: past the 60 s deadline');
  assert.equal(skipped.wakeAt?.toISOString(), '2026-01-01T00:20:00.000Z');
  const late = planCronJob(cj, [], new Date('2026-01-01T00:20:30Z'));
  assert.equal(late.create?.job.metadata.name, at('five', '2026-01-01T00:20:00Z'), '30 s late is within the deadline');
  const noDeadline = planCronJob({ ...cj, spec: { ...(cj.spec as object), startingDeadlineSeconds: undefined } }, [], new Date('2026-01-01T00:17:00Z'));
  assert.equal(noDeadline.create?.job.metadata.name, at('five', '2026-01-01T00:15:00Z'), 'without a deadline the missed time still runs');
});

test('the scheduler: required node affinity In, NotIn, Exists and DoesNotExist pick the nodes that match', async (t) => {
  const f = await fleet();
  t.after(() => f.stop());
  await f.addNode('x1', { zone: 'x' });
  await f.addNode('y1', { zone: 'y' });
  await f.addNode('bare');
  const pod = (name: string, expr: Record<string, unknown>): KubeObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [expr] }] } } }, containers: [{ name: 'c', image: 'img:1' }] },
  });
  await f.admin.create(PODS, pod('in-y', { key: 'zone', operator: 'In', values: ['y'] }));
  await f.admin.create(PODS, pod('not-x', { key: 'zone', operator: 'NotIn', values: ['x'] }));
  await f.admin.create(PODS, pod('has-zone', { key: 'zone', operator: 'Exists' }));
  await f.admin.create(PODS, pod('no-zone', { key: 'zone', operator: 'DoesNotExist' }));
  await f.settle();
  const where = async (name: string) => nodeOf(await f.admin.get(PODS, 'default', name));
  assert.equal(await where('in-y'), 'y1');
  assert.ok(['y1', 'bare'].includes(await where('not-x')), 'NotIn matches nodes without the label too');
  assert.ok(['x1', 'y1'].includes(await where('has-zone')));
  assert.equal(await where('no-zone'), 'bare');
});
