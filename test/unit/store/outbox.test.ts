import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { openNodeStore } from '../../../src/store/store.js';
import { tmpDir } from '../../helpers/tmp.js';

test('state coalesces per key (latest wins, moves to the end); telemetry appends in order', (t) => {
  const s = openNodeStore(join(tmpDir(t), 'n.db'));
  t.after(() => s.close());
  s.outbox.enqueueState('Pod/default/a', 'up/state', 'a1');
  s.outbox.enqueueTelemetry('up/tel', 't1');
  s.outbox.enqueueState('Pod/default/b', 'up/state', 'b1');
  s.outbox.enqueueState('Pod/default/a', 'up/state', 'a2');
  s.outbox.enqueueTelemetry('up/tel', 't2');
  assert.deepEqual(
    s.outbox.peek(10).map((e) => e.payload.toString()),
    ['t1', 'b1', 'a2', 't2'],
  );
});

test('ack removes only the acknowledged entries; everything survives a reopen', (t) => {
  const file = join(tmpDir(t), 'n.db');
  let s = openNodeStore(file);
  for (let i = 0; i < 5; i++) s.outbox.enqueueTelemetry('up/tel', `m${i}`);
  const first = s.outbox.peek(2);
  s.outbox.ack(first.map((e) => e.seq));
  s.close();
  s = openNodeStore(file);
  t.after(() => s.close());
  assert.deepEqual(
    s.outbox.peek(10).map((e) => e.payload.toString()),
    ['m2', 'm3', 'm4'],
  );
});

test('over the bound the oldest telemetry is dropped, never state, and drops are counted', (t) => {
  const s = openNodeStore(join(tmpDir(t), 'n.db'), { outbox: { maxRows: 4, maxBytes: 1 << 20 } });
  t.after(() => s.close());
  s.outbox.enqueueState('k1', 'up/state', 's1');
  s.outbox.enqueueTelemetry('up/tel', 't1');
  s.outbox.enqueueTelemetry('up/tel', 't2');
  s.outbox.enqueueState('k2', 'up/state', 's2');
  s.outbox.enqueueTelemetry('up/tel', 't3');
  s.outbox.enqueueTelemetry('up/tel', 't4');
  assert.deepEqual(
    s.outbox.peek(10).map((e) => e.payload.toString()),
    ['s1', 's2', 't3', 't4'],
  );
  // Only state left to drop: the bound is exceeded rather than losing the latest state.
  s.outbox.enqueueState('k3', 'up/state', 's3');
  s.outbox.enqueueState('k4', 'up/state', 's4');
  const st = s.outbox.stats();
  assert.equal(st.state, 4);
  assert.equal(st.telemetry, 0);
  assert.equal(st.dropped, 4);
});

test('the bound holds exactly through acks, replaced state and a rolled-back enqueue (the usage is read only when the room known runs out)', (t) => {
  const s = openNodeStore(join(tmpDir(t), 'n.db'), { outbox: { maxRows: 5, maxBytes: 1 << 20 } });
  t.after(() => s.close());
  const a = s.outbox.enqueueTelemetry('up/tel', 'a');
  s.outbox.enqueueTelemetry('up/tel', 'b');
  s.outbox.ack([a]);
  assert.throws(() =>
    s.db.transaction(() => {
      s.outbox.enqueueTelemetry('up/tel', 'rolled back');
      throw new Error('the writer failed');
    })(),
  );
  for (let i = 0; i < 10; i++) s.outbox.enqueueState('k', 'up/state', `s${i}`);
  for (let i = 0; i < 10; i++) s.outbox.enqueueTelemetry('up/tel', `m${i}`);
  assert.deepEqual(
    s.outbox.peek(10).map((e) => e.payload.toString()),
    ['s9', 'm6', 'm7', 'm8', 'm9'],
  );
  assert.equal(s.outbox.stats().dropped, 7, 'b and m0..m5');
});

test('the byte bound drops telemetry too', (t) => {
  const s = openNodeStore(join(tmpDir(t), 'n.db'), { outbox: { maxRows: 1000, maxBytes: 2048 } });
  t.after(() => s.close());
  for (let i = 0; i < 10; i++) s.outbox.enqueueTelemetry('up/tel', Buffer.alloc(500, i));
  const st = s.outbox.stats();
  assert.ok(st.bytes <= 2048, `bytes ${st.bytes}`);
  assert.equal(st.rows, 4);
  assert.equal(st.dropped, 6);
  assert.equal(s.outbox.peek(1)[0]!.payload[0], 6, 'the newest survive');
});

