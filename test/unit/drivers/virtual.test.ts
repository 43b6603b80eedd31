/** The virtual driver: signals are functions of the clock and seed; echo returns what was written. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDeviceUnavailable, isDriverProtocolError } from '../../../src/drivers/errors.js';
import { virtualDriver } from '../../../src/drivers/virtual/driver.js';
import { RandomWalk } from '../../../src/drivers/virtual/signals.js';

let clock = 0;
const env = { sysfs: '/sys', dev: '/dev', now: () => clock, log: { debug() {}, warn() {} } };

test('sine follows the injected clock', async () => {
  const d = virtualDriver().create({}, env);
  await d.connect();
  const v = { property: 's', config: { signal: 'sine', amplitude: 10, periodMs: 1000, offset: 20, decimals: 3 } };
  clock = 0;
  assert.equal(await d.read(v), 20);
  clock = 250;
  assert.equal(await d.read(v), 30);
  clock = 750;
  assert.equal(await d.read(v), 10);
});

test('random walk: same seed → same sequence, stays within bounds', async () => {
  const p = { start: 0, step: 5, min: -3, max: 3, seed: 42 };
  const a = new RandomWalk(p);
  const b = new RandomWalk(p);
  const sa = Array.from({ length: 50 }, () => a.next());
  assert.deepEqual(sa, Array.from({ length: 50 }, () => b.next()));
  assert.ok(sa.every((x) => x >= -3 && x <= 3));
  assert.ok(new Set(sa).size > 10);
  const d = virtualDriver().create({}, env);
  await d.connect();
  const v = { property: 'w', config: { signal: 'randomWalk', ...p } };
  assert.equal(await d.read(v), sa[0]);
  assert.equal(await d.read(v), sa[1]);
});

test('echo returns the desired value written; other signals refuse writes', async () => {
  const d = virtualDriver().create({}, env);
  await d.connect();
  const echo = { property: 'sp', config: { signal: 'echo', initial: 18 } };
  assert.equal(await d.read(echo), 18);
  await d.write(echo, 22.5);
  assert.equal(await d.read(echo), 22.5);
  await assert.rejects(d.write({ property: 'k', config: { signal: 'constant', value: 1 } }, 2), isDriverProtocolError);
  await assert.rejects(d.read({ property: 'e', config: { signal: 'echo' } }), /nothing written yet/);
});

test('failConnect and reads before connect report the device unavailable', async () => {
  await assert.rejects(virtualDriver().create({ failConnect: true }, env).connect(), isDeviceUnavailable);
  await assert.rejects(virtualDriver().create({}, env).read({ property: 'k', config: { signal: 'constant', value: 1 } }), isDeviceUnavailable);
});
