/** Matching USB ids against a port list, and the error a failing lister turns into. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isDeviceUnavailable } from '../../../src/drivers/errors.js';
import { findUsbPort, listPorts, matchUsb } from '../../../src/drivers/serial/discover.js';

const ports = [
  { path: '/dev/ttyS0' },
  { path: '/dev/ttyUSB0', vendorId: '0403', productId: '6001', serialNumber: 'A50285BI' },
  { path: '/dev/ttyUSB1', vendorId: '0403', productId: '6001', serialNumber: 'B7' },
  { path: '/dev/ttyACM0', vendorId: '2341', productId: '0043' },
];

test('vendor/product match ignores case, 0x and leading zeros; serial number narrows', () => {
  assert.deepEqual(matchUsb(ports, { vendorId: '0x403', productId: '6001' }).map((p) => p.path), ['/dev/ttyUSB0', '/dev/ttyUSB1']);
  assert.deepEqual(matchUsb(ports, { vendorId: '0403', productId: '6001', serialNumber: 'B7' }).map((p) => p.path), ['/dev/ttyUSB1']);
  assert.deepEqual(matchUsb(ports, { vendorId: '2341', productId: '43' }).map((p) => p.path), ['/dev/ttyACM0']);
});

test('findUsbPort: none or several matches are DeviceUnavailable with the reason', async () => {
  const lister = async () => ports;
  assert.equal(await findUsbPort({ vendorId: '0403', productId: '6001', serialNumber: 'A50285BI' }, lister), '/dev/ttyUSB0');
  await assert.rejects(findUsbPort({ vendorId: '0403', productId: '6001' }, lister), (e: unknown) => isDeviceUnavailable(e) && /ambiguous/.test((e as Error).message));
  await assert.rejects(findUsbPort({ vendorId: 'dead', productId: 'beef' }, lister), /not found among 4 port/);
});

test('a lister failing with spawn ENOENT becomes a clear "needs udevadm" error', async () => {
  const enoent = Object.assign(new Error('spawn udevadm ENOENT'), { code: 'ENOENT' });
  await assert.rejects(listPorts(async () => Promise.reject(enoent)), (e: unknown) => isDeviceUnavailable(e) && /needs udevadm .* set protocol\.configData\.port/.test((e as Error).message));
});
