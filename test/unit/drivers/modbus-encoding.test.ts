/** Register encodings: known bit patterns in all four byte/word orders, scale/offset, ranges. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRaw, decodeValue, encodeRaw, encodeValue, type RegisterEncoding } from '../../../src/drivers/modbus/encoding.js';

const enc = (type: RegisterEncoding['type'], byteOrder: 'big' | 'little' = 'big', wordOrder: 'big' | 'little' = 'big'): RegisterEncoding => ({
  type,
  byteOrder,
  wordOrder,
  scale: 1,
  offset: 0,
});

test('float32 123.456 (0x42F6E979) in ABCD, CDAB, BADC, DCBA', () => {
  const cases: [('big' | 'little'), ('big' | 'little'), number[]][] = [
    ['big', 'big', [0x42f6, 0xe979]],
    ['big', 'little', [0xe979, 0x42f6]],
    ['little', 'big', [0xf642, 0x79e9]],
    ['little', 'little', [0x79e9, 0xf642]],
  ];
  for (const [bo, wo, words] of cases) {
    assert.deepEqual(encodeRaw(123.456, enc('float32', bo, wo)), words, `${bo}/${wo}`);
    assert.ok(Math.abs(decodeRaw(words, enc('float32', bo, wo)) - 123.456) < 1e-4, `${bo}/${wo}`);
  }
});

test('16- and 32-bit integers, signed and unsigned', () => {
  assert.equal(decodeRaw([0xffff], enc('int16')), -1);
  assert.equal(decodeRaw([0xffff], enc('uint16')), 65535);
  assert.equal(decodeRaw([0x3412], enc('uint16', 'little')), 0x1234);
  assert.equal(decodeRaw([0xffff, 0xfffe], enc('int32')), -2);
  assert.equal(decodeRaw([0x0001, 0x0000], enc('uint32', 'big', 'little')), 1);
  assert.equal(decodeRaw([0x1234, 0x5678], enc('uint32')), 0x12345678);
  assert.deepEqual(encodeRaw(0x12345678, enc('uint32', 'big', 'little')), [0x5678, 0x1234]);
  assert.deepEqual(encodeRaw(-2, enc('int32')), [0xffff, 0xfffe]);
  assert.deepEqual(encodeRaw(-1, enc('int16')), [0xffff]);
});

test('scale and offset apply on read and invert on write (integers rounded)', () => {
  const e: RegisterEncoding = { ...enc('int16'), scale: 0.1, offset: -40 };
  assert.ok(Math.abs(decodeValue([655], e) - 25.5) < 1e-9);
  assert.deepEqual(encodeValue(25.5, e), [655]);
  assert.deepEqual(encodeValue(-40.04, e), [0]);
});

test('out-of-range writes and wrong register counts are refused', () => {
  assert.throws(() => encodeRaw(70000, enc('uint16')), /does not fit uint16/);
  assert.throws(() => encodeRaw(-1, enc('uint32')), /does not fit uint32/);
  assert.throws(() => encodeRaw(Number.NaN, enc('int16')), /finite/);
  assert.throws(() => decodeRaw([1], enc('float32')), /needs 2 register/);
  assert.throws(() => encodeValue(1, { ...enc('int16'), scale: 0 }), /scale 0/);
});
