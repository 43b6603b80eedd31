/** One reconcile pass on a real (temporary) SQLite store and a FAKE engine. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { nullLogger } from '../../../src/core/logger.js';
import { storeLookups } from '../../../src/modules/edged/desired.js';
import { ProbeManager } from '../../../src/modules/edged/probes.js';
import { Reconciler } from '../../../src/modules/edged/reconciler.js';
import type { PodStatus } from '../../../src/modules/edged/status.js';
import { openNodeStore } from '../../../src/store/store.js';
import { tmpDir } from '../../helpers/tmp.js';
import { FakeEngine } from './fake-engine.js';

const IMG = 'local/app:1';

function setup(t: TestContext) {
  const dir = tmpDir(t);
  const store = openNodeStore(join(dir, 'edgecore.db'));
  t.after(() => store.close());
  const engine = new FakeEngine('n1');
  engine.images.add(IMG);
  const probes = new ProbeManager(async () => 0, () => undefined, nullLogger());
  t.after(() => probes.stopAll());
  const reports: { name: string; status: PodStatus }[] = [];
  const rec = new Reconciler({
    engine,
    store,
    lookups: storeLookups(store.resources),
    probes,
    dataDir: dir,
    nodeName: 'n1',
    sandbox: { image: '', command: ['sleep', 'infinity'], network: 'bridge' },
    timing: { crashLoop: { initialMs: 10_000, maxMs: 300_000, resetMs: 600_000 }, pullBackoff: { initialMs: 10_000, maxMs: 300_000 } },
    reportStatus: async (key, status) => void reports.push({ name: key.name, status }),
    now: () => Date.now(),
    log: nullLogger(),
  });
  const apply = (name: string, spec: Record<string, unknown>, kind = 'Pod') =>
    store.resources.put({ kind, namespace: 'default', name }, kind === 'Pod' ? { apiVersion: 'v1', kind, metadata: { name, namespace: 'default' }, spec } : { apiVersion: 'v1', kind, metadata: { name, namespace: 'default' }, ...spec });
  return { dir, store, engine, probes, rec, reports, apply };
}

test('a stored pod is created, started and reported; an unchanged pass reports nothing', async (t) => {
  const s = setup(t);
  s.store.meta.set('desired.version', '7');
  s.apply('web', { containers: [{ name: 'a', image: IMG, env: [{ name: 'K', value: 'v' }] }] });
  const r = await s.rec.pass();
  assert.deepEqual([r.steps, r.errors, r.pending], [3, [], false]);
  const app = s.engine.byName([...s.engine.containers.values()].find((c) => c.name.includes('_c_a_'))!.name)!;
  assert.deepEqual([app.state, app.opts.Env], ['running', ['K=v']]);
  assert.equal(s.reports.length, 1);
  assert.equal(s.reports[0]!.status.phase, 'Running');
  const row = s.store.outbox.peek(10).find((x) => x.key === 'Pod/default/web');
  assert.ok(row, 'status queued upstream');
  const msg = JSON.parse(row.payload.toString()) as { desiredVersion: number; status: PodStatus };
  assert.deepEqual([msg.desiredVersion, msg.status.phase], [7, 'Running']);
  await s.rec.pass();
  assert.equal(s.reports.length, 1, 'no change, no report');
});

test('a deleted pod: its containers and folder go; a pod recreated with a new uid is rebuilt', async (t) => {
  const s = setup(t);
  s.apply('web', { containers: [{ name: 'a', image: IMG }] });
  await s.rec.pass();
  assert.equal(s.engine.containers.size, 2);
  s.store.resources.delete({ kind: 'Pod', namespace: 'default', name: 'web' });
  await s.rec.pass();
  assert.equal(s.engine.containers.size, 0);
  assert.ok(s.engine.calls.some((c) => c.startsWith('remove')));
});

test('a refused spec is reported Failed/InvalidSpec with the field path, and nothing is created', async (t) => {
  const s = setup(t);
  s.apply('bad', { containers: [{ name: 'a', image: IMG, lifecycle: {} }] });
  const r = await s.rec.pass();
  assert.equal(r.steps, 0);
  assert.equal(s.engine.containers.size, 0);
  assert.deepEqual([s.reports[0]!.status.phase, s.reports[0]!.status.reason], ['Failed', 'InvalidSpec']);
  assert.match(s.reports[0]!.status.message ?? '', /spec\.containers\[0\]\.lifecycle: unknown field/);
});

test('a missing ConfigMap: CreateContainerConfigError, then the pod starts once it appears', async (t) => {
  const s = setup(t);
  s.apply('cfg', { containers: [{ name: 'a', image: IMG, env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cm', key: 'x' } } }] }] });
  await s.rec.pass();
  const st = s.reports.at(-1)!.status;
  assert.equal(st.reason, 'CreateContainerConfigError');
  assert.ok(!s.engine.calls.some((c) => c.includes('_c_a_')));
  s.apply('cm', { data: { x: 'from-cm' } }, 'ConfigMap');
  await s.rec.pass();
  const app = [...s.engine.containers.values()].find((c) => c.name.includes('_c_a_'))!;
  assert.deepEqual(app.opts.Env, ['X=from-cm']);
});

test('step failures are returned (the runner backs off), and the engine is observed again', async (t) => {
  const s = setup(t);
  s.apply('web', { containers: [{ name: 'a', image: IMG }] });
  s.engine.failNext('create', new Error('engine said no'));
  const r = await s.rec.pass();
  assert.deepEqual(r.errors.map((e) => e.error), ['engine said no']);
  assert.equal(r.pending, true, 'the re-plan still has work');
  assert.equal(s.engine.calls.filter((c) => c === 'observe').length, 2);
});

test('the engine unreachable: the pass throws', async (t) => {
  const s = setup(t);
  s.engine.down = new Error('connect ENOENT /var/run/docker.sock');
  await assert.rejects(s.rec.pass(), /ENOENT/);
});

test('running containers with probes get probe workers; readiness false until it passes', async (t) => {
  const s = setup(t);
  s.apply('web', { containers: [{ name: 'a', image: IMG, readinessProbe: { exec: { command: ['true'] }, initialDelaySeconds: 3600 } }] });
  await s.rec.pass();
  const app = [...s.engine.containers.values()].find((c) => c.name.includes('_c_a_'))!;
  assert.deepEqual(s.probes.facts().get(app.id), { started: true, ready: false });
  assert.equal(s.reports.at(-1)!.status.conditions.find((c) => c.type === 'Ready')?.status, 'False');
});

test('ConfigMap volume files are rewritten in place when the ConfigMap changes', async (t) => {
  const s = setup(t);
  s.apply('cm', { data: { 'a.conf': 'one' } }, 'ConfigMap');
  s.apply('web', { volumes: [{ name: 'conf', configMap: { name: 'cm' } }], containers: [{ name: 'a', image: IMG, volumeMounts: [{ name: 'conf', mountPath: '/etc/x' }] }] });
  await s.rec.pass();
  const uid = s.store.resources.get({ kind: 'Pod', namespace: 'default', name: 'web' })!.uid;
  const file = join(s.dir, 'pods', uid, 'volumes', 'conf', 'a.conf');
  assert.equal(readFileSync(file, 'utf8'), 'one');
  s.apply('cm', { data: { 'a.conf': 'two' } }, 'ConfigMap');
  const before = s.engine.calls.length;
  await s.rec.pass();
  assert.equal(readFileSync(file, 'utf8'), 'two');
  assert.ok(!s.engine.calls.slice(before).some((c) => c.startsWith('create') || c.startsWith('remove')), 'no container replaced');
});
