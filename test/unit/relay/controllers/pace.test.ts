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

test('giving way: while busy, one write per busyGapMs; when no longer busy, the bucket (refilled meanwhile) goes at once', async () => {
  const c = fakeClock();
  let busy = true;
  const p = new Pace(4, c, { busy: () => busy, busyGapMs: 1000 });
  const at: number[] = [];
  for (let i = 0; i < 3; i++) {
    await p.take();
    at.push(c.t);
  }
  // the first goes at once, then one a second, though the bucket holds tokens
  assert.deepEqual(at, [0, 1000, 2000]);
  busy = false;
  // the bucket refilled during the spell (the last write of it took one token): three at once
  for (let i = 0; i < 3; i++) await p.take();
  assert.equal(c.t, 2000, 'the bucket after the busy spell goes at once');
  await p.take();
  assert.equal(c.t, 2250);
});

test('giving way: a write held back goes as soon as the busy spell ends, not at the end of its gap', async () => {
  const c = fakeClock();
  let calls = 0;
  // busy for the first three looks only
  const p = new Pace(10, c, { busy: () => ++calls <= 3, busyGapMs: 1000 });
  await p.take(); // busy, the first of the spell: at once
  assert.equal(c.t, 0);
  await p.take(); // busy (look 2), sleeps one poll; look 3 busy, another; look 4 free
  assert.equal(c.t, 100);
});
