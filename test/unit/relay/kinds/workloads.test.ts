/** apps/v1 Deployment, DaemonSet and batch/v1 Job, CronJob at the API: Kubernetes' defaults, each invalid field named by its path, immutable fields, the pod-template-hash. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import type { FieldIssue } from '../../../../src/core/errors.js';
import { cronJobDef } from '../../../../src/relay/kinds/cronjob.js';
import { daemonSetDef } from '../../../../src/relay/kinds/daemonset.js';
import { deploymentDef } from '../../../../src/relay/kinds/deployment.js';
import { jobDef } from '../../../../src/relay/kinds/job.js';
import type { KindContext, ResourceDef } from '../../../../src/relay/kinds/types.js';
import { templateHash } from '../../../../src/relay/kinds/workload.js';

const ctx: KindContext = { get: async () => undefined, now: () => new Date('2026-01-01T00:00:00Z') };
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const template = (labels: Record<string, string> = { app: 'web' }, spec: Record<string, unknown> = {}) => ({ metadata: { labels }, spec: { containers: [{ name: 'c', image: 'busybox:1.36' }], ...spec } });
const obj = (apiVersion: string, kind: string, spec: unknown): KubeObject => ({ apiVersion, kind, metadata: { name: 'web', namespace: 'default', uid: 'u-1' }, spec: spec as Record<string, unknown> });
const deploy = (spec: Record<string, unknown>) => obj('apps/v1', 'Deployment', { selector: { matchLabels: { app: 'web' } }, template: template(), ...spec });

async function created(def: ResourceDef, o: KubeObject): Promise<{ obj: KubeObject; issues: FieldIssue[] }> {
  const x = clone(o);
  def.prepareForCreate?.(x);
  def.defaults?.(x);
  return { obj: x, issues: await def.validate(x, undefined, ctx) };
}

async function expectIssue(def: ResourceDef, o: KubeObject, path: string, reason?: RegExp): Promise<void> {
  const { issues } = await created(def, o);
  const hit = issues.find((i) => i.path === path);
  assert.ok(hit, `${path}: got ${JSON.stringify(issues)}`);
  if (reason) assert.match(hit.reason, reason, path);
}

test('a Deployment gets Kubernetes defaults (1 replica, RollingUpdate 25 %/25 %, history 10, deadline 600 s)', async () => {
  const { obj: d, issues } = await created(deploymentDef, deploy({}));
  assert.deepEqual(issues, []);
  const spec = d.spec as Record<string, unknown>;
  assert.equal(spec.replicas, 1);
  assert.deepEqual(spec.strategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: '25%' } });
  assert.equal(spec.revisionHistoryLimit, 10);
  assert.equal(spec.progressDeadlineSeconds, 600);
  assert.equal((spec.template as { spec: { restartPolicy: string } }).spec.restartPolicy, 'Always');
});

test('each invalid Deployment field is named by its path', async () => {
  await expectIssue(deploymentDef, deploy({ template: template({ app: 'other' }) }), 'spec.template.metadata.labels', /does not match/);
  await expectIssue(deploymentDef, deploy({ strategy: { type: 'Recreate', rollingUpdate: { maxSurge: 1 } } }), 'spec.strategy.rollingUpdate', /Recreate/);
  await expectIssue(deploymentDef, deploy({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } } }), 'spec.strategy.rollingUpdate.maxUnavailable', /may not be 0/);
  await expectIssue(deploymentDef, deploy({ strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '150%' } } }), 'spec.strategy.rollingUpdate.maxUnavailable', /100%/);
  await expectIssue(deploymentDef, deploy({ minReadySeconds: 30, progressDeadlineSeconds: 10 }), 'spec.progressDeadlineSeconds', /minReadySeconds/);
  await expectIssue(deploymentDef, deploy({ template: template({ app: 'web' }, { restartPolicy: 'Never' }) }), 'spec.template.spec.restartPolicy');
  await expectIssue(deploymentDef, deploy({ replicas: -1 }), 'spec.replicas');
  await expectIssue(deploymentDef, deploy({ replcias: 3 }), 'spec.replcias', /unknown field/);
  await expectIssue(deploymentDef, deploy({ template: template({ app: 'web' }, { containers: [{ name: 'c', image: '' }] }) }), 'spec.template.spec.containers[0].image');
});

test("a Deployment's selector is immutable", async () => {
  const { obj: before } = await created(deploymentDef, deploy({}));
  const after = clone(before);
  (after.spec as Record<string, unknown>).selector = { matchLabels: { app: 'web', tier: 'x' } };
  (after.spec as { template: { metadata: { labels: Record<string, string> } } }).template.metadata.labels.tier = 'x';
  const issues = await deploymentDef.validate(after, before, ctx);
  assert.deepEqual(issues.map((i) => i.path), ['spec.selector']);
  assert.match(issues[0]!.reason, /immutable/);
});

test('a DaemonSet defaults to RollingUpdate maxUnavailable 1; surge (two daemon pods on one board) is refused with the reason', async () => {
  const ds = (spec: Record<string, unknown>) => obj('apps/v1', 'DaemonSet', { selector: { matchLabels: { app: 'web' } }, template: template(), ...spec });
  const { obj: d, issues } = await created(daemonSetDef, ds({}));
  assert.deepEqual(issues, []);
  assert.deepEqual((d.spec as { updateStrategy: unknown }).updateStrategy, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
  await expectIssue(daemonSetDef, ds({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: 1 } } }), 'spec.updateStrategy.rollingUpdate.maxSurge', /not supported by edgecore/);
  await expectIssue(daemonSetDef, ds({ updateStrategy: { type: 'OnDelete', rollingUpdate: { maxUnavailable: 1 } } }), 'spec.updateStrategy.rollingUpdate', /OnDelete/);
});

test("a Job gets Kubernetes' defaults and a selector generated from its uid; a given selector without manualSelector, Indexed mode and restartPolicy Always are refused by path", async () => {
  const job = (spec: Record<string, unknown>) => obj('batch/v1', 'Job', { template: template({}, { restartPolicy: 'Never' }), ...spec });
  const { obj: j, issues } = await created(jobDef, job({}));
  assert.deepEqual(issues, []);
  const spec = j.spec as Record<string, unknown>;
  assert.deepEqual([spec.completions, spec.parallelism, spec.backoffLimit], [1, 1, 6]);
  assert.deepEqual(spec.selector, { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u-1' } });
  const labels = (spec.template as { metadata: { labels: Record<string, string> } }).metadata.labels;
  assert.equal(labels['batch.kubernetes.io/job-name'], 'web');
  await expectIssue(jobDef, job({ template: template({}, { restartPolicy: 'Always' }) }), 'spec.template.spec.restartPolicy');
  await expectIssue(jobDef, job({ completionMode: 'Indexed' }), 'spec.completionMode', /not supported by edgecore/);
  await expectIssue(jobDef, job({ parallelism: -2 }), 'spec.parallelism');
  const cronLike = obj('batch/v1', 'CronJob', { schedule: '*/5 * * * *', jobTemplate: { spec: { selector: { matchLabels: { a: 'b' } }, template: template({}, { restartPolicy: 'Never' }) } } });
  await expectIssue(cronJobDef, cronLike, 'spec.jobTemplate.spec.selector', /manualSelector/);
  const done = clone(j);
  (done.spec as Record<string, unknown>).completions = 5;
  assert.deepEqual((await jobDef.validate(done, j, ctx)).map((i) => i.path), ['spec.completions']);
});

