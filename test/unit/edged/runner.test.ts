/** The pass runner on a FAKE clock: one pass at a time, bursts coalesce, failures back off, wake-ups. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PassRunner, type PassOutcome } from '../../../src/modules/edged/runner.js';
import { FakeTimers, settle } from './fake-timers.js';

const OK: PassOutcome = {};

function setup(outcomes: (PassOutcome | Error)[] = []) {
  const timers = new FakeTimers();
  const passes: string[] = [];
  const thrown: number[] = [];
  let release: (() => void) | undefined;
  let holdNext = false;
  const runner = new PassRunner({
    pass: async (reason) => {
      passes.push(reason);
      if (holdNext) {
        holdNext = false;
        await new Promise<void>((r) => (release = r));
      }
      const o = outcomes.shift() ?? OK;
      if (o instanceof Error) throw o;
      return o;
    },
    onThrow: (_r, _e, attempt) => thrown.push(attempt),
    onDone: () => undefined,
    retry: { initialMs: 500, maxMs: 4000, factor: 2, jitter: 0 },
    debounceMs: 30,
    timers,
  });
  return { timers, passes, thrown, runner, hold: () => (holdNext = true), release: () => release?.() };
}

test('a burst of triggers makes one pass', async () => {
  const s = setup();
  for (const r of ['desired', 'event', 'probe']) s.runner.trigger(r);
  await s.timers.advance(100);
  assert.deepEqual(s.passes, ['desired']);
});

test('passes never overlap: triggers during a pass make exactly one more after it', async () => {
  const s = setup();
  s.hold();
  s.runner.trigger('first');
  await s.timers.advance(30);
  assert.deepEqual(s.passes, ['first']);
  s.runner.trigger('during-1');
  s.runner.trigger('during-2');
  await s.timers.advance(1000);
  assert.deepEqual(s.passes, ['first'], 'nothing runs while the pass is in progress');
  s.release();
  await s.timers.advance(100);
  assert.deepEqual(s.passes, ['first', 'again']);
});

test('a pass that throws retries with doubling backoff up to the cap; a clean pass resets it', async () => {
  const boom = new Error('engine gone');
  const s = setup([boom, boom, boom, boom, boom, OK]);
  s.runner.trigger('start');
  await s.timers.advance(30);
  assert.deepEqual(s.timers.pending(), [500]);
  await s.timers.advance(530);
  assert.deepEqual(s.timers.pending(), [1000]);
  await s.timers.advance(1030 + 2030 + 4030);
  assert.deepEqual(s.timers.pending(), [4000], 'capped');
  assert.deepEqual(s.thrown, [1, 2, 3, 4, 5]);
  await s.timers.advance(4030);
  assert.equal(s.passes.length, 6);
  assert.equal(s.runner.failedPasses, 0);
  assert.deepEqual(s.timers.pending(), []);
});

test('wakeAt schedules a pass when a backoff expires; a newer wakeAt replaces it', async () => {
  const s = setup([{ wakeAt: 10_000 }, { wakeAt: 3_000 }]);
  s.runner.trigger('start');
  await s.timers.advance(30);
  assert.deepEqual(s.timers.pending(), [10_000 - 30 + 20]);
  s.runner.trigger('event');
  await s.timers.advance(30);
  assert.deepEqual(s.timers.pending(), [3_000 - 60 + 20]);
  await s.timers.advance(3_000);
  assert.deepEqual(s.passes, ['start', 'event', 'backoff-expired']);
});

test('after stop no pass starts, and stop waits for the running one', async () => {
  const s = setup();
  s.hold();
  s.runner.trigger('start');
  await s.timers.advance(30);
  let stopped = false;
  const done = s.runner.stop().then(() => (stopped = true));
  s.runner.trigger('late');
  await settle();
  assert.equal(stopped, false);
  s.release();
  await done;
  await s.timers.advance(1000);
  assert.deepEqual(s.passes, ['start']);
});
