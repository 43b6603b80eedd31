/** The pure planner: desired pods + observed engine state + facts → steps. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePod } from '../../../src/contract/resources/pod.js';
import { containerHash, networkOf, sandboxHash } from '../../../src/modules/edged/desired.js';
import type { DesiredPod, Facts, Observed, ObservedContainer, Step } from '../../../src/modules/edged/model.js';
import { plan } from '../../../src/modules/edged/planner.js';

const SB = { image: '', command: ['sleep', 'infinity'], network: 'bridge', skipForSingleContainer: false };
const IMG = 'local/app:1';
const NOW = Date.parse('2026-01-01T00:10:00Z');

function desired(spec: Record<string, unknown>, uid = 'u1', name = 'p'): DesiredPod {
  const pod = parsePod({ metadata: { name }, spec });
  const hashes: Record<string, string> = {};
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) hashes[c.name] = containerHash(pod, c);
  return { namespace: 'default', name, uid, pod, configErrors: {}, env: {}, pullAuth: {}, network: networkOf(pod, SB, {}), sandboxImage: pod.spec.containers[0]!.image, sandboxHash: sandboxHash(pod, SB), hashes };
}

function facts(extra: Partial<Facts> = {}): Facts {
  return { now: NOW, probes: new Map(), pulls: new Map(), crashLoop: { initialMs: 10_000, maxMs: 300_000, resetMs: 600_000 }, pullBackoff: { initialMs: 10_000, maxMs: 300_000 }, ...extra };
}

let seq = 0;
function oc(d: DesiredPod, role: 'sandbox' | 'init' | 'app', container: string, extra: Partial<ObservedContainer> = {}): ObservedContainer {
  const attempt = extra.attempt ?? 0;
  return {
    id: `id${++seq}`,
    dockerName: `edgecore_default_${d.name}_${d.uid}_${role === 'sandbox' ? 'sandbox' : `c_${container}`}_${attempt}`,
    podUid: d.uid,
    namespace: 'default',
    podName: d.name,
    role,
    container,
    attempt,
    restarts: extra.restarts ?? attempt,
    hash: role === 'sandbox' ? d.sandboxHash : d.hashes[container]!,
    graceSeconds: 30,
    image: IMG,
    imageId: 'sha256:x',
    state: 'running',
    exitCode: 0,
    oomKilled: false,
    error: '',
    startedAt: '2026-01-01T00:00:00Z',
    ...extra,
  };
}

const observed = (containers: ObservedContainer[], images = [IMG], podDirs: string[] = []): Observed => ({ containers, images: new Set(images), podDirs });
const ops = (steps: Step[]): string[] => steps.map((s) => (s.op === 'create' ? `create ${s.role}:${s.container}#${s.attempt}` : s.op === 'remove' || s.op === 'stop' || s.op === 'start' ? `${s.op} ${s.name}` : s.op));
const app = (extra: Record<string, unknown> = {}) => ({ name: 'a', image: IMG, ...extra });

test('a new pod: volumes, sandbox, then every app container', () => {
  const d = desired({ containers: [app(), app({ name: 'b' })] });
  const p = plan([d], observed([]), facts());
  const creates = p.steps.filter((s): s is Extract<Step, { op: 'create'; env: string[] }> => s.op === 'create' && s.role === 'app');
  assert.deepEqual(creates.map((s) => s.present), [IMG, IMG], 'the image is on the node: no pull (the "already present" event)');
  assert.deepEqual(ops(p.steps), ['volumes', 'create sandbox:sandbox#0', 'create app:a#0', 'create app:b#0']);
});

test('everything running as desired: no steps (adoption after a restart)', () => {
  const d = desired({ containers: [app()] });
  const p = plan([d], observed([oc(d, 'sandbox', 'sandbox'), oc(d, 'app', 'a')]), facts());
  assert.deepEqual(p.steps, []);
});

test('containers created but not started (crash between create and start) are started, not recreated', () => {
  const d = desired({ containers: [app()] });
  const box = oc(d, 'sandbox', 'sandbox');
  const a = oc(d, 'app', 'a', { state: 'created' });
  assert.deepEqual(ops(plan([d], observed([box, a]), facts()).steps), [`start ${a.dockerName}`]);
});

test('containers of deleted pods and leftover pod folders are removed; refused specs are left alone', () => {
  const gone = desired({ containers: [app()] }, 'old');
  const bad: DesiredPod = { namespace: 'default', name: 'bad', uid: 'u9', issues: [{ path: 'spec.containers', reason: 'x' }], configErrors: {}, env: {}, pullAuth: {}, network: 'shared', sandboxImage: '', sandboxHash: '', hashes: {} };
  const badC = { ...oc(gone, 'app', 'a'), podUid: 'u9' };
  const c = oc(gone, 'app', 'a');
  const p = plan([bad], observed([c, badC], [IMG], ['old', 'u9']), facts());
  assert.deepEqual(ops(p.steps), [`remove ${c.dockerName}`, 'removeDir']);
  assert.equal((p.steps[1] as { uid: string }).uid, 'old');
});

test('restartPolicy Always: CrashLoopBackOff 10 s doubling with a 5 min cap, then a new attempt', () => {
  const d = desired({ containers: [app()] });
  const box = oc(d, 'sandbox', 'sandbox');
  const at = (attempt: number, finishedAgoMs: number) =>
    oc(d, 'app', 'a', { attempt, state: 'exited', exitCode: 1, startedAt: new Date(NOW - finishedAgoMs - 1000).toISOString(), finishedAt: new Date(NOW - finishedAgoMs).toISOString() });
  let p = plan([d], observed([box, at(0, 5_000)]), facts());
  assert.deepEqual(p.steps, []);
  assert.equal(p.waiting.get('u1')?.get('a')?.reason, 'CrashLoopBackOff');
  assert.equal(p.wakeAt, NOW + 5_000);
  p = plan([d], observed([box, at(0, 10_000)]), facts());
  assert.deepEqual(ops(p.steps), ['volumes', 'create app:a#1']);
  assert.equal(plan([d], observed([box, at(2, 39_000)]), facts()).wakeAt, NOW + 1_000); // 40 s for the third restart
  assert.equal(plan([d], observed([box, at(9, 1_000)]), facts()).wakeAt, NOW + 299_000); // capped at 300 s
  // A long run resets the delay.
  const long = oc(d, 'app', 'a', { attempt: 5, state: 'exited', exitCode: 1, startedAt: new Date(NOW - 3_600_000).toISOString(), finishedAt: new Date(NOW - 1).toISOString() });
  assert.deepEqual(ops(plan([d], observed([box, long]), facts()).steps), ['volumes', 'create app:a#6']);
});

test('restartPolicy OnFailure and Never decide restarts and terminal phases', () => {
  const box = (d: DesiredPod) => oc(d, 'sandbox', 'sandbox');
  const ended = (d: DesiredPod, code: number) => oc(d, 'app', 'a', { state: 'exited', exitCode: code, finishedAt: new Date(NOW - 60_000).toISOString() });
  const onf = desired({ restartPolicy: 'OnFailure', containers: [app()] });
  assert.deepEqual(ops(plan([onf], observed([box(onf), ended(onf, 2)]), facts()).steps), ['volumes', 'create app:a#1']);
  const ok = plan([onf], observed([{ ...box(onf), state: 'exited' }, ended(onf, 0)]), facts());
  assert.deepEqual([ok.steps.length, ok.terminal.get('u1')], [0, 'Succeeded']);
  const never = desired({ restartPolicy: 'Never', containers: [app()] });
  const f = plan([never], observed([{ ...box(never), state: 'exited' }, ended(never, 2)]), facts());
  assert.deepEqual([f.steps.length, f.terminal.get('u1')], [0, 'Failed']);
});

test('a changed container spec replaces that container only, keeping the restart count going', () => {
  const d = desired({ containers: [app(), app({ name: 'b' })] });
  const a = oc(d, 'app', 'a', { hash: 'stale', attempt: 2 });
  const b = oc(d, 'app', 'b');
  assert.deepEqual(ops(plan([d], observed([oc(d, 'sandbox', 'sandbox'), a, b]), facts()).steps), [`remove ${a.dockerName}`, 'volumes', 'create app:a#3']);
});

test('a failed liveness probe stops the container (the restart policy then applies)', () => {
  const d = desired({ containers: [app({ livenessProbe: { exec: { command: ['true'] } } })] });
  const a = oc(d, 'app', 'a');
  const p = plan([d], observed([oc(d, 'sandbox', 'sandbox'), a]), facts({ probes: new Map([[a.id, { unhealthy: true, started: true }]]) }));
  assert.deepEqual(ops(p.steps), [`stop ${a.dockerName}`]);
  assert.deepEqual(p.steps.map((s) => s.op === 'stop' && [s.container, s.reason]), [['a', 'liveness probe failed']], 'the reason its Killing event words');
  const startup = plan([d], observed([oc(d, 'sandbox', 'sandbox'), a]), facts({ probes: new Map([[a.id, { unhealthy: true, unhealthyBy: 'startup', started: false }]]) }));
  assert.deepEqual(startup.steps.map((s) => s.op === 'stop' && s.reason), ['startup probe failed']);
});

test('init containers run in order; a failed one with restartPolicy Never fails the pod', () => {
  const d = desired({ initContainers: [app({ name: 'i1' }), app({ name: 'i2' })], containers: [app()] });
  const box = oc(d, 'sandbox', 'sandbox');
  const i1 = oc(d, 'init', 'i1', { state: 'exited', exitCode: 0 });
  assert.deepEqual(ops(plan([d], observed([box]), facts()).steps), ['volumes', 'create init:i1#0']);
  assert.deepEqual(ops(plan([d], observed([box, i1]), facts()).steps), ['volumes', 'create init:i2#0']);
  const i2run = oc(d, 'init', 'i2');
  assert.deepEqual(plan([d], observed([box, i1, i2run]), facts()).steps, []);
  const i2ok = { ...i2run, state: 'exited' as const };
  assert.deepEqual(ops(plan([d], observed([box, i1, i2ok]), facts()).steps), ['volumes', 'create app:a#0']);
  const n = desired({ restartPolicy: 'Never', initContainers: [app({ name: 'i1' })], containers: [app()] });
  const failed = oc(n, 'init', 'i1', { state: 'exited', exitCode: 1 });
  const nbox = oc(n, 'sandbox', 'sandbox');
  const p = plan([n], observed([nbox, failed]), facts());
  assert.deepEqual([ops(p.steps), p.terminal.get('u1')], [[`stop ${nbox.dockerName}`], 'Failed']);
  assert.deepEqual(plan([n], observed([{ ...nbox, state: 'exited' }, failed]), facts()).steps, []);
});

test('images: Never without the image waits; a pull is planned once; failed pulls back off', () => {
  const never = desired({ containers: [app({ image: 'x/none:1', imagePullPolicy: 'Never' })] });
  const p1 = plan([never], observed([]), facts());
  assert.deepEqual(p1.steps, []);
  assert.equal(p1.waiting.get('u1')?.get('a')?.reason, 'ErrImageNeverPull');
  const two = desired({ containers: [app({ image: 'x/new:1' }), app({ name: 'b', image: 'x/new:1' })] });
  const p2 = plan([two], observed([]), facts());
  assert.deepEqual(ops(p2.steps), ['pull', 'volumes', 'create sandbox:sandbox#0', 'create app:a#0', 'create app:b#0']);
  assert.deepEqual(p2.steps[0], { op: 'pull', pod: 'u1', image: 'x/new:1', for: { role: 'app', container: 'a' } }, 'pulled for its first container (its events name it)');
  assert.ok(p2.steps.every((s) => !(s.op === 'create' && s.role !== 'sandbox' && s.present)), 'pulled in this plan: not "already present"');
  const pulls = new Map([['x/new:1', { attempts: 2, lastAt: NOW - 5_000, message: 'pull x/new:1: no route' }]]);
  const p3 = plan([two], observed([]), facts({ pulls }));
  assert.deepEqual(p3.steps, []);
  assert.equal(p3.waiting.get('u1')?.get('a')?.reason, 'ImagePullBackOff');
  assert.equal(p3.wakeAt, NOW + 15_000); // 20 s after the second failure
});

test('a dead sandbox takes its members with it; attempts continue; duplicates are removed', () => {
  const d = desired({ containers: [app()] });
  const dead = oc(d, 'sandbox', 'sandbox', { state: 'exited', exitCode: 137 });
  const a = oc(d, 'app', 'a', { attempt: 4 });
  const steps = ops(plan([d], observed([dead, a]), facts()).steps);
  assert.ok(steps.includes(`remove ${a.dockerName}`) && steps.includes(`remove ${dead.dockerName}`));
  assert.deepEqual(steps.slice(-3), ['volumes', 'create sandbox:sandbox#1', 'create app:a#5']);
  const b1 = oc(d, 'sandbox', 'sandbox', { attempt: 1 });
  const b0 = oc(d, 'sandbox', 'sandbox', { attempt: 0 });
  assert.deepEqual(ops(plan([d], observed([b0, b1, oc(d, 'app', 'a')]), facts()).steps), [`remove ${b0.dockerName}`]);
});

test('hostNetwork pods have no sandbox', () => {
  const d = desired({ hostNetwork: true, containers: [app()] });
  assert.deepEqual(ops(plan([d], observed([]), facts()).steps), ['volumes', 'create app:a#0']);
});

test('a finished pod stops its sandbox and is not rerun when the sandbox is gone', () => {
  const d = desired({ restartPolicy: 'Never', containers: [app()] });
  const box = oc(d, 'sandbox', 'sandbox');
  const done = oc(d, 'app', 'a', { state: 'exited', exitCode: 0, finishedAt: new Date(NOW - 1000).toISOString() });
  const p = plan([d], observed([box, done]), facts());
  assert.deepEqual(ops(p.steps), [`stop ${box.dockerName}`]);
  assert.equal(p.terminal.get('u1'), 'Succeeded');
  assert.deepEqual(plan([d], observed([{ ...box, state: 'exited' }, done]), facts()).steps, []);
  assert.deepEqual(plan([d], observed([done]), facts()).steps, []);
  // OnFailure with a failed container is not finished: sandbox and container come back.
  const f = desired({ restartPolicy: 'OnFailure', containers: [app()] });
  const failed = oc(f, 'app', 'a', { state: 'exited', exitCode: 1, finishedAt: new Date(NOW - 60_000).toISOString() });
  assert.deepEqual(ops(plan([f], observed([failed]), facts()).steps).slice(-2), ['create sandbox:sandbox#0', 'create app:a#1']);
});

test('registry of an image reference', async () => {
  const { registryOf } = await import('../../../src/modules/edged/desired.js');
  assert.equal(registryOf('nginx:1'), 'docker.io');
  assert.equal(registryOf('library/nginx'), 'docker.io');
  assert.equal(registryOf('registry.local:5000/app:1'), 'registry.local:5000');
  assert.equal(registryOf('localhost/app'), 'localhost');
});

test('a pod being deleted: members stop with the deletion grace, then the sandbox; then it is terminal', () => {
  const d = { ...desired({ containers: [app(), app({ name: 'b' })] }), deleting: { graceSeconds: 45 } };
  const box = oc(d, 'sandbox', 'sandbox');
  const a = oc(d, 'app', 'a');
  const b = oc(d, 'app', 'b', { state: 'exited', exitCode: 0 });
  const p = plan([d], observed([box, a, b]), facts());
  assert.deepEqual(
    p.steps.map((s) => (s.op === 'stop' ? `stop ${s.name} ${s.graceSeconds}` : s.op)),
    [`stop ${box.dockerName} 1`, `stop ${a.dockerName} 45`],
  );
  assert.equal(p.terminal.get('u1'), undefined, 'not terminal while a member runs');
  const after = plan([d], observed([{ ...box, state: 'exited' }, { ...a, state: 'exited', exitCode: 143 }, b]), facts());
  assert.deepEqual([after.steps, after.terminal.get('u1')], [[], 'Failed']);
  const clean = plan([d], observed([{ ...box, state: 'exited' }, { ...a, state: 'exited', exitCode: 0 }, b]), facts());
  assert.equal(clean.terminal.get('u1'), 'Succeeded');
});

test('restart counts: an exit counts, a spec change does not, a lost sandbox does, a container gone since does', () => {
  const d = desired({ containers: [app()] });
  const box = oc(d, 'sandbox', 'sandbox');
  const creates = (p: ReturnType<typeof plan>) => p.steps.flatMap((s) => (s.op === 'create' && s.role !== 'sandbox' ? [`${s.container}#${s.attempt} r${s.restarts}`] : []));
  const ended = oc(d, 'app', 'a', { attempt: 3, restarts: 2, state: 'exited', exitCode: 1, finishedAt: new Date(NOW - 3_600_000).toISOString() });
  assert.deepEqual(creates(plan([d], observed([box, ended]), facts())), ['a#4 r3']);
  const stale = oc(d, 'app', 'a', { attempt: 3, restarts: 2, hash: 'old' });
  assert.deepEqual(creates(plan([d], observed([box, stale]), facts())), ['a#4 r2']);
  const orphan = oc(d, 'app', 'a', { attempt: 3, restarts: 2 });
  assert.deepEqual(creates(plan([d], observed([{ ...box, state: 'exited' }, orphan]), facts())), ['a#4 r3']);
  assert.deepEqual(creates(plan([d], observed([box]), facts({ restarts: new Map([['u1', new Map([['a', 5]])]]) }))), ['a#0 r6']);
  assert.deepEqual(creates(plan([d], observed([box]), facts())), ['a#0 r0']);
});

test('containers stopped by an engine outage restart at once, not after CrashLoopBackOff', () => {
  const d = desired({ hostNetwork: true, containers: [app()] });
  const killed = oc(d, 'app', 'a', { attempt: 4, state: 'exited', exitCode: 137, finishedAt: new Date(NOW - 20_000).toISOString() });
  assert.equal(plan([d], observed([killed]), facts()).waiting.get('u1')?.get('a')?.reason, 'CrashLoopBackOff');
  const outage = { from: NOW - 25_000, to: NOW - 1_000 };
  assert.deepEqual(ops(plan([d], observed([killed]), facts({ outage })).steps), ['volumes', 'create app:a#5']);
});

test('a single-container pod may go without a sandbox: its container holds its own network', () => {
  const sb = { ...SB, skipForSingleContainer: true };
  const pod = parsePod({ metadata: { name: 'p' }, spec: { containers: [app()] } });
  const d: DesiredPod = { ...desired({ containers: [app()] }), network: networkOf(pod, sb, {}) };
  assert.equal(d.network, 'own');
  const p = plan([d], observed([]), facts());
  assert.deepEqual(ops(p.steps), ['volumes', 'create app:a#0']);
  assert.equal((p.steps[1] as { sandbox?: string }).sandbox, undefined);
  const old = oc(d, 'sandbox', 'sandbox');
  assert.deepEqual(ops(plan([d], observed([old, oc(d, 'app', 'a')]), facts()).steps), [`remove ${old.dockerName}`]);
  const two = parsePod({ metadata: { name: 'p' }, spec: { containers: [app(), app({ name: 'b' })] } });
  assert.equal(networkOf(two, sb, {}), 'shared');
  assert.equal(networkOf(pod, sb, { a: [{ name: 'IP', field: 'status.podIP' }] }), 'shared', 'its env reads the pod IP');
});

test('env reading the pod IP waits for the sandbox; then env, command and args are expanded', () => {
  const d: DesiredPod = {
    ...desired({ containers: [app({ command: ['serve', '--listen=$(MY_POD_IP):$(PORT)'], args: ['$$(PORT)'] })] }),
    env: { a: [{ name: 'PORT', value: '80', expand: true }, { name: 'MY_POD_IP', field: 'status.podIP' }] },
  };
  assert.deepEqual(ops(plan([d], observed([]), facts()).steps), ['volumes', 'create sandbox:sandbox#0'], 'the container waits for the pod IP');
  const box = oc(d, 'sandbox', 'sandbox', { ip: '172.17.0.9' });
  const c = plan([d], observed([box]), facts()).steps.find((s) => s.op === 'create') as Extract<Step, { op: 'create'; env: string[] }>;
  assert.deepEqual([c.env, c.command, c.args, c.sandbox], [['PORT=80', 'MY_POD_IP=172.17.0.9'], ['serve', '--listen=172.17.0.9:80'], ['$(PORT)'], box.dockerName]);
});

test('a pod that does not fit the node is Failed with nothing created; one already running keeps running', () => {
  const d: DesiredPod = { ...desired({ containers: [app()] }), unfit: { reason: 'NodeAffinity', message: 'no' } };
  const p = plan([d], observed([]), facts());
  assert.deepEqual([p.steps, p.terminal.get('u1')], [[], 'Failed']);
  const running = plan([d], observed([oc(d, 'sandbox', 'sandbox'), oc(d, 'app', 'a')]), facts());
  assert.deepEqual([running.steps, running.terminal.get('u1')], [[], undefined]);
});
