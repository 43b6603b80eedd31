/**
 * modbus-rtu driver end to end over a real socat pty pair, against the slave simulator on the
 * far end: registers, coils, float32 word orders, exception responses, timeouts, CRC errors,
 * and unplug (socat killed) → error → replug → connect() → works.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDeviceUnavailable, isDriverProtocolError, isDriverTimeout } from '../../../src/drivers/errors.js';
import { modbusRtuDriver } from '../../../src/drivers/modbus/driver.js';
import { ModbusExceptionError } from '../../../src/drivers/modbus/pdu.js';
import type { DriverEnv } from '../../../src/drivers/types.js';
import { tmpDir } from '../../helpers/tmp.js';
import { ModbusSlaveSim } from './modbus-slave.js';
import { needSocat, ptyPair } from './pty.js';

const warnings: string[] = [];
const env = (dev: string): DriverEnv => ({ sysfs: '/sys', dev, log: { debug() {}, warn: (m) => void warnings.push(m) } });
const prop = (property: string, config: Record<string, unknown>) => ({ property, config });

async function setup(t: import('node:test').TestContext, protocol: Record<string, unknown> = {}) {
  const dir = tmpDir(t, 'edgecore-modbus-');
  const pair = await ptyPair(t, dir, 'ttyUSB0', 'slave');
  const sim = new ModbusSlaveSim(7);
  await sim.open(pair.b);
  t.after(() => sim.close());
  // a bare port name is taken relative to DriverEnv.dev; a generous response timeout, so answers
  // are on time even on a busy machine (the timeout cases are about silence, not speed)
  const driver = modbusRtuDriver().create({ port: 'ttyUSB0', slaveId: 7, baudRate: 19200, timeoutMs: 1000, ...protocol }, env(dir));
  t.after(() => driver.close());
  await driver.connect();
  return { dir, pair, sim, driver };
}

test('holding/input registers: int16, uint16, scale/offset, writes with function 6 and 16', async (t) => {
  if (!(await needSocat(t))) return;
  const { sim, driver } = await setup(t);
  sim.holding[10] = 0xfff6; // -10
  sim.input[3] = 655;
  assert.equal(await driver.read(prop('a', { register: 'holding', address: 10, type: 'int16' })), -10);
  assert.equal(await driver.read(prop('b', { register: 'holding', address: 10 })), 0xfff6);
  const temp = prop('t', { register: 'input', address: 3, type: 'int16', scale: 0.1, offset: -40 });
  assert.ok(Math.abs((await driver.read(temp)) as number - 25.5) < 1e-9);

  const sp = prop('sp', { register: 'holding', address: 20, type: 'uint16', scale: 0.5 });
  await driver.write(sp, 21.5);
  assert.equal(sim.holding[20], 43);
  assert.equal(await driver.read(sp), 21.5);
  await driver.write(prop('m', { register: 'holding', address: 21, writeMultiple: true }), 513);
  assert.equal(sim.holding[21], 513);
  await assert.rejects(driver.write(temp, 1), (e: unknown) => isDriverProtocolError(e) && /read-only/.test((e as Error).message));
});

test('float32 and 32-bit integers in every word/byte order', async (t) => {
  if (!(await needSocat(t))) return;
  const { sim, driver } = await setup(t);
  const layouts: [string, string, number[]][] = [
    ['big', 'big', [0x42f6, 0xe979]],
    ['big', 'little', [0xe979, 0x42f6]],
    ['little', 'big', [0xf642, 0x79e9]],
    ['little', 'little', [0x79e9, 0xf642]],
  ];
  for (const [i, [byteOrder, wordOrder, words]] of layouts.entries()) {
    const address = 100 + i * 2;
    sim.holding.set(words, address);
    const v = prop(`f${i}`, { register: 'holding', address, type: 'float32', byteOrder, wordOrder });
    assert.ok(Math.abs((await driver.read(v)) as number - 123.456) < 1e-4, `${byteOrder}/${wordOrder}`);
    await driver.write(v, -1.5);
    assert.equal(await driver.read(v), -1.5);
  }
  const u32 = prop('u', { register: 'holding', address: 200, type: 'uint32', wordOrder: 'little' });
  await driver.write(u32, 0x12345678);
  assert.deepEqual([sim.holding[200], sim.holding[201]], [0x5678, 0x1234]);
  assert.equal(await driver.read(u32), 0x12345678);
  sim.holding.set([0xffff, 0xfffe], 210);
  assert.equal(await driver.read(prop('i', { register: 'holding', address: 210, type: 'int32' })), -2);
});

test('coils and discrete inputs: single (5) and multiple (15) writes, bitmask reads', async (t) => {
  if (!(await needSocat(t))) return;
  const { sim, driver } = await setup(t);
  const relay = prop('relay', { register: 'coil', address: 5 });
  await driver.write(relay, true);
  assert.equal(sim.coils[5], true);
  assert.equal(await driver.read(relay), true);
  await driver.write(relay, 'false');
  assert.equal(await driver.read(relay), false);
  const bank = prop('bank', { register: 'coil', address: 16, count: 10 });
  await driver.write(bank, 0b10_1100_1101);
  assert.deepEqual(sim.coils.slice(16, 26), [true, false, true, true, false, false, true, true, false, true]);
  assert.equal(await driver.read(bank), 0b10_1100_1101);
  sim.discrete[7] = true;
  assert.equal(await driver.read(prop('door', { register: 'discreteInput', address: 7 })), true);
  await assert.rejects(driver.write(prop('door', { register: 'discreteInput', address: 7 }), true), /read-only/);
});

test('exception response, timeout and CRC error come back as typed errors; the link stays usable', async (t) => {
  if (!(await needSocat(t))) return;
  const { sim, driver } = await setup(t);
  await assert.rejects(
    driver.read(prop('far', { register: 'holding', address: 5000 })),
    (e: unknown) => e instanceof ModbusExceptionError && e.exceptionCode === 2 && isDriverProtocolError(e),
  );
  sim.silent = true;
  await assert.rejects(driver.read(prop('x', { register: 'holding', address: 1 })), (e: unknown) => isDriverTimeout(e) && isDeviceUnavailable(e));
  sim.silent = false;
  sim.corruptNext = true;
  await assert.rejects(driver.read(prop('x', { register: 'holding', address: 1 })), (e: unknown) => (e as { code?: string }).code === 'ECRC');
  sim.holding[1] = 99;
  assert.equal(await driver.read(prop('x', { register: 'holding', address: 1 })), 99);
});

test('a late answer is not taken for the next request: after a timeout the line settles first', async (t) => {
  if (!(await needSocat(t))) return;
  const { sim, driver } = await setup(t);
  sim.holding[10] = 111;
  sim.holding[20] = 222;
  // timeoutMs is 1000: the answer for address 10 comes 500 ms after the master gave up (a timer
  // may fire that late on a busy machine and the test still holds), within the 1000 ms the line
  // must then stay quiet; the slave answers the next request only after it (without the settle,
  // 111 would be read as 222's)
  sim.delayNextMs = 1500;
  await assert.rejects(driver.read(prop('a', { register: 'holding', address: 10 })), (e: unknown) => isDriverTimeout(e));
  assert.equal(await driver.read(prop('b', { register: 'holding', address: 20 })), 222);
  assert.equal(await driver.read(prop('a', { register: 'holding', address: 10 })), 111);
});

test('another slave id gets no answer: timeout', async (t) => {
  if (!(await needSocat(t))) return;
  const dir = tmpDir(t, 'edgecore-modbus-');
  const pair = await ptyPair(t, dir);
  const sim = new ModbusSlaveSim(7);
  await sim.open(pair.b);
  t.after(() => sim.close());
  const driver = modbusRtuDriver().create({ port: pair.a, slaveId: 8, timeoutMs: 200 }, env(dir));
  t.after(() => driver.close());
  await driver.connect();
  await assert.rejects(driver.read(prop('x', { register: 'holding', address: 1 })), isDriverTimeout);
  assert.equal(sim.requests, 0);
});

test('unplug: killing socat fails requests as unavailable; replug + connect() works again', async (t) => {
  if (!(await needSocat(t))) return;
  const { pair, sim, driver } = await setup(t, { reconnect: { attempts: 3, initialMs: 20, maxMs: 100 } });
  const v = prop('x', { register: 'holding', address: 2 });
  sim.holding[2] = 1;
  assert.equal(await driver.read(v), 1);

  await sim.close();
  await pair.stop();
  // the port's I/O error is noticed (not a timeout)
  await assert.rejects(driver.read(v), (e: unknown) => isDeviceUnavailable(e) && !isDriverTimeout(e));
  // still unplugged: connect() retries with backoff, then fails as unavailable
  await assert.rejects(driver.connect(), isDeviceUnavailable);

  await pair.start();
  const sim2 = new ModbusSlaveSim(7);
  await sim2.open(pair.b);
  t.after(() => sim2.close());
  sim2.holding[2] = 2;
  await driver.connect();
  assert.equal(await driver.read(v), 2);
});
