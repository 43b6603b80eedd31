import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { StoreGoneError, type ResourceChange } from '../../../src/store/resources.js';
import { openNodeStore } from '../../../src/store/store.js';
import { tmpDir } from '../../helpers/tmp.js';

const key = (name: string, kind = 'ConfigMap', namespace = 'default') => ({ kind, namespace, name });

test('put reports changed only when the spec differs (key order does not matter)', (t) => {
  const s = openNodeStore(join(tmpDir(t), 'n.db'));
  t.after(() => s.close());
  const changes: ResourceChange[] = [];
  s.resources.onChange((c) => changes.push(c));
  const a = s.resources.put(key('cm'), { data: { a: '1', b: '2' } });
  assert.equal(a.changed, true);
  assert.equal(a.resource.resourceVersion, 1);
  const b = s.resources.put(key('cm'), { data: { b: '2', a: '1' } });
  assert.equal(b.changed, false);
  const c = s.resources.put(key('cm'), { data: { a: '9' } });
  assert.equal(c.changed, true);
  assert.equal(c.resource.resourceVersion, 2);
  assert.equal(c.resource.uid, a.resource.uid, 'uid is stable across updates');
  assert.deepEqual(
    changes.map((x) => x.op),
    ['upsert', 'upsert'],
  );
});

test('status is kept apart from spec and unchanged status is not rewritten', (t) => {
  const s = openNodeStore(join(tmpDir(t), 'n.db'));
  t.after(() => s.close());
  s.resources.put(key('p', 'Pod'), { containers: [] });
  assert.equal(s.resources.setStatus(key('p', 'Pod'), { phase: 'Running' }), true);
  assert.equal(s.resources.setStatus(key('p', 'Pod'), { phase: 'Running' }), false);
  assert.equal(s.resources.setStatus(key('ghost', 'Pod'), { phase: 'Running' }), false);
  assert.deepEqual(s.resources.get(key('p', 'Pod'))?.status, { phase: 'Running' });
});

test('a status change tells listeners the object before and after (its spec and status read as plain members), and the writer its uid', (t) => {
  const s = openNodeStore(join(tmpDir(t), 'n.db'));
  t.after(() => s.close());
  const made = s.resources.put(key('p', 'Pod'), { containers: [{ name: 'c' }] }).resource;
  s.resources.setStatus(key('p', 'Pod'), { phase: 'Pending' });
  const changes: ResourceChange[] = [];
  s.resources.onChange((c) => changes.push(c));
  const uids: (string | undefined)[] = [];
  s.resources.setStatus(key('p', 'Pod'), { phase: 'Running' }, (uid) => uids.push(uid));
  s.resources.setStatus(key('p', 'Pod'), { phase: 'Running' }, (uid) => uids.push(uid));
  s.resources.setStatus(key('ghost', 'Pod'), { phase: 'Running' }, (uid) => uids.push(uid));
  assert.deepEqual(uids, [made.uid, made.uid, undefined], 'the uid even when unchanged; none for an absent object');
  assert.equal(changes.length, 1);
  const c = changes[0]!;
  assert.equal(c.op, 'status');
  if (c.op !== 'status') return;
  assert.deepEqual(c.resource.status, { phase: 'Running' });
  assert.deepEqual(c.previous?.status, { phase: 'Pending' });
  assert.deepEqual(c.resource.spec, { containers: [{ name: 'c' }] });
  // copies, JSON and structured clones carry them like any member
  assert.deepEqual({ ...c.resource }.status, { phase: 'Running' });
  assert.deepEqual(JSON.parse(JSON.stringify(c.previous)).spec, { containers: [{ name: 'c' }] });
  assert.deepEqual(structuredClone(c.resource), { ...s.resources.get(key('p', 'Pod'))! });
  c.resource.status = { phase: 'Failed' };
  assert.deepEqual(c.resource.status, { phase: 'Failed' }, 'assignable');
});

test('replaceAll converges one origin to exactly the listed set, in one transaction', (t) => {
  const s = openNodeStore(join(tmpDir(t), 'n.db'));
  t.after(() => s.close());
  s.resources.put(key('keep'), { v: 1 }, { origin: 'cloud' });
  s.resources.put(key('gone'), { v: 1 }, { origin: 'cloud' });
  s.resources.put(key('static-one'), { v: 1 }, { origin: 'static' });
  const changes = s.resources.replaceAll('cloud', ['ConfigMap'], [
    { key: key('keep'), spec: { v: 1 } },
    { key: key('new'), spec: { v: 2 } },
  ]);
  assert.deepEqual(
    changes.map((c) => `${c.op}:${c.resource.name}`).sort(),
    ['delete:gone', 'upsert:new'],
  );
  assert.deepEqual(
    s.resources.list('ConfigMap').map((r) => r.name),
    ['keep', 'new', 'static-one'],
  );
});

