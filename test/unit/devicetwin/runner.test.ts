/**
 * The driver runner: connect, collect on each property's cycle, write with read-back, one driver
 * call at a time, errors counted up to offline, reconnect with backoff. The real virtual driver
 * for the happy path; a fake driver (named so) where a failing bus is needed, which no hardware
 * here can provide. Assertions are on order and counts, never on wall-clock durations.
 */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { DriverRunner, type RunnerHooks, type RunnerProperty } from '../../../src/modules/devicetwin/runner.js';
import { DeviceUnavailableError, DriverProtocolError } from '../../../src/drivers/errors.js';
import type { DeviceDriver, DriverFactory, RawValue } from '../../../src/drivers/types.js';
import { virtualDriver } from '../../../src/drivers/virtual/driver.js';
import { waitFor } from '../../helpers/wait.js';

const env = { sysfs: '/sys', dev: '/dev', log: { debug: () => undefined, warn: () => undefined } };

interface Events {
  log: string[];
  samples: { property: string; value: RawValue; pushed: boolean }[];
  errors: { message: string; offline: boolean }[];
}

function hooks(): RunnerHooks & Events {
  const e: Events = { log: [], samples: [], errors: [] };
  return {
    ...e,
    onSample: (property, value, _at, pushed) => {
      e.samples.push({ property, value, pushed });
      e.log.push(`sample ${property}=${String(value)}`);
    },
    onError: (err, offline) => {
      e.errors.push({ message: err.message, offline });
      e.log.push(`${offline ? 'offline' : 'error'} ${err.message}`);
    },
    onHealthy: () => e.log.push('healthy'),
  };
}

function runner(t: TestContext, factory: DriverFactory, properties: RunnerProperty[], h: RunnerHooks, o: { offlineAfter?: number; protocolConfig?: Record<string, unknown> } = {}): DriverRunner {
  const r = new DriverRunner({
    factory,
    protocolConfig: o.protocolConfig ?? {},
    env,
    properties,
    offlineAfter: o.offlineAfter ?? 3,
    backoff: { initialMs: 5, maxMs: 20, factor: 2, jitter: 0 },
    readBackDelayMs: 0,
    now: Date.now,
    hooks: h,
  });
  t.after(() => r.stop());
  return r;
}

const prop = (name: string, config: Record<string, unknown>, collectMs = 5, poll = true): RunnerProperty => ({ name, collectMs, poll, visitor: { property: name, config } });

test('virtual device: healthy first, then samples on the cycle; a write is read back', async (t) => {
  const h = hooks();
  const r = runner(t, virtualDriver(), [prop('setpoint', { signal: 'echo', initial: 20 }), prop('out', { signal: 'constant', value: 7 }, 5, false)], h);
  assert.equal(r.isConnected, false);
  r.start();
  await waitFor('two polls of setpoint', () => h.samples.filter((s) => s.property === 'setpoint').length >= 2 || undefined);
  assert.equal(h.log[0], 'healthy');
  assert.ok(r.isConnected);
  assert.deepEqual(h.samples.filter((s) => s.property === 'setpoint')[0], { property: 'setpoint', value: 20, pushed: false });
  assert.ok(!h.samples.some((s) => s.property === 'out'), 'a property with poll=false is not collected');
  assert.equal(await r.write('setpoint', 42), 42);
  await waitFor('a poll after the write sees 42', () => h.samples.some((s) => s.property === 'setpoint' && s.value === 42) || undefined);
  await assert.rejects(r.write('nope', 1), /no visitor/);
});

