/** The eventbus broker link's MQTT filter matching (for the external-broker mode's dispatch). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { topicMatches } from '../../../src/modules/eventbus/broker.js';

test('MQTT filter matching', () => {
  assert.ok(topicMatches('$hw/events/device/#', '$hw/events/device/a/b/twin/update'));
  assert.ok(topicMatches('$hw/events/device/+/twin/update', '$hw/events/device/a/twin/update'));
  assert.ok(!topicMatches('$hw/events/device/+/twin/update', '$hw/events/device/a/b/twin/update'));
  assert.ok(!topicMatches('a/b', 'a'));
  assert.ok(topicMatches('a/#', 'a/b/c'));
});
