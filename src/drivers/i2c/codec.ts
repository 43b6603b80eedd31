/**
 * Numbers ↔ register bytes for I2C sensors: width 8/16/32 bits, byte order, signedness,
 * engineering value = raw * scale + offset. Bytes are in wire order (first byte sent/received
 * first). Pure.
 */
import { applyScale } from '../scale.js';
export interface NumberFormat {
  width: 8 | 16 | 32;
  byteOrder: 'big' | 'little';
  signed: boolean;
  scale: number;
  offset: number;
}

export function decodeNumber(bytes: Uint8Array, f: NumberFormat): number {
  const n = f.width / 8;
  if (bytes.length < n) throw new RangeError(`need ${n} byte(s) for ${f.width} bits, got ${bytes.length}`);
  const b = Buffer.from(bytes.subarray(0, n));
  let raw: number;
  if (n === 1) raw = f.signed ? b.readInt8(0) : b.readUInt8(0);
  else if (n === 2) raw = f.byteOrder === 'big' ? (f.signed ? b.readInt16BE(0) : b.readUInt16BE(0)) : f.signed ? b.readInt16LE(0) : b.readUInt16LE(0);
  else raw = f.byteOrder === 'big' ? (f.signed ? b.readInt32BE(0) : b.readUInt32BE(0)) : f.signed ? b.readInt32LE(0) : b.readUInt32LE(0);
  return applyScale(raw, f.scale, f.offset);
}

export function encodeNumber(value: number, f: NumberFormat): Buffer {
  if (!Number.isFinite(value)) throw new RangeError(`${value} is not a finite number`);
  if (f.scale === 0) throw new RangeError('scale 0 cannot be inverted for a write');
  const raw = Math.round((value - f.offset) / f.scale);
  const bits = f.width;
  const min = f.signed ? -(2 ** (bits - 1)) : 0;
  const max = f.signed ? 2 ** (bits - 1) - 1 : 2 ** bits - 1;
  if (raw < min || raw > max) throw new RangeError(`${value} (raw ${raw}) does not fit ${f.signed ? 'signed' : 'unsigned'} ${bits} bits`);
  const b = Buffer.alloc(bits / 8);
  if (bits === 8) {
    if (f.signed) b.writeInt8(raw);
    else b.writeUInt8(raw);
  } else if (bits === 16) {
    if (f.byteOrder === 'big') f.signed ? b.writeInt16BE(raw) : b.writeUInt16BE(raw);
    else f.signed ? b.writeInt16LE(raw) : b.writeUInt16LE(raw);
  } else if (f.byteOrder === 'big') f.signed ? b.writeInt32BE(raw) : b.writeUInt32BE(raw);
  else f.signed ? b.writeInt32LE(raw) : b.writeUInt32LE(raw);
  return b;
}

/** An SMBus word (read/write word data) is sent low byte first: word ↔ wire bytes. */
export const wordToBytes = (w: number): Buffer => Buffer.from([w & 0xff, (w >> 8) & 0xff]);
export const bytesToWord = (b: Uint8Array): number => (b[0] ?? 0) | ((b[1] ?? 0) << 8);
