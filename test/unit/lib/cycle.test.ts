import assert from 'node:assert/strict';
import { test } from 'node:test';
import { untilBoundary } from '../../../src/lib/cycle.js';

test('the next boundary of a cycle on the clock', () => {
  assert.equal(untilBoundary(1000, 12_300), 700);
  assert.equal(untilBoundary(1000, 12_999), 1);
  assert.equal(untilBoundary(1000, 13_000), 1000, 'on a boundary: the next one');
  assert.equal(untilBoundary(5000, 12_300), 2700);
  assert.equal(untilBoundary(0, 12_300), 0);
});
