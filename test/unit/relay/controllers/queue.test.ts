import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../../../src/core/logger.js';
import { WorkQueue } from '../../../../src/relay/controllers/queue.js';

const log = createLogger({ level: 'error', format: 'json', sink: { write: () => undefined } }, 'test');

/** work that completes without I/O (as the relay's SQLite writes do): only microtasks */
function run(sliceMs: number, keys: string[]) {
  const order: string[] = [];
  const q = new WorkQueue(async (k) => void order.push(k), log, undefined, { sliceMs, now: (() => { let t = 0; return () => t++; })() });
  setImmediate(() => order.push('I/O turn'));
  for (const k of keys) q.add(k);
  return { q, order };
}

test('a long queue of I/O-free work lets the event loop turn between slices', { timeout: 10_000 }, async () => {
  // each `now()` call advances the fake clock by 1 ms: a slice of 2 ms holds about one key
  const { q, order } = run(2, ['a', 'b', 'c', 'd']);
  await q.idle();
  assert.ok(order.indexOf('I/O turn') > 0 && order.indexOf('I/O turn') < order.length - 1, `the turn came between keys: ${order.join(',')}`);
});

test('without slices (one huge slice) the same queue drains before the event loop turns', { timeout: 10_000 }, async () => {
  const { q, order } = run(Number.POSITIVE_INFINITY, ['a', 'b', 'c', 'd']);
  await q.idle();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, ['a', 'b', 'c', 'd', 'I/O turn']);
});

test('keys added again while the loop turns fold into the pending ones: each is worked once', { timeout: 10_000 }, async () => {
  const order: string[] = [];
  let turns = 0;
  const q: WorkQueue = new WorkQueue(async (k) => void order.push(k), log, undefined, {
    sliceMs: 0,
    yieldTurn: async () => {
      if (turns++ > 0) return;
      // a node that went offline and is back before its turn: still one key
      q.add('c');
      q.add('b');
    },
  });
  for (const k of ['a', 'b', 'c']) q.add(k);
  await q.idle();
  assert.deepEqual(order, ['a', 'b', 'c']);
  assert.equal(turns, 2, 'a slice of 0 ms turns after every key but the last');
});