test('every write takes the next store revision; a watch resumes from any kept revision (ADDED, MODIFIED, DELETED in order)', (t) => {
  const s = openNodeStore(join(tmpDir(t), 'n.db'));
  t.after(() => s.close());
  const r = s.resources;
  assert.equal(r.revision(), 0);
  const a = r.put(key('a', 'Pod'), { v: 1 }).resource;
  const b = r.put(key('b', 'Pod'), { v: 1 }).resource;
  assert.deepEqual([a.revision, a.createdRevision, b.revision], [1, 1, 2]);
  r.put(key('b', 'Pod'), { v: 1 }); // unchanged: no revision
  assert.equal(r.revision(), 2);
  r.setStatus(key('a', 'Pod'), { phase: 'Running' });
  assert.equal(r.get(key('a', 'Pod'))!.revision, 3);
  r.delete(key('b', 'Pod'));
  r.put(key('c', 'Pod'), { v: 1 });
  r.put(key('other', 'ConfigMap'), { v: 1 });
  assert.equal(r.revision(), 6);
  const since = (n: number) => r.changesSince(n, 'Pod').map((c) => `${c.op}:${c.resource.name}:${c.created}:${c.resource.revision}`);
  assert.deepEqual(since(2), ['upsert:a:false:3', 'delete:b:false:4', 'upsert:c:true:5']);
  assert.deepEqual(since(0), ['upsert:a:true:3', 'upsert:c:true:5'], 'b was made and deleted after 0: never seen');
  assert.deepEqual(since(6), []);
  // deleted and made again under the same name: DELETED then ADDED
  r.delete(key('c', 'Pod'));
  r.put(key('c', 'Pod'), { v: 2 });
  assert.deepEqual(since(6), ['delete:c:false:7', 'upsert:c:true:8']);
});

test('the tombstone window is bounded; resuming from before it is StoreGoneError, and revisions survive a reopen', (t) => {
  const file = join(tmpDir(t), 'n.db');
  let s = openNodeStore(file, { deletionWindow: 2 });
  for (const n of ['a', 'b', 'c', 'd']) s.resources.put(key(n), { v: 1 });
  for (const n of ['a', 'b', 'c']) s.resources.delete(key(n));
  assert.equal(s.resources.compacted(), 5, 'the first tombstone (revision 5) was dropped');
  assert.throws(() => s.resources.changesSince(4, 'ConfigMap'), (e: unknown) => e instanceof StoreGoneError && e.requested === 4);
  assert.deepEqual(
    s.resources.changesSince(5, 'ConfigMap').map((c) => c.resource.name),
    ['b', 'c'],
  );
  s.close();
  s = openNodeStore(file, { deletionWindow: 2 });
  t.after(() => s.close());
  assert.equal(s.resources.revision(), 7);
  assert.equal(s.resources.put(key('e'), { v: 1 }).resource.revision, 8);
});

test('a listener that wants no status writes hears desired changes only; while none wants them a status write still reports, stores and hands the uid', (t) => {
  const s = openNodeStore(join(tmpDir(t), 'n.db'));
  t.after(() => s.close());
  const desiredOnly: string[] = [];
  let watching = false;
  const sometimes: string[] = [];
  s.resources.onChange(
    (c) => desiredOnly.push(c.op),
    () => false,
  );
  const off = s.resources.onChange(
    (c) => sometimes.push(`${c.op}:${JSON.stringify(c.resource.status)}:${'previous' in c && c.previous ? JSON.stringify(c.previous.status) : ''}`),
    () => watching,
  );
  const { resource } = s.resources.put(key('p', 'Pod'), { spec: { containers: [] } });
  const uids: (string | undefined)[] = [];
  assert.equal(
    s.resources.setStatus(key('p', 'Pod'), { phase: 'Pending' }, (uid) => uids.push(uid)),
    true,
  );
  assert.equal(s.resources.setStatus(key('p', 'Pod'), { phase: 'Pending' }), false, 'unchanged');
  watching = true;
  assert.equal(s.resources.setStatus(key('p', 'Pod'), { phase: 'Running' }), true);
  watching = false;
  assert.equal(s.resources.setStatus(key('p', 'Pod'), { phase: 'Succeeded' }), true);
  off();
  assert.deepEqual(uids, [resource.uid]);
  assert.deepEqual(s.resources.get(key('p', 'Pod'))?.status, { phase: 'Succeeded' });
  assert.deepEqual(desiredOnly, ['upsert']);
  assert.deepEqual(sometimes, ['upsert:null:', 'status:{"phase":"Running"}:{"phase":"Pending"}']);
});
