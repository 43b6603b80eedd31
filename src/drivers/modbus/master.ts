/**
 * Modbus RTU master over any ByteTransport: one request on the wire at a time (RTU is
 * half-duplex), each with a timeout, CRC check and exception decoding; after a failed request
 * the line settles before the next one, so a late answer is never taken for another request's
 * (serial/half-duplex.ts).
 */
import { HalfDuplexLine } from '../serial/half-duplex.js';
import type { ByteTransport } from '../serial/transport.js';
import {
  FC,
  parseResponse,
  readRequest,
  writeMultipleCoilsRequest,
  writeMultipleRegistersRequest,
  writeSingleCoilRequest,
  writeSingleRegisterRequest,
} from './pdu.js';
import { RtuResponseReader, encodeRtu } from './rtu.js';

export interface MasterOptions {
  /** response timeout per request */
  timeoutMs: number;
}

export class ModbusRtuMaster {
  private readonly line: HalfDuplexLine;

  constructor(
    transport: () => ByteTransport,
    private readonly opts: MasterOptions,
  ) {
    this.line = new HalfDuplexLine(transport);
  }

  /** Send one request PDU to `slave` and return the response PDU (queued behind earlier ones). */
  async request(slave: number, pdu: Buffer): Promise<Buffer> {
    const reader = new RtuResponseReader(slave, pdu);
    const res = await this.line.exchange({
      request: encodeRtu(slave, pdu),
      // broadcast (slave 0): no answer
      ...(slave === 0 ? {} : { answer: (chunk: Buffer) => reader.push(chunk) }),
      timeoutMs: this.opts.timeoutMs,
      what: `modbus slave ${slave} function ${pdu[0]}`,
    });
    return res ?? Buffer.alloc(0);
  }

  private async call(slave: number, pdu: Buffer): Promise<number[] | boolean[] | undefined> {
    const res = await this.request(slave, pdu);
    if (slave === 0) return undefined;
    return parseResponse(pdu, res);
  }

  async readCoils(slave: number, address: number, count: number): Promise<boolean[]> {
    return (await this.call(slave, readRequest(FC.readCoils, address, count))) as boolean[];
  }

  async readDiscreteInputs(slave: number, address: number, count: number): Promise<boolean[]> {
    return (await this.call(slave, readRequest(FC.readDiscreteInputs, address, count))) as boolean[];
  }

  async readHoldingRegisters(slave: number, address: number, count: number): Promise<number[]> {
    return (await this.call(slave, readRequest(FC.readHoldingRegisters, address, count))) as number[];
  }

  async readInputRegisters(slave: number, address: number, count: number): Promise<number[]> {
    return (await this.call(slave, readRequest(FC.readInputRegisters, address, count))) as number[];
  }

  async writeCoil(slave: number, address: number, on: boolean): Promise<void> {
    await this.call(slave, writeSingleCoilRequest(address, on));
  }

  async writeRegister(slave: number, address: number, value: number): Promise<void> {
    await this.call(slave, writeSingleRegisterRequest(address, value));
  }

  async writeCoils(slave: number, address: number, values: boolean[]): Promise<void> {
    await this.call(slave, writeMultipleCoilsRequest(address, values));
  }

  async writeRegisters(slave: number, address: number, values: number[]): Promise<void> {
    await this.call(slave, writeMultipleRegistersRequest(address, values));
  }
}
