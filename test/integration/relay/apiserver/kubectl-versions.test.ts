/**
 * The oldest and newest kubectl the machines carry, on the commands whose wire differs between
 * versions: discovery (1.27 offers only apidiscovery v2beta1; 1.33 v2), create (1.33 sends
 * protobuf bodies, 1.27 JSON), apply (OpenAPI v3 then strategic merge), watch, delete --wait.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { needService } from '../../../helpers/service.js';
import { tmpDir } from '../../../helpers/tmp.js';
import { waitFor } from '../../../helpers/wait.js';
import { haveKubectl, KubeRelay } from './kubectl.js';

for (const minor of [27, 33]) {
  test(`kubectl 1.${minor}: api-resources, create, apply, get -o wide, label, strategic patch, watch, delete --wait`, async (t) => {
    if (!(await needService(t, `kubectl 1.${minor}`, () => haveKubectl(minor)))) return;
    const relay = new KubeRelay(tmpDir(t, `edgecore-kubectl-${minor}-`));
    await relay.start();
    t.after(() => relay.stop());
    const ok = (args: string[], input?: string): string => {
      const r = relay.kubectl(args, { minor, ...(input !== undefined ? { input } : {}) });
      assert.equal(r.status, 0, `kubectl 1.${minor} ${args.join(' ')}\n${r.stderr}`);
      return r.stdout;
    };
    assert.match(ok(['api-resources']), /^pods\s+po\s+v1\s+true\s+Pod$/m);
    assert.match(ok(['api-resources']), /^devices\s+dev\s+devices\.kubeedge\.io\/v1beta1\s+true\s+Device$/m);
    assert.equal(ok(['create', 'namespace', 'team']), 'namespace/team created\n');
    assert.equal(ok(['-n', 'team', 'create', 'configmap', 'c', '--from-literal=k=v']), 'configmap/c created\n');
    const pod = 'apiVersion: v1\nkind: Pod\nmetadata: { name: p, namespace: team }\nspec:\n  nodeName: pi-1\n  containers: [{ name: a, image: busybox }, { name: b, image: busybox }]\n';
    assert.equal(ok(['apply', '-f', '-'], pod), 'pod/p created\n');
    assert.equal(ok(['apply', '-f', '-'], pod), 'pod/p unchanged\n');
    assert.equal(ok(['apply', '-f', '-'], pod.replace('name: b, image: busybox', 'name: b, image: busybox:1.36')), 'pod/p configured\n');
    assert.match(ok(['-n', 'team', 'get', 'pods', '-o', 'wide']), /^p\s+0\/2\s+Pending\s+0\s+\d+s\s+<none>\s+pi-1\s/m);
    assert.equal(ok(['-n', 'team', 'label', 'pod', 'p', 'x=y']), 'pod/p labeled\n');
    assert.equal(ok(['-n', 'team', 'patch', 'pod', 'p', '-p', '{"spec":{"containers":[{"name":"a","image":"busybox:1.35"}]}}']), 'pod/p patched\n');
    assert.equal(ok(['-n', 'team', 'get', 'pod', 'p', '-o', 'jsonpath={.spec.containers[*].image}']), 'busybox:1.35 busybox:1.36');
    const w = relay.background(['-n', 'team', 'get', 'cm', '-w'], minor);
    await waitFor('the first row', () => /^c\s+1\s+\d+s$/m.test(w.out()));
    ok(['-n', 'team', 'create', 'configmap', 'd']);
    await waitFor('the new object on the watch', () => /^d\s+0\s+\d+s$/m.test(w.out()));
    await w.stop();
    assert.equal(ok(['-n', 'team', 'delete', 'configmap', 'c', '--wait']), 'configmap "c" deleted\n');
    assert.match(ok(['delete', 'pod', '-n', 'team', 'p', '--force', '--grace-period=0']), /pod "p" force deleted/);
    assert.equal(ok(['delete', 'namespace', 'team']), 'namespace "team" deleted\n');
    assert.match(relay.kubectl(['get', 'ns', 'team'], { minor }).stderr, /NotFound/);
  });
}
