/**
 * `kubectl get pods` cells. Statuses come from edged itself (planner + status.ts), so each
 * STATUS string is checked against what a real node reports; a few shapes only the Kubernetes
 * kubelet produces (PodInitializing, Signal:N, SchedulingGated) are written by hand.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { parsePod } from '../../../../src/contract/resources/pod.js';
import { containerHash, networkOf, sandboxHash } from '../../../../src/modules/edged/desired.js';
import type { DesiredPod, Facts, ObservedContainer, ProbeFacts } from '../../../../src/modules/edged/model.js';
import { plan } from '../../../../src/modules/edged/planner.js';
import { podStatus } from '../../../../src/modules/edged/status.js';
import { ageOf, humanDuration } from '../../../../src/contract/kube/table.js';
import { POD_COLUMNS, podRow, podSummary } from '../../../../src/relay/kinds/pod-table.js';

const IMG = 'local/app:1';
const T0 = '2026-01-01T00:00:00Z';
const NOW = Date.parse('2026-01-01T00:10:00Z');
const SB = { image: '', command: ['sleep', 'infinity'], network: 'bridge', skipForSingleContainer: false };

function desired(spec: Record<string, unknown>): DesiredPod {
  const pod = parsePod({ metadata: { name: 'p' }, spec });
  const hashes: Record<string, string> = {};
  for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) hashes[c.name] = containerHash(pod, c);
  return { namespace: 'default', name: 'p', uid: 'u1', pod, configErrors: {}, env: {}, pullAuth: {}, network: networkOf(pod, SB, {}), sandboxImage: IMG, sandboxHash: sandboxHash(pod, SB), hashes };
}

let seq = 0;
function oc(d: DesiredPod, role: 'sandbox' | 'init' | 'app', container: string, extra: Partial<ObservedContainer> = {}): ObservedContainer {
  return {
    id: `id${++seq}`,
    dockerName: `x${seq}`,
    podUid: d.uid,
    namespace: 'default',
    podName: d.name,
    role,
    container,
    attempt: 0,
    restarts: extra.restarts ?? extra.attempt ?? 0,
    hash: role === 'sandbox' ? d.sandboxHash : d.hashes[container]!,
    graceSeconds: 30,
    image: IMG,
    imageId: 'sha256:x',
    state: 'running',
    exitCode: 0,
    oomKilled: false,
    error: '',
    startedAt: T0,
    ip: role === 'sandbox' ? '172.17.0.5' : undefined,
    ...extra,
  };
}

const exited = (code: number, finishedAt = '2026-01-01T00:09:55Z', extra: Partial<ObservedContainer> = {}): Partial<ObservedContainer> => ({ state: 'exited', exitCode: code, finishedAt, ...extra });

/** The pod object the relay stores after edged reported on it. */
function reported(
  spec: Record<string, unknown>,
  containers: (d: DesiredPod) => ObservedContainer[],
  opts: { facts?: Partial<Facts>; probes?: (ids: ObservedContainer[]) => Map<string, ProbeFacts>; configErrors?: Record<string, string>; meta?: Record<string, unknown> } = {},
): KubeObject {
  const d = desired(spec);
  if (opts.configErrors) d.configErrors = opts.configErrors;
  const mine = containers(d);
  const probes = opts.probes?.(mine) ?? new Map<string, ProbeFacts>();
  const facts: Facts = { now: NOW, probes, pulls: new Map(), crashLoop: { initialMs: 10_000, maxMs: 300_000, resetMs: 600_000 }, pullBackoff: { initialMs: 10_000, maxMs: 300_000 }, ...opts.facts };
  const p = plan([d], { containers: mine, images: new Set([IMG]), podDirs: [] }, facts);
  const status = podStatus(d, mine, p, probes, '192.168.1.20');
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default', creationTimestamp: T0, ...opts.meta }, spec: { nodeName: 'pi-1', ...spec }, status: JSON.parse(JSON.stringify(status)) };
}

const at = (minutesAfterNow = 0) => new Date(NOW + minutesAfterNow * 60_000);
const summary = (pod: KubeObject, now = at()) => {
  const s = podSummary(pod, now);
  return `${s.ready} ${s.status} ${s.restarts}`;
};
const one = { containers: [{ name: 'a', image: IMG }] };
const two = (restartPolicy = 'Always') => ({ restartPolicy, containers: [{ name: 'a', image: IMG }, { name: 'b', image: IMG }] });

