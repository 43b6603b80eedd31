/**
 * The kubelet's events edged tells: the pure mapping (reasons, types, wording, fieldPath), the
 * waiting reasons told once per wait, the repeat throttle, and what the executor tells as it runs
 * a plan against a FAKE engine (the real engine and relay: test/integration/relay/pod-events.test.ts).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePod } from '../../../src/contract/resources/pod.js';
import { nullLogger } from '../../../src/core/logger.js';
import { containerHash, networkOf, sandboxHash, type Lookups } from '../../../src/modules/edged/desired.js';
import { EventThrottle, kubeletEvents, waitingEvents, type PodEvent, type PodRef } from '../../../src/modules/edged/events.js';
import { execute, type ExecContext } from '../../../src/modules/edged/executor.js';
import type { DesiredPod, Plan, Step, Waiting } from '../../../src/modules/edged/model.js';
import { plan } from '../../../src/modules/edged/planner.js';
import { tmpDir } from '../../helpers/tmp.js';
import { FakeEngine } from './fake-engine.js';

const SB = { image: '', command: ['sleep', 'infinity'], network: 'bridge', skipForSingleContainer: true };
const IMG = 'local/app:1';
const noLookups: Lookups = { configMap: () => 'none', secret: () => 'none', secretObject: () => 'none' };
const facts = { now: 1000, probes: new Map(), pulls: new Map(), crashLoop: { initialMs: 10_000, maxMs: 300_000, resetMs: 600_000 }, pullBackoff: { initialMs: 10_000, maxMs: 300_000 } };

function desired(spec: Record<string, unknown>, uid = 'u1', name = 'web'): DesiredPod {
  const pod = parsePod({ metadata: { name }, spec });
  const hashes: Record<string, string> = {};
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) hashes[c.name] = containerHash(pod, c);
  return { namespace: 'default', name, uid, pod, configErrors: {}, env: {}, pullAuth: {}, network: networkOf(pod, SB, {}), sandboxImage: pod.spec.containers[0]!.image, sandboxHash: sandboxHash(pod, SB), hashes };
}

/** An executor context whose events are recorded as "reason fieldPath: message". */
function ctx(engine: FakeEngine, dir: string, clock = { t: 1000 }): { x: ExecContext; told: string[] } {
  const told: string[] = [];
  const x: ExecContext = {
    engine,
    dataDir: dir,
    lookups: noLookups,
    node: { name: 'n1', labels: {}, cpus: 2, memoryBytes: 2 ** 30, storageBytes: 2 ** 34 },
    sandbox: SB,
    pulls: new Map(),
    pulling: new Map(),
    now: () => clock.t,
    log: nullLogger(),
    events: (pod, e) => told.push(`${pod.namespace}/${pod.name}(${pod.uid}) ${e.type} ${e.reason} ${e.fieldPath ?? '-'}: ${e.message}`),
  };
  return { x, told };
}

test('the mapping: Kubernetes reasons, types and wording; the container as fieldPath', () => {
  assert.deepEqual(kubeletEvents.created('app', 'web'), { type: 'Normal', reason: 'Created', message: 'Created container web', fieldPath: 'spec.containers{web}' });
  assert.deepEqual(kubeletEvents.started('init', 'setup'), { type: 'Normal', reason: 'Started', message: 'Started container setup', fieldPath: 'spec.initContainers{setup}' });
  assert.deepEqual(kubeletEvents.killing('app', 'web', 'pod deleting'), { type: 'Normal', reason: 'Killing', message: 'Stopping container web', fieldPath: 'spec.containers{web}' });
  assert.equal(kubeletEvents.killing('app', 'web', 'liveness probe failed').message, 'Container web failed liveness probe, will be restarted');
  assert.equal(kubeletEvents.killing('app', 'web', 'spec changed').message, 'Container web definition changed, will be restarted');
  assert.deepEqual(kubeletEvents.unhealthy('readiness', 'web', 'HTTP probe failed with statuscode: 503'), {
    type: 'Warning',
    reason: 'Unhealthy',
    message: 'Readiness probe failed: HTTP probe failed with statuscode: 503',
    fieldPath: 'spec.containers{web}',
  });
  assert.equal(kubeletEvents.pulled('busybox:1', 1234).message, 'Successfully pulled image "busybox:1" in 1.234s');
  assert.equal(kubeletEvents.pulled('busybox:1', 2000).message, 'Successfully pulled image "busybox:1" in 2s');
  assert.equal(kubeletEvents.present('busybox:1').message, 'Container image "busybox:1" already present on machine');
  assert.deepEqual(kubeletEvents.pullFailed('x:1', 'no route', 'spec.containers{a}'), { type: 'Warning', reason: 'Failed', message: 'Failed to pull image "x:1": no route', fieldPath: 'spec.containers{a}' });
  assert.equal(kubeletEvents.failed('app', 'a', 'x'.repeat(5000)).message.length, 4096, 'long messages are cut to what the wire takes');
});