/** A fake driver whose bus can be broken on demand; it records every call and whether two overlapped. */
function fakeDriver(ctl: { mode: 'ok' | 'garbled' | 'gone'; connects: number; closes: number; calls: string[]; overlapped: boolean }): DriverFactory {
  let busy = false;
  const call = async <T>(name: string, fn: () => T): Promise<T> => {
    if (busy) ctl.overlapped = true;
    busy = true;
    ctl.calls.push(name);
    await new Promise((r) => setImmediate(r));
    busy = false;
    if (ctl.mode === 'gone') throw new DeviceUnavailableError('fake device unplugged');
    if (ctl.mode === 'garbled') throw new DriverProtocolError('fake garbled answer');
    return fn();
  };
  let value: RawValue = 1;
  const driver = (): DeviceDriver => ({
    connect: async () => {
      ctl.connects++;
      if (ctl.mode === 'gone') throw new DeviceUnavailableError('fake device unplugged');
    },
    read: (v) => call(`read ${v.property}`, () => value),
    write: (v, x) =>
      call(`write ${v.property}`, () => {
        value = x;
      }),
    close: async () => {
      ctl.closes++;
    },
  });
  return { protocol: 'fake', validate: () => [], create: driver };
}

test('driver calls never overlap: collects and writes take turns', async (t) => {
  const ctl = { mode: 'ok' as const, connects: 0, closes: 0, calls: [] as string[], overlapped: false };
  const h = hooks();
  const r = runner(t, fakeDriver(ctl), [prop('a', {}, 1), prop('b', {}, 1)], h);
  r.start();
  await waitFor('connected', () => r.isConnected || undefined);
  await Promise.all([r.write('a', 5), r.write('b', 6), r.write('a', 7)]);
  await waitFor('many calls', () => ctl.calls.length >= 12 || undefined);
  assert.equal(ctl.overlapped, false);
  assert.ok(ctl.calls.includes('write a') && ctl.calls.includes('write b'));
});

test('protocol errors count up to offline; the driver is dropped, reconnected, and healthy again', async (t) => {
  const ctl = { mode: 'ok' as 'ok' | 'garbled' | 'gone', connects: 0, closes: 0, calls: [] as string[], overlapped: false };
  const h = hooks();
  const r = runner(t, fakeDriver(ctl), [prop('a', {}, 1)], h, { offlineAfter: 3 });
  r.start();
  await waitFor('healthy', () => h.log.includes('healthy') || undefined);
  ctl.mode = 'garbled';
  await waitFor('offline', () => h.errors.some((e) => e.offline) || undefined);
  assert.deepEqual(
    h.errors.slice(0, 3).map((e) => e.offline),
    [false, false, true],
    'two errors are unhealthy, the third (offlineAfter) goes offline',
  );
  // (not `r.isConnected` here: the runner reconnects after a 5 ms backoff, so a snapshot taken
  // some time after the offline report may see either state; the order of events is what holds)
  await waitFor('closed after going offline', () => ctl.closes >= 1 || undefined);
  ctl.mode = 'ok';
  await waitFor('reconnected and healthy again', () => (ctl.connects >= 2 && r.isConnected && h.log.filter((l) => l === 'healthy').length >= 2) || undefined);
  const offlineAt = h.log.findIndex((l) => l.startsWith('offline'));
  assert.ok(h.log.slice(offlineAt + 1).includes('healthy'), `healthy again after going offline: ${h.log.slice(0, offlineAt + 3).join(' | ')}`);
  assert.equal(await r.write('a', 3), 3);
});

test('an unplugged device is offline at once, a failed connect retries with backoff, stop ends it all', async (t) => {
  const ctl = { mode: 'gone' as 'ok' | 'garbled' | 'gone', connects: 0, closes: 0, calls: [] as string[], overlapped: false };
  const h = hooks();
  const r = runner(t, fakeDriver(ctl), [prop('a', {}, 1)], h, { offlineAfter: 100 });
  r.start();
  await waitFor('three connect attempts', () => ctl.connects >= 3 || undefined);
  assert.ok(h.errors.every((e) => e.offline && /unplugged/.test(e.message)));
  await assert.rejects(r.write('a', 1), /offline/);
  ctl.mode = 'ok';
  await waitFor('healthy', () => r.isConnected || undefined);
  ctl.mode = 'gone';
  await waitFor('offline at the first unplugged read', () => !r.isConnected || undefined);
  assert.equal(h.errors.at(-1)?.offline, true);
  await r.stop();
  const seen = ctl.calls.length + ctl.connects;
  await new Promise((res) => setTimeout(res, 30));
  assert.equal(ctl.calls.length + ctl.connects, seen, 'nothing runs after stop');
});
