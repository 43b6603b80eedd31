/** serial-line driver over a real socat pty pair against a text-instrument simulator. */
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { isDeviceUnavailable, isDriverProtocolError, isDriverTimeout } from '../../../src/drivers/errors.js';
import { serialLineDriver } from '../../../src/drivers/serial/driver.js';
import { openSerialPort } from '../../../src/drivers/serial/transport.js';
import type { DriverEnv } from '../../../src/drivers/types.js';
import { tmpDir } from '../../helpers/tmp.js';
import { InstrumentSim } from './instrument.js';
import { needSocat, ptyPair } from './pty.js';

const env = (dev: string): DriverEnv => ({ sysfs: '/sys', dev, log: { debug() {}, warn() {} } });
const prop = (property: string, config: Record<string, unknown>) => ({ property, config });

async function setup(t: TestContext, protocol: Record<string, unknown> = {}) {
  const dir = tmpDir(t, 'edgecore-line-');
  const pair = await ptyPair(t, dir);
  const sim = new InstrumentSim();
  await sim.open(pair.b);
  t.after(() => sim.close());
  // a generous response timeout: answers are on time even on a busy machine (the timeout cases set their own)
  const driver = serialLineDriver().create({ port: pair.a, baudRate: 9600, timeoutMs: 1000, ...protocol }, env(dir));
  t.after(() => driver.close());
  await driver.connect();
  return { pair, sim, driver };
}

const temp = prop('temperature', { request: 'MEAS:TEMP?', response: '^TEMP=([-0-9.]+)$' });
const setpoint = prop('setpoint', { request: 'SP?', response: '^SP=([-0-9.]+)$', writeRequest: 'SET:SP {value}', writeResponse: '^(OK)$' });

test('reads numbers and strings through request template + response pattern', async (t) => {
  if (!(await needSocat(t))) return;
  const { sim, driver } = await setup(t);
  assert.equal(await driver.read(temp), 21.5);
  sim.temp = -3.25;
  assert.equal(await driver.read(temp), -3.25);
  assert.equal(await driver.read(prop('id', { request: 'ID?', response: '^ACME,([^,]+),', type: 'string' })), 'TH-1');
  assert.equal(await driver.read(prop('f', { request: 'MEAS:TEMP?', response: '^TEMP=(.+)$', scale: 1.8, offset: 32 })), 26.15);
  assert.deepEqual(sim.received.slice(0, 2), ['MEAS:TEMP?', 'MEAS:TEMP?']);
});

test('writes render {value}, wait for the acknowledgement, and read back', async (t) => {
  if (!(await needSocat(t))) return;
  const { sim, driver } = await setup(t);
  await driver.write(setpoint, 22.5);
  assert.equal(sim.setpoint, 22.5);
  assert.equal(await driver.read(setpoint), 22.5);
  // the instrument refuses: the ack does not match → protocol error, state unchanged
  await assert.rejects(driver.write(setpoint, 99), (e: unknown) => isDriverProtocolError(e) && /ERR range/.test((e as Error).message));
  assert.equal(sim.setpoint, 22.5);
  await assert.rejects(driver.write(temp, 1), /read-only/);
});

test('wrong answers are protocol errors, silence is a timeout, and the next request still works', async (t) => {
  if (!(await needSocat(t))) return;
  const { driver } = await setup(t);
  await assert.rejects(driver.read(prop('bad', { request: 'BAD?', response: '^V=(\\d+)$' })), (e: unknown) => isDriverProtocolError(e) && /"ERR 5"/.test((e as Error).message));
  await assert.rejects(driver.read(prop('mute', { request: 'MUTE?', response: '^V=(\\d+)$', timeoutMs: 150 })), isDriverTimeout);
  assert.equal(await driver.read(temp), 21.5);
});

test('concurrent reads are serialized: each gets its own answer', async (t) => {
  if (!(await needSocat(t))) return;
  const { driver } = await setup(t);
  const results = await Promise.all([driver.read(temp), driver.read(setpoint), driver.read(temp), driver.read(setpoint)]);
  assert.deepEqual(results, [21.5, 18, 21.5, 18]);
});

test('unplug → unavailable; replug → connect() → works', async (t) => {
  if (!(await needSocat(t))) return;
  const { pair, sim, driver } = await setup(t, { reconnect: { attempts: 2, initialMs: 20, maxMs: 50 } });
  assert.equal(await driver.read(temp), 21.5);
  await sim.close();
  await pair.stop();
  await assert.rejects(driver.read(temp), isDeviceUnavailable);
  await assert.rejects(driver.connect(), isDeviceUnavailable);
  await pair.start();
  const sim2 = new InstrumentSim();
  sim2.temp = 30;
  await sim2.open(pair.b);
  t.after(() => sim2.close());
  await driver.connect();
  assert.equal(await driver.read(temp), 30);
});

test('concurrent connect() calls share one open of the port', async (t) => {
  if (!(await needSocat(t))) return;
  const dir = tmpDir(t, 'edgecore-line-');
  const pair = await ptyPair(t, dir);
  const sim = new InstrumentSim();
  await sim.open(pair.b);
  t.after(() => sim.close());
  let opened = 0;
  const driver = serialLineDriver({
    opener: (path, settings) => {
      opened++;
      return openSerialPort(path, settings);
    },
  }).create({ port: pair.a, timeoutMs: 1000 }, env(dir));
  t.after(() => driver.close());
  await Promise.all([driver.connect(), driver.connect(), driver.connect()]);
  await driver.connect();
  assert.equal(opened, 1);
  assert.equal(await driver.read(temp), 21.5);
});

test('close() during connect() leaves no port open', async (t) => {
  if (!(await needSocat(t))) return;
  const dir = tmpDir(t, 'edgecore-line-');
  const pair = await ptyPair(t, dir);
  const opened: ReturnType<typeof openSerialPort>[] = [];
  const driver = serialLineDriver({
    opener: (path, settings) => {
      const tr = openSerialPort(path, settings);
      opened.push(tr);
      return tr;
    },
  }).create({ port: pair.a }, env(dir));
  const connecting = driver.connect();
  await driver.close();
  await assert.rejects(connecting, (e: unknown) => isDeviceUnavailable(e) && /closed while connecting/.test((e as Error).message));
  assert.equal(opened.length, 1);
  assert.equal(opened[0]!.isOpen, false);
});
