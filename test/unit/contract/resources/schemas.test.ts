/** Pod/ConfigMap/Secret subset schemas: accepted shapes, defaults, and refusals with field paths. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cpuToNano, memoryToBytes } from '../../../../src/contract/resources/common.js';
import { configMapFiles, parseConfigMap } from '../../../../src/contract/resources/configmap.js';
import { parseStored } from '../../../../src/contract/resources/kinds.js';
import { parsePod, pullPolicyOf } from '../../../../src/contract/resources/pod.js';
import { dockerConfigAuths, parseSecret, secretFiles } from '../../../../src/contract/resources/secret.js';
import { isValidationError } from '../../../../src/core/errors.js';

const c = (extra: Record<string, unknown> = {}) => ({ name: 'app', image: 'busybox:1', ...extra });
const podWith = (spec: Record<string, unknown>, meta: Record<string, unknown> = { name: 'p' }) => ({ apiVersion: 'v1', kind: 'Pod', metadata: meta, spec });

function issues(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    assert.ok(isValidationError(e), `expected a ValidationError, got ${String(e)}`);
    return e.issues.map((i) => `${i.path}: ${i.reason}`);
  }
  assert.fail('expected a refusal');
}

test('a full supported pod parses with Kubernetes defaults', () => {
  const p = parsePod(
    podWith({
      hostNetwork: false,
      volumes: [
        { name: 'cfg', configMap: { name: 'cm', items: [{ key: 'a', path: 'x/a', mode: 0o600 }] } },
        { name: 'sec', secret: { secretName: 's' } },
        { name: 'scratch', emptyDir: {} },
        { name: 'host', hostPath: { path: '/srv', type: 'DirectoryOrCreate' } },
        { name: 'tty', hostPath: { path: '/dev/ttyUSB0', type: 'CharDevice' } },
      ],
      initContainers: [c({ name: 'init' })],
      containers: [
        c({
          command: ['sh'],
          args: ['-c', 'true'],
          workingDir: '/srv',
          env: [{ name: 'A', value: '1' }, { name: 'B', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }],
          envFrom: [{ prefix: 'X_', configMapRef: { name: 'cm' } }],
          ports: [{ name: 'http', containerPort: 80, hostPort: 8080 }],
          resources: { limits: { cpu: '500m', memory: '64Mi' } },
          volumeMounts: [{ name: 'cfg', mountPath: '/etc/cfg', readOnly: true }, { name: 'tty', mountPath: '/dev/ttyUSB0' }],
          livenessProbe: { tcpSocket: { port: 'http' } },
          readinessProbe: { httpGet: { path: '/ready', port: 80 } },
          startupProbe: { exec: { command: ['true'] }, failureThreshold: 30 },
          securityContext: { runAsUser: 1000, privileged: false },
        }),
      ],
    }),
  );
  assert.equal(p.metadata.namespace, 'default');
  assert.equal(p.spec.restartPolicy, 'Always');
  assert.equal(p.spec.terminationGracePeriodSeconds, 30);
  assert.equal(p.spec.containers[0]!.livenessProbe!.periodSeconds, 10);
  assert.equal(p.spec.containers[0]!.ports![0]!.protocol, 'TCP');
  assert.equal(p.spec.volumes![1]!.secret!.defaultMode, 0o644);
});

test('unsupported and bad fields are refused with their paths', () => {
  const cases: [unknown, string][] = [
    [podWith({ containers: [c({ lifecycle: {} })] }), 'spec.containers[0].lifecycle: unknown field'],
    [podWith({ runtimeClassName: 'kata', containers: [c()] }), 'spec.runtimeClassName: unknown field'],
    [podWith({ affinity: { podAntiAffinity: {} }, containers: [c()] }), 'spec.affinity.podAntiAffinity: unknown field'],
    [podWith({ resourceClaims: [], containers: [c()] }), 'spec.resourceClaims: unknown field'],
    [podWith({ containers: [] }), 'spec.containers: at least one container'],
    [podWith({ containers: [c({ image: '' })] }), 'spec.containers[0].image: is required'],
    [podWith({ containers: [c({ livenessProbe: { periodSeconds: 1 } })] }), 'spec.containers[0].livenessProbe: exactly one of exec, httpGet or tcpSocket'],
    [podWith({ containers: [c({ volumeMounts: [{ name: 'v', mountPath: '/m' }] })] }), 'spec.containers[0].volumeMounts[0].name: no volume named "v"'],
    [podWith({ containers: [c({ resources: { limits: { cpu: 'lots' } } })] }), 'spec.containers[0].resources.limits.cpu: must be a positive CPU quantity like 500m or 1.5'],
    [podWith({ containers: [c(), c()] }), 'spec.containers[1].name: duplicate container name "app"'],
    [podWith({ restartPolicy: 'Sometimes', containers: [c()] }), 'spec.restartPolicy'],
    [podWith({ volumes: [{ name: 'v', emptyDir: {}, hostPath: { path: '/x' } }], containers: [c()] }), 'spec.volumes[0]: exactly one of hostPath, emptyDir, configMap, secret or downwardAPI'],
    [podWith({ volumes: [{ name: 'v', hostPath: { path: 'rel' } }], containers: [c()] }), 'spec.volumes[0].hostPath.path: must be an absolute path'],
    [podWith({ initContainers: [c({ name: 'i', readinessProbe: { exec: { command: ['x'] } } })], containers: [c()] }), 'spec.initContainers[0].readinessProbe: not allowed on init containers'],
    [podWith({ containers: [c({ env: [{ name: 'A', value: 'x', valueFrom: { configMapKeyRef: { name: 'a', key: 'b' } } }] })] }), 'spec.containers[0].env[0].valueFrom: cannot be set together with value'],
    [podWith({ containers: [c({ ports: [{ containerPort: 70000 }] })] }), 'spec.containers[0].ports[0].containerPort'],
    [podWith({ containers: [c({ volumeMounts: [{ name: 'v', mountPath: '/m', subPath: '../etc' }] })], volumes: [{ name: 'v', emptyDir: {} }] }), 'spec.containers[0].volumeMounts[0].subPath: must be a relative path without ..'],
    [podWith({ containers: [c()] }, { name: 'Bad_Name' }), 'metadata.name'],
    [{ ...podWith({ containers: [c()] }), kind: 'Deployment' }, 'kind'],
  ];
  for (const [value, want] of cases) {
    const got = issues(() => parsePod(value));
    assert.ok(got.some((g) => g.startsWith(want)), `want "${want}", got ${JSON.stringify(got)}`);
  }
});

test('a stored pod is its whole manifest, named by its key (a bare PodSpec is refused)', () => {
  const key = { kind: 'Pod', namespace: 'default', name: 'p' };
  assert.equal(parseStored(parsePod, podWith({ containers: [c()] }), key).metadata.name, 'p');
  assert.deepEqual(issues(() => parseStored(parsePod, podWith({ containers: [c()] }, { name: 'other' }), key)), ['metadata.name: must be "p" (the object\'s key)']);
  assert.deepEqual(issues(() => parseStored(parsePod, podWith({ containers: [c()] }, { name: 'p', namespace: 'ns1' }), key)), [
    'metadata.namespace: must be "default" (the object\'s key)',
  ]);
  assert.ok(issues(() => parseStored(parsePod, { containers: [c()] }, key)).some((i) => i.startsWith('containers: unknown field')));
});

test('pull policy defaults follow Kubernetes', () => {
  assert.equal(pullPolicyOf(c({ image: 'nginx' })), 'Always');
  assert.equal(pullPolicyOf(c({ image: 'nginx:latest' })), 'Always');
  assert.equal(pullPolicyOf(c({ image: 'registry.local:5000/app:1.2' })), 'IfNotPresent');
  assert.equal(pullPolicyOf(c({ image: 'registry.local:5000/app' })), 'Always');
  assert.equal(pullPolicyOf(c({ image: 'nginx', imagePullPolicy: 'Never' })), 'Never');
});

test('quantities', () => {
  assert.equal(cpuToNano('500m'), 5e8);
  assert.equal(cpuToNano(2), 2e9);
  assert.equal(cpuToNano('x'), undefined);
  assert.equal(memoryToBytes('64Mi'), 64 * 1024 * 1024);
  assert.equal(memoryToBytes('1G'), 1e9);
  assert.equal(memoryToBytes('1Zi'), undefined);
});

test('ConfigMap and Secret: files, decoding, refusals, dockerconfigjson auths', () => {
  const cm = parseConfigMap({ metadata: { name: 'cm' }, data: { 'a.txt': 'hi' }, binaryData: { 'b.bin': Buffer.from([1, 2]).toString('base64') } });
  assert.deepEqual([...configMapFiles(cm)].map(([k, v]) => [k, [...v]]), [['a.txt', [104, 105]], ['b.bin', [1, 2]]]);
  assert.deepEqual(issues(() => parseConfigMap({ metadata: { name: 'cm' }, data: { 'bad/key': 'x' } })), ['data.bad/key: must be letters, digits, -, _ or .']);
  assert.ok(issues(() => parseConfigMap({ metadata: { name: 'cm' }, data: {}, extra: 1 })).includes('extra: unknown field'));

  const s = parseSecret({ metadata: { name: 's' }, data: { a: Buffer.from('x').toString('base64') }, stringData: { b: 'y' } });
  assert.deepEqual([...secretFiles(s)].map(([k, v]) => [k, v.toString()]), [['a', 'x'], ['b', 'y']]);
  assert.ok(issues(() => parseSecret({ metadata: { name: 's' }, data: { a: 'not base64!' } })).includes('data.a: must be base64'));
  assert.deepEqual(issues(() => parseSecret({ metadata: { name: 's' }, type: 'kubernetes.io/dockerconfigjson', data: {} })), [
    'data..dockerconfigjson: required for type kubernetes.io/dockerconfigjson',
  ]);
  const cfg = { auths: { 'registry.local:5000': { auth: Buffer.from('me:pw').toString('base64') } } };
  const pull = parseSecret({ metadata: { name: 'pull' }, type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': JSON.stringify(cfg) } });
  assert.deepEqual(dockerConfigAuths(pull).get('registry.local:5000'), { serveraddress: 'registry.local:5000', username: 'me', password: 'pw' });
});
