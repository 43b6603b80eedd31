import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay, sleep } from '../../../src/core/backoff.js';

test('backoff doubles from the initial delay and stops at the cap', () => {
  const p = { initialMs: 10_000, maxMs: 300_000, factor: 2, jitter: 0 };
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 10].map((a) => backoffDelay(p, a)),
    [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000],
  );
});

test('jitter stays inside [d*(1-j), d]', () => {
  const p = { initialMs: 1000, maxMs: 60_000, factor: 2, jitter: 0.5 };
  assert.equal(backoffDelay(p, 2, () => 0), 2000);
  assert.equal(backoffDelay(p, 2, () => 1), 4000);
  assert.equal(backoffDelay(p, 10, () => 0.5), 45_000);
});

test('sleep rejects when aborted', async () => {
  const ac = new AbortController();
  const s = sleep(10_000, ac.signal);
  ac.abort(new Error('stop'));
  await assert.rejects(s, /stop/);
});
