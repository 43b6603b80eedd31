/** edged against the real Docker engine: networking, restart policies, probes. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pod, startTestNode, waitFor } from './harness.js';

test('two containers of a pod talk over localhost; pod gets an IP and Ready', async (t) => {
  const n = await startTestNode(t);
  if (!n) return;
  n.apply(
    'Pod',
    'duo',
    pod('duo', {
      terminationGracePeriodSeconds: 1,
      containers: [
        { name: 'web', image: n.image, command: ['sh', '-c', 'mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 8080 -h /www'] },
        { name: 'client', image: n.image, command: ['sh', '-c', 'while :; do wget -q -O - http://127.0.0.1:8080/ > /tmp/got 2>/dev/null && cat /tmp/got; sleep 0.3; done'] },
      ],
    }),
  );
  const st = await n.waitStatus('duo', (s) => s.phase === 'Running' && s.conditions.some((c) => c.type === 'Ready' && c.status === 'True'), 'Running and Ready');
  assert.match(st.podIP ?? '', /^\d+\.\d+\.\d+\.\d+$/);
  assert.equal(st.containerStatuses.length, 2);
  const r = await waitFor(async () => {
    const out = (await n.bus.request('edged', { type: 'pod.exec', pod: { namespace: 'default', name: 'duo', container: 'client' }, command: ['cat', '/tmp/got'] })) as { exitCode: number; stdout: string };
    return out.exitCode === 0 && out.stdout.includes('hello-from-web') ? out : undefined;
  }, 'client to fetch from web over localhost');
  assert.match(r.stdout, /hello-from-web/);
  // Exactly one sandbox and two app containers, all ours.
  const list = await n.containers();
  assert.equal(list.length, 3);
  assert.equal(list.filter((c) => c.Labels['io.edgecore.role'] === 'sandbox').length, 1);
  // Deleting the pod leaves nothing behind.
  n.remove('Pod', 'duo');
  await waitFor(async () => ((await n.containers()).length === 0 ? true : undefined), 'containers removed');
});

const run = (image: string, script: string, extra: Record<string, unknown> = {}) => ({ name: 'main', image, command: ['sh', '-c', script], ...extra });

test('restartPolicy Always restarts with CrashLoopBackOff and counts restarts', async (t) => {
  const n = await startTestNode(t);
  if (!n) return;
  n.apply('Pod', 'always', pod('always', { terminationGracePeriodSeconds: 1, containers: [run(n.image, 'echo run; exit 0')] }));
  const st = await n.waitStatus('always', (s) => (s.containerStatuses[0]?.restartCount ?? 0) >= 2, 'two restarts');
  assert.equal(st.phase, 'Running');
  await n.waitStatus('always', (s) => (s.containerStatuses[0]?.state as { waiting?: { reason: string } } | undefined)?.waiting?.reason === 'CrashLoopBackOff', 'CrashLoopBackOff');
  // The previous run is kept for lastState and `previous` logs; older ones are removed.
  const mains = (await n.containers()).filter((c) => c.Labels['io.edgecore.container'] === 'main');
  assert.ok(mains.length <= 2, `at most current + previous attempt, got ${mains.length}`);
});

test('restartPolicy OnFailure restarts failures and completes on success', async (t) => {
  const n = await startTestNode(t);
  if (!n) return;
  n.apply('Pod', 'flaky', pod('flaky', { restartPolicy: 'OnFailure', containers: [run(n.image, 'exit 3')] }));
  n.apply('Pod', 'done', pod('done', { restartPolicy: 'OnFailure', containers: [run(n.image, 'exit 0')] }));
  const flaky = await n.waitStatus('flaky', (s) => (s.containerStatuses[0]?.restartCount ?? 0) >= 1, 'a restart');
  assert.equal((flaky.containerStatuses[0]!.lastState as { terminated?: { exitCode: number } }).terminated?.exitCode, 3);
  const done = await n.waitStatus('done', (s) => s.phase === 'Succeeded', 'Succeeded');
  assert.equal(done.containerStatuses[0]!.restartCount, 0);
  assert.equal((done.containerStatuses[0]!.state as { terminated?: { reason: string } }).terminated?.reason, 'Completed');
});

test('restartPolicy Never leaves a failed container terminated and the pod Failed', async (t) => {
  const n = await startTestNode(t);
  if (!n) return;
  n.apply('Pod', 'once', pod('once', { restartPolicy: 'Never', containers: [run(n.image, 'echo bye; exit 7')] }));
  const st = await n.waitStatus('once', (s) => s.phase === 'Failed', 'Failed');
  const term = (st.containerStatuses[0]!.state as { terminated?: { exitCode: number; reason: string } }).terminated;
  assert.deepEqual([term?.exitCode, term?.reason], [7, 'Error']);
  assert.equal(st.containerStatuses[0]!.restartCount, 0);
  // Logs of the finished container are still there.
  const logs = (await n.bus.request('edged', { type: 'pod.logs', pod: { namespace: 'default', name: 'once' } })) as { stream: NodeJS.ReadableStream };
  let text = '';
  for await (const chunk of logs.stream) text += String(chunk);
  assert.equal(text, 'bye\n');
});

test('init containers run to completion in order before the app starts', async (t) => {
  const n = await startTestNode(t);
  if (!n) return;
  n.apply(
    'Pod',
    'inits',
    pod('inits', {
      volumes: [{ name: 'work', emptyDir: {} }],
      initContainers: [
        { name: 'first', image: n.image, command: ['sh', '-c', 'echo one >> /work/order'], volumeMounts: [{ name: 'work', mountPath: '/work' }] },
        { name: 'second', image: n.image, command: ['sh', '-c', 'echo two >> /work/order'], volumeMounts: [{ name: 'work', mountPath: '/work' }] },
      ],
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'app', image: n.image, command: ['sh', '-c', 'echo app >> /work/order; exec sleep 1000'], volumeMounts: [{ name: 'work', mountPath: '/work' }] }],
    }),
  );
  const st = await n.waitStatus('inits', (s) => s.phase === 'Running' && s.containerStatuses[0]?.ready === true, 'Running');
  assert.deepEqual(st.initContainerStatuses?.map((s) => s.ready), [true, true]);
  const out = (await n.bus.request('edged', { type: 'pod.exec', pod: { namespace: 'default', name: 'inits' }, command: ['cat', '/work/order'] })) as { stdout: string };
  assert.equal(out.stdout, 'one\ntwo\napp\n');
});

test('a failing liveness probe restarts the container', async (t) => {
  const n = await startTestNode(t);
  if (!n) return;
  n.apply(
    'Pod',
    'live',
    pod('live', {
      terminationGracePeriodSeconds: 1,
      containers: [
        run(n.image, 'touch /tmp/healthy; sleep 2; rm /tmp/healthy; exec sleep 1000', {
          livenessProbe: { exec: { command: ['test', '-f', '/tmp/healthy'] }, periodSeconds: 1, failureThreshold: 2 },
        }),
      ],
    }),
  );
  const st = await n.waitStatus('live', (s) => (s.containerStatuses[0]?.restartCount ?? 0) >= 1, 'a liveness restart');
  assert.ok('terminated' in st.containerStatuses[0]!.lastState);
});

test('a readiness probe (httpGet) flips Ready both ways', async (t) => {
  const n = await startTestNode(t);
  if (!n) return;
  n.apply(
    'Pod',
    'ready',
    pod('ready', {
      terminationGracePeriodSeconds: 1,
      containers: [
        run(n.image, 'mkdir -p /www && exec httpd -f -p 8080 -h /www', {
          ports: [{ name: 'http', containerPort: 8080 }],
          readinessProbe: { httpGet: { path: '/ready', port: 'http' }, periodSeconds: 1, failureThreshold: 1 },
        }),
      ],
    }),
  );
  const isReady = (s: { conditions: { type: string; status: string }[] }): boolean => s.conditions.some((c) => c.type === 'Ready' && c.status === 'True');
  const first = await n.waitStatus('ready', (s) => s.phase === 'Running', 'Running');
  assert.equal(isReady(first), false);
  const exec = (cmd: string) => n.bus.request('edged', { type: 'pod.exec', pod: { namespace: 'default', name: 'ready' }, command: ['sh', '-c', cmd] });
  await exec('echo ok > /www/ready');
  await n.waitStatus('ready', isReady, 'Ready=True');
  await exec('rm /www/ready');
  await n.waitStatus('ready', (s) => !isReady(s), 'Ready=False');
});

test('logs: tail, follow and previous over the bus', async (t) => {
  const n = await startTestNode(t);
  if (!n) return;
  n.apply(
    'Pod',
    'talky',
    pod('talky', {
      terminationGracePeriodSeconds: 1,
      containers: [run(n.image, 'echo start-$(cat /proc/sys/kernel/random/uuid | cut -c1-4); i=0; while [ $i -lt 3 ]; do echo line$i; i=$((i+1)); done; sleep 1; exit 1')],
    }),
  );
  await n.waitStatus('talky', (s) => (s.containerStatuses[0]?.restartCount ?? 0) >= 1, 'a restart');
  const read = async (msg: Record<string, unknown>): Promise<string> => {
    const r = (await n.bus.request('edged', { type: 'pod.logs', pod: { namespace: 'default', name: 'talky' }, ...msg } as never)) as { stream: NodeJS.ReadableStream };
    let text = '';
    for await (const c of r.stream) text += String(c);
    return text;
  };
  assert.match(await read({ previous: true }), /^start-\w+\nline0\nline1\nline2\n$/);
  // follow: lines arrive while the container runs; the stream ends when it exits.
  const f = (await n.bus.request('edged', { type: 'pod.logs', pod: { namespace: 'default', name: 'talky' }, follow: true, tail: 1 })) as { stream: NodeJS.ReadableStream };
  let followed = '';
  for await (const c of f.stream) followed += String(c);
  assert.match(followed, /line2\n$/);
  assert.ok(followed.split('\n').filter(Boolean).length <= 4);
  const tail = await read({ previous: true, tail: 2 });
  assert.equal(tail, 'line1\nline2\n');
  await assert.rejects(n.bus.request('edged', { type: 'pod.logs', pod: { namespace: 'default', name: 'nope' } }), /pod default\/nope not found/);
});

// Docker 20.10 emits `die` before its container list says so (the list still reads "running" for a
// moment; the container's inspect already says "exited"). The pass that event starts must still see
// the exit: before, it was seen only at the next periodic resync (60 s by default), so a Job's pod
// that ran for 2 s read Running for a minute and a crashed container waited as long for its restart.
// The harness's resync is an hour, so nothing but the event can reveal the exit.
test('a container that exits is seen through its die event, not at the next resync', async (t) => {
  const n = await startTestNode(t);
  if (!n) return;
  n.apply('Pod', 'brief', pod('brief', { restartPolicy: 'Never', containers: [run(n.image, 'sleep 1; exit 0')] }));
  n.apply('Pod', 'crashy', pod('crashy', { restartPolicy: 'Always', containers: [run(n.image, 'sleep 1; exit 1')] }));
  // the timeouts only bound a failure: with the bug both waited for the resync
  const brief = await n.waitStatus('brief', (s) => s.phase === 'Succeeded', 'Succeeded', 30_000);
  assert.equal((brief.containerStatuses[0]!.state as { terminated?: { reason: string } }).terminated?.reason, 'Completed');
  const crashy = await n.waitStatus('crashy', (s) => (s.containerStatuses[0]?.restartCount ?? 0) >= 1, 'a restart after the crash', 30_000);
  assert.equal((crashy.containerStatuses[0]!.lastState as { terminated?: { exitCode: number } }).terminated?.exitCode, 1);
});
