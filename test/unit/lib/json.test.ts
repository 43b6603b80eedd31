import assert from 'node:assert/strict';
import { test } from 'node:test';
import { nestedDeeperThan } from '../../../src/lib/json.js';

test('nestedDeeperThan counts objects and arrays, scalars are depth 0, and survives hostile depth', () => {
  assert.equal(nestedDeeperThan(1, 0), false);
  assert.equal(nestedDeeperThan(null, 0), false);
  assert.equal(nestedDeeperThan({}, 0), true);
  assert.equal(nestedDeeperThan({ a: { b: [1] } }, 3), false);
  assert.equal(nestedDeeperThan({ a: { b: [1] } }, 2), true);
  assert.equal(nestedDeeperThan({ a: 1, b: { c: [{ d: 1 }] } }, 3), true);
  let deep: unknown = 'x';
  for (let i = 0; i < 1_000_000; i++) deep = [deep];
  assert.equal(nestedDeeperThan(deep, 100), true);
  // wide is not deep
  assert.equal(nestedDeeperThan(Array.from({ length: 100_000 }, () => ({ a: 1 })), 2), false);
});
