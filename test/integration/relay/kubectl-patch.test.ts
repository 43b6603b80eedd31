/**
 * The real kubectl (1.32, pinned) against the relay's OpenAPI documents and patch/apply modules,
 * served by a fake API server (fake-apiserver.ts) until the real machinery lands: explain, apply
 * (create / configured / unchanged), server-side apply with a conflict and --force-conflicts, edit,
 * patch of each type, strict field validation, and a device (merge patch: a custom kind).
 * Asserts what the user sees and what kubectl sent.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import type { KubeObject } from '../../../src/contract/kube/types.js';
import { DEVICE_SCHEMA_NAMES } from '../../../src/relay/openapi/index.js';
import { tmpDir } from '../../helpers/tmp.js';
import { FakeApiServer, resource } from './fake-apiserver.js';

const KUBECTL = '/usr/lib/google-cloud-sdk/bin/kubectl.1.32';

interface Container { name: string; image?: string; ports?: unknown; env?: unknown }
type DeploymentSpec = { replicas?: number; template: { spec: { containers: Container[] } } };
const deploySpec = (o: KubeObject | undefined) => o!.spec as DeploymentSpec;

const RESOURCES = [
  resource('', 'v1', 'Pod', 'pods', { shortNames: ['po'], schemaName: 'io.k8s.api.core.v1.Pod', subresources: ['status'] }),
  resource('', 'v1', 'ConfigMap', 'configmaps', { shortNames: ['cm'], schemaName: 'io.k8s.api.core.v1.ConfigMap' }),
  resource('apps', 'v1', 'Deployment', 'deployments', { shortNames: ['deploy'], schemaName: 'io.k8s.api.apps.v1.Deployment', subresources: ['status', 'scale'] }),
  resource('devices.kubeedge.io', 'v1beta1', 'Device', 'devices', { shortNames: ['dev'], schemaName: DEVICE_SCHEMA_NAMES.Device }),
];

async function setup(t: TestContext, binary = KUBECTL) {
  const dir = tmpDir(t, 'kube-patch-');
  const api = new FakeApiServer(RESOURCES);
  const server = await api.start();
  t.after(() => api.stop());
  // asynchronous: the fake server answers from this same process
  const kubectl = (args: string[], env: Record<string, string> = {}) =>
    new Promise<{ code: number; out: string; err: string }>((resolve) => {
      execFile(binary, ['--server', server, '--cache-dir', join(dir, 'cache'), '-n', 'default', ...args], { encoding: 'utf8', env: { ...process.env, KUBECONFIG: join(dir, 'none'), ...env }, timeout: 60_000 }, (e, out, err) =>
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, out, err }),
      );
    });
  const file = (name: string, text: string) => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };
  return { api, kubectl, file, dir };
}

const deployment = (image: string, ports: string, env = '') => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: app
        image: ${image}
        ports: [${ports}]${env}
      - name: side
        image: busybox
`;

test('kubectl explain reads the built-in and device schemas from the OpenAPI v3 documents', { skip: !existsSync(KUBECTL) && 'no kubectl 1.32' }, async (t) => {
  const { kubectl } = await setup(t);
  const pod = await kubectl(['explain', 'pod.spec.containers']);
  assert.equal(pod.code, 0, pod.err);
  assert.match(pod.out, /KIND:\s+Pod/);
  assert.match(pod.out, /FIELD:\s+containers <\[\]Container>/);
  assert.match(pod.out, /imagePullPolicy\s+<string>/);
  const dev = await kubectl(['explain', 'device.spec.deviceModelRef']);
  assert.equal(dev.code, 0, dev.err);
  assert.match(dev.out, /GROUP:\s+devices\.kubeedge\.io/);
  assert.match(dev.out, /name\s+<string> -required-/);
});

test('kubectl 1.30 and 1.33 read the documents too (explain, then create with server-side validation)', async (t) => {
  for (const minor of [30, 33]) {
    const bin = `/usr/lib/google-cloud-sdk/bin/kubectl.1.${minor}`;
    if (!existsSync(bin)) continue;
    const { api, kubectl, file } = await setup(t, bin);
    const explain = await kubectl(['explain', 'pod.spec.containers.ports']);
    assert.equal(explain.code, 0, `1.${minor}: ${explain.err}`);
    assert.match(explain.out, /containerPort\s+<integer> -required-/, `1.${minor}`);
    const created = await kubectl(['apply', '-f', file('cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: "1"}\n')]);
    assert.equal(created.out.trim(), 'configmap/c created', `1.${minor}: ${created.err}`);
    assert.match(api.requests.find((r) => r.method === 'POST')!.url, /fieldValidation=Strict/, `1.${minor}`);
  }
});

test('kubectl 1.27 wants OpenAPI v2 (protobuf) for explain and for apply\'s validation; with --validate=false it applies', { skip: !existsSync('/usr/lib/google-cloud-sdk/bin/kubectl.1.27') && 'no kubectl 1.27' }, async (t) => {
  const { api, kubectl, file } = await setup(t, '/usr/lib/google-cloud-sdk/bin/kubectl.1.27');
  const cm = file('cm.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: "1"}\n');
  const strict = await kubectl(['apply', '-f', cm]);
  assert.notEqual(strict.code, 0);
  assert.ok(api.requests.some((r) => r.url.startsWith('/openapi/v2')), 'it asked for OpenAPI v2');
  const created = await kubectl(['apply', '--validate=false', '-f', cm]);
  assert.equal(created.out.trim(), 'configmap/c created', created.err);
});

test('kubectl apply: created, configured through a strategic merge patch, unchanged; edit and patch', { skip: !existsSync(KUBECTL) && 'no kubectl 1.32' }, async (t) => {
  const { api, kubectl, file, dir } = await setup(t);
  const created = await kubectl(['apply', '-f', file('d1.yaml', deployment('nginx:1.25', '{containerPort: 80}, {containerPort: 443}'))]);
  assert.equal(created.code, 0, created.err);
  assert.equal(created.out.trim(), 'deployment.apps/web created');
  const post = api.requests.find((r) => r.method === 'POST')!;
  assert.match(post.url, /fieldManager=kubectl-client-side-apply/);
  assert.match(post.url, /fieldValidation=Strict/, 'the documents moved validation to the server');

  const file2 = file('d2.yaml', deployment('nginx:1.26', '{containerPort: 80}', '\n        env: [{name: A, value: "1"}]'));
  const configured = await kubectl(['apply', '-f', file2]);
  assert.equal(configured.code, 0, configured.err);
  assert.equal(configured.out.trim(), 'deployment.apps/web configured');
  const patch = api.requests.filter((r) => r.method === 'PATCH').at(-1)!;
  assert.equal(patch.contentType, 'application/strategic-merge-patch+json');
  assert.ok(JSON.stringify(patch.body).includes('$setElementOrder/containers'), JSON.stringify(patch.body));
  const live = api.objects.get('deployments/default/web')!;
  const app = deploySpec(live).template.spec.containers[0]!;
  assert.deepEqual([app.name, app.image, app.ports, app.env], ['app', 'nginx:1.26', [{ containerPort: 80 }], [{ name: 'A', value: '1' }]]);
  assert.equal(deploySpec(live).template.spec.containers[1]!.name, 'side');
  assert.equal((await kubectl(['apply', '-f', file2])).out.trim(), 'deployment.apps/web unchanged');

  // edit: the editor changes the image; kubectl sends a strategic merge patch as kubectl-edit
  const editor = join(dir, 'editor.sh');
  writeFileSync(editor, '#!/bin/sh\nsed -i "s/nginx:1.26/nginx:1.27/" "$1"\n');
  chmodSync(editor, 0o755);
  const edited = await kubectl(['edit', 'deployment/web'], { EDITOR: editor, KUBE_EDITOR: editor });
  assert.equal(edited.code, 0, edited.err);
  assert.equal(edited.out.trim(), 'deployment.apps/web edited');
  assert.match(api.requests.filter((r) => r.method === 'PATCH').at(-1)!.url, /fieldManager=kubectl-edit/);
  assert.equal(deploySpec(api.objects.get('deployments/default/web')).template.spec.containers[0]!.image, 'nginx:1.27');
  const owners = api.objects.get('deployments/default/web')!.metadata.managedFields!.map((m) => m.manager).sort();
  assert.deepEqual(owners, ['kubectl-client-side-apply', 'kubectl-edit']);

  // patch, each type
  assert.equal((await kubectl(['patch', 'deployment/web', '-p', '{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox:2"}]}}}}'])).out.trim(), 'deployment.apps/web patched');
  assert.equal((await kubectl(['patch', 'deployment/web', '--type', 'merge', '-p', '{"spec":{"replicas":3}}'])).code, 0);
  assert.equal((await kubectl(['patch', 'deployment/web', '--type', 'json', '-p', '[{"op":"replace","path":"/spec/replicas","value":4}]'])).code, 0);
  const bad = await kubectl(['patch', 'deployment/web', '--type', 'json', '-p', '[{"op":"test","path":"/spec/replicas","value":9}]']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /test failed/);
  const after = deploySpec(api.objects.get('deployments/default/web'));
  assert.deepEqual([after.replicas, after.template.spec.containers.map((c) => c.image)], [4, ['nginx:1.27', 'busybox:2']]);
});

test('kubectl apply --server-side: conflicts with the client-side owner in kubectl\'s words, then --force-conflicts', { skip: !existsSync(KUBECTL) && 'no kubectl 1.32' }, async (t) => {
  const { api, kubectl, file } = await setup(t);
  assert.equal((await kubectl(['apply', '-f', file('d1.yaml', deployment('nginx:1.25', '{containerPort: 80}'))])).code, 0);
  const ssa = file('d2.yaml', deployment('nginx:1.30', '{containerPort: 80}'));
  const conflict = await kubectl(['apply', '--server-side', '-f', ssa]);
  assert.notEqual(conflict.code, 0);
  assert.match(conflict.err, /Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps\/v1 at \S+: \.spec\.template\.spec\.containers\[name="app"\]\.image/);
  assert.match(conflict.err, /--force-conflicts/);
  const forced = await kubectl(['apply', '--server-side', '--force-conflicts', '-f', ssa]);
  assert.equal(forced.code, 0, forced.err);
  assert.equal(forced.out.trim(), 'deployment.apps/web serverside-applied');
  const live = api.objects.get('deployments/default/web')!;
  assert.equal(deploySpec(live).template.spec.containers[0]!.image, 'nginx:1.30');
  const kubectlEntry = live.metadata.managedFields!.find((m) => m.manager === 'kubectl')!;
  assert.equal(kubectlEntry.operation, 'Apply');
  assert.ok(JSON.stringify(kubectlEntry.fieldsV1).includes('k:{\\"name\\":\\"app\\"}'));
});

test('strict field validation: an unknown field is refused with its path; a device is created and merge-patched', { skip: !existsSync(KUBECTL) && 'no kubectl 1.32' }, async (t) => {
  const { api, kubectl, file } = await setup(t);
  const typo = await kubectl(['apply', '-f', file('bad.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a: "1"}\ndatta: {b: "2"}\n')]);
  assert.notEqual(typo.code, 0);
  assert.match(typo.err, /unknown field "datta"/);
  const dev = (v: string) => `apiVersion: devices.kubeedge.io/v1beta1\nkind: Device\nmetadata: {name: d1}\nspec:\n  deviceModelRef: {name: m}\n  nodeName: n1\n  properties:\n  - name: p\n    desired: {value: "${v}"}\n`;
  assert.equal((await kubectl(['apply', '-f', file('dev1.yaml', dev('1'))])).out.trim(), 'device.devices.kubeedge.io/d1 created');
  assert.equal((await kubectl(['apply', '-f', file('dev2.yaml', dev('2'))])).out.trim(), 'device.devices.kubeedge.io/d1 configured');
  assert.equal(api.requests.filter((r) => r.method === 'PATCH').at(-1)!.contentType, 'application/merge-patch+json');
  assert.equal((api.objects.get('devices/default/d1')!.spec as { properties: { desired: { value: string } }[] }).properties[0]!.desired.value, '2');
  const strategic = await kubectl(['patch', 'device/d1', '-p', '{"spec":{"nodeName":"n2"}}']);
  assert.notEqual(strategic.code, 0);
  assert.match(strategic.err, /application\/strategic-merge-patch\+json is not supported by devices\.kubeedge\.io\/v1beta1, Kind=Device/);
});
