/** Container hashes: what decides whether a running container is replaced. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../../src/contract/kube/types.js';
import { parsePod } from '../../../src/contract/resources/pod.js';
import { containerHash } from '../../../src/modules/edged/desired.js';
import { defaultPod } from '../../../src/relay/kinds/pod.js';

const PODS = {
  hello: { containers: [{ name: 'hello', image: 'edgecore-test/busybox:1', imagePullPolicy: 'Never', command: ['sh', '-c', 'echo hi'] }] },
  web: {
    hostNetwork: true,
    containers: [
      { name: 'web', image: 'nginx:1.25', ports: [{ containerPort: 80 }], resources: { limits: { cpu: '500m', memory: '64Mi' } }, livenessProbe: { httpGet: { port: 80 } }, readinessProbe: { tcpSocket: { port: 80 } } },
      { name: 'side', image: 'busybox:1', command: ['sleep', '1d'] },
    ],
  },
  two: {
    containers: [
      { name: 'a', image: 'busybox:1', ports: [{ containerPort: 8080, name: 'http' }], command: ['sleep', '1d'] },
      { name: 'b', image: 'busybox:1', command: ['sleep', '1d'], volumeMounts: [{ name: 'data', mountPath: '/d' }] },
    ],
    volumes: [{ name: 'data', emptyDir: {} }, { name: 'hp', hostPath: { path: '/tmp' } }],
  },
  latest: { containers: [{ name: 'a', image: 'busybox', resources: { limits: { memory: '32Mi' }, requests: { cpu: '100m' } } }] },
} as const;

const manifest = (name: string, spec: object): KubeObject => structuredClone({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec }) as KubeObject;

function hashes(m: KubeObject): Record<string, string> {
  const pod = parsePod(m);
  return Object.fromEntries(pod.spec.containers.map((c) => [c.name, containerHash(pod, c)]));
}

test('container hashes are those the previous version computed: an upgrade replaces no container', () => {
  // computed by edged before $(VAR), the Downward API and single-container pods (lead at c092d61..022c253)
  assert.deepEqual(hashes(manifest('hello', PODS.hello)), { hello: 'ef539460b7808eb5' });
  assert.deepEqual(hashes(manifest('web', PODS.web)), { web: '0b953b7da155240c', side: 'ed63773d0cd4a87c' });
  assert.deepEqual(hashes(manifest('two', PODS.two)), { a: '2e0d9969db30ae0d', b: '23bc98efee967de1' });
});

test("the relay's defaults (kubectl's pods) do not change a container's hash; a real change does", () => {
  for (const [name, spec] of Object.entries(PODS)) {
    const plain = manifest(name, spec);
    const defaulted = manifest(name, spec);
    defaultPod(defaulted);
    assert.notDeepEqual(defaulted.spec, plain.spec, `${name}: the relay filled something in`);
    assert.deepEqual(hashes(defaulted), hashes(plain), name);
  }
  const changed = manifest('latest', { containers: [{ ...PODS.latest.containers[0], imagePullPolicy: 'IfNotPresent' }] });
  assert.notDeepEqual(hashes(changed), hashes(manifest('latest', PODS.latest)), 'a pull policy other than the default is a change');
  const requests = manifest('web', { ...PODS.web, containers: [{ ...PODS.web.containers[0], resources: { limits: { cpu: '500m' }, requests: { cpu: '250m' } } }, PODS.web.containers[1]] });
  assert.notDeepEqual(hashes(requests).web, hashes(manifest('web', PODS.web)).web, 'requests below the limits are a change');
  const port = manifest('web', { ...PODS.web, containers: [{ ...PODS.web.containers[0], ports: [{ containerPort: 80, hostPort: 80 }] }, PODS.web.containers[1]] });
  assert.equal(hashes(port).web, hashes(manifest('web', PODS.web)).web, "a hostNetwork port's hostPort equal to its containerPort is the default");
});
