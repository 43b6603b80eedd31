/** I2C number formats: widths, byte orders, signedness, scale/offset; SMBus word byte order. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bytesToWord, decodeNumber, encodeNumber, wordToBytes, type NumberFormat } from '../../../src/drivers/i2c/codec.js';

const f = (width: 8 | 16 | 32, byteOrder: 'big' | 'little' = 'big', signed = false, scale = 1, offset = 0): NumberFormat => ({ width, byteOrder, signed, scale, offset });

test('decode 8/16/32-bit values in both byte orders', () => {
  assert.equal(decodeNumber(Buffer.from([0xff]), f(8)), 255);
  assert.equal(decodeNumber(Buffer.from([0xff]), f(8, 'big', true)), -1);
  assert.equal(decodeNumber(Buffer.from([0x12, 0x34]), f(16)), 0x1234);
  assert.equal(decodeNumber(Buffer.from([0x12, 0x34]), f(16, 'little')), 0x3412);
  assert.equal(decodeNumber(Buffer.from([0xff, 0xfe]), f(16, 'big', true)), -2);
  assert.equal(decodeNumber(Buffer.from([1, 2, 3, 4]), f(32)), 0x01020304);
  assert.equal(decodeNumber(Buffer.from([1, 2, 3, 4]), f(32, 'little')), 0x04030201);
  assert.throws(() => decodeNumber(Buffer.from([1]), f(16)), /need 2 byte/);
});

test('a TMP102-style reading: SMBus word 0x8019 is wire bytes 19 80 → big-endian 0x1980 → 25.5 °C', () => {
  const wire = wordToBytes(0x8019);
  assert.deepEqual([...wire], [0x19, 0x80]);
  // 12-bit left-justified: value/16 * 0.0625 = raw * 0.00390625
  assert.equal(decodeNumber(wire, f(16, 'big', true, 0.0625 / 16)), 25.5);
  assert.equal(bytesToWord(wire), 0x8019);
});

test('encode inverts scale/offset, rounds, and refuses values that do not fit', () => {
  assert.deepEqual([...encodeNumber(25.5, f(16, 'big', true, 0.0625 / 16))], [0x19, 0x80]);
  assert.deepEqual([...encodeNumber(-2, f(16, 'little', true))], [0xfe, 0xff]);
  assert.deepEqual([...encodeNumber(20.04, f(8, 'big', false, 0.1, 10))], [100]);
  assert.throws(() => encodeNumber(256, f(8)), /does not fit unsigned 8 bits/);
  assert.throws(() => encodeNumber(-129, f(8, 'big', true)), /does not fit signed 8 bits/);
  assert.throws(() => encodeNumber(1, f(8, 'big', false, 0)), /scale 0/);
});

test('scaled values carry no binary floating-point noise (TMP102-style 0.1 steps)', () => {
  assert.equal(decodeNumber(Buffer.from([0x00, 199]), f(16, 'big', false, 0.1)), 19.9);
  assert.equal(decodeNumber(Buffer.from([0x00, 3]), f(16, 'big', false, 0.1, 0.2)), 0.5);
  assert.equal(decodeNumber(Buffer.from([0x01, 0x90]), f(16, 'big', true, 0.0625)), 25);
});
