/** Store migration 5 (the app class): rows and their numbering survive, so the relay's dedup mark never sees a sequence restart. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { migrate, openDatabase } from '../../../src/lib/sqlite.js';
import { NODE_MIGRATIONS } from '../../../src/store/migrations/index.js';
import { openNodeStore } from '../../../src/store/store.js';
import { tmpDir } from '../../helpers/tmp.js';

function v4(file: string, rows: string[], sent: number): void {
  const db = openDatabase(file);
  migrate(db, NODE_MIGRATIONS.slice(0, 4));
  const ins = db.prepare("INSERT INTO outbox (class, key, topic, payload, bytes, created_at) VALUES ('telemetry', NULL, 't', ?, ?, '2026-01-01T00:00:00Z')");
  for (let i = 0; i < sent; i++) ins.run(Buffer.from('x'), 1);
  db.prepare('DELETE FROM outbox').run(); // sent and acknowledged
  for (const r of rows) ins.run(Buffer.from(r), r.length);
  db.close();
}

test('queued rows keep their sequence and the numbering continues after them', (t) => {
  const file = join(tmpDir(t), 'n.db');
  v4(file, ['a', 'bb'], 7);
  const s = openNodeStore(file);
  t.after(() => s.close());
  assert.deepEqual(s.outbox.peek(10).map((e) => [e.seq, e.payload.toString()]), [[8, 'a'], [9, 'bb']]);
  assert.deepEqual([s.outbox.stats().rows, s.outbox.stats().bytes], [2, 3]);
  assert.equal(s.outbox.enqueueApp('t', 'c'), 10);
});

test('an empty outbox that had sent rows keeps counting from where it stopped', (t) => {
  const file = join(tmpDir(t), 'n.db');
  v4(file, [], 12);
  const s = openNodeStore(file);
  t.after(() => s.close());
  assert.equal(s.outbox.enqueueTelemetry('t', 'x'), 13);
});
