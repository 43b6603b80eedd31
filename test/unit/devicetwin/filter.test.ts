/** Reporting filters: which samples are reported, with time passed in. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PropertyFilter, type Report } from '../../../src/modules/devicetwin/filter.js';

const values = (rs: (Report | undefined)[]) => rs.filter((r): r is Report => r !== undefined).map((r) => r.value);

test('cycle: the latest sample once per report cycle, nothing when no new sample', () => {
  const f = new PropertyFilter({ mode: 'cycle', minIntervalMs: 0 });
  assert.equal(f.sample(1, 0), undefined);
  assert.equal(f.sample(2, 10), undefined);
  assert.deepEqual(f.tick(100), { value: 2, at: 10 });
  assert.equal(f.tick(200), undefined);
  f.sample(2, 210);
  assert.deepEqual(f.tick(300)?.value, 2);
});

test('change: reports only changed values', () => {
  const f = new PropertyFilter({ mode: 'change', minIntervalMs: 0 });
  assert.deepEqual(values([1, 1, 2, 2, 2, 1, true, true].map((v, i) => f.sample(v, i))), [1, 2, 1, true]);
});

test('deadband absolute: small moves are swallowed, big ones reported', () => {
  const f = new PropertyFilter({ mode: 'deadband', absolute: 0.5, minIntervalMs: 0 });
  assert.deepEqual(values([20, 20.2, 20.4, 20.6, 20.3, 21.2, 19.9].map((v, i) => f.sample(v, i))), [20, 20.6, 21.2, 19.9]);
});

test('deadband percent: relative to the last reported value', () => {
  const f = new PropertyFilter({ mode: 'deadband', percent: 10, minIntervalMs: 0 });
  assert.deepEqual(values([100, 105, 109, 111, 120, 123].map((v, i) => f.sample(v, i))), [100, 111, 123]);
});

test('min interval holds reports and sends the newest held value when it elapses', () => {
  const f = new PropertyFilter({ mode: 'change', minIntervalMs: 100 });
  assert.deepEqual(f.sample(1, 0)?.value, 1);
  assert.equal(f.sample(2, 10), undefined);
  assert.equal(f.sample(3, 20), undefined);
  assert.equal(f.tick(50), undefined, 'still inside the interval');
  assert.deepEqual(f.tick(100), { value: 3, at: 20 });
  assert.equal(f.tick(250), undefined, 'nothing held');
  // back to the reported value: the held change is dropped
  assert.deepEqual(f.sample(4, 260)?.value, 4);
  assert.equal(f.sample(5, 270), undefined, 'held');
  assert.equal(f.sample(4, 280), undefined);
  assert.equal(f.tick(400), undefined);
});

test('aggregate: min/max/mean/count of the cycle, value = last sample', () => {
  const f = new PropertyFilter({ mode: 'aggregate', minIntervalMs: 0 });
  for (const [i, v] of [4, 8, 6].entries()) assert.equal(f.sample(v, i), undefined);
  assert.deepEqual(f.tick(100), { value: 6, at: 2, aggregate: { min: 4, max: 8, mean: 6, count: 3 } });
  assert.equal(f.tick(200), undefined, 'no samples, no report');
  f.sample(1, 201);
  assert.deepEqual(f.tick(300)?.aggregate, { min: 1, max: 1, mean: 1, count: 1 });
});

test('reset: the next sample is reported afresh', () => {
  const f = new PropertyFilter({ mode: 'deadband', absolute: 5, minIntervalMs: 0 });
  f.sample(10, 0);
  assert.equal(f.sample(11, 1), undefined);
  f.reset();
  assert.deepEqual(f.sample(11, 2)?.value, 11);
});

test('cycle: values pushed by the hardware (edge interrupts) go out at once when they differ', () => {
  const f = new PropertyFilter({ mode: 'cycle', minIntervalMs: 0 });
  assert.deepEqual(f.pushed(true, 5), { value: true, at: 5 });
  assert.equal(f.pushed(true, 6), undefined);
  assert.deepEqual(f.pushed(false, 7)?.value, false);
  assert.equal(f.tick(100), undefined, 'already reported');
  const held = new PropertyFilter({ mode: 'cycle', minIntervalMs: 100 });
  assert.deepEqual(held.pushed(1, 0)?.value, 1);
  assert.equal(held.pushed(2, 10), undefined, 'held by the min interval');
  assert.deepEqual(held.tick(100), { value: 2, at: 10 });
  const c = new PropertyFilter({ mode: 'deadband', absolute: 1, minIntervalMs: 0 });
  c.pushed(1, 0);
  assert.equal(c.pushed(1.5, 1), undefined, 'other modes filter pushed values like samples');
});
