/** Every built-in driver refuses bad configData with paths relative to the Device spec. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { builtinDrivers } from '../../../src/drivers/index.js';
import type { DriverFactory } from '../../../src/drivers/types.js';
import { isValidationError } from '../../../src/core/errors.js';

const drivers = new Map<string, DriverFactory>(builtinDrivers().map((d) => [d.protocol, d]));
const get = (p: string): DriverFactory => drivers.get(p)!;
const env = { sysfs: '/sys', dev: '/dev', log: { debug() {}, warn() {} } };
const paths = (issues: { path: string }[]): string[] => issues.map((i) => i.path).sort();

test('registry lists the built-in protocols once each', () => {
  assert.deepEqual([...drivers.keys()].sort(), ['gpio', 'i2c', 'modbus-rtu', 'serial-line', 'virtual']);
  assert.equal(builtinDrivers().length, drivers.size);
});

test('modbus-rtu: good config passes; bad fields are named', () => {
  const m = get('modbus-rtu');
  assert.deepEqual(m.validate({ port: 'ttyUSB0', slaveId: 1, baudRate: 19200, parity: 'even' }, [
    { property: 't', config: { register: 'holding', address: 10, type: 'float32', wordOrder: 'little' } },
    { property: 'c', config: { register: 'coil', address: '0x10', count: 8 } },
  ]), []);
  const issues = m.validate({ slaveId: 0, parity: 'x' }, [
    { property: 'a', config: { register: 'holdings', address: 1 } },
    { property: 'b', index: 5, config: { register: 'input', address: 65535, type: 'int32' } },
    { property: 'c', config: { register: 'holding', address: 1, count: 2, colour: 'red' } },
  ]);
  assert.deepEqual(paths(issues), [
    'properties[0].visitors.configData.register',
    'properties[2].visitors.configData.colour',
    'properties[2].visitors.configData.count',
    'properties[5].visitors.configData.address',
    'protocol.configData.parity',
    'protocol.configData.port',
    'protocol.configData.slaveId',
  ]);
  assert.match(issues.find((i) => i.path.endsWith('.port'))!.reason, /exactly one of port or usb/);
});

test('serial-line: response patterns need a capture group; reads need a response', () => {
  const s = get('serial-line');
  assert.deepEqual(s.validate({ port: '/tmp/x' }, [{ property: 't', config: { request: 'T?', response: '^T=(.+)$' } }]), []);
  const issues = s.validate({ usb: { vendorId: 'zz', productId: '6001' } }, [
    { property: 't', config: { request: 'T?', response: '^T=.+$' } },
    { property: 'u', config: { request: 'U?' } },
    { property: 'v', config: {} },
  ]);
  assert.deepEqual(paths(issues), [
    'properties[0].visitors.configData.response',
    'properties[1].visitors.configData.response',
    'properties[2].visitors.configData.request',
    'protocol.configData.usb.vendorId',
  ]);
});

test('gpio: a line is a name or chip + offset, never a global number', () => {
  const g = get('gpio');
  assert.deepEqual(g.validate({ chip: 'pinctrl-bcm2711' }, [
    { property: 'led', config: { offset: 17, direction: 'out', activeLow: true } },
    { property: 'btn', config: { line: 'BUTTON', edge: 'falling', debounceMs: 20 } },
  ]), []);
  const issues = g.validate({}, [
    { property: 'a', config: { offset: 4 } },
    { property: 'b', config: { gpio: 17 } },
    { property: 'c', config: { line: 'X', offset: 1 } },
    { property: 'd', config: { line: 'Y', edge: 'sideways' } },
  ]);
  assert.deepEqual(paths(issues), [
    'properties[0].visitors.configData.chip',
    'properties[1].visitors.configData.gpio',
    'properties[2].visitors.configData.offset',
    'properties[3].visitors.configData.edge',
  ]);
});

test('i2c: address range, widths, block length, SMBus word needs a register', () => {
  const i = get('i2c');
  assert.deepEqual(i.validate({ bus: 1, address: 0x48 }, [
    { property: 't', config: { register: 0, width: 16, signed: true, scale: 0.0625 } },
    { property: 'e', config: { register: 0, width: 'block', length: 12 } },
    { property: 'r', config: { mode: 'i2c', width: 32, byteOrder: 'little' } },
  ]), []);
  const issues = i.validate({ bus: 1, address: 0x90 }, [
    { property: 'a', config: { width: 16 } },
    { property: 'b', config: { register: 0, width: 'block' } },
    { property: 'c', config: { register: 300, width: 24 } },
  ]);
  assert.deepEqual(paths(issues), [
    'properties[0].visitors.configData.register',
    'properties[1].visitors.configData.length',
    'properties[2].visitors.configData.register',
    'properties[2].visitors.configData.width',
    'protocol.configData.address',
  ]);
});

test('virtual: signal kinds are checked', () => {
  const v = get('virtual');
  assert.deepEqual(v.validate({}, [{ property: 's', config: { signal: 'sine', amplitude: 2 } }]), []);
  assert.deepEqual(paths(v.validate({}, [{ property: 's', config: { signal: 'square' } }, { property: 'w', config: { signal: 'randomWalk', min: 5, max: 1 } }])), [
    'properties[0].visitors.configData.signal',
    'properties[1].visitors.configData.min',
  ]);
});

test('create() refuses an invalid protocol config with a ValidationError and does no I/O', () => {
  assert.throws(() => get('modbus-rtu').create({ slaveId: 1 }, env), (e: unknown) => isValidationError(e) && /protocol\.configData\.port/.test((e as Error).message));
  assert.throws(() => get('i2c').create({ bus: -1, address: 0x48 }, env), isValidationError);
  // constructors do no I/O: a port that does not exist is only touched by connect()
  assert.ok(get('serial-line').create({ port: '/nonexistent/ttyX' }, env));
});