test('a CronJob: a bad schedule, TZ= in the schedule and an unknown time zone are refused with the reason; descriptors and zones are taken', async () => {
  const cron = (extra: Record<string, unknown>) => obj('batch/v1', 'CronJob', { schedule: '0 3 * * *', jobTemplate: { spec: { template: template({}, { restartPolicy: 'OnFailure' }) } }, ...extra });
  assert.deepEqual((await created(cronJobDef, cron({ timeZone: 'Europe/Berlin' }))).issues, []);
  assert.deepEqual((await created(cronJobDef, cron({ schedule: '@hourly' }))).issues, []);
  await expectIssue(cronJobDef, cron({ schedule: '61 * * * *' }), 'spec.schedule', /Invalid value: "61 \* \* \* \*"/);
  await expectIssue(cronJobDef, cron({ schedule: 'TZ=UTC 0 3 * * *' }), 'spec.schedule', /use timeZone field instead/);
  await expectIssue(cronJobDef, cron({ schedule: '@fortnightly' }), 'spec.schedule', /unrecognized descriptor/);
  await expectIssue(cronJobDef, cron({ timeZone: 'Mars/Olympus' }), 'spec.timeZone', /unknown time zone/);
  await expectIssue(cronJobDef, cron({ jobTemplate: { spec: { template: template({}, { restartPolicy: 'Never' }) }, extra: 1 } }), 'spec.jobTemplate.extra', /unknown field/);
});

test('pod-template-hash: the same template (an empty object or list the same as none) hashes the same; a changed image does not', () => {
  const a = template({ app: 'web' });
  const b = template({ app: 'web' }, { volumes: [], securityContext: {} });
  assert.equal(templateHash(a), templateHash(b));
  assert.notEqual(templateHash(a), templateHash(template({ app: 'web' }, { containers: [{ name: 'c', image: 'busybox:1.37' }] })));
  assert.notEqual(templateHash(a), templateHash(a, 1), 'a collision count changes the hash');
  assert.match(templateHash(a), /^[bcdfghjklmnpqrstvwxz2456789]+$/);
});
