/** Bad specs are refused with the field path and nothing is created; static pod files. */
import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { pod, startTestNode, waitFor } from './harness.js';

test('bad pod specs are refused with the field path, and nothing is created', async (t) => {
  const n = await startTestNode(t);
  if (!n) return;
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['unknown-field', { containers: [{ name: 'a', image: n.image, lifecycle: { preStop: {} } }] }, /spec\.containers\[0\]\.lifecycle: unknown field/],
    ['no-volume', { containers: [{ name: 'a', image: n.image, volumeMounts: [{ name: 'data', mountPath: '/data' }] }] }, /spec\.containers\[0\]\.volumeMounts\[0\]\.name: no volume named "data"/],
    ['two-probes', { containers: [{ name: 'a', image: n.image, livenessProbe: { exec: { command: ['true'] }, tcpSocket: { port: 1 } } }] }, /spec\.containers\[0\]\.livenessProbe: exactly one of/],
    ['bad-policy', { restartPolicy: 'Sometimes', containers: [{ name: 'a', image: n.image }] }, /spec\.restartPolicy/],
  ];
  for (const [name, spec] of bad) n.apply('Pod', name, pod(name, spec));
  n.apply('Pod', 'good', pod('good', { terminationGracePeriodSeconds: 1, containers: [{ name: 'a', image: n.image, command: ['sleep', '1000'] }] }));
  await n.waitStatus('good', (s) => s.phase === 'Running', 'Running');
  for (const [name, , why] of bad) {
    const st = await n.waitStatus(name, (s) => s.reason === 'InvalidSpec', 'InvalidSpec');
    assert.equal(st.phase, 'Failed');
    assert.match(st.message ?? '', why);
  }
  const pods = new Set((await n.containers()).map((c) => c.Labels['io.edgecore.pod.name']));
  assert.deepEqual([...pods], ['good']);
  // Upstream too: the refusal is queued for the relay.
  const queued = n.store.outbox.peek(100).map((e) => JSON.parse(e.payload.toString()) as { name: string; status: { reason?: string } });
  assert.ok(queued.some((q) => q.name === 'unknown-field' && q.status.reason === 'InvalidSpec'));
});

test('static pods: files in staticPodPath run; a bad file is refused; removing a file removes its pod', async (t) => {
  const dir = join(process.env.TMPDIR ?? '/tmp', `edged-static-${process.pid}-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const docker = await import('../../helpers/docker.js');
  const image = docker.TEST_IMAGE;
  writeFileSync(
    join(dir, 'web.yaml'),
    `apiVersion: v1
kind: ConfigMap
metadata: {name: web-conf}
data: {greeting: hello-static}
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ${image}
    command: [sh, -c, 'echo $GREETING; exec sleep 1000']
    env:
    - name: GREETING
      valueFrom: {configMapKeyRef: {name: web-conf, key: greeting}}
`,
  );
  writeFileSync(join(dir, 'broken.yaml'), `apiVersion: v1\nkind: Pod\nmetadata: {name: broken}\nspec:\n  containers:\n  - name: main\n    image: ${image}\n    hostIPC: true\n`);
  const n = await startTestNode(t, { staticPodPath: dir, staticPodScanSeconds: 1 });
  if (!n) return;
  const st = await n.waitStatus('web', (s) => s.phase === 'Running', 'Running');
  assert.equal(st.containerStatuses[0]!.name, 'main');
  assert.equal(n.store.resources.get({ kind: 'Pod', namespace: 'default', name: 'web' })?.origin, 'static');
  assert.equal(n.store.resources.get({ kind: 'Pod', namespace: 'default', name: 'broken' }), undefined);
  const logs = (await n.bus.request('edged', { type: 'pod.logs', pod: { namespace: 'default', name: 'web' }, tail: 10 })) as { stream: NodeJS.ReadableStream };
  let text = '';
  for await (const c of logs.stream) text += String(c);
  assert.equal(text, 'hello-static\n');
  rmSync(join(dir, 'web.yaml'));
  await waitFor(async () => ((await n.containers()).length === 0 ? true : undefined), 'static pod removed with its file');
  assert.equal(n.store.resources.get({ kind: 'Pod', namespace: 'default', name: 'web' }), undefined);
});
