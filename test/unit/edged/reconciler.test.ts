/** One reconcile pass on a real (temporary) SQLite store and a FAKE engine. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { KubeObject } from '../../../src/contract/kube/types.js';
import { nullLogger } from '../../../src/core/logger.js';
import { storeLookups } from '../../../src/modules/edged/desired.js';
import { ProbeManager } from '../../../src/modules/edged/probes.js';
import { Reconciler } from '../../../src/modules/edged/reconciler.js';
import type { PodStatus } from '../../../src/modules/edged/status.js';
import { defaultPod } from '../../../src/relay/kinds/pod.js';
import { openNodeStore } from '../../../src/store/store.js';
import { tmpDir } from '../../helpers/tmp.js';
import { FakeEngine } from './fake-engine.js';

const IMG = 'local/app:1';

/** `over`: a second reconciler over the same store and engine (the daemon restarted, upgraded). */
function setup(t: TestContext, o: { skipForSingleContainer?: boolean; over?: { dir: string; store: ReturnType<typeof openNodeStore>; engine: FakeEngine } } = {}) {
  const dir = o.over?.dir ?? tmpDir(t);
  const store = o.over?.store ?? openNodeStore(join(dir, 'edgecore.db'));
  if (!o.over) t.after(() => store.close());
  const engine = o.over?.engine ?? new FakeEngine('n1');
  engine.images.add(IMG);
  const probes = new ProbeManager(async () => ({ exitCode: 0 }), () => undefined, nullLogger());
  t.after(() => probes.stopAll());
  const reports: { name: string; status: PodStatus }[] = [];
  let done = 0;
  const rec = new Reconciler({
    engine,
    store,
    lookups: storeLookups(store.resources),
    probes,
    dataDir: dir,
    node: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' }, cpus: 2, memoryBytes: 2 ** 30, storageBytes: 2 ** 34 },
    sandbox: { image: '', command: ['sleep', 'infinity'], network: 'bridge', skipForSingleContainer: o.skipForSingleContainer ?? false },
    podRetry: { initialMs: 60_000, maxMs: 60_000, factor: 2, jitter: 0 },
    workDone: () => void done++,
    timing: { crashLoop: { initialMs: 10_000, maxMs: 300_000, resetMs: 600_000 }, pullBackoff: { initialMs: 10_000, maxMs: 300_000 } },
    reportStatus: async (key, status) => void reports.push({ name: key.name, status }),
    now: () => Date.now(),
    log: nullLogger(),
  });
  const apply = (name: string, spec: Record<string, unknown>, kind = 'Pod') =>
    store.resources.put({ kind, namespace: 'default', name }, kind === 'Pod' ? { apiVersion: 'v1', kind, metadata: { name, namespace: 'default' }, spec } : { apiVersion: 'v1', kind, metadata: { name, namespace: 'default' }, ...spec });
  /** a pass, its pods' work to the end, and the pass that work asks for */
  const converge = async () => {
    const r = await rec.pass();
    await rec.idle();
    await rec.pass();
    return r;
  };
  return { dir, store, engine, probes, rec, reports, apply, converge, workDone: () => done };
}

test('a stored pod is created, started and reported (status.report); an unchanged pass reports nothing', async (t) => {
  const s = setup(t);
  s.apply('web', { containers: [{ name: 'a', image: IMG, env: [{ name: 'K', value: 'v' }] }] });
  const r = await s.converge();
  assert.equal(r.dispatched, 1);
  assert.equal(s.workDone(), 1, 'the end of the pod\'s work asked for a pass');
  const app = s.engine.byName([...s.engine.containers.values()].find((c) => c.name.includes('_c_a_'))!.name)!;
  assert.deepEqual([app.state, app.opts.Env], ['running', ['K=v']]);
  assert.deepEqual(s.reports.map((x) => x.status.phase), ['Pending', 'Running']);
  await s.rec.pass();
  assert.equal(s.reports.length, 2, 'no change, no report');
});

