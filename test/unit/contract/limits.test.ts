/** Size limits of the node → relay wire: one per uplink channel, none for what a node does not send. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NODE_MAX_PACKET_BYTES, oversize, UPLINK_MAX_BYTES, uplinkLimit } from '../../../src/contract/limits.js';
import { LIMITS as STREAM_LIMITS } from '../../../src/contract/streams.js';
import { relayConfigSchema } from '../../../src/relay/config.js';

test('every uplink channel has a limit within the broker packet limit; other channels have none', () => {
  for (const [channel, max] of Object.entries(UPLINK_MAX_BYTES)) {
    assert.ok(max > 0 && max + 1024 < NODE_MAX_PACKET_BYTES, `${channel}: ${max}`);
  }
  assert.ok(UPLINK_MAX_BYTES['stream/up'] > STREAM_LIMITS.maxData, 'a full stream DATA frame fits');
  assert.equal(uplinkLimit('desired'), 0);
  assert.equal(oversize('desired', 1), 'nodes do not send on desired');
  assert.equal(oversize('sync', 4096), undefined);
  assert.equal(oversize('sync', 4097), 'payload of 4097 bytes is over the 4096-byte limit of sync');
  assert.equal(oversize('reported/state', 256 * 1024), undefined);
});

test('broker.maxPacketBytes: defaults to the node packet limit; below the largest channel limit is refused', () => {
  const broker = (b: Record<string, unknown>) => relayConfigSchema.safeParse({ broker: b });
  assert.equal(relayConfigSchema.parse({}).broker.maxPacketBytes, NODE_MAX_PACKET_BYTES);
  assert.equal(broker({ maxPacketBytes: 4096 }).success, false);
  assert.equal(broker({ maxPacketBytes: 1024 * 1024 }).success, true);
});
