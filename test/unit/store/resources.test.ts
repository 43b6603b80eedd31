import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import type { ResourceChange } from '../../../src/store/resources.js';
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
