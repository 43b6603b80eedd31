/** Upgrading a store written by an older schema (a committed fixture) keeps every row. */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { schemaVersion } from '../../../src/lib/sqlite.js';
import { NODE_MIGRATIONS } from '../../../src/store/migrations/index.js';
import { openNodeStore } from '../../../src/store/store.js';
import { ROOT, tmpDir } from '../../helpers/tmp.js';

test('a schema-1 store upgrades to the current schema with its data intact', (t) => {
  const file = join(tmpDir(t), 'old.db');
  const old = new Database(file);
  old.exec(readFileSync(join(ROOT, 'test/fixtures/store-v1.sql'), 'utf8'));
  assert.equal(old.pragma('user_version', { simple: true }), 1);
  old.close();

  const s = openNodeStore(file);
  t.after(() => s.close());
  assert.equal(schemaVersion(s.db), NODE_MIGRATIONS.length);
  const pod = s.resources.get({ kind: 'Pod', namespace: 'default', name: 'web' });
  assert.ok(pod);
  assert.equal(pod.uid, '6f1c1d52-0d2e-4c1e-9a54-3f8f0a4f6b11');
  assert.equal(pod.resourceVersion, 7);
  assert.deepEqual(pod.status, { phase: 'Running' });
  assert.equal(pod.origin, 'cloud', 'rows from before origins existed count as cloud objects');
  assert.deepEqual(s.resources.get({ kind: 'ConfigMap', namespace: 'factory', name: 'settings' })?.spec, { data: { mode: 'eco' } });
  // The tables added by later migrations work.
  s.outbox.enqueueState('Pod/default/web', 'up', '{}');
  assert.equal(s.outbox.stats().rows, 1);
  s.meta.set('desired.version', '3');
  assert.equal(s.meta.get('desired.version'), '3');
});

test('reopening an up-to-date store runs no migration and changes nothing', (t) => {
  const file = join(tmpDir(t), 'n.db');
  const a = openNodeStore(file);
  a.resources.put({ kind: 'ConfigMap', namespace: 'default', name: 'x' }, { data: {} });
  a.close();
  const b = openNodeStore(file);
  t.after(() => b.close());
  assert.equal(b.resources.list('ConfigMap').length, 1);
  assert.equal(schemaVersion(b.db), NODE_MIGRATIONS.length);
});
