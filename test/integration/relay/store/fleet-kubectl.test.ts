/**
 * Two real relay processes on one PostgreSQL database (store.kind: postgres): what kubectl
 * (1.32, pinned) writes through relay 1, `kubectl get -w` on relay 2 sees — added, modified,
 * deleted, in that order.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pgDatabase, pgMissing } from '../../../helpers/postgres.js';
import { needService } from '../../../helpers/service.js';
import { haveKubectl, type RelayProc, startFleetRelays, waitFor } from '../harness.js';

const skip = await pgMissing();

test('two relays on one PostgreSQL: kubectl writes through relay 1, kubectl get -w on relay 2 sees every change in order', { skip }, async (t) => {
  if (!(await needService(t, 'kubectl 1.32', haveKubectl))) return;
  const db = await pgDatabase(t);
  const [one, two] = (await startFleetRelays(t, db, { prefix: 'edgecore-fleet-' })) as [RelayProc, RelayProc];
  const ns = `fleet-${process.pid}`;
  assert.equal(one.kubectl(['create', 'namespace', ns]).code, 0);
  const watch = two.kubectlBackground(['get', 'configmaps', '-n', ns, '-w', '--output-watch-events']);
  t.after(() => watch.stop());
  // the first object shows that kubectl's list is done, so what follows can only come through its watch
  assert.equal(one.kubectl(['create', 'configmap', 'first', '-n', ns, '--from-literal=v=1']).code, 0);
  await waitFor('relay 2 shows the first object', () => /ADDED\s+first/.test(watch.out()));
  const created = one.kubectl(['create', 'configmap', 'second', '-n', ns, '--from-literal=v=1']);
  assert.equal(created.code, 0, created.err);
  const patched = one.kubectl(['patch', 'configmap', 'second', '-n', ns, '-p', '{"data":{"v":"2"}}']);
  assert.equal(patched.code, 0, patched.err);
  const deleted = one.kubectl(['delete', 'configmap', 'second', '-n', ns]);
  assert.equal(deleted.code, 0, deleted.err);
  await waitFor(`relay 2's watch shows the delete:\n${watch.out()}`, () => /DELETED\s+second/.test(watch.out()));
  const events = watch
    .out()
    .split('\n')
    .filter((l) => /\ssecond\s/.test(l))
    .map((l) => l.trim().split(/\s+/)[0]);
  assert.deepEqual(events, ['ADDED', 'MODIFIED', 'DELETED']);
  // and relay 2 reads what relay 1 wrote
  assert.equal(two.getJson<{ data: { v: string } }>('configmap', 'first', '-n', ns)?.data.v, '1');
  assert.equal(two.getJson('configmap', 'second', '-n', ns), undefined);
});