test('waiting reasons are told once per wait: BackOff again only after the container ran again', () => {
  const d = desired({ containers: [{ name: 'a', image: IMG }], initContainers: [{ name: 'i', image: 'never:1', imagePullPolicy: 'Never' }] });
  const pods = new Map([[d.uid, d]]);
  const seen = new Map<string, string>();
  const waiting = (m: Record<string, Waiting>): Plan['waiting'] => new Map([[d.uid, new Map(Object.entries(m))]]);
  const crash = { reason: 'CrashLoopBackOff', message: 'back-off 10s restarting failed container a' };
  const said = (w: Plan['waiting']): PodEvent[] => waitingEvents(seen, w, pods).map((e) => e.event);
  assert.deepEqual(said(waiting({ a: crash })), [{ type: 'Warning', reason: 'BackOff', message: 'Back-off restarting failed container a in pod web_default(u1)', fieldPath: 'spec.containers{a}' }]);
  assert.deepEqual(said(waiting({ a: crash })), [], 'the same wait, next pass: nothing new');
  assert.deepEqual(said(new Map()), [], 'restarted: not waiting');
  assert.equal(said(waiting({ a: { ...crash, message: 'back-off 20s restarting failed container a' } }))[0]?.reason, 'BackOff', 'crashed again: told again');
  assert.deepEqual(said(waiting({ i: { reason: 'ErrImageNeverPull' }, a: { reason: 'ContainerCreating' } })), [
    { type: 'Warning', reason: 'ErrImageNeverPull', message: 'Container image "never:1" is not present with pull policy of Never', fieldPath: 'spec.initContainers{i}' },
  ]);
  assert.deepEqual(said(waiting({ a: { reason: 'ImagePullBackOff', message: 'pull x' } }))[0], { type: 'Normal', reason: 'BackOff', message: `Back-off pulling image "${IMG}"`, fieldPath: 'spec.containers{a}' });
  assert.deepEqual(said(waiting({ a: { reason: 'CreateContainerConfigError', message: 'configmap "cfg" not found' } }))[0]?.message, 'Error: configmap "cfg" not found');
  waitingEvents(seen, new Map(), new Map());
  assert.equal(seen.size, 0, 'nothing is kept for pods gone');
});

test('the throttle: 25 repeats of one event pass, then one per 5 minutes; other events are not held', () => {
  let now = 0;
  const th = new EventThrottle(() => now);
  const pod: PodRef = { namespace: 'default', name: 'web', uid: 'u1' };
  const e = kubeletEvents.unhealthy('readiness', 'web', 'no');
  const passed = Array.from({ length: 30 }, () => th.allow(pod, e)).filter(Boolean).length;
  assert.equal(passed, 25);
  assert.equal(th.allow(pod, kubeletEvents.started('app', 'web')), true, 'another event of the pod');
  assert.equal(th.allow({ ...pod, uid: 'u2' }, e), true, 'the same event of another pod');
  now += 299_999;
  assert.equal(th.allow(pod, e), false);
  now += 1;
  assert.deepEqual([th.allow(pod, e), th.allow(pod, e)], [true, false], 'one token after 5 minutes');
  now += 3_000_000;
  assert.equal(Array.from({ length: 30 }, () => th.allow(pod, e)).filter(Boolean).length, 10, 'ten tokens after 50 minutes');
});

