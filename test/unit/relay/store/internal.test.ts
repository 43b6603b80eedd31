import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pathNotFound } from '../../../../src/contract/kube/status.js';
import { ApiCore } from '../../../../src/relay/apiserver/core.js';
import { ResourceRegistry } from '../../../../src/relay/apiserver/registry.js';
import { builtinKinds } from '../../../../src/relay/kinds/index.js';
import { InternalRecords, internalKey } from '../../../../src/relay/store/internal.js';
import { StoreConflictError } from '../../../../src/relay/store/objects.js';
import { SqliteObjectStore } from '../../../../src/relay/store/objects-sqlite.js';
import { ADMIN } from '../../../../src/relay/apiserver/authz.js';
import { ApiClient } from '../../../../src/relay/apiserver/client.js';

test('internal records: typed put/get/remove; a report commits with its dedup mark, a duplicate gets no ops', async (t) => {
  const store = SqliteObjectStore.open(':memory:');
  t.after(() => store.close());
  const rec = new InternalRecords(store);
  await rec.put('nodecredentials', 'pi-1', { passwordHash: '$7$x', rotatedAt: '2026-01-01T00:00:00Z' });
  assert.equal((await rec.get('nodecredentials', 'pi-1'))!.spec.passwordHash, '$7$x');
  const first = await rec.markOps('pi-1', 'state', 5);
  assert.ok(first);
  await store.commit(first);
  assert.equal(await rec.markOps('pi-1', 'state', 5), undefined, 'seen already');
  assert.equal(await rec.markOps('pi-1', 'state', 4), undefined);
  // two writers prepared the same next mark: the second conflicts, so a report is applied once
  const a = (await rec.markOps('pi-1', 'state', 6))!;
  const b = (await rec.markOps('pi-1', 'state', 6))!;
  await store.commit(a);
  await assert.rejects(store.commit(b), StoreConflictError);
  assert.equal(await rec.remove('nodecredentials', 'pi-1'), true);
  assert.equal(await rec.remove('nodecredentials', 'pi-1'), false);
});

test('internal records are not reachable through the API', async (t) => {
  const store = SqliteObjectStore.open(':memory:');
  t.after(() => store.close());
  await new InternalRecords(store).put('bootstraptokens', 'abc', { expiresAt: 'x', createdAt: 'y' });
  assert.ok(await store.get(internalKey('bootstraptokens', 'abc')));
  const client = new ApiClient(new ApiCore({ store, registry: new ResourceRegistry(builtinKinds()), now: () => new Date() }), ADMIN, 't');
  assert.throws(() => client.def({ group: 'internal.edgerelay', resource: 'bootstraptokens' }), (e: unknown) => (e as { code?: number }).code === pathNotFound().code);
});
