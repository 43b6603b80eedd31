/** openDatabase's prepared-statement cache: shared when free, fresh when busy, bounded. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDatabase } from '../../../src/lib/sqlite.js';
import { tmpDir } from '../../helpers/tmp.js';

test('the same SQL gives the same statement unless it is busy iterating', (t) => {
  const db = openDatabase(join(tmpDir(t), 'c.db'));
  t.after(() => db.close());
  db.exec('CREATE TABLE t (v INTEGER)');
  for (let i = 0; i < 3; i++) db.prepare('INSERT INTO t (v) VALUES (?)').run(i);
  const sel = 'SELECT v FROM t ORDER BY v';
  assert.equal(db.prepare(sel), db.prepare(sel));
  const seen: number[] = [];
  for (const r of db.prepare(sel).iterate() as IterableIterator<{ v: number }>) {
    // the cached one is busy here: a nested use of the same SQL still works
    seen.push(r.v, (db.prepare(sel).all() as { v: number }[]).length);
  }
  assert.deepEqual(seen, [0, 3, 1, 3, 2, 3]);
  assert.equal((db.prepare(sel).all() as unknown[]).length, 3);
});