test('the executor tells what it did: Pulled (present), Created, Started per container; nothing about the sandbox', async (t) => {
  const e = new FakeEngine();
  e.images.add(IMG);
  const d = desired({ containers: [{ name: 'a', image: IMG }, { name: 'b', image: IMG }] });
  const p = plan([d], { containers: [], images: e.images, podDirs: [] }, facts);
  const { x, told } = ctx(e, tmpDir(t));
  assert.deepEqual((await execute(p.steps, x, new Map([[d.uid, d]]))).errors, []);
  const mine = (c: string) => told.filter((l) => l.includes(`{${c}}`));
  assert.deepEqual(mine('a'), [
    'default/web(u1) Normal Pulled spec.containers{a}: Container image "local/app:1" already present on machine',
    'default/web(u1) Normal Created spec.containers{a}: Created container a',
    'default/web(u1) Normal Started spec.containers{a}: Started container a',
  ]);
  assert.deepEqual(mine('b').map((l) => l.split(' ')[2]), ['Pulled', 'Created', 'Started']);
  assert.equal(told.length, 6, `only the containers: ${told.join('\n')}`);
});

test('the executor tells a pull (Pulling, Pulled with its time, or Failed), a failed create, and Killing only for running containers of a known pod', async (t) => {
  const e = new FakeEngine();
  const d = desired({ containers: [{ name: 'a', image: 'reg.local/x:1' }] });
  const pods = new Map([[d.uid, d]]);
  const clock = { t: 1000 };
  const { x, told } = ctx(e, tmpDir(t), clock);
  const pull: Step = { op: 'pull', pod: 'u1', image: 'reg.local/x:1', for: { role: 'app', container: 'a' } };
  e.failNext('pull reg.local/x:1', new Error('no route to host'));
  await execute([pull], x, pods);
  const slow = e.hold('pull');
  const pulling = execute([pull], x, pods);
  await slow.reached;
  clock.t += 1250;
  slow.release();
  await pulling;
  assert.deepEqual(told.splice(0), [
    'default/web(u1) Normal Pulling spec.containers{a}: Pulling image "reg.local/x:1"',
    'default/web(u1) Warning Failed spec.containers{a}: Failed to pull image "reg.local/x:1": no route to host',
    'default/web(u1) Normal Pulling spec.containers{a}: Pulling image "reg.local/x:1"',
    'default/web(u1) Normal Pulled spec.containers{a}: Successfully pulled image "reg.local/x:1" in 1.25s',
  ]);
  e.failNext('create', new Error('invalid mount config'));
  await execute([{ op: 'create', pod: 'u1', role: 'app', container: 'a', attempt: 0, restarts: 0, env: [] }], x, pods);
  assert.deepEqual(told.splice(0), ['default/web(u1) Warning Failed spec.containers{a}: Error: invalid mount config']);
  const id = (await e.create({ name: 'c', Image: IMG, Labels: {}, HostConfig: {} }))!;
  await e.start(id);
  const stop = (reason: string, pod = 'u1'): Step => ({ op: 'stop', pod, id, name: 'c', role: 'app', container: 'a', graceSeconds: 1, reason });
  await execute([stop('pod deleting')], x, pods);
  await execute([stop('liveness probe failed')], x, pods);
  await execute([stop('pod deleted', 'gone'), { op: 'remove', pod: 'u1', id, name: 'c', role: 'app', container: 'a', graceSeconds: 0, reason: 'old attempt' }], x, pods);
  assert.deepEqual(told, [
    'default/web(u1) Normal Killing spec.containers{a}: Stopping container a',
    'default/web(u1) Normal Killing spec.containers{a}: Container a failed liveness probe, will be restarted',
  ]);
});
