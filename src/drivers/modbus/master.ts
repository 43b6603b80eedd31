/**
 * Modbus RTU master over any ByteTransport: one request on the wire at a time (RTU is
 * half-duplex), each with a timeout, CRC check and exception decoding.
 */
import { DeviceUnavailableError, DriverTimeoutError, asError } from '../errors.js';
import { OneAtATime } from '../serial/one-at-a-time.js';
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
  private readonly line = new OneAtATime();

  constructor(
    private readonly transport: () => ByteTransport,
    private readonly opts: MasterOptions,
  ) {}

  /** Send one request PDU to `slave` and return the response PDU (queued behind earlier ones). */
  request(slave: number, pdu: Buffer): Promise<Buffer> {
    return this.line.run(() => this.exchange(slave, pdu));
  }

  private exchange(slave: number, pdu: Buffer): Promise<Buffer> {
    let t: ByteTransport;
    try {
      t = this.transport();
    } catch (e) {
      return Promise.reject(asError(e));
    }
    return new Promise<Buffer>((resolve, reject) => {
      const reader = new RtuResponseReader(slave, pdu);
      let done = false;
      const finish = (err: Error | undefined, res?: Buffer): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        offData();
        offClose();
        if (err) reject(err);
        else resolve(res!);
      };
      const offData = t.onData((chunk) => {
        try {
          const res = reader.push(chunk);
          if (res) finish(undefined, res);
        } catch (e) {
          finish(asError(e));
        }
      });
      const offClose = t.onClose((err) => finish(err));
      const timer = setTimeout(
        () => finish(new DriverTimeoutError(`modbus slave ${slave} function ${pdu[0]} on ${t.name}`, this.opts.timeoutMs)),
        this.opts.timeoutMs,
      );
      t.write(encodeRtu(slave, pdu)).then(
        () => {
          if (slave === 0) finish(undefined, Buffer.alloc(0)); // broadcast: no answer
        },
        (e) => finish(e instanceof DeviceUnavailableError ? e : new DeviceUnavailableError(asError(e).message)),
      );
    });
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
