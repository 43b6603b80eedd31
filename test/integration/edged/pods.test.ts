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
