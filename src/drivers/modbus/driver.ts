/**
 * `modbus-rtu` driver: device = one slave on a serial port.
 *   protocol.configData: serial port settings (port | usb, baudRate, dataBits, parity, stopBits,
 *     reconnect) + slaveId (1-247), timeoutMs
 *   visitors.configData: register (coil | discreteInput | holding | input), address, and
 *     for bits: count (1-32; value is a bitmask when > 1; writes use function 15)
 *     for registers: type (int16 | uint16 | int32 | uint32 | float32), byteOrder, wordOrder,
 *     scale, offset, writeMultiple (use function 16 for one-register writes)
 */
import * as z from 'zod';
import { intIn, parseConfig, PROTOCOL_PATH, validateAll, visitorParser } from '../config.js';
import { DriverProtocolError } from '../errors.js';
import { SerialLink, type LinkDeps } from '../serial/link.js';
import { portChoiceIssues, requirePortOrUsb, serialPortShape } from '../serial/options.js';
import type { DeviceDriver, DriverEnv, DriverFactory, PropertyVisitor, RawValue } from '../types.js';
import { decodeValue, encodeValue, registerCount, REGISTER_TYPES, type RegisterEncoding } from './encoding.js';
import { ModbusRtuMaster } from './master.js';

const protocolSchema = z
  .strictObject({
    ...serialPortShape,
    slaveId: intIn(1, 247),
    timeoutMs: z.number().int().min(1).max(60_000).default(1000),
  })
  .superRefine(requirePortOrUsb);

const order = z.enum(['big', 'little']).default('big');
const visitorSchema = z
  .strictObject({
    register: z.enum(['coil', 'discreteInput', 'holding', 'input']),
    address: intIn(0, 0xffff),
    count: z.number().int().min(1).max(32).default(1),
    type: z.enum(REGISTER_TYPES as [string, ...string[]]).default('uint16'),
    byteOrder: order,
    wordOrder: order,
    scale: z.number().finite().default(1),
    offset: z.number().finite().default(0),
    writeMultiple: z.boolean().default(false),
  })
  .superRefine((v, ctx) => {
    const bits = v.register === 'coil' || v.register === 'discreteInput';
    if (!bits && v.count !== 1) ctx.addIssue({ code: 'custom', path: ['count'], message: 'count applies to coils and discrete inputs only' });
    if (v.address <= 0xffff && v.address + (bits ? v.count : registerCount(v.type as RegisterEncoding['type'])) - 1 > 0xffff) {
      ctx.addIssue({ code: 'custom', path: ['address'], message: 'the value runs past address 65535' });
    }
  });

type Visitor = z.output<typeof visitorSchema>;

function toBool(value: RawValue, what: string): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 1 || value === 0) return value === 1;
  if (value === 'true' || value === '1') return true;
  if (value === 'false' || value === '0') return false;
  throw new RangeError(`${what}: expected a boolean, got ${JSON.stringify(value)}`);
}

function toNumber(value: RawValue, what: string): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n)) throw new RangeError(`${what}: expected a number, got ${JSON.stringify(value)}`);
  return n;
}

class ModbusRtuDevice implements DeviceDriver {
  private readonly link: SerialLink;
  private readonly master: ModbusRtuMaster;
  private readonly visitor: (v: PropertyVisitor) => Visitor;

  constructor(
    private readonly cfg: z.output<typeof protocolSchema>,
    env: DriverEnv,
    deps: LinkDeps,
  ) {
    this.link = new SerialLink(cfg, env, deps);
    this.master = new ModbusRtuMaster(() => this.link.current, { timeoutMs: cfg.timeoutMs });
    this.visitor = visitorParser(visitorSchema, 'modbus-rtu');
  }

  connect(): Promise<void> {
    return this.link.connect();
  }

  async read(v: PropertyVisitor): Promise<RawValue> {
    const c = this.visitor(v);
    const slave = this.cfg.slaveId;
    if (c.register === 'coil' || c.register === 'discreteInput') {
      const bits =
        c.register === 'coil'
          ? await this.master.readCoils(slave, c.address, c.count)
          : await this.master.readDiscreteInputs(slave, c.address, c.count);
      return c.count === 1 ? bits[0]! : bits.reduce((m, b, i) => (b ? m | (1 << i) : m), 0) >>> 0;
    }
    const enc = c as RegisterEncoding;
    const n = registerCount(enc.type);
    const words =
      c.register === 'holding'
        ? await this.master.readHoldingRegisters(slave, c.address, n)
        : await this.master.readInputRegisters(slave, c.address, n);
    return decodeValue(words, enc);
  }

  async write(v: PropertyVisitor, value: RawValue): Promise<void> {
    const c = this.visitor(v);
    const slave = this.cfg.slaveId;
    const what = `${v.property} (modbus ${c.register} ${c.address})`;
    if (c.register === 'discreteInput' || c.register === 'input') {
      throw new DriverProtocolError(`${what}: ${c.register} registers are read-only`);
    }
    if (c.register === 'coil') {
      if (c.count === 1) return this.master.writeCoil(slave, c.address, toBool(value, what));
      const mask = toNumber(value, what);
      const bits = Array.from({ length: c.count }, (_, i) => ((mask >>> i) & 1) === 1);
      return this.master.writeCoils(slave, c.address, bits);
    }
    const words = encodeValue(toNumber(value, what), c as RegisterEncoding);
    if (words.length === 1 && !c.writeMultiple) return this.master.writeRegister(slave, c.address, words[0]!);
    return this.master.writeRegisters(slave, c.address, words);
  }

  close(): Promise<void> {
    return this.link.close();
  }
}

export function modbusRtuDriver(deps: LinkDeps = {}): DriverFactory {
  return {
    protocol: 'modbus-rtu',
    validate: (protocolConfig, visitors) => [
      ...validateAll(protocolSchema, visitorSchema, protocolConfig, visitors),
      ...portChoiceIssues(protocolSchema, protocolConfig, PROTOCOL_PATH),
    ],
    create: (protocolConfig, env) =>
      new ModbusRtuDevice(parseConfig(protocolSchema, protocolConfig, PROTOCOL_PATH, 'modbus-rtu protocol'), env, deps),
  };
}
