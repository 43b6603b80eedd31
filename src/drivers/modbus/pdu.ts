/**
 * Modbus PDUs (function code + data) for the functions a master uses: 1-6, 15, 16.
 * Pure byte builders and parsers; the RTU framer adds slave id and CRC.
 */
import { DriverProtocolError } from '../errors.js';

export const FC = {
  readCoils: 1,
  readDiscreteInputs: 2,
  readHoldingRegisters: 3,
  readInputRegisters: 4,
  writeSingleCoil: 5,
  writeSingleRegister: 6,
  writeMultipleCoils: 15,
  writeMultipleRegisters: 16,
} as const;

export const EXCEPTION_NAMES: Record<number, string> = {
  1: 'illegal function',
  2: 'illegal data address',
  3: 'illegal data value',
  4: 'slave device failure',
  5: 'acknowledge',
  6: 'slave device busy',
  8: 'memory parity error',
  10: 'gateway path unavailable',
  11: 'gateway target device failed to respond',
};

/** The slave answered with an exception response (function code | 0x80, exception code). */
export class ModbusExceptionError extends DriverProtocolError {
  override readonly code = 'EMODBUS';
  constructor(
    readonly functionCode: number,
    readonly exceptionCode: number,
  ) {
    super(
      `modbus exception ${exceptionCode} (${EXCEPTION_NAMES[exceptionCode] ?? 'unknown'}) for function ${functionCode}`,
    );
    this.name = 'ModbusExceptionError';
  }
}

function u16(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new RangeError(`${what} must be 0..65535, got ${n}`);
  return n;
}

export function readRequest(fc: 1 | 2 | 3 | 4, address: number, quantity: number): Buffer {
  const max = fc <= 2 ? 2000 : 125;
  if (!Number.isInteger(quantity) || quantity < 1 || quantity > max) {
    throw new RangeError(`quantity must be 1..${max}, got ${quantity}`);
  }
  const b = Buffer.alloc(5);
  b[0] = fc;
  b.writeUInt16BE(u16(address, 'address'), 1);
  b.writeUInt16BE(quantity, 3);
  return b;
}

export function writeSingleCoilRequest(address: number, on: boolean): Buffer {
  const b = Buffer.alloc(5);
  b[0] = FC.writeSingleCoil;
  b.writeUInt16BE(u16(address, 'address'), 1);
  b.writeUInt16BE(on ? 0xff00 : 0x0000, 3);
  return b;
}

export function writeSingleRegisterRequest(address: number, value: number): Buffer {
  const b = Buffer.alloc(5);
  b[0] = FC.writeSingleRegister;
  b.writeUInt16BE(u16(address, 'address'), 1);
  b.writeUInt16BE(u16(value, 'register value'), 3);
  return b;
}

export function writeMultipleCoilsRequest(address: number, values: boolean[]): Buffer {
  if (values.length < 1 || values.length > 1968) throw new RangeError(`coil count must be 1..1968, got ${values.length}`);
  const bytes = packBits(values);
  const b = Buffer.alloc(6 + bytes.length);
  b[0] = FC.writeMultipleCoils;
  b.writeUInt16BE(u16(address, 'address'), 1);
  b.writeUInt16BE(values.length, 3);
  b[5] = bytes.length;
  bytes.copy(b, 6);
  return b;
}

export function writeMultipleRegistersRequest(address: number, values: number[]): Buffer {
  if (values.length < 1 || values.length > 123) throw new RangeError(`register count must be 1..123, got ${values.length}`);
  const b = Buffer.alloc(6 + values.length * 2);
  b[0] = FC.writeMultipleRegisters;
  b.writeUInt16BE(u16(address, 'address'), 1);
  b.writeUInt16BE(values.length, 3);
  b[5] = values.length * 2;
  values.forEach((v, i) => b.writeUInt16BE(u16(v, `register value [${i}]`), 6 + i * 2));
  return b;
}

export function packBits(values: boolean[]): Buffer {
  const out = Buffer.alloc(Math.ceil(values.length / 8));
  values.forEach((v, i) => {
    if (v) out[i >> 3]! |= 1 << (i & 7);
  });
  return out;
}

export function unpackBits(bytes: Uint8Array, count: number): boolean[] {
  const out: boolean[] = [];
  for (let i = 0; i < count; i++) out.push((((bytes[i >> 3] ?? 0) >> (i & 7)) & 1) === 1);
  return out;
}

/**
 * Length in bytes of the response PDU to `request`, once `head` (the response's first bytes,
 * function code first) is long enough to tell; undefined while more bytes are needed.
 */
export function responsePduLength(request: Uint8Array, head: Uint8Array): number | undefined {
  if (head.length < 1) return undefined;
  const fc = head[0]!;
  if (fc & 0x80) return 2;
  switch (fc) {
    case 1:
    case 2:
    case 3:
    case 4:
      return head.length < 2 ? undefined : 2 + head[1]!;
    case 5:
    case 6:
    case 15:
    case 16:
      return 5;
    default:
      // unknown function in the answer: take what the request implies, the CRC will decide
      return request.length;
  }
}

/**
 * Check a response PDU against its request and return its data: register words for 3/4,
 * bits for 1/2, nothing for writes. Exception responses throw ModbusExceptionError.
 */
export function parseResponse(request: Uint8Array, response: Uint8Array): number[] | boolean[] | undefined {
  const fc = request[0]!;
  const rfc = response[0]!;
  if (rfc === (fc | 0x80)) throw new ModbusExceptionError(fc, response[1] ?? 0);
  if (rfc !== fc) throw new DriverProtocolError(`response function ${rfc} does not match request function ${fc}`);
  const quantity = (request[3]! << 8) | request[4]!;
  switch (fc) {
    case 1:
    case 2: {
      const want = Math.ceil(quantity / 8);
      if (response[1] !== want || response.length !== 2 + want) {
        throw new DriverProtocolError(`expected ${want} data bytes for ${quantity} bits, got ${response[1]}`);
      }
      return unpackBits(response.subarray(2), quantity);
    }
    case 3:
    case 4: {
      if (response[1] !== quantity * 2 || response.length !== 2 + quantity * 2) {
        throw new DriverProtocolError(`expected ${quantity * 2} data bytes for ${quantity} registers, got ${response[1]}`);
      }
      const words: number[] = [];
      for (let i = 0; i < quantity; i++) words.push((response[2 + i * 2]! << 8) | response[3 + i * 2]!);
      return words;
    }
    case 5:
    case 6:
      if (Buffer.compare(Buffer.from(request.subarray(0, 5)), Buffer.from(response.subarray(0, 5))) !== 0) {
        throw new DriverProtocolError(`write echo does not match the request`);
      }
      return undefined;
    case 15:
    case 16:
      if (Buffer.compare(Buffer.from(request.subarray(0, 5)), Buffer.from(response.subarray(0, 5))) !== 0) {
        throw new DriverProtocolError(`write response address/quantity does not match the request`);
      }
      return undefined;
    default:
      throw new DriverProtocolError(`unsupported function ${fc}`);
  }
}