test('ages print as kubectl prints them', () => {
  const s = 1000;
  const cases: [number, string][] = [
    [-5 * s, '<invalid>'],
    [-500, '0s'],
    [0, '0s'],
    [119 * s, '119s'],
    [120 * s, '2m'],
    [330 * s, '5m30s'],
    [600 * s, '10m'],
    [179 * 60 * s, '179m'],
    [3 * 3600 * s, '3h'],
    [(3 * 60 + 25) * 60 * s, '3h25m'],
    [8 * 3600 * s, '8h'],
    [47 * 3600 * s, '47h'],
    [48 * 3600 * s, '2d'],
    [(2 * 24 + 5) * 3600 * s, '2d5h'],
    [8 * 24 * 3600 * s, '8d'],
    [400 * 24 * 3600 * s, '400d'],
    [(3 * 365 + 10) * 24 * 3600 * s, '3y10d'],
    [9 * 365 * 24 * 3600 * s, '9y'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms} ms`);
  assert.equal(ageOf(undefined, at()), '<unknown>');
  assert.equal(ageOf('not a time', at()), '<unknown>');
});

test('columns: NAME READY STATUS RESTARTS AGE, and IP NODE NOMINATED NODE READINESS GATES only with -o wide', () => {
  assert.deepEqual(
    POD_COLUMNS.map((c) => `${c.name.toUpperCase()}:${c.priority}`),
    ['NAME:0', 'READY:0', 'STATUS:0', 'RESTARTS:0', 'AGE:0', 'IP:1', 'NODE:1', 'NOMINATED NODE:1', 'READINESS GATES:1'],
  );
  assert.equal(POD_COLUMNS[0]!.format, 'name');
});

test('a new pod whose containers are being created: ContainerCreating', () => {
  assert.equal(summary(reported(one, () => [])), '0/1 ContainerCreating 0');
});

test('a pod that runs: Running, and the full row with its IP and node', () => {
  const pod = reported(one, (d) => [oc(d, 'sandbox', 'sandbox'), oc(d, 'app', 'a')]);
  assert.deepEqual(podRow(pod, at()), ['p', '1/1', 'Running', '0', '10m', '172.17.0.5', 'pi-1', '<none>', '<none>']);
});

test('a running container that is not ready yet: Running with 0/1', () => {
  const spec = { containers: [{ name: 'a', image: IMG, readinessProbe: { exec: { command: ['true'] } } }] };
  const pod = reported(spec, (d) => [oc(d, 'sandbox', 'sandbox'), oc(d, 'app', 'a')], { probes: (cs) => new Map([[cs[1]!.id, { ready: false, started: true }]]) });
  assert.equal(summary(pod), '0/1 Running 0');
});

test('one container exited, one still running: NotReady (not Completed)', () => {
  const pod = reported(two('OnFailure'), (d) => [oc(d, 'sandbox', 'sandbox'), oc(d, 'app', 'a', exited(0)), oc(d, 'app', 'b')]);
  assert.equal((pod.status as { phase: string }).phase, 'Running');
  assert.equal(summary(pod), '1/2 NotReady 0');
});

test('a container restarting in back-off: CrashLoopBackOff, with restarts and how long ago the last one ended', () => {
  const pod = reported(one, (d) => [oc(d, 'sandbox', 'sandbox'), oc(d, 'app', 'a', { ...exited(1), attempt: 3 })]);
  assert.equal(summary(pod), '0/1 CrashLoopBackOff 3 (5s ago)');
  assert.equal(summary(pod, at(5)), '0/1 CrashLoopBackOff 3 (5m5s ago)');
  // running again after restarts: Running, restarts still counted from the previous attempt's end
  const again = reported(one, (d) => [oc(d, 'sandbox', 'sandbox'), oc(d, 'app', 'a', { ...exited(1), attempt: 2 }), oc(d, 'app', 'a', { attempt: 3 })]);
  assert.equal(summary(again, at(5)), '1/1 Running 3 (5m5s ago)');
});

test('image problems: ErrImagePull, then ImagePullBackOff; ErrImageNeverPull', () => {
  const spec = { containers: [{ name: 'a', image: 'remote/app:2' }] };
  const fresh = reported(spec, () => [], { facts: { pulls: new Map([['remote/app:2', { attempts: 1, lastAt: NOW - 1_000, message: 'no such host' }]]) } });
  assert.equal(summary(fresh), '0/1 ErrImagePull 0');
  const backoff = reported(spec, () => [], { facts: { pulls: new Map([['remote/app:2', { attempts: 3, lastAt: NOW - 5_000, message: 'no such host' }]]) } });
  assert.equal(summary(backoff), '0/1 ImagePullBackOff 0');
  const never = reported({ containers: [{ name: 'a', image: 'remote/app:2', imagePullPolicy: 'Never' }] }, () => []);
  assert.equal(summary(never), '0/1 ErrImageNeverPull 0');
});

test('a missing ConfigMap key: CreateContainerConfigError', () => {
  const pod = reported(one, (d) => [oc(d, 'sandbox', 'sandbox')], { configErrors: { a: 'configmap "cfg" not found' } });
  assert.equal(summary(pod), '0/1 CreateContainerConfigError 0');
});

test('finished pods: Completed, Error, OOMKilled', () => {
  const never = { restartPolicy: 'Never', containers: [{ name: 'a', image: IMG }] };
  const ok = reported(never, (d) => [oc(d, 'sandbox', 'sandbox', { state: 'exited' }), oc(d, 'app', 'a', exited(0))]);
  assert.equal((ok.status as { phase: string }).phase, 'Succeeded');
  assert.equal(summary(ok), '0/1 Completed 0');
  const bad = reported(never, (d) => [oc(d, 'sandbox', 'sandbox', { state: 'exited' }), oc(d, 'app', 'a', exited(2))]);
  assert.equal(summary(bad), '0/1 Error 0');
  const oom = reported(never, (d) => [oc(d, 'sandbox', 'sandbox', { state: 'exited' }), oc(d, 'app', 'a', exited(137, undefined, { oomKilled: true }))]);
  assert.equal(summary(oom), '0/1 OOMKilled 0');
});

test('init containers: Init:0/2, Init:1/2, Init:Error, Init:CrashLoopBackOff', () => {
  const spec = (restartPolicy = 'Always') => ({ restartPolicy, initContainers: [{ name: 'i1', image: IMG }, { name: 'i2', image: IMG }], containers: [{ name: 'a', image: IMG }] });
  const first = reported(spec(), (d) => [oc(d, 'sandbox', 'sandbox'), oc(d, 'init', 'i1')]);
  assert.equal(summary(first), '0/1 Init:0/2 0');
  const second = reported(spec(), (d) => [oc(d, 'sandbox', 'sandbox'), oc(d, 'init', 'i1', exited(0)), oc(d, 'init', 'i2')]);
  assert.equal(summary(second), '0/1 Init:1/2 0');
  const failed = reported(spec('Never'), (d) => [oc(d, 'sandbox', 'sandbox'), oc(d, 'init', 'i1', exited(1))]);
  assert.equal((failed.status as { phase: string }).phase, 'Failed');
  assert.equal(summary(failed), '0/1 Init:Error 0');
  const looping = reported(spec(), (d) => [oc(d, 'sandbox', 'sandbox'), oc(d, 'init', 'i1', { ...exited(1), attempt: 4 })]);
  assert.equal(summary(looping), '0/1 Init:CrashLoopBackOff 4 (5s ago)');
  // once initialized, RESTARTS counts the app containers only
  const done = reported(spec(), (d) => [oc(d, 'sandbox', 'sandbox'), oc(d, 'init', 'i1', exited(0)), oc(d, 'init', 'i2', exited(0)), oc(d, 'app', 'a')]);
  assert.equal(summary(done), '1/1 Running 0');
});

test('a spec the node refused: the node reason (InvalidSpec)', () => {
  const pod = reported(one, () => []);
  pod.status = podStatus({ namespace: 'default', name: 'p', uid: 'u1', issues: [{ path: 'spec.x', reason: 'bad' }], configErrors: {}, env: {}, pullAuth: {}, network: 'shared', sandboxImage: '', sandboxHash: '', hashes: {} }, [], { steps: [], waiting: new Map(), terminal: new Map() }, new Map(), undefined);
  assert.equal(summary(pod), '0/1 InvalidSpec 0');
});

test('deletion: Terminating while the pod runs; a finished pod keeps its status; NodeLost reads Unknown', () => {
  const running = reported(one, (d) => [oc(d, 'sandbox', 'sandbox'), oc(d, 'app', 'a')], { meta: { deletionTimestamp: '2026-01-01T00:09:00Z' } });
  assert.equal(summary(running), '1/1 Terminating 0');
  const never = { restartPolicy: 'Never', containers: [{ name: 'a', image: IMG }] };
  const done = reported(never, (d) => [oc(d, 'app', 'a', exited(0))], { meta: { deletionTimestamp: '2026-01-01T00:09:00Z' } });
  assert.equal(summary(done), '0/1 Completed 0');
  const lost = { ...running, status: { ...(running.status as object), reason: 'NodeLost' } };
  assert.equal(summary(lost), '1/1 Unknown 0');
});

// Shapes a Kubernetes kubelet or scheduler writes (edged does not produce them).
const handMade = (status: Record<string, unknown>, spec: Record<string, unknown> = one): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'h', namespace: 'default', creationTimestamp: T0 },
  spec,
  status,
});

test('kubelet shapes: PodInitializing, Signal:N and ExitCode:N without a reason, SchedulingGated, a bare Pending pod', () => {
  const withInit = { initContainers: [{ name: 'i', image: IMG }], containers: [{ name: 'a', image: IMG }] };
  const initializing = handMade(
    {
      phase: 'Pending',
      conditions: [{ type: 'Initialized', status: 'True' }],
      initContainerStatuses: [{ name: 'i', ready: true, restartCount: 0, image: IMG, imageID: '', state: { terminated: { exitCode: 0, reason: 'Completed' } } }],
      containerStatuses: [{ name: 'a', ready: false, restartCount: 0, image: IMG, imageID: '', state: { waiting: { reason: 'PodInitializing' } } }],
    },
    withInit,
  );
  assert.equal(summary(initializing), '0/1 PodInitializing 0');
  const initWaiting = handMade({ phase: 'Pending', initContainerStatuses: [{ name: 'i', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } }] }, withInit);
  assert.equal(summary(initWaiting), '0/1 Init:0/1 0');
  const signal = handMade({ phase: 'Failed', containerStatuses: [{ name: 'a', ready: false, restartCount: 0, state: { terminated: { exitCode: 137, signal: 9 } } }] });
  assert.equal(summary(signal), '0/1 Signal:9 0');
  const code = handMade({ phase: 'Failed', containerStatuses: [{ name: 'a', ready: false, restartCount: 0, state: { terminated: { exitCode: 3 } } }] });
  assert.equal(summary(code), '0/1 ExitCode:3 0');
  const initSignal = handMade({ phase: 'Pending', initContainerStatuses: [{ name: 'i', ready: false, restartCount: 0, state: { terminated: { exitCode: 1, signal: 15 } } }] }, withInit);
  assert.equal(summary(initSignal), '0/1 Init:Signal:15 0');
  const gated = handMade({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] });
  assert.equal(summary(gated), '0/1 SchedulingGated 0');
  assert.equal(summary(handMade({ phase: 'Pending' })), '0/1 Pending 0');
  assert.equal(summary(handMade({ phase: 'Failed', reason: 'Evicted' })), '0/1 Evicted 0');
  // Completed + a ready running container + Ready condition true: Running
  const sidecarDone = handMade(
    {
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [
        { name: 'a', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
        { name: 'b', ready: true, restartCount: 0, state: { running: {} } },
      ],
    },
    two(),
  );
  assert.equal(summary(sidecarDone), '1/2 Running 0');
});

test('-o wide: podIPs first, nominated node, readiness gates counted from conditions; garbage status does not throw', () => {
  const pod = handMade(
    {
      phase: 'Pending',
      podIP: '10.0.0.9',
      podIPs: [{ ip: '10.0.0.7' }],
      nominatedNodeName: 'pi-2',
      conditions: [
        { type: 'example.com/lb', status: 'True' },
        { type: 'example.com/dns', status: 'False' },
      ],
    },
    { ...one, readinessGates: [{ conditionType: 'example.com/lb' }, { conditionType: 'example.com/dns' }] },
  );
  assert.deepEqual(podRow(pod, at()).slice(5), ['10.0.0.7', '<none>', 'pi-2', '1/2']);
  const junk = handMade({ phase: 7, containerStatuses: 'x', initContainerStatuses: [null, 3], conditions: {} } as unknown as Record<string, unknown>, { containers: 'x' });
  // a null init status counts as one still at work, as kubectl reads a zero-value entry
  assert.deepEqual(podRow(junk, at()).slice(1, 4), ['0/0', 'Init:0/0', '0']);
  assert.equal(podRow({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'n' } }, at())[4], '<unknown>');
});