test('app rows have their own bound: an app flood drops the oldest app rows, never the daemon’s, counted apart', (t) => {
  const s = openNodeStore(join(tmpDir(t), 'n.db'), { outbox: { maxRows: 3, maxBytes: 1 << 20, app: { maxRows: 5, maxBytes: 1 << 20, dropPolicy: 'oldest' } } });
  t.after(() => s.close());
  s.outbox.enqueueState('k1', 'up/state', 's1');
  s.outbox.enqueueTelemetry('up/tel', 't1');
  for (let i = 0; i < 20; i++) s.outbox.enqueueApp('up/app', `a${i}`);
  s.outbox.enqueueTelemetry('up/tel', 't2');
  assert.deepEqual(
    s.outbox.peek(10).map((e) => e.payload.toString()),
    ['s1', 't1', 't2'],
    "the daemon's rows are untouched by the flood",
  );
  assert.deepEqual(
    s.outbox.peekApp(10).map((e) => e.payload.toString()),
    ['a15', 'a16', 'a17', 'a18', 'a19'],
  );
  const st = s.outbox.stats();
  assert.deepEqual([st.rows, st.app, st.appDropped, st.dropped], [8, 5, 15, 0]);
});

test('drop policy newest refuses the new app message and keeps the queued ones', (t) => {
  const s = openNodeStore(join(tmpDir(t), 'n.db'), { outbox: { maxRows: 100, maxBytes: 1 << 20, app: { maxRows: 100, maxBytes: 1000, dropPolicy: 'newest' } } });
  t.after(() => s.close());
  const seqs = Array.from({ length: 5 }, (_, i) => s.outbox.enqueueApp('up/app', Buffer.alloc(300, i)));
  assert.deepEqual(seqs.map((x) => x !== undefined), [true, true, true, false, false]);
  assert.deepEqual(s.outbox.peekApp(10).map((e) => e.payload[0]), [0, 1, 2]);
  assert.equal(s.outbox.stats().appDropped, 2);
  assert.equal(s.outbox.stats().appBytes, 900);
});

test('rows and bytes per class are kept by the store itself and survive acks and a reopen', (t) => {
  const file = join(tmpDir(t), 'n.db');
  let s = openNodeStore(file);
  s.outbox.enqueueState('k', 'up/state', 'abc');
  s.outbox.enqueueState('k', 'up/state', 'abcd');
  const a = [s.outbox.enqueueApp('up/app', '12345')!, s.outbox.enqueueApp('up/app', '1')!];
  s.outbox.ack([a[0]!]);
  s.close();
  s = openNodeStore(file);
  t.after(() => s.close());
  const st = s.outbox.stats();
  assert.deepEqual([st.rows, st.bytes, st.state, st.app, st.appBytes], [2, 5, 1, 1, 1]);
});

test('the bounds hold when the counts are kept up to date across replacements, acks and reopen', (t) => {
  const file = join(tmpDir(t), 'n.db');
  let s = openNodeStore(file, { outbox: { maxRows: 3, maxBytes: 1 << 20 } });
  s.outbox.enqueueState('k', 'up/state', 'a');
  s.outbox.enqueueState('k', 'up/state', 'b'); // replaces: still one row
  s.outbox.enqueueTelemetry('up/tel', 't1');
  s.outbox.ack(s.outbox.peek(1).map((e) => e.seq)); // the state row goes
  s.outbox.enqueueTelemetry('up/tel', 't2');
  s.outbox.enqueueTelemetry('up/tel', 't3');
  assert.equal(s.outbox.stats().dropped, 0, 'three rows: within the bound');
  s.close();
  s = openNodeStore(file, { outbox: { maxRows: 3, maxBytes: 1 << 20 } });
  t.after(() => s.close());
  s.outbox.enqueueTelemetry('up/tel', 't4');
  assert.deepEqual(s.outbox.peek(10).map((e) => e.payload.toString()), ['t2', 't3', 't4']);
  assert.equal(s.outbox.stats().dropped, 1);
});
