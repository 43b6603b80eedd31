/**
 * The real kubectl 1.32 against a real `edgerelay run`: every command's visible output, as a user
 * would see it. (1.27 and 1.33 run a subset in kubectl-versions.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, test, type TestContext } from 'node:test';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needService } from '../../../helpers/service.js';
import { waitFor } from '../../../helpers/wait.js';
import { file, haveKubectl, KubeRelay } from './kubectl.js';

let relay: KubeRelay;
let dir: string;
const ok = async (t: TestContext): Promise<boolean> => needService(t, 'kubectl 1.32', () => haveKubectl(32));
const k = (args: string[], o: Parameters<KubeRelay['kubectl']>[1] = {}) => relay.kubectl(args, o);
const succeed = (args: string[], o: Parameters<KubeRelay['kubectl']>[1] = {}): string => {
  const r = k(args, o);
  assert.equal(r.status, 0, `kubectl ${args.join(' ')}\n${r.stderr}`);
  return r.stdout;
};

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgecore-kubectl-'));
  relay = new KubeRelay(dir);
  await relay.start();
});
after(async () => {
  await relay.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('version, explain and api-resources: a 1.32 server with the served kinds, their schemas, short names and scopes', async (t) => {
  if (!(await ok(t))) return;
  assert.match(succeed(['version']), /Server Version: v1\.32\.0\+edgerelay/);
  assert.match(succeed(['explain', 'pod.spec.nodeName']), /FIELD: nodeName <string>/);
  assert.match(succeed(['explain', 'devices.spec']), /GROUP:\s+devices\.kubeedge\.io\nKIND:\s+Device/);
  const out = succeed(['api-resources']);
  for (const line of [/^configmaps\s+cm\s+v1\s+true\s+ConfigMap$/m, /^namespaces\s+ns\s+v1\s+false\s+Namespace$/m, /^pods\s+po\s+v1\s+true\s+Pod$/m, /^devices\s+dev\s+devices\.kubeedge\.io\/v1beta1\s+true\s+Device$/m]) {
    assert.match(out, line);
  }
});

test('explain: metrics.k8s.io NodeMetrics and PodMetrics (kubectl top\'s kinds) from the OpenAPI v3 document', async (t) => {
  if (!(await ok(t))) return;
  assert.match(succeed(['explain', 'nodemetrics.usage']), /GROUP:\s+metrics\.k8s\.io\nKIND:\s+NodeMetrics\nVERSION:\s+v1beta1\n\nFIELD: usage <map\[string\]string>\n\n\nDESCRIPTION:\n\s+Resources the node used over the window/);
  const pod = succeed(['explain', 'podmetrics', '--recursive']);
  assert.match(pod, /KIND:\s+PodMetrics/);
  assert.match(pod, /containers\s+<\[\]ContainerMetrics> -required-\n\s+name\s+<string> -required-\n\s+usage\s+<map\[string\]string> -required-/);
});

test('apply: created, unchanged, configured; a multi-document file with one bad document applies the rest and names the field', async (t) => {
  if (!(await ok(t))) return;
  const f = file(dir, 'app.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: app, labels: { app: web } }\ndata: { a: "1" }\n');
  assert.equal(succeed(['apply', '-f', f]), 'configmap/app created\n');
  assert.equal(succeed(['apply', '-f', f]), 'configmap/app unchanged\n');
  file(dir, 'app.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: app, labels: { app: web } }\ndata: { a: "2" }\n');
  assert.equal(succeed(['apply', '-f', f]), 'configmap/app configured\n');
  const multi = file(
    dir,
    'multi.yaml',
    [
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: good-1 }\ndata: { k: v }',
      'apiVersion: v1\nkind: Pod\nmetadata: { name: bad-pod }\nspec:\n  containers:\n  - name: c\n    image: ""',
      'apiVersion: v1\nkind: Secret\nmetadata: { name: good-2 }\nstringData: { p: q }',
    ].join('\n---\n'),
  );
  const r = k(['apply', '-f', multi]);
  assert.notEqual(r.status, 0);
  assert.match(r.stdout, /configmap\/good-1 created/);
  assert.match(r.stdout, /secret\/good-2 created/);
  // one cause prints on the same line; several print one `* field: message` line each
  assert.match(r.stderr, /The Pod "bad-pod" is invalid: spec\.containers\[0\]\.image: /);
  assert.equal(k(['get', 'pod', 'bad-pod']).status, 1);
});

test('get: -o wide, yaml, json, jsonpath, custom-columns, -A with labels, --sort-by, server-rendered ages', async (t) => {
  if (!(await ok(t))) return;
  succeed(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: Pod\nmetadata: { name: web-1, labels: { app: web } }\nspec:\n  nodeName: pi-1\n  containers: [{ name: c, image: busybox }]\n' });
  assert.match(succeed(['get', 'pods']), /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\nweb-1\s+0\/1\s+Pending\s+0\s+\d+s\n/);
  assert.match(succeed(['get', 'pods', '-o', 'wide']), /^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+.*\nweb-1\s+0\/1\s+Pending\s+0\s+\d+s\s+<none>\s+pi-1\s/);
  const yaml = succeed(['get', 'pod', 'web-1', '-o', 'yaml']);
  assert.match(yaml, /^apiVersion: v1\nkind: Pod\n/);
  assert.match(yaml, /\n {2}uid: [0-9a-f-]{36}\n/);
  const json = JSON.parse(succeed(['get', 'pods', '-o', 'json'])) as { kind: string; items: { metadata: { name: string } }[] };
  assert.equal(json.kind, 'List');
  assert.deepEqual(json.items.map((i) => i.metadata.name), ['web-1']);
  assert.equal(succeed(['get', 'pod', 'web-1', '-o', 'jsonpath={.spec.nodeName}/{.status.phase}']), 'pi-1/Pending');
  assert.equal(succeed(['get', 'cm', 'app', '-o', 'custom-columns=NAME:.metadata.name,A:.data.a']), 'NAME   A\napp    2\n');
  assert.match(succeed(['get', 'cm', '-A', '--show-labels']), /^NAMESPACE\s+NAME\s+DATA\s+AGE\s+LABELS\n(.*\n)*default\s+app\s+1\s+\d+s\s+app=web\n/);
  const sorted = succeed(['get', 'cm', '--sort-by=.metadata.name', '-o', 'name']);
  assert.deepEqual(sorted.trim().split('\n'), [...sorted.trim().split('\n')].sort());
  assert.match(succeed(['get', 'po', '-l', 'app=web', '--field-selector', 'spec.nodeName=pi-1', '-o', 'name']), /^pod\/web-1\n$/);
});

test('get -w: the watch prints a row for a change made by another kubectl', async (t) => {
  if (!(await ok(t))) return;
  const w = relay.background(['get', 'cm', 'app', '-w']);
  await waitFor('the first row', () => /app\s+1\s+\d+s/.test(w.out()));
  succeed(['label', 'cm', 'app', 'watched=yes']);
  await waitFor('a second row for the change', () => (w.out().match(/^app\s+1\s+\d+s$/gm) ?? []).length >= 2, 20_000);
  await w.stop();
  assert.equal((w.out().match(/^NAME/gm) ?? []).length, 1, 'one header');
});

test('label, annotate, patch (merge, json, strategic by container name), and 415 for strategic on a custom kind', async (t) => {
  if (!(await ok(t))) return;
  assert.equal(succeed(['label', 'cm', 'app', 'tier=front']), 'configmap/app labeled\n');
  assert.equal(succeed(['annotate', 'cm', 'app', 'note=hi']), 'configmap/app annotated\n');
  assert.equal(succeed(['label', 'cm', 'app', 'tier-']), 'configmap/app unlabeled\n');
  assert.equal(succeed(['patch', 'cm', 'app', '--type', 'merge', '-p', '{"data":{"b":"x"}}']), 'configmap/app patched\n');
  assert.equal(succeed(['patch', 'cm', 'app', '--type', 'json', '-p', '[{"op":"remove","path":"/data/b"}]']), 'configmap/app patched\n');
  succeed(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: Pod\nmetadata: { name: two }\nspec:\n  nodeName: pi-1\n  containers: [{ name: a, image: busybox }, { name: b, image: busybox }]\n' });
  assert.equal(succeed(['patch', 'pod', 'two', '-p', '{"spec":{"containers":[{"name":"b","image":"busybox:1.36"}]}}']), 'pod/two patched\n');
  assert.equal(succeed(['get', 'pod', 'two', '-o', 'jsonpath={range .spec.containers[*]}{.name}={.image} {end}']), 'a=busybox b=busybox:1.36 ');
  succeed(['apply', '-f', '-'], { input: 'apiVersion: devices.kubeedge.io/v1beta1\nkind: DeviceModel\nmetadata: { name: thermo }\nspec:\n  protocol: virtual\n  properties: [{ name: temp, type: FLOAT, accessMode: ReadOnly }]\n' });
  const r = k(['patch', 'devicemodel', 'thermo', '-p', '{"metadata":{"labels":{"a":"b"}}}']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /application\/strategic-merge-patch\+json is not supported by devices\.kubeedge\.io\/v1beta1, Kind=DeviceModel/);
  assert.equal(succeed(['label', 'devicemodel', 'thermo', 'a=b']), 'devicemodel.devices.kubeedge.io/thermo labeled\n');
});

test('apply --server-side: create, update, conflict with another manager unless forced', async (t) => {
  if (!(await ok(t))) return;
  const f = file(dir, 'ssa.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ssa }\ndata: { k: one }\n');
  assert.equal(succeed(['apply', '--server-side', '-f', f]), 'configmap/ssa serverside-applied\n');
  file(dir, 'ssa.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ssa }\ndata: { k: two }\n');
  assert.equal(succeed(['apply', '--server-side', '-f', f]), 'configmap/ssa serverside-applied\n');
  file(dir, 'ssa.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ssa }\ndata: { k: three }\n');
  const r = k(['apply', '--server-side', '--field-manager', 'other', '-f', f]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Apply failed with 1 conflict: conflict with "kubectl": \.data\.k/);
  assert.match(r.stderr, /--force-conflicts/);
  assert.equal(succeed(['apply', '--server-side', '--field-manager', 'other', '--force-conflicts', '-f', f]), 'configmap/ssa serverside-applied\n');
  assert.equal(succeed(['get', 'cm', 'ssa', '-o', 'jsonpath={.data.k}']), 'three');
});

test('edit with EDITOR set to a script; a stale update is a 409 the user can read', async (t) => {
  if (!(await ok(t))) return;
  const editor = file(dir, 'editor.sh', '#!/bin/sh\nsed -i \'s/k: three/k: edited/\' "$1"\n');
  chmodSync(editor, 0o755);
  assert.equal(succeed(['edit', 'cm', 'ssa'], { env: { EDITOR: editor } }), 'configmap/ssa edited\n');
  assert.equal(succeed(['get', 'cm', 'ssa', '-o', 'jsonpath={.data.k}']), 'edited');
  const stale = succeed(['get', 'cm', 'ssa', '-o', 'yaml']);
  succeed(['label', 'cm', 'ssa', 'moved=on']);
  const r = k(['replace', '-f', '-'], { input: stale.replace('edited', 'stale') });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Operation cannot be fulfilled on configmaps "ssa": the object has been modified; please apply your changes to the latest version and try again/);
});

test('Status errors: field paths, not found, already exists, unknown fields under Strict', async (t) => {
  if (!(await ok(t))) return;
  const bad = k(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: Secret\nmetadata: { name: s-bad, labels: { "b@d": x } }\ndata: { k: "not base64!" }\n' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /The Secret "s-bad" is invalid: \n\* metadata\.labels: Invalid value: "b@d": .*\n\* data\.k: must be base64/);
  assert.match(k(['get', 'cm', 'nope']).stderr, /Error from server \(NotFound\): configmaps "nope" not found/);
  assert.match(k(['create', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: app }\n' }).stderr, /Error from server \(AlreadyExists\): error when creating "STDIN": configmaps "app" already exists/);
  const unknown = k(['apply', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: u }\nbogus: 1\n' });
  assert.match(unknown.stderr, /strict decoding error: unknown field "bogus"/);
  const warned = k(['apply', '--validate=warn', '-f', '-'], { input: 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: u }\nbogus: 1\n' });
  assert.equal(warned.status, 0, warned.stderr);
  assert.match(warned.stderr, /Warning: unknown field "bogus"/);
});

test('delete: -l, -f, --wait; a pod on a node stays Terminating until confirmed or forced; dry-run deletes nothing', async (t) => {
  if (!(await ok(t))) return;
  const f = file(dir, 'del.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: del-f }\n');
  succeed(['apply', '-f', f]);
  succeed(['create', 'cm', 'del-a', '--from-literal=k=v']);
  succeed(['label', 'cm', 'del-a', 'gone=yes']);
  succeed(['create', 'cm', 'del-b']);
  succeed(['label', 'cm', 'del-b', 'gone=yes']);
  assert.equal(succeed(['delete', 'cm', '-l', 'gone=yes', '--dry-run=server']), 'configmap "del-a" deleted (server dry run)\nconfigmap "del-b" deleted (server dry run)\n');
  assert.equal(succeed(['delete', 'cm', '-l', 'gone=yes']), 'configmap "del-a" deleted\nconfigmap "del-b" deleted\n');
  assert.equal(succeed(['delete', '-f', f]), 'configmap "del-f" deleted\n');
  assert.match(k(['get', 'cm', 'del-a']).stderr, /NotFound/);
  // web-1 is bound to pi-1, which is not here to confirm: --wait times out, the pod reads Terminating
  const waited = k(['delete', 'pod', 'web-1', '--timeout=2s']);
  assert.notEqual(waited.status, 0);
  assert.match(waited.stdout + waited.stderr, /pod "web-1" deleted/);
  assert.match(succeed(['get', 'pod', 'web-1']), /web-1\s+0\/1\s+Terminating/);
  assert.match(succeed(['delete', 'pod', 'web-1', '--force', '--grace-period=0']), /pod "web-1" force deleted/);
  assert.match(k(['get', 'pod', 'web-1']).stderr, /NotFound/);
});

test('namespaces: created by kubectl create (protobuf), emptied and removed on delete; default may not be deleted', async (t) => {
  if (!(await ok(t))) return;
  assert.equal(succeed(['create', 'namespace', 'team']), 'namespace/team created\n');
  assert.equal(succeed(['-n', 'team', 'create', 'configmap', 'c', '--from-literal=k=v']), 'configmap/c created\n');
  assert.equal(succeed(['-n', 'team', 'create', 'secret', 'generic', 's', '--from-literal=p=q']), 'secret/s created\n');
  assert.equal(succeed(['-n', 'team', 'run', 'p', '--image=busybox']), 'pod/p created\n');
  assert.match(succeed(['get', 'ns']), /^NAME\s+STATUS\s+AGE\n(.*\n)*team\s+Active\s+\d+s\n/);
  assert.equal(succeed(['delete', 'namespace', 'team']), 'namespace "team" deleted\n');
  assert.match(k(['get', 'ns', 'team']).stderr, /namespaces "team" not found/);
  assert.match(k(['-n', 'team', 'get', 'cm', 'c']).stderr, /NotFound/);
  assert.match(k(['delete', 'ns', 'default']).stderr, /Error from server \(Forbidden\): namespaces "default" is forbidden: this namespace may not be deleted/);
});

test('describe shows the events of the object (matched by involvedObject.uid)', async (t) => {
  if (!(await ok(t))) return;
  const uid = succeed(['get', 'pod', 'two', '-o', 'jsonpath={.metadata.uid}']);
  const ev = (name: string, u: string, reason: string) =>
    `apiVersion: v1\nkind: Event\nmetadata: { name: ${name} }\ninvolvedObject: { kind: Pod, name: two, namespace: default, uid: "${u}" }\nreason: ${reason}\nmessage: ${reason} it\ntype: Normal\nsource: { component: edged, host: pi-1 }\nfirstTimestamp: "2026-01-01T00:00:00Z"\nlastTimestamp: "2026-01-01T00:00:00Z"\ncount: 1\n`;
  succeed(['apply', '-f', '-'], { input: ev('two.1', uid, 'Pulled') + '---\n' + ev('two.2', 'another-pod-of-the-same-name', 'Stale') });
  const d = succeed(['describe', 'pod', 'two']);
  assert.match(d, /Events:\n\s+Type\s+Reason\s+Age\s+From\s+Message\n\s+----.*\n\s+Normal\s+Pulled\s+\S+\s+edged\s+Pulled it\n/);
  assert.doesNotMatch(d, /Stale/);
  assert.match(succeed(['get', 'events']), /LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE\n/);
});

test('tokens: the read-only token reads but is refused writes (403); a wrong token is 401', async () => {
  const ro = 'kube-read-only-token';
  assert.equal((await relay.call('GET', '/api/v1/namespaces/default/configmaps', ro)).status, 200);
  const refused = await relay.call('POST', '/api/v1/namespaces/default/configmaps', ro, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'ro' } });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.reason, 'Forbidden');
  assert.equal((await relay.call('GET', '/api/v1/namespaces/default/secrets', ro)).status, 403);
  assert.equal((await relay.call('GET', '/api/v1/namespaces/default/configmaps', 'wrong')).status, 401);
  assert.equal((await relay.call('GET', '/api/v1/namespaces/%zz/configmaps', ro)).status, 400);
});

