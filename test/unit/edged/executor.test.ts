/** The executor against a FAKE engine: it runs what the steps say, in the order it promises. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parsePod } from '../../../src/contract/resources/pod.js';
import { nullLogger } from '../../../src/core/logger.js';
import { containerHash, networkOf, sandboxHash, type Lookups } from '../../../src/modules/edged/desired.js';
import type { EnvSource } from '../../../src/modules/edged/env.js';
import { execute, type ExecContext } from '../../../src/modules/edged/executor.js';
import { LABEL } from '../../../src/modules/edged/labels.js';
import type { DesiredPod, PullFailure, Step } from '../../../src/modules/edged/model.js';
import { plan } from '../../../src/modules/edged/planner.js';
import { tmpDir } from '../../helpers/tmp.js';
import { FakeEngine } from './fake-engine.js';

const SB = { image: '', command: ['sleep', 'infinity'], network: 'bridge', skipForSingleContainer: false };
const NODE = { name: 'fake-node', labels: {}, cpus: 2, memoryBytes: 2 ** 30, storageBytes: 2 ** 34 };
const IMG = 'local/app:1';
const noLookups: Lookups = { configMap: () => 'none', secret: () => 'none', secretObject: () => 'none' };

function desired(spec: Record<string, unknown>, uid: string, name = uid): DesiredPod {
  const pod = parsePod({ metadata: { name }, spec });
  const hashes: Record<string, string> = {};
  const env: Record<string, EnvSource[]> = {};
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
    hashes[c.name] = containerHash(pod, c);
    env[c.name] = [{ name: 'FROM_PLAN', value: c.name, expand: false }];
  }
  return { namespace: 'default', name, uid, pod, configErrors: {}, env, pullAuth: {}, network: networkOf(pod, SB, env), sandboxImage: pod.spec.containers[0]!.image, sandboxHash: sandboxHash(pod, SB), hashes };
}

function ctx(engine: FakeEngine, dataDir: string, pulls = new Map<string, PullFailure>()): ExecContext {
  return { engine, dataDir, lookups: noLookups, node: NODE, sandbox: SB, pulls, pulling: new Map(), now: () => 1000, log: nullLogger() };
}
const run = (steps: Step[], x: ExecContext, pods: DesiredPod[]) => execute(steps, x, new Map(pods.map((p) => [p.uid, p])));

const facts = { now: 1000, hostIP: '192.0.2.1', probes: new Map(), pulls: new Map(), crashLoop: { initialMs: 10_000, maxMs: 300_000, resetMs: 600_000 }, pullBackoff: { initialMs: 10_000, maxMs: 300_000 } };

test('a new pod: its folder, the sandbox, then containers joining it (created while it starts) with the env the step carries', async (t) => {
  const dir = tmpDir(t);
  const e = new FakeEngine();
  e.images.add(IMG);
  const d = desired({ containers: [{ name: 'a', image: IMG }, { name: 'b', image: IMG }] }, 'u1', 'web');
  const p = plan([d], { containers: await e.observe(), images: e.images, podDirs: [] }, facts);
  const r = await run(p.steps, ctx(e, dir), [d]);
  assert.deepEqual(r.errors, []);
  assert.equal(r.done, 4);
  assert.ok(existsSync(join(dir, 'pods', 'u1', 'volumes')));
  const names = e.calls.filter((c) => c.startsWith('create') || c.startsWith('start'));
  assert.deepEqual(names, [
    'create edgecore_default_web_u1_sandbox_0',
    'start edgecore_default_web_u1_sandbox_0',
    'create edgecore_default_web_u1_c_a_0',
    'create edgecore_default_web_u1_c_b_0',
    'start edgecore_default_web_u1_c_a_0',
    'start edgecore_default_web_u1_c_b_0',
  ]);
  const a = e.byName('edgecore_default_web_u1_c_a_0')!;
  assert.equal(a.opts.HostConfig?.NetworkMode, 'container:edgecore_default_web_u1_sandbox_0');
  assert.deepEqual(a.opts.Env, ['FROM_PLAN=a']);
  assert.deepEqual([a.opts.Labels?.[LABEL.role], a.opts.Labels?.[LABEL.attempt], a.opts.Labels?.[LABEL.node]], ['app', '0', 'fake-node']);
});

test('containers join the sandbox the step names, even when an older one is still observed', async (t) => {
  const e = new FakeEngine();
  const d = desired({ containers: [{ name: 'a', image: IMG }] }, 'u1');
  const steps: Step[] = [{ op: 'create', pod: 'u1', role: 'app', container: 'a', attempt: 3, restarts: 3, env: [], sandbox: 'holder-7' }];
  await run(steps, ctx(e, tmpDir(t)), [d]);
  assert.equal(e.byName('edgecore_default_u1_u1_c_a_3')!.opts.HostConfig?.NetworkMode, 'container:holder-7');
});

test('pull: the step\'s credentials go to the engine; a failure is recorded and stops only that pod', async (t) => {
  const e = new FakeEngine();
  const pulls = new Map<string, PullFailure>();
  const one = desired({ containers: [{ name: 'a', image: 'reg.local/x:1' }] }, 'u1');
  const two = desired({ containers: [{ name: 'a', image: IMG }] }, 'u2');
  e.images.add(IMG);
  e.failNext('pull reg.local/x:1', new Error('no route to host'));
  const steps: Step[] = [
    { op: 'pull', pod: 'u1', image: 'reg.local/x:1', auth: { username: 'u', password: 'p', serveraddress: 'reg.local' } },
    { op: 'create', pod: 'u1', role: 'sandbox', container: 'sandbox', attempt: 0 },
    { op: 'create', pod: 'u2', role: 'sandbox', container: 'sandbox', attempt: 0 },
  ];
  const r = await run(steps, ctx(e, tmpDir(t), pulls), [one, two]);
  assert.deepEqual(r.errors.map((x) => [x.step.op, x.step.pod, x.error]), [['pull', 'u1', 'no route to host']]);
  assert.equal(e.calls[0], 'pull reg.local/x:1 {"username":"u","password":"p","serveraddress":"reg.local"}');
  assert.deepEqual(pulls.get('reg.local/x:1'), { attempts: 1, lastAt: 1000, message: 'pull reg.local/x:1: no route to host' });
  assert.ok(!e.calls.some((c) => c.includes('_u1_sandbox')), 'the failed pod stopped at its pull');
  assert.ok(e.calls.includes('start edgecore_default_u2_u2_sandbox_0'), 'the other pod went on');
  // A later successful pull clears the record.
  await run([{ op: 'pull', pod: 'u1', image: 'reg.local/x:1' }], ctx(e, tmpDir(t), pulls), [one]);
  assert.equal(pulls.size, 0);
});

test('removals: members first (in parallel), the sandbox last, by the role the step carries', async (t) => {
  const e = new FakeEngine();
  const ids: Record<string, string> = {};
  for (const [name, role] of [['box', 'sandbox'], ['m1', 'app'], ['m2', 'app']] as const) {
    ids[name] = (await e.create({ name, Image: IMG, Labels: { [LABEL.node]: 'fake-node', [LABEL.role]: role }, HostConfig: {} }))!;
    await e.start(ids[name]!);
  }
  e.calls.length = 0;
  const m1 = e.hold('stop m1');
  const steps: Step[] = [
    // the sandbox first in the list and without "sandbox" in its name: order comes from the role
    { op: 'remove', pod: 'gone', id: ids.box!, name: 'box', role: 'sandbox', container: 'sandbox', graceSeconds: 2, reason: 'pod deleted' },
    { op: 'remove', pod: 'gone', id: ids.m1!, name: 'm1', role: 'app', container: 'm1', graceSeconds: 30, reason: 'pod deleted' },
    { op: 'remove', pod: 'gone', id: ids.m2!, name: 'm2', role: 'app', container: 'm2', graceSeconds: 30, reason: 'pod deleted' },
  ];
  const running = run(steps, ctx(e, tmpDir(t)), []);
  await m1.reached;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(e.calls, ['stop m1 30', 'stop m2 30', 'remove m2'], 'm2 goes on while m1 stops; the sandbox waits');
  m1.release();
  const r = await running;
  assert.deepEqual(r.errors, []);
  assert.deepEqual(e.calls.slice(3), ['remove m1', 'stop box 2', 'remove box']);
  assert.equal(e.containers.size, 0);
});

test('a create that finds its name taken adopts it next loop: no start, no error', async (t) => {
  const e = new FakeEngine();
  const d = desired({ containers: [{ name: 'a', image: IMG }] }, 'u1');
  await e.create({ name: 'edgecore_default_u1_u1_sandbox_0', Image: IMG, Labels: { [LABEL.node]: 'fake-node' }, HostConfig: {} });
  e.calls.length = 0;
  const r = await run([{ op: 'create', pod: 'u1', role: 'sandbox', container: 'sandbox', attempt: 0 }], ctx(e, tmpDir(t)), [d]);
  assert.deepEqual([r.done, r.errors], [1, []]);
  assert.deepEqual(e.calls, ['create edgecore_default_u1_u1_sandbox_0']);
});

test('a failed step ends its pod\'s steps; the failure names the step', async (t) => {
  const e = new FakeEngine();
  const d = desired({ containers: [{ name: 'a', image: IMG }, { name: 'b', image: IMG }] }, 'u1');
  e.failNext('create edgecore_default_u1_u1_c_a_0', new Error('bad mount'));
  const steps: Step[] = [
    { op: 'create', pod: 'u1', role: 'app', container: 'a', attempt: 0, restarts: 0, env: [], sandbox: 'box' },
    { op: 'create', pod: 'u1', role: 'app', container: 'b', attempt: 0, restarts: 0, env: [], sandbox: 'box' },
  ];
  const r = await run(steps, ctx(e, tmpDir(t)), [d]);
  assert.deepEqual([r.done, r.errors.length, r.errors[0]!.error], [0, 1, 'bad mount']);
  assert.ok(!e.calls.some((c) => c.includes('c_b')));
});

test('containers are created while their sandbox starts, and start only once it runs', async (t) => {
  const e = new FakeEngine();
  e.images.add(IMG);
  const d = desired({ containers: [{ name: 'a', image: IMG }, { name: 'b', image: IMG }] }, 'u1', 'web');
  const p = plan([d], { containers: [], images: e.images, podDirs: [] }, facts);
  const boxStart = e.hold('start edgecore_default_web_u1_sandbox_0');
  const running = run(p.steps, ctx(e, tmpDir(t)), [d]);
  await boxStart.reached;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(e.calls.filter((c) => c.includes('_c_')), ['create edgecore_default_web_u1_c_a_0', 'create edgecore_default_web_u1_c_b_0']);
  boxStart.release();
  assert.deepEqual((await running).errors, []);
  assert.deepEqual(e.calls.slice(-2), ['start edgecore_default_web_u1_c_a_0', 'start edgecore_default_web_u1_c_b_0']);
});