test('a deleted pod: its containers and folder go; a pod recreated with a new uid is rebuilt', async (t) => {
  const s = setup(t);
  s.apply('web', { containers: [{ name: 'a', image: IMG }] });
  await s.converge();
  assert.equal(s.engine.containers.size, 2);
  s.store.resources.delete({ kind: 'Pod', namespace: 'default', name: 'web' });
  await s.converge();
  assert.equal(s.engine.containers.size, 0);
  assert.ok(s.engine.calls.some((c) => c.startsWith('remove')));
});

test('a refused spec is reported Failed/InvalidSpec with the field path, and nothing is created', async (t) => {
  const s = setup(t);
  s.apply('bad', { containers: [{ name: 'a', image: IMG, lifecycle: {} }] });
  const r = await s.converge();
  assert.equal(r.dispatched, 0);
  assert.equal(s.engine.containers.size, 0);
  assert.deepEqual([s.reports[0]!.status.phase, s.reports[0]!.status.reason], ['Failed', 'InvalidSpec']);
  assert.match(s.reports[0]!.status.message ?? '', /spec\.containers\[0\]\.lifecycle: unknown field/);
});

test('a missing ConfigMap: CreateContainerConfigError, then the pod starts once it appears', async (t) => {
  const s = setup(t);
  s.apply('cfg', { containers: [{ name: 'a', image: IMG, env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cm', key: 'x' } } }] }] });
  await s.converge();
  const st = s.reports.at(-1)!.status;
  assert.equal(st.reason, 'CreateContainerConfigError');
  assert.ok(!s.engine.calls.some((c) => c.includes('_c_a_')));
  s.apply('cm', { data: { x: 'from-cm' } }, 'ConfigMap');
  await s.converge();
  const app = [...s.engine.containers.values()].find((c) => c.name.includes('_c_a_'))!;
  assert.deepEqual(app.opts.Env, ['X=from-cm']);
});

test('a pod whose work failed backs off on its own; its status says why; others go on', async (t) => {
  const s = setup(t);
  s.apply('bad', { containers: [{ name: 'a', image: IMG }] });
  s.engine.failNext('create edgecore_default_bad', new Error('engine said no'));
  const r1 = await s.rec.pass();
  await s.rec.idle();
  s.apply('good', { containers: [{ name: 'a', image: IMG }] });
  const r2 = await s.rec.pass();
  assert.equal(r1.dispatched, 1);
  assert.equal(r2.dispatched, 1, 'only the good pod gets work; the bad one waits out its backoff');
  assert.ok(r2.wakeAt !== undefined && r2.wakeAt > Date.now(), 'a pass is asked for when the backoff ends');
  const bad = s.reports.filter((x) => x.name === 'bad').at(-1)!.status;
  assert.deepEqual(bad.containerStatuses[0]!.state, { waiting: { reason: 'CreateContainerError', message: 'engine said no' } });
  await s.rec.idle();
  assert.ok(s.engine.calls.includes('start edgecore_default_good_' + s.store.resources.get({ kind: 'Pod', namespace: 'default', name: 'good' })!.uid.replace(/-/g, '').slice(0, 8) + '_sandbox_0'));
});

test('the engine unreachable: the pass throws', async (t) => {
  const s = setup(t);
  s.engine.down = new Error('connect ENOENT /var/run/docker.sock');
  await assert.rejects(s.rec.pass(), /ENOENT/);
});

test('running containers with probes get probe workers; readiness false until it passes', async (t) => {
  const s = setup(t);
  s.apply('web', { containers: [{ name: 'a', image: IMG, readinessProbe: { exec: { command: ['true'] }, initialDelaySeconds: 3600 } }] });
  await s.converge();
  const app = [...s.engine.containers.values()].find((c) => c.name.includes('_c_a_'))!;
  assert.deepEqual(s.probes.facts().get(app.id), { started: true, ready: false });
  assert.equal(s.reports.at(-1)!.status.conditions.find((c) => c.type === 'Ready')?.status, 'False');
});

test('ConfigMap volume files are rewritten in place when the ConfigMap changes', async (t) => {
  const s = setup(t);
  s.apply('cm', { data: { 'a.conf': 'one' } }, 'ConfigMap');
  s.apply('web', { volumes: [{ name: 'conf', configMap: { name: 'cm' } }], containers: [{ name: 'a', image: IMG, volumeMounts: [{ name: 'conf', mountPath: '/etc/x' }] }] });
  await s.converge();
  const uid = s.store.resources.get({ kind: 'Pod', namespace: 'default', name: 'web' })!.uid;
  const file = join(s.dir, 'pods', uid, 'volumes', 'conf', 'a.conf');
  assert.equal(readFileSync(file, 'utf8'), 'one');
  s.apply('cm', { data: { 'a.conf': 'two' } }, 'ConfigMap');
  const before = s.engine.calls.length;
  await s.rec.pass();
  assert.equal(readFileSync(file, 'utf8'), 'two');
  assert.ok(!s.engine.calls.slice(before).some((c) => c.startsWith('create') || c.startsWith('remove')), 'no container replaced');
});

const writes = (call: string): boolean => /^(create|start|stop|remove|pull)\b/.test(call);

test('the same pod with the defaults the relay fills in (kubectl) is the pod it was: nothing is replaced', async (t) => {
  const s = setup(t);
  const spec = {
    containers: [
      { name: 'a', image: IMG, ports: [{ containerPort: 80 }], resources: { limits: { cpu: '500m', memory: '64Mi' } }, livenessProbe: { httpGet: { port: 80 } } },
      { name: 'b', image: 'local/other:latest', imagePullPolicy: 'Always', command: ['sleep', '1d'] },
    ],
  };
  s.engine.images.add('local/other:latest');
  s.apply('web', spec);
  await s.converge();
  const made = [...s.engine.containers.keys()];
  assert.equal(made.length, 3);
  const manifest = structuredClone(s.store.resources.get({ kind: 'Pod', namespace: 'default', name: 'web' })!.spec) as KubeObject;
  defaultPod(manifest);
  assert.equal((manifest.spec as { containers: { terminationMessagePolicy?: string }[] }).containers[0]!.terminationMessagePolicy, 'File', 'the relay did fill in defaults');
  assert.ok(s.store.resources.put({ kind: 'Pod', namespace: 'default', name: 'web' }, manifest).changed);
  const calls = s.engine.calls.length;
  const r = await s.converge();
  assert.equal(r.dispatched, 0);
  assert.deepEqual(s.engine.calls.slice(calls).filter(writes), []);
  assert.deepEqual([...s.engine.containers.keys()], made);
});

test('an upgrade that runs single-container pods without a sandbox leaves those running with one alone; new ones go without', async (t) => {
  const before = setup(t, { skipForSingleContainer: false });
  before.apply('old', { containers: [{ name: 'a', image: IMG }] });
  await before.converge();
  const made = [...before.engine.containers.keys()];
  assert.equal(made.length, 2, 'sandbox and app');
  const after = setup(t, { skipForSingleContainer: true, over: before });
  const calls = after.engine.calls.length;
  const r = await after.converge();
  assert.equal(r.dispatched, 0, 'nothing to do for the running pod');
  assert.deepEqual(after.engine.calls.slice(calls).filter(writes), []);
  after.apply('new', { containers: [{ name: 'a', image: IMG }] });
  await after.converge();
  const added = [...after.engine.containers.keys()].filter((k) => !made.includes(k));
  assert.equal(added.length, 1, 'the new pod runs without a sandbox');
  assert.deepEqual([...after.engine.containers.keys()].filter((k) => made.includes(k)), made);
});
