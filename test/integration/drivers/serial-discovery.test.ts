/**
 * Finding a port by USB vendor/product/serial through the real `SerialPort.list()`, which runs
 * `udevadm info -e`. This machine has no udev, so a FAKE udevadm (a shell script written by the
 * test, first on PATH) advertises two socat pty links as FTDI adapters. Without any udevadm,
 * discovery fails with a clear error instead of `spawn udevadm ENOENT`.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { isDeviceUnavailable } from '../../../src/drivers/errors.js';
import { listPorts } from '../../../src/drivers/serial/discover.js';
import { serialLineDriver } from '../../../src/drivers/serial/driver.js';
import type { DriverEnv } from '../../../src/drivers/types.js';
import { tmpDir } from '../../helpers/tmp.js';
import { InstrumentSim } from './instrument.js';
import { needSocat, ptyPair } from './pty.js';

const env = (dev: string): DriverEnv => ({ sysfs: '/sys', dev, log: { debug() {}, warn() {} } });

function record(path: string, serial: string, n: number): string {
  return [
    `P: /devices/fake/usb1/1-${n}/1-${n}:1.0/ttyUSB${n}/tty/ttyUSB${n}`,
    `N: ttyUSB${n}`,
    `E: DEVNAME=${path}`,
    'E: SUBSYSTEM=tty',
    'E: ID_VENDOR_ENC=FTDI',
    'E: ID_VENDOR_ID=0403',
    'E: ID_MODEL_ID=6001',
    `E: ID_SERIAL_SHORT=${serial}`,
    `E: DEVLINKS=/dev/serial/by-id/usb-FTDI_FT232R_USB_UART_${serial}-if00-port0`,
    '',
  ].join('\n');
}

function withPath(t: TestContext, dirs: string[]): void {
  const saved = process.env.PATH;
  process.env.PATH = dirs.join(':');
  t.after(() => {
    process.env.PATH = saved;
  });
}

test('a FAKE udevadm on PATH: the port is found by vendor/product/serial and works', async (t) => {
  if (!(await needSocat(t))) return;
  const dir = tmpDir(t, 'edgecore-usb-');
  const one = await ptyPair(t, dir, 'ttyUSB0', 'peer0');
  const two = await ptyPair(t, dir, 'ttyUSB1', 'peer1');
  const bin = join(dir, 'fakebin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'udevadm'),
    `#!/bin/sh\n# FAKE udevadm for tests: prints two made-up USB serial adapters (socat ptys); not the real tool.\n` +
      `[ "$1 $2" = "info -e" ] || { echo "fake udevadm: unsupported: $*" >&2; exit 2; }\n` +
      `cat <<'EOT'\n${record(one.a, 'A50285BI', 0)}\n${record(two.a, 'B7', 1)}\nEOT\n`,
  );
  chmodSync(join(bin, 'udevadm'), 0o755);
  withPath(t, [bin, process.env.PATH ?? '']);

  const ports = await listPorts();
  assert.deepEqual(
    ports.map((p) => [p.path, p.vendorId, p.productId, p.serialNumber]),
    [
      [one.a, '0403', '6001', 'A50285BI'],
      [two.a, '0403', '6001', 'B7'],
    ],
  );

  const sim = new InstrumentSim();
  sim.temp = 42;
  await sim.open(two.b);
  t.after(() => sim.close());
  const driver = serialLineDriver().create({ usb: { vendorId: '0x0403', productId: '6001', serialNumber: 'B7' }, timeoutMs: 2000 }, env(dir));
  t.after(() => driver.close());
  await driver.connect();
  assert.equal(await driver.read({ property: 't', config: { request: 'MEAS:TEMP?', response: '^TEMP=(.+)$' } }), 42);

  const ambiguous = serialLineDriver().create({ usb: { vendorId: '0403', productId: '6001' }, reconnect: { attempts: 1 } }, env(dir));
  await assert.rejects(ambiguous.connect(), (e: unknown) => isDeviceUnavailable(e) && /ambiguous/.test((e as Error).message));
});

test('without udevadm: discovery fails as unavailable, naming udevadm and the port alternative', async (t) => {
  const empty = tmpDir(t, 'edgecore-nopath-');
  withPath(t, [empty]);
  await assert.rejects(listPorts(), (e: unknown) => isDeviceUnavailable(e) && /needs udevadm/.test((e as Error).message));
  const driver = serialLineDriver().create({ usb: { vendorId: '0403', productId: '6001' }, reconnect: { attempts: 1 } }, env(empty));
  await assert.rejects(driver.connect(), /needs udevadm .*protocol\.configData\.port/);
});
