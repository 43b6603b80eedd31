import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pathNotFound } from '../../../../src/contract/kube/status.js';
import { ApiCore } from '../../../../src/relay/apiserver/core.js';
import { ResourceRegistry } from '../../../../src/relay/apiserver/registry.js';
import { builtinKinds } from '../../../../src/relay/kinds/index.js';
import { admitReport, InternalRecords, internalKey } from '../../../../src/relay/store/internal.js';
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

test('report marks: a late report is applied unless its identity saw that seq or a newer one; an old high-water mark is the floor; the list stays bounded', () => {
  // no identity: a high-water mark
  assert.deepEqual(admitReport(undefined, 5, undefined), { seq: 5 });
  assert.equal(admitReport({ seq: 5 }, 4, undefined), undefined);
  // state by object: pod b's newer report, then pod a's older one handed over late → applied
  let m = admitReport(undefined, 10, 'Pod/ns/a')!;
  m = admitReport(m, 12, 'Pod/ns/b')!;
  m = admitReport(m, 11, 'Pod/ns/c')!;
  assert.deepEqual(m, { seq: 12, floor: 0, applied: { 'Pod/ns/a': 10, 'Pod/ns/b': 12, 'Pod/ns/c': 11 } });
  assert.equal(admitReport(m, 11, 'Pod/ns/c'), undefined, 'the same report again');
  assert.equal(admitReport(m, 9, 'Pod/ns/a'), undefined, "older than its object's applied state");
  assert.deepEqual(admitReport(m, 8, 'Pod/ns/d')?.applied?.['Pod/ns/d'], 8, 'a late report of an object not reported since');
  // events by their own seq: every one once, in any order
  let e = admitReport(undefined, 139, '139')!;
  for (const s of [20, 38, 21]) e = admitReport(e, s, String(s))!;
  assert.equal(e.seq, 139);
  assert.equal(admitReport(e, 38, '38'), undefined);
  // a mark written as a high-water mark: its seq is the floor
  assert.equal(admitReport({ seq: 50 }, 49, 'Pod/ns/a'), undefined);
  assert.deepEqual(admitReport({ seq: 50 }, 51, 'Pod/ns/a'), { seq: 51, floor: 50, applied: { 'Pod/ns/a': 51 } });
  // bounded: past the limit the oldest quarter goes and the floor rises to the newest of them
  let b: ReturnType<typeof admitReport> = undefined;
  for (let s = 1; s <= 9; s++) b = admitReport(b, s, String(s), 8);
  assert.deepEqual(Object.keys(b!.applied!).sort(), ['4', '5', '6', '7', '8', '9']);
  assert.equal(b!.floor, 3);
  assert.equal(admitReport(b, 2, '2', 8), undefined, 'below the floor: counted as seen');
});

test('report marks in the store: a late event below the mark is admitted once; a mark committed as a high-water mark keeps working', async (t) => {
  const store = SqliteObjectStore.open(':memory:');
  t.after(() => store.close());
  const rec = new InternalRecords(store);
  await rec.put('reportmarks', 'pi-1.s.events', { seq: 100 });
  assert.equal(await rec.markOps('pi-1', 's.events', 90, '90'), undefined, 'at or below an old mark: seen');
  await store.commit((await rec.markOps('pi-1', 's.events', 139, '139'))!);
  const late = await rec.markOps('pi-1', 's.events', 120, '120');
  assert.ok(late, 'a late event above the floor');
  await store.commit(late);
  assert.equal(await rec.markOps('pi-1', 's.events', 120, '120'), undefined);
  assert.deepEqual((await rec.get('reportmarks', 'pi-1.s.events'))!.spec, { seq: 139, floor: 100, applied: { '139': 139, '120': 120 } });
});
