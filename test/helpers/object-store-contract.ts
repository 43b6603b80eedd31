/**
 * The ObjectStore contract, one suite for every implementation: SQLite (test/unit/relay/store) and
 * PostgreSQL (test/integration/relay/store). `backing(t)` gives a fresh, empty place to open stores
 * on (a file, a database); every store opened on it is closed when the test ends.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { KubeObject } from '../../src/contract/kube/types.js';
import { StoreConflictError, StoreExistsError, StoreGoneError, StoreNotFoundError, type ObjectKey, type ObjectStore, type StoredEvent } from '../../src/relay/store/objects.js';

export type ContractStore = ObjectStore & { compacted(): Promise<number> };

export interface Backing {
  open(opts?: { window?: number }): Promise<ContractStore>;
}

export const key = (name: string, namespace = 'default', resource = 'configmaps'): ObjectKey => ({ group: '', resource, namespace, name });
export const cm = (name: string, v = '1', namespace = 'default'): KubeObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data: { v } });

/** `skip`: why this implementation's service is missing (the tests then say so and pass over). */
export function objectStoreContract(label: string, backing: (t: TestContext) => Promise<Backing>, skip?: string): void {
  test(`${label}: every write takes the next global revision; the object carries it as resourceVersion`, { skip }, async (t) => {
    const s = await (await backing(t)).open();
    assert.equal(await s.revision(), 0);
    const [a] = await s.commit([{ op: 'create', key: key('a'), object: cm('a') }]);
    const [b] = await s.commit([{ op: 'create', key: key('b', 'other', 'secrets'), object: cm('b') }]);
    assert.deepEqual([a!.revision, b!.revision], [1, 2]);
    assert.equal(a!.object.metadata.resourceVersion, '1');
    const [u] = await s.commit([{ op: 'update', key: key('a'), object: cm('a', '2'), expect: 1 }]);
    assert.equal(u!.type, 'MODIFIED');
    assert.equal(u!.prev?.data && (u!.prev.data as { v: string }).v, '1');
    assert.equal((await s.get(key('a')))!.metadata.resourceVersion, '3');
    assert.equal(await s.revision(), 3);
    assert.ok((await s.epoch()).length > 10);
  });

  test(`${label}: commit is all or nothing: a failed precondition anywhere leaves the store and the revision as they were`, { skip }, async (t) => {
    const s = await (await backing(t)).open();
    await s.commit([{ op: 'create', key: key('a'), object: cm('a') }]);
    const seen: StoredEvent[] = [];
    await s.watch(undefined, 1, (e) => seen.push(e));
    await assert.rejects(
      s.commit([
        { op: 'create', key: key('b'), object: cm('b') },
        { op: 'update', key: key('a'), object: cm('a', 'x'), expect: 99 },
      ]),
      (e: unknown) => e instanceof StoreConflictError && e.expected === 99 && e.actual === 1,
    );
    assert.equal(await s.get(key('b')), undefined);
    assert.equal(await s.revision(), 1);
    await assert.rejects(s.commit([{ op: 'create', key: key('a'), object: cm('a') }]), StoreExistsError);
    await assert.rejects(s.commit([{ op: 'delete', key: key('zz') }]), StoreNotFoundError);
    await assert.rejects(s.commit([{ op: 'check', key: key('a'), expect: null }, { op: 'create', key: key('c'), object: cm('c') }]), StoreConflictError);
    // a passing check commits with the rest
    const ev = await s.commit([{ op: 'check', key: key('a'), expect: 1 }, { op: 'create', key: key('c'), object: cm('c') }]);
    assert.deepEqual(ev.map((e) => e.revision), [2]);
    assert.deepEqual(seen.map((e) => `${e.type}:${e.key.name}:${e.revision}`), ['ADDED:c:2']);
  });

  test(`${label}: list is sorted by namespace then name and scoped to one resource (and namespace)`, { skip }, async (t) => {
    const s = await (await backing(t)).open();
    await s.commit([
      { op: 'create', key: key('b', 'n2'), object: cm('b', '1', 'n2') },
      { op: 'create', key: key('a', 'n2'), object: cm('a', '1', 'n2') },
      { op: 'create', key: key('z', 'n1'), object: cm('z', '1', 'n1') },
      { op: 'create', key: key('s', 'n1', 'secrets'), object: cm('s', '1', 'n1') },
    ]);
    const all = await s.list({ group: '', resource: 'configmaps' });
    assert.deepEqual(all.items.map((o) => `${o.metadata.namespace}/${o.metadata.name}`), ['n1/z', 'n2/a', 'n2/b']);
    assert.equal(all.revision, 4);
    assert.deepEqual((await s.list({ group: '', resource: 'configmaps', namespace: 'n2' })).items.map((o) => o.metadata.name), ['a', 'b']);
  });

  test(`${label}: watch replays the changes after a revision, then goes live; scope filters; stop stops`, { skip }, async (t) => {
    const s = await (await backing(t)).open();
    await s.commit([{ op: 'create', key: key('a'), object: cm('a') }]);
    await s.commit([{ op: 'create', key: key('b', 'other'), object: cm('b', '1', 'other') }]);
    await s.commit([{ op: 'delete', key: key('a'), expect: 1 }]);
    const all: string[] = [];
    const ns: string[] = [];
    await s.watch(undefined, 0, (e) => all.push(`${e.type}:${e.key.name}:${e.revision}`));
    const w = await s.watch({ group: '', resource: 'configmaps', namespace: 'default' }, 1, (e) => ns.push(`${e.type}:${e.key.name}:${e.revision}`));
    assert.deepEqual(all, ['ADDED:a:1', 'ADDED:b:2', 'DELETED:a:3']);
    assert.deepEqual(ns, ['DELETED:a:3']);
    await s.commit([{ op: 'create', key: key('c'), object: cm('c') }]);
    w.stop();
    await s.commit([{ op: 'create', key: key('d'), object: cm('d') }]);
    assert.deepEqual(ns, ['DELETED:a:3', 'ADDED:c:4']);
    assert.deepEqual(all.slice(3), ['ADDED:c:4', 'ADDED:d:5']);
    // a DELETED event carries the last state with the deletion's revision, and the state before
    const del = (await new Promise<StoredEvent>((r) => void s.watch(undefined, 2, (e) => e.type === 'DELETED' && r(e))))!;
    assert.equal(del.object.metadata.resourceVersion, '3');
    assert.equal(del.prev?.metadata.resourceVersion, '1');
  });

  test(`${label}: a watch opened from a watcher callback neither misses nor repeats the change being delivered`, { skip }, async (t) => {
    const s = await (await backing(t)).open();
    const inner: number[] = [];
    let opening: Promise<unknown> | undefined;
    await s.watch(undefined, 0, (e) => {
      opening ??= s.watch(undefined, e.revision - 1, (x) => inner.push(x.revision));
    });
    await s.commit([{ op: 'create', key: key('a'), object: cm('a') }, { op: 'create', key: key('b'), object: cm('b') }]);
    await s.commit([{ op: 'create', key: key('c'), object: cm('c') }]);
    // (PostgreSQL opens a watch asynchronously, possibly after the second commit's delivery: its backlog then has 3)
    await opening;
    await s.commit([{ op: 'create', key: key('d'), object: cm('d') }]);
    assert.deepEqual(inner, [1, 2, 3, 4]);
  });

  test(`${label}: the change log keeps a bounded window: older revisions are gone (StoreGoneError), the window still resumes`, { skip }, async (t) => {
    const s = await (await backing(t)).open({ window: 10 });
    for (let i = 0; i < 30; i++) await s.commit([{ op: 'create', key: key(`o${i}`), object: cm(`o${i}`) }]);
    const oldest = await s.compacted();
    assert.ok(oldest > 0 && oldest <= 20, `compacted up to ${oldest}`);
    await assert.rejects(s.watch(undefined, oldest - 1, () => undefined), (e: unknown) => e instanceof StoreGoneError && e.requested === oldest - 1);
    const got: number[] = [];
    await s.watch(undefined, 20, (e) => got.push(e.revision));
    assert.deepEqual(got, [21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
  });

  test(`${label}: two stores on one backing share the revision and the epoch (a second process or replica)`, { skip }, async (t) => {
    const b = await backing(t);
    const x = await b.open();
    const y = await b.open();
    await x.commit([{ op: 'create', key: key('a'), object: cm('a') }]);
    await y.commit([{ op: 'create', key: key('b'), object: cm('b') }]);
    assert.equal(await x.revision(), 2);
    assert.equal((await x.get(key('b')))!.metadata.resourceVersion, '2');
    assert.equal(await x.epoch(), await y.epoch());
    await assert.rejects(x.commit([{ op: 'update', key: key('b'), object: cm('b', 'x'), expect: 1 }]), (e: unknown) => e instanceof StoreConflictError && e.actual === 2);
  });
}
