/**
 * The I2C transport: SMBus transfers and plain I2C reads/writes on one bus. `openI2cBus`
 * implements it with i2c-bus, which always opens `/dev/i2c-<n>`, so it refuses other dev roots.
 * Note `i2c-bus` opens lazily: a missing bus only fails at the first transfer, so the driver
 * checks `<dev>/i2c-<n>` itself first.
 */
import { resolve } from 'node:path';
import { DeviceUnavailableError } from '../errors.js';

export interface I2cTransport {
  readByte(addr: number, cmd: number): Promise<number>;
  readWord(addr: number, cmd: number): Promise<number>;
  readI2cBlock(addr: number, cmd: number, length: number): Promise<Buffer>;
  /** SMBus block read: the chip sends its own byte count (up to 32) */
  readSmbusBlock(addr: number, cmd: number): Promise<Buffer>;
  writeSmbusBlock(addr: number, cmd: number, data: Buffer): Promise<void>;
  receiveByte(addr: number): Promise<number>;
  writeByte(addr: number, cmd: number, byte: number): Promise<void>;
  writeWord(addr: number, cmd: number, word: number): Promise<void>;
  writeI2cBlock(addr: number, cmd: number, data: Buffer): Promise<void>;
  sendByte(addr: number, byte: number): Promise<void>;
  i2cRead(addr: number, length: number): Promise<Buffer>;
  i2cWrite(addr: number, data: Buffer): Promise<void>;
  close(): Promise<void>;
}

/** i2c-bus has SMBus block calls at runtime that its type definitions leave out */
interface SmbusBlockCalls {
  readBlock(addr: number, cmd: number, buffer: Buffer): Promise<{ bytesRead: number; buffer: Buffer }>;
  writeBlock(addr: number, cmd: number, length: number, buffer: Buffer): Promise<{ bytesWritten: number; buffer: Buffer }>;
}

export type I2cOpener = (bus: number, dev: string) => Promise<I2cTransport>;

export const openI2cBus: I2cOpener = async (busNumber, dev) => {
  if (resolve(dev) !== '/dev') throw new DeviceUnavailableError(`the i2c-bus backend only opens /dev/i2c-N (configured dev: ${dev})`);
  // the addon loads only once a node opens an I2C bus
  const { default: i2c } = await import('i2c-bus');
  const bus = await i2c.openPromisified(busNumber);
  const block = bus as unknown as SmbusBlockCalls;
  return {
    readByte: (a, c) => bus.readByte(a, c),
    readWord: (a, c) => bus.readWord(a, c),
    async readI2cBlock(a, c, n) {
      const buf = Buffer.alloc(n);
      const r = await bus.readI2cBlock(a, c, n, buf);
      return r.buffer.subarray(0, r.bytesRead);
    },
    async readSmbusBlock(a, c) {
      const buf = Buffer.alloc(32);
      const r = await block.readBlock(a, c, buf);
      return r.buffer.subarray(0, r.bytesRead);
    },
    async writeSmbusBlock(a, c, data) {
      await block.writeBlock(a, c, data.length, data);
    },
    receiveByte: (a) => bus.receiveByte(a),
    writeByte: (a, c, b) => bus.writeByte(a, c, b),
    writeWord: (a, c, w) => bus.writeWord(a, c, w),
    async writeI2cBlock(a, c, data) {
      await bus.writeI2cBlock(a, c, data.length, data);
    },
    sendByte: (a, b) => bus.sendByte(a, b),
    async i2cRead(a, n) {
      const buf = Buffer.alloc(n);
      const r = await bus.i2cRead(a, n, buf);
      return r.buffer.subarray(0, r.bytesRead);
    },
    async i2cWrite(a, data) {
      await bus.i2cWrite(a, data.length, data);
    },
    close: () => bus.close(),
  };
};
