/**
 * The PostgreSQL ObjectStore on a real server: the same contract as SQLite, then what only a
 * fleet has — several stores (replicas) on one database, each seeing every change in revision order.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { StoreConflictError, type StoredEvent } from '../../../../src/relay/store/objects.js';
import { PostgresObjectStore } from '../../../../src/relay/store/objects-postgres.js';
import { cm, key, objectStoreContract } from '../../../helpers/object-store-contract.js';
import { pgDatabase, pgMissing } from '../../../helpers/postgres.js';
import { waitFor } from '../../../helpers/wait.js';

const skip = await pgMissing();

async function backing(t: TestContext) {
  const db = await pgDatabase(t);
  return {
    open: async (opts: { window?: number } = {}) => {
      const s = await PostgresObjectStore.open(db.url, opts);
      db.closeFirst(() => s.close());
      return s;
    },
  };
}

objectStoreContract('postgres', backing, skip);

const line = (e: StoredEvent): string => `${e.type}:${e.key.name}:${e.revision}`;

test('postgres replicas: a change made through one arrives on the other’s watch, in order, with its state before', { skip }, async (t) => {
  const b = await backing(t);
  const one = await b.open();
  const two = await b.open();
  const seen: StoredEvent[] = [];
  await two.watch({ group: '', resource: 'configmaps' }, 0, (e) => seen.push(e));
  await one.commit([{ op: 'create', key: key('a'), object: cm('a') }]);
  await one.commit([{ op: 'update', key: key('a'), object: cm('a', '2'), expect: 1 }]);
  await one.commit([{ op: 'create', key: key('s', 'default', 'secrets'), object: cm('s') }]);
  await one.commit([{ op: 'delete', key: key('a'), expect: 2 }]);
  await waitFor('the other replica sees the delete', () => seen.length >= 3);
  assert.deepEqual(seen.map(line), ['ADDED:a:1', 'MODIFIED:a:2', 'DELETED:a:4']);
  assert.equal((seen[1]!.prev!.data as { v: string }).v, '1');
  assert.equal(seen[2]!.object.metadata.resourceVersion, '4');
  // and its reads agree
  assert.equal(await two.revision(), 4);
  assert.deepEqual((await two.list({ group: '', resource: 'secrets' })).items.map((o) => o.metadata.name), ['s']);
});

test('postgres replicas: concurrent commits from two replicas reach every watcher as revisions 1..N, none missing or repeated', { skip }, async (t) => {
  const b = await backing(t);
  const one = await b.open();
  const two = await b.open();
  const three = await b.open();
  const seen = new Map<string, number[]>([
    ['one', []],
    ['two', []],
    ['three', []],
  ]);
  const mismatched: string[] = [];
  for (const [name, s] of [
    ['one', one],
    ['two', two],
    ['three', three],
  ] as const) {
    await s.watch(undefined, 0, (e) => {
      seen.get(name)!.push(e.revision);
      if (e.object.metadata.resourceVersion !== String(e.revision)) mismatched.push(`${name}:${e.revision}`);
    });
  }
  // 4 writers on each of the two replicas, each writing its own objects (a create and an update each)
  const writer = async (s: PostgresObjectStore, id: string): Promise<void> => {
    for (let i = 0; i < 15; i++) {
      const [c] = await s.commit([{ op: 'create', key: key(`${id}-${i}`), object: cm(`${id}-${i}`) }]);
      await s.commit([{ op: 'update', key: key(`${id}-${i}`), object: cm(`${id}-${i}`, '2'), expect: c!.revision }]);
    }
  };
  await Promise.all(['a', 'b', 'c', 'd'].flatMap((w) => [writer(one, `one-${w}`), writer(two, `two-${w}`)]));
  const total = 2 * 4 * 15 * 2;
  assert.equal(await three.revision(), total);
  const expected = Array.from({ length: total }, (_, i) => i + 1);
  await waitFor('every watcher has every revision', () => [...seen.values()].every((v) => v.length >= total));
  for (const [name, revs] of seen) assert.deepEqual(revs, expected, `watcher on ${name}`);
  assert.deepEqual(mismatched, []);
});

test('postgres replicas: two replicas updating one object at one revision — exactly one wins, the other gets a conflict', { skip }, async (t) => {
  const b = await backing(t);
  const one = await b.open();
  const two = await b.open();
  await one.commit([{ op: 'create', key: key('x'), object: cm('x') }]);
  for (let round = 0; round < 10; round++) {
    const cur = Number((await one.get(key('x')))!.metadata.resourceVersion);
    const results = await Promise.allSettled([
      one.commit([{ op: 'update', key: key('x'), object: cm('x', `one-${round}`), expect: cur }]),
      two.commit([{ op: 'update', key: key('x'), object: cm('x', `two-${round}`), expect: cur }]),
    ]);
    assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, `round ${round}`);
    const failed = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.ok(failed.reason instanceof StoreConflictError, String(failed.reason));
  }
  assert.equal(await two.revision(), 11);
});

test('postgres group commit: commits issued together share transactions; each stays all-or-nothing, a failing one changes nothing', { skip }, async (t) => {
  const b = await backing(t);
  const one = await b.open();
  const two = await b.open();
  const seen: StoredEvent[] = [];
  await two.watch(undefined, 0, (e) => seen.push(e));
  await one.commit([{ op: 'create', key: key('x'), object: cm('x') }]);
  const before = one.commitStats();
  // 40 commits at once: creates, an update of x at its revision by two of them (one wins), and
  // groups whose second op fails (their first op must not stay)
  const results = await Promise.allSettled(
    Array.from({ length: 40 }, (_, i) => {
      if (i === 10 || i === 11) return one.commit([{ op: 'update', key: key('x'), object: cm('x', `by-${i}`), expect: 1 }]);
      if (i % 7 === 3) return one.commit([{ op: 'create', key: key(`bad-${i}`), object: cm(`bad-${i}`) }, { op: 'update', key: key('missing'), object: cm('missing'), expect: 1 }]);
      return one.commit([{ op: 'create', key: key(`c-${i}`), object: cm(`c-${i}`) }, { op: 'create', key: key(`s-${i}`, 'default', 'secrets'), object: cm(`s-${i}`) }]);
    }),
  );
  const after = one.commitStats();
  assert.equal(after.groups - before.groups, 40);
  assert.ok(after.transactions - before.transactions < 10, `40 commits in ${after.transactions - before.transactions} transactions`);
  const ok = results.filter((r) => r.status === 'fulfilled') as PromiseFulfilledResult<StoredEvent[]>[];
  const bad = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
  // x: exactly one of the two won; the failing groups: 3, 17, 24, 31, 38 (i % 7 === 3; 10 is the update)
  assert.deepEqual(bad.filter((i) => i !== 10 && i !== 11), [3, 17, 24, 31, 38]);
  assert.equal(bad.filter((i) => i === 10 || i === 11).length, 1);
  for (const i of [3, 17, 24, 31, 38]) assert.equal(await two.get(key(`bad-${i}`)), undefined, `bad-${i} left nothing`);
  // every write took the next revision: 1 + 33 groups of two creates + one update = 68
  const revisions = ok.flatMap((r) => r.value.map((e) => e.revision)).sort((p, q) => p - q);
  assert.deepEqual(revisions, Array.from({ length: revisions.length }, (_, i) => i + 2));
  assert.equal(await two.revision(), 1 + revisions.length);
  await waitFor('the other replica saw every change', () => seen.length === 1 + revisions.length);
  assert.deepEqual(
    seen.map((e) => e.revision),
    Array.from({ length: seen.length }, (_, i) => i + 1),
  );
  for (const e of seen) assert.equal(e.object.metadata.resourceVersion, String(e.revision));
  const c0 = (await two.list({ group: '', resource: 'configmaps' })).items.find((o) => o.metadata.name === 'c-0')!;
  assert.equal(c0.metadata.resourceVersion, String(seen.find((e) => e.key.name === 'c-0')!.revision));
});
