import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keepCopy, subscriptionIdOf } from '../../../src/modules/eventbus/overlap.js';

const FILTERS = ['$hw/events/upload/#', 'SYS/dis/upload_records', '+/user/#', 'plant/user/#', 'plant/data'];

test('subscription ids: stable per filter, in the MQTT 5 range, distinct for distinct filters here', () => {
  const ids = FILTERS.map(subscriptionIdOf);
  assert.deepEqual(ids, FILTERS.map(subscriptionIdOf));
  for (const id of ids) assert.ok(Number.isInteger(id) && id >= 1 && id <= 268_435_455);
  assert.equal(new Set(ids).size, FILTERS.length);
});

test('overlapping subscriptions: of the copies a broker sends one per matching filter, exactly one is kept', () => {
  const topic = 'plant/user/temperature'; // matches +/user/# and plant/user/#
  const copies = ['+/user/#', 'plant/user/#'].map((f) => [subscriptionIdOf(f)]);
  assert.deepEqual(
    copies.map((ids) => keepCopy(FILTERS, topic, ids)),
    [true, false],
  );
  // one copy carrying both identifiers (a broker that merges them): kept
  assert.equal(keepCopy(FILTERS, topic, copies.flat()), true);
});

test('a topic one filter matches, a copy without identifiers, or one from filters since removed: kept', () => {
  assert.equal(keepCopy(FILTERS, 'plant/data', [subscriptionIdOf('plant/data')]), true);
  assert.equal(keepCopy(FILTERS, 'plant/user/x', []), true);
  assert.equal(keepCopy(FILTERS, 'plant/user/x', [subscriptionIdOf('old/filter/#')]), true);
});
