/**
 * Register encodings: how a value is laid out over 16-bit Modbus registers.
 * For a 32-bit value with bytes A B C D (A most significant):
 *   wordOrder big,    byteOrder big    → registers AB CD   ("ABCD", the Modbus default)
 *   wordOrder little, byteOrder big    → registers CD AB   ("CDAB", word swap)
 *   wordOrder big,    byteOrder little → registers BA DC   ("BADC", byte swap)
 *   wordOrder little, byteOrder little → registers DC BA   ("DCBA")
 * Engineering value = raw * scale + offset (and back for writes, rounded for integer types).
 */
import { applyScale } from '../scale.js';
export type RegisterType = 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32';
export type Order = 'big' | 'little';

export interface RegisterEncoding {
  type: RegisterType;
  byteOrder: Order;
  wordOrder: Order;
  scale: number;
  offset: number;
}

export const REGISTER_TYPES: readonly RegisterType[] = ['int16', 'uint16', 'int32', 'uint32', 'float32'];

export function registerCount(type: RegisterType): 1 | 2 {
  return type === 'int16' || type === 'uint16' ? 1 : 2;
}

/** Registers as received → the value's bytes, most significant first. */
function toBigEndianBytes(words: readonly number[], e: Pick<RegisterEncoding, 'byteOrder' | 'wordOrder'>): Buffer {
  const ordered = e.wordOrder === 'little' ? [...words].reverse() : words;
  const out = Buffer.alloc(ordered.length * 2);
  ordered.forEach((w, i) => {
    const hi = (w >> 8) & 0xff;
    const lo = w & 0xff;
    out[i * 2] = e.byteOrder === 'little' ? lo : hi;
    out[i * 2 + 1] = e.byteOrder === 'little' ? hi : lo;
  });
  return out;
}

function fromBigEndianBytes(bytes: Buffer, e: Pick<RegisterEncoding, 'byteOrder' | 'wordOrder'>): number[] {
  const words: number[] = [];
  for (let i = 0; i < bytes.length; i += 2) {
    const a = bytes[i]!;
    const b = bytes[i + 1]!;
    words.push(e.byteOrder === 'little' ? (b << 8) | a : (a << 8) | b);
  }
  return e.wordOrder === 'little' ? words.reverse() : words;
}

/** The raw (unscaled) number held by `words`. */
export function decodeRaw(words: readonly number[], e: Pick<RegisterEncoding, 'type' | 'byteOrder' | 'wordOrder'>): number {
  const n = registerCount(e.type);
  if (words.length !== n) throw new RangeError(`${e.type} needs ${n} register(s), got ${words.length}`);
  const b = toBigEndianBytes(words, e);
  switch (e.type) {
    case 'int16':
      return b.readInt16BE(0);
    case 'uint16':
      return b.readUInt16BE(0);
    case 'int32':
      return b.readInt32BE(0);
    case 'uint32':
      return b.readUInt32BE(0);
    case 'float32':
      return b.readFloatBE(0);
  }
}

const RANGES: Record<Exclude<RegisterType, 'float32'>, [number, number]> = {
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x80000000, 0x7fffffff],
  uint32: [0, 0xffffffff],
};

/** Registers that hold the raw number `raw` (integers are rounded; out of range throws). */
export function encodeRaw(raw: number, e: Pick<RegisterEncoding, 'type' | 'byteOrder' | 'wordOrder'>): number[] {
  if (!Number.isFinite(raw) && e.type !== 'float32') throw new RangeError(`${raw} is not a finite number`);
  const b = Buffer.alloc(registerCount(e.type) * 2);
  if (e.type === 'float32') {
    b.writeFloatBE(raw, 0);
  } else {
    const v = Math.round(raw);
    const [min, max] = RANGES[e.type];
    if (v < min || v > max) throw new RangeError(`${raw} does not fit ${e.type} (${min}..${max})`);
    if (e.type === 'int16') b.writeInt16BE(v, 0);
    else if (e.type === 'uint16') b.writeUInt16BE(v, 0);
    else if (e.type === 'int32') b.writeInt32BE(v, 0);
    else b.writeUInt32BE(v, 0);
  }
  return fromBigEndianBytes(b, e);
}

export function decodeValue(words: readonly number[], e: RegisterEncoding): number {
  return applyScale(decodeRaw(words, e), e.scale, e.offset);
}

export function encodeValue(value: number, e: RegisterEncoding): number[] {
  if (e.scale === 0) throw new RangeError('scale 0 cannot be inverted for a write');
  return encodeRaw((value - e.offset) / e.scale, e);
}
