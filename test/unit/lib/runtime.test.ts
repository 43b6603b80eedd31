import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ioUringReadsTtys } from '../../../src/lib/runtime.js';
import { checkRuntime } from '../../../src/node/check.js';

test('io_uring file reads: on by default only for Node 20.3.0-20.11.0 and 21.0.0-21.6.1', () => {
  for (const v of ['v20.3.0', 'v20.11.0', 'v21.0.0', 'v21.6.1']) assert.equal(ioUringReadsTtys(v, {}), true, v);
  for (const v of ['v18.19.0', 'v20.2.0', 'v20.11.1', 'v20.20.2', 'v21.6.2', 'v22.11.0']) assert.equal(ioUringReadsTtys(v, {}), false, v);
  assert.equal(ioUringReadsTtys('not a version', {}), false);
});

test('io_uring file reads: UV_USE_IO_URING read the way libuv reads it (atoi != 0 is on)', () => {
  assert.equal(ioUringReadsTtys('v20.11.0', { UV_USE_IO_URING: '0' }), false);
  assert.equal(ioUringReadsTtys('v20.11.0', { UV_USE_IO_URING: '' }), false);
  assert.equal(ioUringReadsTtys('v20.11.0', { UV_USE_IO_URING: 'no' }), false);
  assert.equal(ioUringReadsTtys('v20.11.0', { UV_USE_IO_URING: '1' }), true);
  // later releases keep it off unless asked for; releases before libuv 1.45 have none
  assert.equal(ioUringReadsTtys('v20.20.2', { UV_USE_IO_URING: '1' }), true);
  assert.equal(ioUringReadsTtys('v18.19.0', { UV_USE_IO_URING: '1' }), false);
});

test('edgecore check: the runtime line warns (optional) with the fix, and passes otherwise', () => {
  const bad = checkRuntime('v20.11.0', {});
  assert.equal(bad.ok, false);
  assert.equal(bad.optional, true);
  assert.match(bad.detail, /io_uring/);
  assert.match(bad.fix ?? '', /UV_USE_IO_URING=0/);
  assert.deepEqual(checkRuntime('v20.11.0', { UV_USE_IO_URING: '0' }), { name: 'node runtime', ok: true, detail: 'node v20.11.0' });
});
