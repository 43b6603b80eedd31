/**
 * A Modbus RTU slave simulator for tests: it answers on the far end of a pty pair, with its
 * own request framing (functions 1-6, 15, 16), register tables, exception responses, and knobs
 * to stay silent, corrupt the next CRC, or answer the next request late. Answers leave in request
 * order, as from a real slave that handles one request after the other.
 */
import { SerialPort } from 'serialport';
import { crcOk, withCrc } from '../../../src/drivers/modbus/crc.js';

export class ModbusSlaveSim {
  readonly coils = new Array<boolean>(65536).fill(false);
  readonly discrete = new Array<boolean>(65536).fill(false);
  readonly holding = new Uint16Array(65536);
  readonly input = new Uint16Array(65536);
  /** addresses at or above this answer exception 2 (illegal data address) */
  limit = 1000;
  silent = false;
  corruptNext = false;
  /** the next answer leaves this many ms late (and every answer after it waits its turn) */
  delayNextMs = 0;
  requests = 0;
  private out: Promise<void> = Promise.resolve();
  private port: SerialPort | undefined;
  private buf = Buffer.alloc(0);

  constructor(readonly slaveId: number) {}

  async open(path: string): Promise<void> {
    const port = new SerialPort({ path, baudRate: 19200, autoOpen: false });
    await new Promise<void>((res, rej) => port.open((e) => (e ? rej(e) : res())));
    port.on('data', (d: Buffer) => this.onData(d));
    port.on('error', () => undefined);
    this.port = port;
    this.buf = Buffer.alloc(0);
  }

  async close(): Promise<void> {
    const p = this.port;
    this.port = undefined;
    if (p?.isOpen) await new Promise<void>((res) => p.close(() => res()));
  }

  private frameLength(b: Buffer): number | undefined {
    if (b.length < 2) return undefined;
    const fc = b[1]!;
    if (fc >= 1 && fc <= 6) return 8;
    if (fc === 15 || fc === 16) return b.length < 7 ? undefined : 9 + b[6]!;
    return 4; // unknown function: slave id, fc, crc
  }

  private onData(d: Buffer): void {
    this.buf = Buffer.concat([this.buf, d]);
    for (;;) {
      const n = this.frameLength(this.buf);
      if (n === undefined || this.buf.length < n) return;
      const frame = this.buf.subarray(0, n);
      this.buf = this.buf.subarray(n);
      this.handle(Buffer.from(frame));
    }
  }

  private send(pdu: Buffer): void {
    const adu = withCrc(Buffer.concat([Buffer.from([this.slaveId]), pdu]));
    if (this.corruptNext) {
      this.corruptNext = false;
      adu[adu.length - 1] = adu[adu.length - 1]! ^ 0x5a;
    }
    const delay = this.delayNextMs;
    this.delayNextMs = 0;
    if (delay === 0) this.out = this.out.then(() => void this.port?.write(adu));
    else this.out = this.out.then(() => new Promise<void>((r) => setTimeout(() => r(void this.port?.write(adu)), delay)));
  }

  private handle(frame: Buffer): void {
    if (!crcOk(frame) || frame[0] !== this.slaveId) return;
    this.requests++;
    if (this.silent) return;
    const fc = frame[1]!;
    const addr = frame.readUInt16BE(2);
    const qty = frame.readUInt16BE(4);
    const exception = (code: number): void => this.send(Buffer.from([fc | 0x80, code]));
    const span = fc === 5 || fc === 6 ? 1 : qty;
    if (fc < 1 || (fc > 6 && fc !== 15 && fc !== 16)) return exception(1);
    if (addr + span > this.limit) return exception(2);
    switch (fc) {
      case 1:
      case 2: {
        const table = fc === 1 ? this.coils : this.discrete;
        const bytes = Buffer.alloc(Math.ceil(qty / 8));
        for (let i = 0; i < qty; i++) if (table[addr + i]) bytes[i >> 3] = bytes[i >> 3]! | (1 << (i & 7));
        return this.send(Buffer.concat([Buffer.from([fc, bytes.length]), bytes]));
      }
      case 3:
      case 4: {
        const table = fc === 3 ? this.holding : this.input;
        const out = Buffer.alloc(2 + qty * 2);
        out[0] = fc;
        out[1] = qty * 2;
        for (let i = 0; i < qty; i++) out.writeUInt16BE(table[addr + i]!, 2 + i * 2);
        return this.send(out);
      }
      case 5: {
        const v = frame.readUInt16BE(4);
        if (v !== 0xff00 && v !== 0) return exception(3);
        this.coils[addr] = v === 0xff00;
        return this.send(frame.subarray(1, 6));
      }
      case 6:
        this.holding[addr] = frame.readUInt16BE(4);
        return this.send(frame.subarray(1, 6));
      case 15:
        for (let i = 0; i < qty; i++) this.coils[addr + i] = ((frame[7 + (i >> 3)]! >> (i & 7)) & 1) === 1;
        return this.send(frame.subarray(1, 6));
      case 16:
        for (let i = 0; i < qty; i++) this.holding[addr + i] = frame.readUInt16BE(7 + i * 2);
        return this.send(frame.subarray(1, 6));
    }
  }
}
