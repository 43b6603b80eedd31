/** KeyedCoalescer: repeated requests fold into one run in flight and one pending, runs paced by a token bucket. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyedCoalescer } from '../../../src/lib/coalescer.js';

/** a clock and timers the test moves by hand */
function fakeTime() {
  let now = 0;
  const timers: { at: number; fn: () => void; live: boolean }[] = [];
  return {
    now: () => now,
    setTimer: (fn: () => void, ms: number) => {
      const t = { at: now + ms, fn, live: true };
      timers.push(t);
      return () => void (t.live = false);
    },
    advance(ms: number) {
      now += ms;
      for (const t of timers.filter((x) => x.live && x.at <= now)) {
        t.live = false;
        t.fn();
      }
    },
    pending: () => timers.filter((t) => t.live).length,
  };
}

const tick = () => new Promise((r) => setImmediate(r));

test('2,000 requests while a run is in flight cost one more run, not 2,000', async () => {
  const time = fakeTime();
  const runs: string[] = [];
  let finish: (() => void)[] = [];
  const c = new KeyedCoalescer({
    burst: 3,
    intervalMs: 1000,
    now: time.now,
    setTimer: time.setTimer,
    run: (k) => new Promise<void>((r) => {
      runs.push(k);
      finish.push(r);
    }),
  });
  assert.equal(c.request('a'), 'started');
  for (let i = 0; i < 2000; i++) assert.equal(c.request('a'), 'coalesced');
  assert.deepEqual(runs, ['a']);
  finish.shift()!();
  await tick();
  assert.deepEqual(runs, ['a', 'a'], 'the folded requests get exactly one run');
  finish.shift()!();
  await tick();
  assert.deepEqual(runs, ['a', 'a']);
  assert.deepEqual(c.counters, { requested: 2001, runs: 2, coalesced: 2000, delayed: 0 });
  finish = [];
});

test('runs are paced: burst at once, then one per interval; a request without a token waits for it, never dropped', async () => {
  const time = fakeTime();
  let runs = 0;
  const c = new KeyedCoalescer({ burst: 2, intervalMs: 1000, now: time.now, setTimer: time.setTimer, run: async () => void runs++ });
  assert.equal(c.request('a'), 'started');
  await tick();
  assert.equal(c.request('a'), 'started');
  await tick();
  assert.equal(c.request('a'), 'delayed');
  for (let i = 0; i < 500; i++) c.request('a');
  await tick();
  assert.equal(runs, 2);
  time.advance(999);
  await tick();
  assert.equal(runs, 2, 'no token before the interval');
  time.advance(1);
  await tick();
  assert.equal(runs, 3, 'the waiting request ran when its token came; the 500 after it folded into it');
  time.advance(10_000);
  await tick();
  assert.equal(runs, 3);
  assert.equal(time.pending(), 0);
});

test('keys are independent; forget drops a key with its waiting run', async () => {
  const time = fakeTime();
  const runs: string[] = [];
  const c = new KeyedCoalescer({ burst: 1, intervalMs: 1000, now: time.now, setTimer: time.setTimer, run: async (k) => void runs.push(k) });
  c.request('a');
  c.request('b');
  await tick();
  assert.equal(c.request('a'), 'delayed');
  assert.equal(c.size(), 2);
  c.forget('a');
  assert.equal(c.size(), 1);
  time.advance(5000);
  await tick();
  assert.deepEqual(runs, ['a', 'b']);
});

test('a run that throws or rejects frees its key', async () => {
  const time = fakeTime();
  let n = 0;
  const c = new KeyedCoalescer({
    burst: 5,
    intervalMs: 1000,
    now: time.now,
    setTimer: time.setTimer,
    run: (() => {
      n++;
      if (n === 1) throw new Error('sync throw');
      return Promise.reject(new Error('rejected'));
    }) as () => Promise<void>,
  });
  c.request('a');
  await tick();
  c.request('a');
  await tick();
  assert.equal(c.request('a'), 'started');
  await tick();
  assert.equal(n, 3);
});
