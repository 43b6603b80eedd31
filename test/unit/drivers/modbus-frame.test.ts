/** Modbus RTU bytes: CRC known vectors, request PDUs, response parsing, frame assembly. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { crc16, crcOk, withCrc } from '../../../src/drivers/modbus/crc.js';
import {
  ModbusExceptionError,
  packBits,
  parseResponse,
  readRequest,
  unpackBits,
  writeMultipleCoilsRequest,
  writeMultipleRegistersRequest,
  writeSingleCoilRequest,
  writeSingleRegisterRequest,
} from '../../../src/drivers/modbus/pdu.js';
import { CrcError, RtuResponseReader, encodeRtu } from '../../../src/drivers/modbus/rtu.js';
import { isDriverProtocolError } from '../../../src/drivers/errors.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('CRC-16/MODBUS matches published frames (low byte first)', () => {
  assert.equal(withCrc(hex('01 03 0000 000A')).toString('hex'), '01030000000ac5cd');
  assert.equal(withCrc(hex('11 03 006B 0003')).toString('hex'), '1103006b00037687');
  assert.equal(withCrc(hex('11 06 0001 0003')).toString('hex'), '1106000100039a9b');
  assert.equal(withCrc(hex('11 03 06 AE41 5652 4340')).toString('hex'), '110306ae415652434049ad');
  assert.equal(crc16(Buffer.alloc(0)), 0xffff);
  assert.equal(crcOk(hex('11 03 006B 0003 7687')), true);
  assert.equal(crcOk(hex('11 03 006B 0003 7688')), false);
});

test('request PDUs for functions 1-6, 15 and 16', () => {
  assert.equal(readRequest(1, 0x13, 0x25).toString('hex'), '0100130025');
  assert.equal(readRequest(2, 0xc4, 0x16).toString('hex'), '0200c40016');
  assert.equal(readRequest(3, 0x6b, 3).toString('hex'), '03006b0003');
  assert.equal(readRequest(4, 0x08, 1).toString('hex'), '0400080001');
  assert.equal(writeSingleCoilRequest(0xac, true).toString('hex'), '0500acff00');
  assert.equal(writeSingleCoilRequest(0xac, false).toString('hex'), '0500ac0000');
  assert.equal(writeSingleRegisterRequest(1, 3).toString('hex'), '0600010003');
  // 10 coils from 0x13: 1,0,1,1,0,0,1,1, 1,0 → CD 01
  const coils = [true, false, true, true, false, false, true, true, true, false];
  assert.equal(writeMultipleCoilsRequest(0x13, coils).toString('hex'), '0f0013000a02cd01');
  assert.equal(writeMultipleRegistersRequest(1, [0x000a, 0x0102]).toString('hex'), '100001000204000a0102');
  assert.throws(() => readRequest(3, 0, 126), /quantity/);
  assert.throws(() => writeSingleRegisterRequest(0x10000, 1), /address/);
  assert.deepEqual(unpackBits(packBits(coils), coils.length), coils);
});

test('responses parse into registers, bits, write echoes; exceptions throw typed errors', () => {
  assert.deepEqual(parseResponse(readRequest(3, 0x6b, 3), hex('03 06 AE41 5652 4340')), [0xae41, 0x5652, 0x4340]);
  assert.deepEqual(parseResponse(readRequest(1, 0x13, 10), hex('01 02 CD 01')), [true, false, true, true, false, false, true, true, true, false]);
  assert.equal(parseResponse(writeSingleRegisterRequest(1, 3), hex('06 0001 0003')), undefined);
  assert.equal(parseResponse(writeMultipleRegistersRequest(1, [1, 2]), hex('10 0001 0002')), undefined);
  assert.throws(
    () => parseResponse(readRequest(3, 0x6b, 3), hex('83 02')),
    (e: unknown) => e instanceof ModbusExceptionError && e.exceptionCode === 2 && e.functionCode === 3 && /illegal data address/.test(e.message),
  );
  assert.throws(() => parseResponse(readRequest(3, 0, 2), hex('03 02 0001')), isDriverProtocolError);
  assert.throws(() => parseResponse(writeSingleRegisterRequest(1, 3), hex('06 0001 0004')), /echo/);
});

test('RTU reader assembles a response from fragments and skips bytes before the slave id', () => {
  const req = readRequest(3, 0x6b, 3);
  const frame = encodeRtu(0x11, hex('03 06 AE41 5652 4340'));
  assert.equal(frame.toString('hex'), '110306ae415652434049ad');
  const r = new RtuResponseReader(0x11, req);
  assert.equal(r.push(hex('00 ff')), undefined); // line noise
  assert.equal(r.push(frame.subarray(0, 1)), undefined);
  assert.equal(r.push(frame.subarray(1, 4)), undefined);
  const pdu = r.push(frame.subarray(4));
  assert.equal(pdu?.toString('hex'), '0306ae4156524340');
});

test('RTU reader: exception frames are 5 bytes; a bad CRC throws CrcError', () => {
  const req = readRequest(3, 0, 1);
  const r = new RtuResponseReader(1, req);
  assert.equal(r.push(encodeRtu(1, hex('83 02')))?.toString('hex'), '8302');
  const bad = encodeRtu(1, hex('03 02 0001'));
  bad[bad.length - 1] = bad[bad.length - 1]! ^ 0xff;
  assert.throws(() => new RtuResponseReader(1, req).push(bad), (e: unknown) => e instanceof CrcError && e.code === 'ECRC');
});
