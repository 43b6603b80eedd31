/**
 * Group commit's planner and queue (src/relay/store/commit-plan.ts), pure: each group of a batch
 * all-or-nothing against what the groups before it left, revisions without gaps, one final row
 * per key; the queue puts what arrives during a transaction into the next one and tries a broken
 * batch again one group at a time.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batchKeys, CommitQueue, keyId, planBatch, type StoredRow } from '../../../../src/relay/store/commit-plan.js';
import { StoreConflictError, StoreExistsError, StoreNotFoundError, type StoredEvent, type StoreOp } from '../../../../src/relay/store/objects.js';
import { cm, key } from '../../../helpers/object-store-contract.js';

const row = (name: string, revision: number, v = '1'): [string, StoredRow] => [keyId(key(name)), { revision, object: JSON.stringify({ ...cm(name, v), metadata: { name, namespace: 'default', resourceVersion: String(revision) } }) }];

test('planBatch: a failing group writes nothing and takes no revision; the groups after it see what the ones before left', () => {
  const current = new Map([row('a', 7), row('b', 3)]);
  const groups: StoreOp[][] = [
    [{ op: 'update', key: key('a'), object: cm('a', '2'), expect: 7 }], // → 11
    // fails on its second op: its first (a create of c) must not stay
    [
      { op: 'create', key: key('c'), object: cm('c') },
      { op: 'update', key: key('b'), object: cm('b', '2'), expect: 2 },
    ],
    [{ op: 'update', key: key('a'), object: cm('a', '3'), expect: 11 }], // sees the first group's write → 12
    [{ op: 'create', key: key('c'), object: cm('c', 'x') }], // c does not exist: the failed group left nothing → 13
    [{ op: 'create', key: key('c'), object: cm('c', 'y') }], // now it does
    [{ op: 'delete', key: key('b'), expect: 3 }], // → 14
    [{ op: 'update', key: key('b'), object: cm('b', '9'), expect: 14 }], // deleted by the group before
    [{ op: 'check', key: key('b'), expect: null }], // it is gone: passes, writes nothing
  ];
  const plan = planBatch(10, groups, current);
  const o = plan.outcomes;
  assert.deepEqual((o[0] as StoredEvent[]).map((e) => e.revision), [11]);
  assert.ok(o[1] instanceof StoreConflictError);
  assert.deepEqual((o[2] as StoredEvent[]).map((e) => [e.type, e.revision, (e.prev!.data as { v: string }).v]), [['MODIFIED', 12, '2']]);
  assert.deepEqual((o[3] as StoredEvent[]).map((e) => [e.type, e.revision, e.object.metadata.resourceVersion]), [['ADDED', 13, '13']]);
  assert.ok(o[4] instanceof StoreExistsError);
  assert.deepEqual((o[5] as StoredEvent[]).map((e) => [e.type, e.revision, e.object.metadata.resourceVersion, e.prev?.metadata.resourceVersion]), [['DELETED', 14, '14', '3']]);
  assert.ok(o[6] instanceof StoreNotFoundError);
  assert.deepEqual(o[7], []);
  assert.equal(plan.revision, 14);
  assert.deepEqual(plan.log.map((l) => [l.revision, l.type, l.key.name]), [
    [11, 'MODIFIED', 'a'],
    [12, 'MODIFIED', 'a'],
    [13, 'ADDED', 'c'],
    [14, 'DELETED', 'b'],
  ]);
  // the second MODIFIED of a logs the first one's text as its state before
  assert.equal(plan.log[1]!.prev, plan.log[0]!.object);
  // one final row per key
  const final = new Map([...plan.writes.values()].map((w) => [w.key.name, w.row && (JSON.parse(w.row.object) as { data: { v: string } }).data.v]));
  assert.deepEqual(Object.fromEntries(final), { a: '3', c: 'x', b: null });
  assert.equal(plan.writes.get(keyId(key('a')))!.row!.revision, 12);
});

test('planBatch: nothing written → the head stays, no log; batchKeys names each key once', () => {
  const plan = planBatch(5, [[{ op: 'check', key: key('a'), expect: null }], [{ op: 'update', key: key('a'), object: cm('a'), expect: 1 }]], new Map());
  assert.equal(plan.revision, 5);
  assert.equal(plan.log.length, 0);
  assert.equal(plan.writes.size, 0);
  assert.ok(plan.outcomes[1] instanceof StoreNotFoundError);
  const keys = batchKeys([[{ op: 'create', key: key('a'), object: cm('a') }], [{ op: 'delete', key: key('a') }, { op: 'delete', key: key('b') }]]);
  assert.deepEqual(keys.map((k) => k.name), ['a', 'b']);
});

/** a `run` whose transactions the test ends by hand */
function manualRun() {
  const calls: { groups: readonly (readonly StoreOp[])[]; done: (r: (StoredEvent[] | Error)[] | Error) => void }[] = [];
  const run = (groups: readonly (readonly StoreOp[])[]) =>
    new Promise<(StoredEvent[] | Error)[]>((resolve, reject) => calls.push({ groups, done: (r) => (r instanceof Error ? reject(r) : resolve(r)) }));
  return { calls, run };
}
const ev = (name: string, revision: number): StoredEvent => ({ type: 'ADDED', key: key(name), object: cm(name), revision });
const create = (name: string): StoreOp[] => [{ op: 'create', key: key(name), object: cm(name) }];
const flush = () => new Promise((r) => setImmediate(r));

