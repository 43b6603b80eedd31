/**
 * Two real relay processes on one PostgreSQL database elect one controller leader with a Lease
 * (kube-system/edgerelay-controllers, `kubectl get leases` shows its holder). The leader is killed
 * (SIGKILL: no release) right after a Deployment is scaled up, while its ReplicaSet controller is
 * creating pods; the other replica takes the Lease over and finishes the work. No controller acts
 * twice: one ReplicaSet, exactly the wanted pods, every one owned by it — counted, not timed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pgDatabase, pgMissing } from '../../../helpers/postgres.js';
import { needService } from '../../../helpers/service.js';
import { haveKubectl, type RelayProc, startFleetRelays, waitFor } from '../harness.js';
import { webDeploymentYaml } from '../world.js';

const skip = await pgMissing();

interface Item {
  metadata: { name: string; uid: string; ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[] };
  spec?: { holderIdentity?: string; leaseTransitions?: number; acquireTime?: string; renewTime?: string; replicas?: number };
  status?: { replicas?: number; observedGeneration?: number };
}
interface List {
  items: Item[];
}


test('two relays on PostgreSQL: one leads the controllers; kill it mid-scale, the other takes over and no controller acts twice', { skip }, async (t) => {
  if (!(await needService(t, 'kubectl 1.32', haveKubectl))) return;
  const db = await pgDatabase(t);
  const [one, two] = (await startFleetRelays(t, db, { prefix: 'edgecore-leader-' })) as [RelayProc, RelayProc];
  const lease = (r: RelayProc): Promise<Item> => r.http<Item>('GET', '/apis/coordination.k8s.io/v1/namespaces/kube-system/leases/edgerelay-controllers');
  // relay one started first and got the Lease; relay two campaigns
  await one.proc!.record('leading: this replica holds the lease');
  assert.equal((await lease(two)).spec?.holderIdentity, 'relay-one');
  const shown = two.kubectl(['get', 'leases', '-n', 'kube-system']);
  assert.equal(shown.code, 0, shown.err);
  assert.match(shown.out, /^NAME\s+HOLDER\s+AGE\n/);
  assert.match(shown.out, /edgerelay-controllers\s+relay-one\s/);

  const ns = `lead-${process.pid}`;
  assert.equal(two.kubectl(['create', 'namespace', ns]).code, 0);
  const applied = two.apply(webDeploymentYaml(ns));
  assert.equal(applied.code, 0, applied.err);
  const pods = async (r: RelayProc): Promise<Item[]> => (await r.http<List>('GET', `/api/v1/namespaces/${ns}/pods`)).items;
  const replicaSets = async (r: RelayProc): Promise<Item[]> => (await r.http<List>('GET', `/apis/apps/v1/namespaces/${ns}/replicasets`)).items;
  await waitFor('the leader made 2 pods', async () => (await pods(two)).length === 2);

  // scale up through relay two, then kill the leader while its ReplicaSet controller creates the pods
  const scaled = two.kubectl(['scale', 'deployment', 'web', '-n', ns, '--replicas=40']);
  assert.equal(scaled.code, 0, scaled.err);
  await waitFor('the leader starts on the scale-up', async () => (await pods(two)).length > 2, 60_000, 10);
  const lastRenew = (await lease(two)).spec?.renewTime;
  await one.stop('SIGKILL');
  const before = (await pods(two)).length;

  await two.proc!.record('leading: this replica holds the lease');
  const taken = await lease(two);
  assert.equal(taken.spec?.holderIdentity, 'relay-two');
  assert.equal(taken.spec?.leaseTransitions, 1);
  const takeoverMs = Date.parse(taken.spec!.acquireTime!) - Date.parse(lastRenew!);
  t.diagnostic(`pods when the leader died: ${before} of 40; lease taken over ${takeoverMs} ms after the dead leader's last renewal seen (leaseDuration 3 s)`);

  const settled = async (want: number): Promise<void> => {
    await waitFor(`deployment settled at ${want}`, async () => {
      const d = await two.http<Item & { metadata: { generation?: number } }>('GET', `/apis/apps/v1/namespaces/${ns}/deployments/web`);
      return d.status?.observedGeneration === d.metadata.generation && d.status?.replicas === want && (await pods(two)).length === want;
    });
    const sets = await replicaSets(two);
    assert.equal(sets.length, 1, 'one ReplicaSet (a second controller would have made another)');
    const all = await pods(two);
    assert.equal(all.length, want);
    for (const p of all) {
      const owner = p.metadata.ownerReferences?.filter((o) => o.controller);
      assert.deepEqual(owner?.map((o) => [o.kind, o.uid]), [['ReplicaSet', sets[0]!.metadata.uid]], p.metadata.name);
    }
    assert.equal(new Set(all.map((p) => p.metadata.name)).size, want);
  };
  await settled(40);
  // the new leader keeps acting: a scale-down through it removes exactly the surplus
  assert.equal(two.kubectl(['scale', 'deployment', 'web', '-n', ns, '--replicas=5']).code, 0);
  await settled(5);
  assert.ok(before < 40, `the leader was killed mid-step (it had made ${before})`);
});
