/**
 * Modbus RTU framing: ADU = slave id + PDU + CRC16 (low byte first). `RtuResponseReader`
 * assembles a response from arbitrary chunks of bytes (a serial port delivers fragments).
 */
import { DriverProtocolError } from '../errors.js';
import { crcOk, withCrc } from './crc.js';
import { responsePduLength } from './pdu.js';

export function encodeRtu(slave: number, pdu: Uint8Array): Buffer {
  const body = Buffer.alloc(1 + pdu.length);
  body[0] = slave;
  body.set(pdu, 1);
  return withCrc(body);
}

export class CrcError extends DriverProtocolError {
  override readonly code = 'ECRC';
  constructor(frame: Uint8Array) {
    super(`modbus CRC mismatch in frame ${Buffer.from(frame).toString('hex')}`);
    this.name = 'CrcError';
  }
}

/**
 * Feed bytes with `push`; it returns the response PDU once a whole frame for `slave` has
 * arrived, undefined while incomplete, and throws on a CRC mismatch. Bytes before a frame
 * that starts with another slave id are skipped (noise, echoes on RS-485).
 */
export class RtuResponseReader {
  private buf = Buffer.alloc(0);
  constructor(
    private readonly slave: number,
    private readonly request: Uint8Array,
  ) {}

  push(chunk: Uint8Array): Buffer | undefined {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : Buffer.from(chunk);
    while (this.buf.length > 0 && this.buf[0] !== this.slave) this.buf = this.buf.subarray(1);
    if (this.buf.length < 2) return undefined;
    const pduLen = responsePduLength(this.request, this.buf.subarray(1));
    if (pduLen === undefined) return undefined;
    const total = 1 + pduLen + 2;
    if (this.buf.length < total) return undefined;
    const frame = this.buf.subarray(0, total);
    this.buf = this.buf.subarray(total);
    if (!crcOk(frame)) throw new CrcError(frame);
    return Buffer.from(frame.subarray(1, 1 + pduLen));
  }

  get pending(): number {
    return this.buf.length;
  }
}
