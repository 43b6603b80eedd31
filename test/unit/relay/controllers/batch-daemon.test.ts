/** DaemonSets, Jobs and CronJobs over fake nodes, with the controllers' ManualClock driving time. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { CRONJOBS, DS, EVENTS, fleet, imageOf, JOBS, nodeOf, PODS } from './fleet.js';

const live = (ps: KubeObject[]) => ps.filter((p) => !p.metadata.deletionTimestamp);
const conds = (o: KubeObject) => ((o.status as { conditions?: { type: string; status: string; reason?: string }[] }).conditions ?? []).filter((c) => c.status === 'True').map((c) => `${c.type}:${c.reason}`);

const daemonSet = (image: string): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name: 'mapper', namespace: 'default' },
  spec: {
    selector: { matchLabels: { app: 'mapper' } },
    template: { metadata: { labels: { app: 'mapper' } }, spec: { nodeSelector: { mapper: 'modbus' }, containers: [{ name: 'm', image }] } },
  },
});

test('a DaemonSet runs on the nodes labelled mapper=modbus; a node labelled later gets its pod; an update rolls node by node; a node away is waited for', async (t) => {
  const f = await fleet();
  t.after(() => f.stop());
  await f.addNode('a', { mapper: 'modbus' });
  await f.addNode('b', { mapper: 'modbus' });
  await f.addNode('c');
  await f.admin.create(DS, daemonSet('mapper:1'));
  await f.settle();
  const pods = async () => live((await f.admin.list(PODS, 'default', { labelSelector: 'app=mapper' })).items);
  assert.deepEqual((await pods()).map(nodeOf).sort(), ['a', 'b']);
  await f.admin.patch({ group: '', resource: 'nodes' }, undefined, 'c', 'merge', { metadata: { labels: { mapper: 'modbus' } } });
  await f.settle();
  assert.deepEqual((await pods()).map(nodeOf).sort(), ['a', 'b', 'c']);
  let ds = await f.admin.get(DS, 'default', 'mapper');
  const s = ds.status as Record<string, number>;
  assert.deepEqual([s.desiredNumberScheduled, s.currentNumberScheduled, s.numberReady, s.updatedNumberScheduled, s.numberAvailable], [3, 3, 3, 3, 3]);

  const c = f.nodes.get('c')!;
  c.up = false;
  await c.ready('Unknown');
  await f.admin.patch(DS, 'default', 'mapper', 'strategic', { spec: { template: { spec: { containers: [{ name: 'm', image: 'mapper:2' }] } } } });
  await f.settle(60);
  assert.deepEqual((await pods()).map((p) => `${nodeOf(p)}:${imageOf(p)}`).sort(), ['a:mapper:2', 'b:mapper:2', 'c:mapper:1']);
  ds = await f.admin.get(DS, 'default', 'mapper');
  assert.deepEqual([(ds.status as Record<string, number>).desiredNumberScheduled, (ds.status as Record<string, number>).updatedNumberScheduled], [3, 2], 'rollout status keeps waiting for c');
  c.up = true;
  await c.ready('True');
  await f.settle(60);
  assert.deepEqual((await pods()).map((p) => `${nodeOf(p)}:${imageOf(p)}`).sort(), ['a:mapper:2', 'b:mapper:2', 'c:mapper:2']);
  assert.equal((await f.admin.list(PODS, 'default', { labelSelector: 'app=mapper' })).items.length, 3, 'no pod left over');
});

const job = (name: string, extra: Record<string, unknown>): KubeObject => ({
  apiVersion: 'batch/v1',
  kind: 'Job',
  metadata: { name, namespace: 'default' },
  spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'w', image: 'work:1' }] } }, ...extra },
});

test('a Job with completions 3 and parallelism 2 runs at most 2 pods at once and completes', async (t) => {
  const f = await fleet();
  t.after(() => f.stop());
  const n = await f.addNode('a');
  n.outcome = () => 'pending';
  await f.admin.create(JOBS, job('batch', { completions: 3, parallelism: 2 }));
  await f.settle();
  const jobPods = async () => (await f.admin.list(PODS, 'default', { labelSelector: 'batch.kubernetes.io/job-name=batch' })).items;
  assert.equal((await jobPods()).length, 2);
  n.outcome = () => 'succeed';
  await f.settle(60);
  const j = await f.admin.get(JOBS, 'default', 'batch');
  const s = j.status as { succeeded: number; failed: number; active: number; completionTime?: string };
  assert.deepEqual([s.succeeded, s.failed, s.active, !!s.completionTime], [3, 0, 0, true]);
  assert.deepEqual(conds(j).sort(), ['Complete:CompletionsReached', 'SuccessCriteriaMet:CompletionsReached']);
  assert.equal((await jobPods()).length, 3);
  assert.ok((await jobPods()).every((p) => !(p.metadata.finalizers ?? []).length), 'counted pods lose the tracking finalizer');
});

test('a failing Job stops at backoffLimit (pods backed off by the clock) with BackoffLimitExceeded; ttlSecondsAfterFinished deletes it', async (t) => {
  const f = await fleet();
  t.after(() => f.stop());
  const n = await f.addNode('a');
  n.outcome = () => 'fail';
  await f.admin.create(JOBS, job('flaky', { backoffLimit: 2, ttlSecondsAfterFinished: 100 }));
  await f.settle();
  const created = async () => (await f.admin.list(PODS, 'default', { labelSelector: 'batch.kubernetes.io/job-name=flaky' })).items.length;
  assert.equal(await created(), 1, 'the second pod waits for its backoff');
  f.clock.advance(10_000);
  await f.settle();
  assert.equal(await created(), 2);
  f.clock.advance(20_000);
  await f.settle();
  const j = await f.admin.get(JOBS, 'default', 'flaky');
  assert.equal(await created(), 3);
  assert.equal((j.status as { failed: number }).failed, 3);
  assert.deepEqual(conds(j).sort(), ['Failed:BackoffLimitExceeded', 'FailureTarget:BackoffLimitExceeded']);
  assert.ok((await f.admin.list(EVENTS, 'default', { fieldSelector: 'reason=BackoffLimitExceeded' })).items.length === 1);
  f.clock.advance(101_000);
  await f.settle();
  assert.equal(await f.admin.find(JOBS, 'default', 'flaky'), undefined);
});

test('a CronJob fires on the injected clock, in its time zone; Forbid skips while a job runs; history limits apply', async (t) => {
  const f = await fleet();
  t.after(() => f.stop());
  const n = await f.addNode('a');
  n.outcome = () => 'pending';
  await f.admin.create(CRONJOBS, {
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'tick', namespace: 'default' },
    spec: {
      schedule: '30 9 * * *',
      timeZone: 'Europe/Berlin',
      concurrencyPolicy: 'Forbid',
      successfulJobsHistoryLimit: 1,
      jobTemplate: { spec: { template: { spec: { restartPolicy: 'Never', containers: [{ name: 'w', image: 'work:1' }] } } } },
    },
  });
  await f.settle();
  const jobs = async () => (await f.admin.list(JOBS, 'default')).items;
  assert.equal((await jobs()).length, 0);
  f.clock.set('2026-01-01T08:29:00Z'); // 09:29 in Berlin
  await f.settle();
  assert.equal((await jobs()).length, 0);
  f.clock.set('2026-01-01T08:30:00Z');
  await f.settle();
  const first = await jobs();
  assert.deepEqual(first.map((j) => j.metadata.name), [`tick-${Date.parse('2026-01-01T08:30:00Z') / 60000}`]);
  assert.equal(first[0]!.metadata.annotations?.['batch.kubernetes.io/cronjob-scheduled-timestamp'], '2026-01-01T08:30:00Z');
  let cj = await f.admin.get(CRONJOBS, 'default', 'tick');
  assert.equal((cj.status as { active: unknown[] }).active.length, 1);
  f.clock.set('2026-01-02T08:30:00Z'); // the first is still running: Forbid
  await f.settle();
  assert.equal((await jobs()).length, 1);
  n.outcome = () => 'succeed';
  await f.settle();
  f.clock.set('2026-01-03T08:30:00Z');
  await f.settle();
  n.outcome = () => 'succeed';
  await f.settle();
  const names = (await jobs()).map((j) => j.metadata.name);
  assert.deepEqual(names, [`tick-${Date.parse('2026-01-03T08:30:00Z') / 60000}`], 'one successful job kept');
  cj = await f.admin.get(CRONJOBS, 'default', 'tick');
  assert.equal((cj.status as { lastScheduleTime: string }).lastScheduleTime, '2026-01-03T08:30:00Z');
});
