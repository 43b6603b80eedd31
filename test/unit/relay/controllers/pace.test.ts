/** The pace of a controller's writes: a token bucket each caller waits its turn in. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Pace } from '../../../../src/relay/controllers/pace.js';

function fakeClock() {
  const c = { t: 0, slept: [] as number[], now: () => c.t, sleep: async (ms: number) => void (c.slept.push(ms), (c.t += ms)) };
  return c;
}

test('a full bucket lets perSecond writes go at once; the next waits for its token', async () => {
  const c = fakeClock();
  const p = new Pace(4, c);
  for (let i = 0; i < 4; i++) await p.take();
  assert.deepEqual(c.slept, []);
  await p.take();
  assert.deepEqual(c.slept, [250]);
  c.t += 1000; // a quiet second refills the bucket, no more than full
  for (let i = 0; i < 4; i++) await p.take();
  assert.deepEqual(c.slept, [250]);
});

test('no pace: 0', async () => {
  const c = fakeClock();
  const p = new Pace(0, c);
  for (let i = 0; i < 1000; i++) await p.take();
  assert.deepEqual(c.slept, []);
});
