/**
 * `i2c` driver: device = one chip (bus + address); property = a register.
 *   protocol.configData: bus, address (0x03-0x77), retries (default 2), retryDelayMs
 *   visitors.configData: register (0-255; omit for chips without a register pointer),
 *     width (8 | 16 | 32 | "block"), length (block only, 1-32), mode (smbus | i2c),
 *     blockProtocol (i2c | smbus: SMBus block transfers carry a byte count, length is the maximum),
 *     byteOrder (big | little), signed, scale, offset
 * SMBus: width 8 = byte data (receive/send byte without register), 16 = word data (SMBus words
 * travel low byte first; byteOrder describes the chip's order of those two bytes), 32 and block
 * = I2C block data (or SMBus block data with blockProtocol "smbus"). mode "i2c" = plain transfers: write the register byte, then read/write bytes.
 * Errors: absent chip / bus (ENODEV, ENXIO, EREMOTEIO, EIO, ENOENT) → DeviceUnavailableError
 * (mark offline); adapter lacks plain I2C (ENOTSUP, e.g. i2c-stub is SMBus-only) → DriverProtocolError.
 */
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from '../../core/errors.js';
import { sleep } from '../../core/backoff.js';
import * as z from 'zod';
import { intIn, parseConfig, PROTOCOL_PATH, validateAll, visitorParser } from '../config.js';
import { DeviceUnavailableError, DriverProtocolError, asError } from '../errors.js';
import type { DeviceDriver, DriverEnv, DriverFactory, PropertyVisitor, RawValue } from '../types.js';
import { openI2cBus, type I2cOpener, type I2cTransport } from './bus.js';
import { bytesToWord, decodeNumber, encodeNumber, wordToBytes, type NumberFormat } from './codec.js';
import { SingleFlight } from '../../lib/single-flight.js';

const protocolSchema = z.strictObject({
  bus: intIn(0, 255),
  address: intIn(0x03, 0x77),
  retries: z.number().int().min(0).max(10).default(2),
  retryDelayMs: z.number().int().min(0).max(10_000).default(10),
});

const visitorSchema = z
  .strictObject({
    register: intIn(0, 255).optional(),
    width: z.union([z.literal(8), z.literal(16), z.literal(32), z.literal('block')]).default(8),
    length: z.number().int().min(1).max(32).optional(),
    mode: z.enum(['smbus', 'i2c']).default('smbus'),
    blockProtocol: z.enum(['i2c', 'smbus']).default('i2c'),
    byteOrder: z.enum(['big', 'little']).default('big'),
    signed: z.boolean().default(false),
    scale: z.number().finite().default(1),
    offset: z.number().finite().default(0),
  })
  .superRefine((v, ctx) => {
    if (v.width === 'block' && v.length === undefined) ctx.addIssue({ code: 'custom', path: ['length'], message: 'block reads need a length' });
    if (v.width !== 'block' && v.length !== undefined) ctx.addIssue({ code: 'custom', path: ['length'], message: 'length applies to width "block" only' });
    if (v.mode === 'smbus' && v.register === undefined && v.width !== 8) {
      ctx.addIssue({ code: 'custom', path: ['register'], message: 'SMBus word/block transfers need a register' });
    }
  });

type Visitor = z.output<typeof visitorSchema>;

