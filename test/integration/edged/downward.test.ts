/**
 * $(VAR) expansion and the Downward API inside real containers: each field is read back from the
 * running container and compared with what the pod and its reported status say.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pod, startTestNode, waitFor, type TestNode } from './harness.js';

async function exec(n: TestNode, podName: string, command: string[]): Promise<string> {
  const r = (await n.bus.request('edged', { type: 'pod.exec', pod: { namespace: 'default', name: podName }, command })) as { exitCode: number; stdout: string; stderr: string };
  assert.equal(r.exitCode, 0, r.stderr);
  return r.stdout;
}

async function logsOf(n: TestNode, podName: string): Promise<string> {
  const r = (await n.bus.request('edged', { type: 'pod.logs', pod: { namespace: 'default', name: podName } })) as { stream: NodeJS.ReadableStream };
  let text = '';
  for await (const chunk of r.stream) text += String(chunk);
  return text;
}

test("the ConfigMap example of Kubernetes' docs: $(VAR) in command prints \"very charm\"", async (t) => {
  const n = await startTestNode(t);
  if (!n) return;
  n.apply('ConfigMap', 'special-config', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'special-config' }, data: { 'special.how': 'very', 'special.type': 'charm' } });
  n.apply(
    'Pod',
    'dapi-test-pod',
    pod('dapi-test-pod', {
      restartPolicy: 'Never',
      containers: [
        {
          name: 'test-container',
          image: n.image,
          command: ['/bin/echo', '$(SPECIAL_LEVEL_KEY) $(SPECIAL_TYPE_KEY)', '$$(SPECIAL_LEVEL_KEY)', '$(UNDEFINED_KEY)'],
          env: [
            { name: 'SPECIAL_LEVEL_KEY', valueFrom: { configMapKeyRef: { name: 'special-config', key: 'special.how' } } },
            { name: 'SPECIAL_TYPE_KEY', valueFrom: { configMapKeyRef: { name: 'special-config', key: 'special.type' } } },
          ],
        },
      ],
    }),
  );
  await n.waitStatus('dapi-test-pod', (s) => s.phase === 'Succeeded', 'Succeeded');
  assert.equal(await logsOf(n, 'dapi-test-pod'), 'very charm $(SPECIAL_LEVEL_KEY) $(UNDEFINED_KEY)\n');
});

test('each Downward API field, dependent env vars and a downwardAPI volume, read inside the container', async (t) => {
  const n = await startTestNode(t);
  if (!n) return;
  const fieldEnv = (name: string, fieldPath: string) => ({ name, valueFrom: { fieldRef: { fieldPath } } });
  const manifest = pod('dapi', {
      terminationGracePeriodSeconds: 1,
      serviceAccountName: 'reader',
      containers: [
        {
          name: 'main',
          image: n.image,
          command: ['sh', '-c', 'env > /tmp/env; echo "$(MY_POD_NAME) on $(MY_NODE_NAME)" > /tmp/args; exec sleep 1000'],
          resources: { limits: { cpu: '500m', memory: '64Mi' } },
          env: [
            fieldEnv('MY_POD_NAME', 'metadata.name'),
            fieldEnv('MY_POD_NAMESPACE', 'metadata.namespace'),
            fieldEnv('MY_POD_UID', 'metadata.uid'),
            fieldEnv('MY_APP', "metadata.labels['app']"),
            fieldEnv('MY_COMMIT', "metadata.annotations['build/commit']"),
            fieldEnv('MY_NODE_NAME', 'spec.nodeName'),
            fieldEnv('MY_SA', 'spec.serviceAccountName'),
            fieldEnv('MY_POD_IP', 'status.podIP'),
            fieldEnv('MY_HOST_IP', 'status.hostIP'),
            { name: 'MY_CPU_MILLI', valueFrom: { resourceFieldRef: { resource: 'limits.cpu', divisor: '1m' } } },
            { name: 'MY_MEM_MI', valueFrom: { resourceFieldRef: { resource: 'limits.memory', divisor: '1Mi' } } },
            { name: 'MY_URL', value: 'http://$(MY_POD_IP):8080/$(MY_POD_NAME)' },
          ],
          volumeMounts: [{ name: 'podinfo', mountPath: '/etc/podinfo' }],
        },
      ],
      volumes: [
        {
          name: 'podinfo',
          downwardAPI: {
            items: [
              { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
              { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
              { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
              { path: 'cpu_limit', resourceFieldRef: { containerName: 'main', resource: 'limits.cpu', divisor: '1m' } },
            ],
          },
        },
      ],
    });
  Object.assign(manifest.metadata as object, { labels: { app: 'shop', tier: 'front' }, annotations: { 'build/commit': 'c0ffee' } });
  n.apply('Pod', 'dapi', manifest);
  const stored = n.store.resources.get({ kind: 'Pod', namespace: 'default', name: 'dapi' })!;
  const st = await n.waitStatus('dapi', (s) => s.phase === 'Running' && !!s.podIP, 'Running with an IP');
  const env = await waitFor(async () => {
    const text = await exec(n, 'dapi', ['cat', '/tmp/env']).catch(() => '');
    return text.includes('MY_URL=') ? Object.fromEntries(text.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)])) : undefined;
  }, 'the env file');
  const uid = stored.uid;
  assert.deepEqual(
    {
      name: env.MY_POD_NAME,
      ns: env.MY_POD_NAMESPACE,
      uid: env.MY_POD_UID,
      app: env.MY_APP,
      commit: env.MY_COMMIT,
      node: env.MY_NODE_NAME,
      sa: env.MY_SA,
      podIP: env.MY_POD_IP,
      hostIP: env.MY_HOST_IP,
      cpu: env.MY_CPU_MILLI,
      mem: env.MY_MEM_MI,
      url: env.MY_URL,
    },
    {
      name: 'dapi',
      ns: 'default',
      uid,
      app: 'shop',
      commit: 'c0ffee',
      node: n.name,
      sa: 'reader',
      podIP: st.podIP,
      hostIP: st.hostIP,
      cpu: '500',
      mem: '64',
      url: `http://${st.podIP}:8080/dapi`,
    },
  );
  assert.equal(await exec(n, 'dapi', ['cat', '/tmp/args']), `dapi on ${n.name}\n`);
  assert.equal(await exec(n, 'dapi', ['cat', '/etc/podinfo/labels']), 'app="shop"\ntier="front"\n');
  assert.equal(await exec(n, 'dapi', ['cat', '/etc/podinfo/annotations']), 'build/commit="c0ffee"\n');
  assert.equal(await exec(n, 'dapi', ['cat', '/etc/podinfo/name']), 'dapi');
  assert.equal(await exec(n, 'dapi', ['cat', '/etc/podinfo/cpu_limit']), '500');
  // A label change reaches the volume file in place (as in Kubernetes), without a restart.
  const cur = n.store.resources.get({ kind: 'Pod', namespace: 'default', name: 'dapi' })!.spec as { metadata: Record<string, unknown> };
  n.apply('Pod', 'dapi', { ...cur, metadata: { ...cur.metadata, labels: { app: 'shop', tier: 'back' } } });
  await waitFor(async () => ((await exec(n, 'dapi', ['cat', '/etc/podinfo/labels'])) === 'app="shop"\ntier="back"\n' ? true : undefined), 'the labels file updated');
  assert.equal(n.status('dapi')!.containerStatuses[0]!.restartCount, 0);
});

test('nodeSelector: a pod that does not match the node is Failed (NodeAffinity), one that matches runs', async (t) => {
  const n = await startTestNode(t);
  if (!n) return;
  n.apply('Pod', 'elsewhere', pod('elsewhere', { nodeSelector: { 'kubernetes.io/hostname': 'another-node' }, containers: [{ name: 'main', image: n.image, command: ['sleep', '1000'] }] }));
  n.apply('Pod', 'here', pod('here', { terminationGracePeriodSeconds: 1, nodeSelector: { 'kubernetes.io/hostname': n.name, 'kubernetes.io/os': 'linux' }, containers: [{ name: 'main', image: n.image, command: ['sleep', '1000'] }] }));
  const st = await n.waitStatus('elsewhere', (s) => s.phase === 'Failed', 'Failed');
  assert.equal(st.reason, 'NodeAffinity');
  await n.waitStatus('here', (s) => s.phase === 'Running', 'Running');
  assert.equal((await n.containers(['io.edgecore.pod.name=elsewhere'])).length, 0);
});
