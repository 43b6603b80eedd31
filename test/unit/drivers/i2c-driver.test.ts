/**
 * i2c driver logic (transfer choice, byte order, retries, error classification) over a FAKE
 * I2C transport: there is no /dev/i2c-N on this machine. The fake behaves like the kernel's
 * i2c-stub as measured in a QEMU guest (SMBus only: plain I2C transfers fail with ENOTSUP; an
 * absent address fails with ENODEV). The real-kernel runs are in the hardware-in-the-loop suite.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { isDeviceUnavailable, isDriverProtocolError } from '../../../src/drivers/errors.js';
import type { I2cTransport } from '../../../src/drivers/i2c/bus.js';
import { i2cDriver } from '../../../src/drivers/i2c/driver.js';
import { tmpDir } from '../../helpers/tmp.js';

const errno = (code: string): Error => Object.assign(new Error(`${code}, fake transfer failed`), { code });

/** FAKE SMBus-only bus with one chip at 0x48 (256 byte registers, SMBus words low byte first). */
class FakeStubBus implements I2cTransport {
  readonly regs = new Uint8Array(256);
  calls = 0;
  flaky = 0;
  private check(addr: number): void {
    this.calls++;
    if (this.flaky > 0) {
      this.flaky--;
      throw errno('EIO');
    }
    if (addr !== 0x48) throw errno('ENODEV');
  }
  async readByte(a: number, c: number) { this.check(a); return this.regs[c]!; }
  async readWord(a: number, c: number) { this.check(a); return this.regs[c]! | (this.regs[c + 1]! << 8); }
  async readI2cBlock(a: number, c: number, n: number) { this.check(a); return Buffer.from(this.regs.subarray(c, c + n)); }
  async readSmbusBlock(a: number, c: number) { this.check(a); return Buffer.from(this.regs.subarray(c + 1, c + 1 + this.regs[c]!)); }
  async receiveByte(a: number) { this.check(a); return this.regs[0]!; }
  async writeByte(a: number, c: number, b: number) { this.check(a); this.regs[c] = b; }
  async writeWord(a: number, c: number, w: number) { this.check(a); this.regs[c] = w & 0xff; this.regs[c + 1] = w >> 8; }
  async writeI2cBlock(a: number, c: number, d: Buffer) { this.check(a); this.regs.set(d, c); }
  async writeSmbusBlock(a: number, c: number, d: Buffer) { this.check(a); this.regs[c] = d.length; this.regs.set(d, c + 1); }
  async sendByte(a: number, b: number) { this.check(a); this.regs[0] = b; }
  async i2cRead(): Promise<Buffer> { this.calls++; throw errno('ENOTSUP'); }
  async i2cWrite(): Promise<void> { this.calls++; throw errno('ENOTSUP'); }
  async close() {}
}

async function setup(t: TestContext, address = 0x48) {
  const dev = tmpDir(t, 'edgecore-i2c-');
  writeFileSync(join(dev, 'i2c-1'), '');
  const bus = new FakeStubBus();
  const driver = i2cDriver({ opener: async () => bus }).create({ bus: 1, address, retries: 2, retryDelayMs: 0 }, { sysfs: '/sys', dev, log: { debug() {}, warn() {} } });
  t.after(() => driver.close());
  await driver.connect();
  return { bus, driver, dev };
}

test('SMBus word with big-endian chip order: TMP102 0x8019 on the bus reads 25.5', async (t) => {
  const { bus, driver } = await setup(t);
  bus.regs[0] = 0x19;
  bus.regs[1] = 0x80;
  const temp = { property: 'temp', config: { register: 0, width: 16, signed: true, scale: 0.0625 / 16 } };
  assert.equal(await driver.read(temp), 25.5);
  await driver.write(temp, -0.5);
  assert.equal(await driver.read(temp), -0.5);
  assert.deepEqual([...bus.regs.subarray(0, 2)], [0xff, 0x80]); // raw -128, MSB first on the wire
});

test('byte data, I2C block (32-bit and raw bytes) and SMBus block', async (t) => {
  const { bus, driver } = await setup(t);
  await driver.write({ property: 'cfg', config: { register: 0x10, width: 8 } }, 0xa5);
  assert.equal(bus.regs[0x10], 0xa5);
  bus.regs.set([0, 0, 1, 0], 0x20);
  assert.equal(await driver.read({ property: 'ctr', config: { register: 0x20, width: 32 } }), 256);
  assert.equal(await driver.read({ property: 'ctr', config: { register: 0x20, width: 32, byteOrder: 'little' } }), 65536);
  const eeprom = { property: 'ee', config: { register: 0x40, width: 'block', length: 5 } };
  await driver.write(eeprom, Buffer.from('HELLO'));
  assert.equal(((await driver.read(eeprom)) as Buffer).toString(), 'HELLO');
  const sb = { property: 'sb', config: { register: 0x60, width: 'block', length: 8, blockProtocol: 'smbus' } };
  await driver.write(sb, Buffer.from('abc'));
  assert.equal(((await driver.read(sb)) as Buffer).toString(), 'abc');
  await assert.rejects(driver.write(eeprom, Buffer.from('TOO LONG')), /exactly 5 bytes/);
});

test('absent address: retried, then DeviceUnavailable (mark offline)', async (t) => {
  const { bus, driver } = await setup(t, 0x50);
  await assert.rejects(driver.read({ property: 'x', config: { register: 0 } }), (e: unknown) => isDeviceUnavailable(e) && /i2c-1 0x50.*ENODEV/.test((e as Error).message));
  assert.equal(bus.calls, 3);
});

test('a transient error is retried away', async (t) => {
  const { bus, driver } = await setup(t);
  bus.regs[5] = 7;
  bus.flaky = 2;
  assert.equal(await driver.read({ property: 'x', config: { register: 5 } }), 7);
});

test('plain I2C on an SMBus-only adapter: ENOTSUP is a protocol error, not retried', async (t) => {
  const { bus, driver } = await setup(t);
  await assert.rejects(
    driver.read({ property: 'x', config: { register: 0, mode: 'i2c', width: 16 } }),
    (e: unknown) => isDriverProtocolError(e) && /SMBus-only/.test((e as Error).message),
  );
  assert.equal(bus.calls, 1);
});

test('missing bus device file: connect() fails as unavailable (i2c-bus itself opens lazily)', async (t) => {
  const dev = tmpDir(t, 'edgecore-i2c-');
  const driver = i2cDriver({ opener: async () => new FakeStubBus() }).create({ bus: 3, address: 0x48 }, { sysfs: '/sys', dev, log: { debug() {}, warn() {} } });
  await assert.rejects(driver.connect(), (e: unknown) => isDeviceUnavailable(e) && /i2c-3 is missing/.test((e as Error).message));
  await assert.rejects(driver.read({ property: 'x', config: {} }), /not connected/);
});