test('CommitQueue: commits issued together go in one transaction; those arriving while it runs go in the next', async () => {
  const { calls, run } = manualRun();
  const q = new CommitQueue(run, { maxGroups: 10, retryAlone: () => true });
  const a = q.submit(create('a'));
  const b = q.submit(create('b'));
  await flush();
  assert.equal(calls.length, 1);
  assert.equal(calls[0]!.groups.length, 2);
  const c = q.submit(create('c'));
  const d = q.submit(create('d'));
  await flush();
  assert.equal(calls.length, 1, 'no second transaction while the first runs');
  calls[0]!.done([[ev('a', 1)], new StoreExistsError(key('b'))]);
  assert.deepEqual((await a).map((e) => e.revision), [1]);
  await assert.rejects(b, StoreExistsError);
  await flush();
  assert.equal(calls.length, 2);
  assert.deepEqual(calls[1]!.groups.map((g) => g[0]!.key.name), ['c', 'd']);
  calls[1]!.done([[ev('c', 2)], [ev('d', 3)]]);
  assert.deepEqual((await d).map((e) => e.revision), [3]);
  await c;
  assert.deepEqual(q.stats, { transactions: 2, groups: 4 });
});

test('CommitQueue: a batch whose transaction fails is tried one group at a time — unless the store is away, then every group gets that error', async () => {
  const { calls, run } = manualRun();
  const away = new Error('away');
  const q = new CommitQueue(run, { maxGroups: 10, retryAlone: (e) => e !== away });
  const a = q.submit(create('a'));
  const b = q.submit(create('b'));
  await flush();
  calls[0]!.done(new Error('value too long for b'));
  await flush();
  assert.equal(calls.length, 2);
  assert.deepEqual(calls[1]!.groups.map((g) => g[0]!.key.name), ['a']);
  calls[1]!.done([[ev('a', 1)]]);
  await flush();
  assert.deepEqual(calls[2]!.groups.map((g) => g[0]!.key.name), ['b']);
  calls[2]!.done(new Error('value too long for b'));
  assert.equal((await a)[0]!.revision, 1);
  await assert.rejects(b, /value too long/);

  const c = q.submit(create('c'));
  const d = q.submit(create('d'));
  await flush();
  calls[3]!.done(away);
  await assert.rejects(c, /away/);
  await assert.rejects(d, /away/);
  await flush();
  assert.equal(calls.length, 4, 'no retry one by one when the store is away');
});

test('CommitQueue: at most maxGroups in one transaction', async () => {
  const { calls, run } = manualRun();
  const q = new CommitQueue(run, { maxGroups: 2, retryAlone: () => true });
  const all = ['a', 'b', 'c'].map((n) => q.submit(create(n)));
  await flush();
  assert.equal(calls[0]!.groups.length, 2);
  calls[0]!.done([[ev('a', 1)], [ev('b', 2)]]);
  await flush();
  assert.equal(calls[1]!.groups.length, 1);
  calls[1]!.done([[ev('c', 3)]]);
  assert.deepEqual((await Promise.all(all)).map((e) => e[0]!.revision), [1, 2, 3]);
});
