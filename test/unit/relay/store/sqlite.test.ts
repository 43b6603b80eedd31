/** The relay's SQLite store: credentials, telemetry kept per node and deduplicated, the upgrade to API-derived sync. */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { openDatabase } from '../../../../src/lib/sqlite.js';
import { migrate } from '../../../../src/lib/sqlite.js';
import { RELAY_MIGRATIONS } from '../../../../src/relay/store/migrations.js';
import { SqliteObjectStore } from '../../../../src/relay/store/objects-sqlite.js';
import { SqliteRelayStore } from '../../../../src/relay/store/sqlite.js';
import { NodeRateLimiter } from '../../../../src/relay/nodelink/telemetry.js';
import { tmpDir } from '../../../helpers/tmp.js';

const sample = (node: string, seq: number | null, i = 0) => ({ node, kind: 'Device', namespace: 'default', name: 'd', event: 'twin.reported', data: { i }, desiredVersion: 1, seq, timestamp: 1 });

test('telemetry: a sample seen before is a duplicate, one arriving late (after newer ones) is not; streams are per node', (t) => {
  const s = SqliteRelayStore.open(join(tmpDir(t), 'relay.db'));
  t.after(() => s.close());
  assert.equal(s.appendTelemetry([sample('a', 5)], 's1', 1000), true);
  assert.equal(s.appendTelemetry([sample('a', 5)], 's1', 1000), false);
  assert.equal(s.appendTelemetry([sample('a', 4)], 's1', 1000), true, 'late (a broker redelivered it after 5): kept');
  assert.equal(s.appendTelemetry([sample('a', 4)], 's1', 1000), false, 'and only once');
  assert.equal(s.appendTelemetry([sample('a', 6)], 's1', 1000), true);
  assert.equal(s.appendTelemetry([sample('a', 1)], 's2', 1000), true, 'a new stream (a new node store) starts over');
  assert.equal(s.appendTelemetry([sample('b', 5)], 's1', 1000), true, "another node's stream of the same id is its own");
  assert.equal(s.appendTelemetry([sample('a', null)], undefined, 1000), true, 'unstamped rows are kept');
  assert.deepEqual(s.listTelemetry({ node: 'a' }).map((r) => r.seq), [5, 4, 6, 1, null]);
});

test("telemetry: the rows of one message (a device report's samples) share its seq and are one duplicate", (t) => {
  const s = SqliteRelayStore.open(join(tmpDir(t), 'relay.db'));
  t.after(() => s.close());
  assert.equal(s.appendTelemetry([sample('a', 3, 1), sample('a', 3, 2)], 's1', 1000), true);
  assert.equal(s.appendTelemetry([sample('a', 3, 1), sample('a', 3, 2)], 's1', 1000), false, 'sent again: nothing appended');
  assert.equal(s.appendTelemetry([sample('a', 4, 3)], 's1', 1000), true);
  assert.deepEqual(s.listTelemetry({ node: 'a' }).map((r) => [r.seq, (r.data as { i: number }).i]), [[3, 1], [3, 2], [4, 3]]);
});

test("telemetry retention is per node: one node's flood never erases another's history", (t) => {
  const s = SqliteRelayStore.open(join(tmpDir(t), 'relay.db'));
  t.after(() => s.close());
  for (let i = 0; i < 50; i++) s.appendTelemetry([sample('quiet', i + 1, i)], 'q', 100);
  for (let i = 0; i < 5000; i++) s.appendTelemetry([sample('loud', i + 1, i)], 'l', 100);
  const quiet = s.listTelemetry({ node: 'quiet', limit: 100_000 });
  assert.deepEqual(quiet.map((r) => (r.data as { i: number }).i), [...Array(50).keys()], 'every row of the quiet node is still there');
  const loud = s.listTelemetry({ node: 'loud', limit: 100_000 });
  assert.ok(loud.length >= 100 && loud.length <= 110, `the loud node keeps about its newest 100 (${loud.length})`);
  assert.equal((loud.at(-1)!.data as { i: number }).i, 4999);
});

test('rate limit per node: a burst, then the rate; another node is not affected', () => {
  let now = 0;
  const l = new NodeRateLimiter({ ratePerSecond: 10, burst: 5 }, () => now);
  const took = (n: string, k: number): number => Array.from({ length: k }, () => l.take(n)).filter(Boolean).length;
  assert.equal(took('a', 8), 5);
  assert.equal(took('b', 3), 3, "a's flood does not use b's tokens");
  now = 500;
  assert.equal(took('a', 10), 5, 'refilled at 10/s for 0.5 s');
  assert.equal(l.refused.get('a'), 8);
  // a message of several rows takes one token per row, all or none
  now = 1000;
  assert.equal(l.take('c', 3), true);
  assert.equal(l.take('c', 3), false, 'two tokens left: refused whole');
  assert.equal(l.take('c', 2), true);
  now = 2000;
  assert.equal(l.take('c', 50), true, 'bigger than the burst: passes on a full bucket');
  assert.equal(l.take('c', 1), false, 'and empties it');
});

test('upgrading a relay store: a new epoch, old objects waiting for import', async (t) => {
  const file = join(tmpDir(t), 'relay.db');
  const db = openDatabase(file);
  migrate(db, RELAY_MIGRATIONS.slice(0, 2));
  const epoch = (db.prepare("SELECT value FROM relay_meta WHERE key = 'epoch'").get() as { value: string }).value;
  db.prepare("INSERT INTO objects (kind, namespace, name, node, uid, generation, manifest, created_at, updated_at) VALUES ('ConfigMap', 'default', 'c', '*', 'u', 1, ?, 'x', 'x')").run(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' }, data: { a: '1' } }));
  db.close();
  const s = SqliteRelayStore.open(file);
  t.after(() => s.close());
  assert.deepEqual(s.legacyObjects().map((o) => `${o.kind}/${o.name}@${o.node}`), ['ConfigMap/c@*']);
  s.dropLegacyObject('ConfigMap', 'default', 'c');
  assert.deepEqual(s.legacyObjects(), []);
  const o = SqliteObjectStore.open(file);
  t.after(() => o.close());
  assert.notEqual(await o.epoch(), epoch, 'versions are now store revisions: nodes start over with a new epoch');
});

test('the epoch survives a reopen and changes with the version scheme (migration 3); a new store has a new one', async (t) => {
  const dir = tmpDir(t);
  const a = SqliteObjectStore.open(join(dir, 'a.db'));
  const e1 = await a.epoch();
  await a.close();
  const again = SqliteObjectStore.open(join(dir, 'a.db'));
  assert.equal(await again.epoch(), e1);
  await again.close();
  const b = SqliteObjectStore.open(join(dir, 'b.db'));
  assert.notEqual(await b.epoch(), e1);
  await b.close();
});