const UNAVAILABLE = new Set(['ENODEV', 'ENXIO', 'EREMOTEIO', 'EIO', 'ENOENT', 'ETIMEDOUT', 'EBADF']);
const UNSUPPORTED = new Set(['ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

class I2cDevice implements DeviceDriver {
  private readonly visitor = visitorParser(visitorSchema, 'i2c');
  private bus: I2cTransport | undefined;
  private readonly connecting = new SingleFlight();
  private epoch = 0;

  constructor(
    private readonly cfg: z.output<typeof protocolSchema>,
    private readonly env: DriverEnv,
    private readonly opener: I2cOpener,
  ) {}

  private get where(): string {
    return `i2c-${this.cfg.bus} 0x${this.cfg.address.toString(16).padStart(2, '0')}`;
  }

  /** Open the bus; concurrent calls share one attempt. */
  connect(): Promise<void> {
    if (this.bus) return Promise.resolve();
    return this.connecting.run(() => this.open());
  }

  private async open(): Promise<void> {
    const epoch = this.epoch;
    const file = join(this.env.dev, `i2c-${this.cfg.bus}`);
    try {
      await access(file);
    } catch (e) {
      throw new DeviceUnavailableError(`I2C bus ${file} is missing (${errnoCode(e) ?? asError(e).message})`, { cause: e });
    }
    let bus: I2cTransport;
    try {
      bus = await this.opener(this.cfg.bus, this.env.dev);
    } catch (e) {
      throw e instanceof DeviceUnavailableError ? e : new DeviceUnavailableError(`cannot open ${file}: ${asError(e).message}`, { cause: e });
    }
    if (epoch !== this.epoch) {
      await bus.close().catch(() => undefined);
      throw new DeviceUnavailableError(`${file}: closed while connecting`);
    }
    this.bus = bus;
  }

  private async attempt<T>(what: string, fn: (bus: I2cTransport, addr: number) => Promise<T>): Promise<T> {
    const bus = this.bus;
    if (!bus) throw new DeviceUnavailableError(`${this.where} is not connected`);
    let last: unknown;
    for (let i = 0; i <= this.cfg.retries; i++) {
      if (i > 0) await sleep(this.cfg.retryDelayMs);
      try {
        return await fn(bus, this.cfg.address);
      } catch (e) {
        last = e;
        if (UNSUPPORTED.has(errnoCode(e) ?? '') || e instanceof RangeError) break;
      }
    }
    const code = errnoCode(last) ?? '';
    const msg = `${what} on ${this.where}: ${asError(last).message}`;
    if (UNSUPPORTED.has(code)) {
      throw new DriverProtocolError(`${msg} (the adapter does not support this transfer; SMBus-only adapters need mode "smbus")`, { cause: last });
    }
    if (UNAVAILABLE.has(code)) throw new DeviceUnavailableError(msg, { cause: last });
    throw new DriverProtocolError(msg, { cause: last });
  }

  private readBytes(c: Visitor, n: number): Promise<Buffer> {
    const reg = c.register;
    if (c.mode === 'i2c') {
      return this.attempt('i2c read', async (bus, a) => {
        if (reg !== undefined) await bus.i2cWrite(a, Buffer.from([reg]));
        return bus.i2cRead(a, n);
      });
    }
    if (c.width === 8) {
      return this.attempt('smbus read byte', async (bus, a) => Buffer.from([reg === undefined ? await bus.receiveByte(a) : await bus.readByte(a, reg)]));
    }
    if (c.width === 16) return this.attempt('smbus read word', async (bus, a) => wordToBytes(await bus.readWord(a, reg!)));
    if (c.width === 'block' && c.blockProtocol === 'smbus') return this.attempt('smbus block read', (bus, a) => bus.readSmbusBlock(a, reg!));
    return this.attempt('smbus read block', (bus, a) => bus.readI2cBlock(a, reg!, n));
  }

  private writeBytes(c: Visitor, data: Buffer): Promise<void> {
    const reg = c.register;
    if (c.mode === 'i2c') {
      return this.attempt('i2c write', (bus, a) => bus.i2cWrite(a, reg === undefined ? data : Buffer.concat([Buffer.from([reg]), data])));
    }
    if (c.width === 8) return this.attempt('smbus write byte', (bus, a) => (reg === undefined ? bus.sendByte(a, data[0]!) : bus.writeByte(a, reg, data[0]!)));
    if (c.width === 16) return this.attempt('smbus write word', (bus, a) => bus.writeWord(a, reg!, bytesToWord(data)));
    if (c.width === 'block' && c.blockProtocol === 'smbus') return this.attempt('smbus block write', (bus, a) => bus.writeSmbusBlock(a, reg!, data));
    return this.attempt('smbus write block', (bus, a) => bus.writeI2cBlock(a, reg!, data));
  }

  async read(v: PropertyVisitor): Promise<RawValue> {
    const c = this.visitor(v);
    if (c.width === 'block') {
      const b = await this.readBytes(c, c.length!);
      if (c.blockProtocol === 'smbus' && c.mode === 'smbus') return b.subarray(0, c.length!);
      if (b.length < c.length!) throw new DriverProtocolError(`${v.property}: got ${b.length} of ${c.length} bytes`);
      return b;
    }
    const b = await this.readBytes(c, c.width / 8);
    if (b.length < c.width / 8) throw new DriverProtocolError(`${v.property}: short read (${b.length} bytes)`);
    return decodeNumber(b, c as NumberFormat);
  }

  async write(v: PropertyVisitor, value: RawValue): Promise<void> {
    const c = this.visitor(v);
    if (c.width === 'block') {
      const data = Buffer.isBuffer(value) ? value : typeof value === 'string' ? Buffer.from(value, 'latin1') : undefined;
      const smbusBlock = c.blockProtocol === 'smbus' && c.mode === 'smbus';
      if (!data || (smbusBlock ? data.length < 1 || data.length > c.length! : data.length !== c.length)) {
        throw new RangeError(`${v.property}: block writes need ${smbusBlock ? `1..${c.length}` : `exactly ${c.length}`} bytes`);
      }
      return this.writeBytes(c, data);
    }
    const n = typeof value === 'number' ? value : typeof value === 'boolean' ? Number(value) : Number(String(value));
    if (!Number.isFinite(n)) throw new RangeError(`${v.property}: expected a number, got ${JSON.stringify(value)}`);
    return this.writeBytes(c, encodeNumber(n, c as NumberFormat));
  }

  async close(): Promise<void> {
    this.epoch++;
    const bus = this.bus;
    this.bus = undefined;
    if (bus) await bus.close().catch((e) => this.env.log.warn('i2c close failed', { error: asError(e).message }));
  }
}

export function i2cDriver(deps: { opener?: I2cOpener } = {}): DriverFactory {
  return {
    protocol: 'i2c',
    validate: (protocolConfig, visitors) => validateAll(protocolSchema, visitorSchema, protocolConfig, visitors),
    create: (protocolConfig, env) => new I2cDevice(parseConfig(protocolSchema, protocolConfig, PROTOCOL_PATH, 'i2c protocol'), env, deps.opener ?? openI2cBus),
  };
}
