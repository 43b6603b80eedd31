/** Issue 18, point 4 at the node link's edge: sizes per channel before parsing, `sync` floods coalesced and paced. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UPLINK_MAX_BYTES } from '../../../../src/contract/limits.js';
import { SYNC_REPUBLISH } from '../../../../src/relay/nodelink/ingress.js';
import { linkFixture, pod, POD } from './fixture.js';

const syncRequest = { epoch: 'x', appliedVersion: 0, bootId: 'b', timestamp: 1 };

test('2,000 sync requests cost at most the burst in documents; the rest fold into one that waits for its token', async (t) => {
  const f = await linkFixture(t);
  await f.join('n1');
  await f.admin.create(POD, pod('p', 'n1'));
  await f.link.idle();
  const before = f.transport.docs('n1').length;
  const payload = Buffer.from(JSON.stringify(syncRequest));
  for (let i = 0; i < 2000; i++) await f.link.handle('n1', 'sync', payload);
  await f.link.idle();
  const sent = f.transport.docs('n1').length - before;
  assert.ok(sent >= 1 && sent <= SYNC_REPUBLISH.burst, `${sent} documents for 2,000 requests`);
  // the fixture's clock stands still: the burst ran, one run waits for its token, everything else folded into it
  assert.deepEqual(f.link.ingress.syncRequests.counters, { requested: 2000, runs: SYNC_REPUBLISH.burst, delayed: 1, coalesced: 2000 - SYNC_REPUBLISH.burst - 1 });
  assert.equal(f.link.ingress.syncRequests.size(), 1, 'state for the one node that asked');
});

test('a payload over its channel limit is refused before it is parsed and changes nothing', async (t) => {
  const f = await linkFixture(t);
  await f.join('n1');
  await f.link.idle();
  const before = f.transport.docs('n1').length;
  const rejected = f.link.ingress.counters.rejected;
  // a well-formed sync request padded past the 4 KiB of its channel
  await f.send('n1', 'sync', { ...syncRequest, bootId: 'b'.repeat(UPLINK_MAX_BYTES.sync) });
  await f.send('n1', 'heartbeat', { v: 'x'.repeat(UPLINK_MAX_BYTES.heartbeat) });
  assert.equal(f.link.ingress.counters.rejected, rejected + 2);
  assert.equal(f.transport.docs('n1').length, before, 'no document for a refused sync');
  assert.equal(f.link.ingress.syncRequests.counters.requested, 0);
});
