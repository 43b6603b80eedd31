/**
 * Byte transports: the bottom layer under the line protocol and the Modbus framer.
 * `ByteTransport` is what the framers need; `SerialPortTransport` implements it with the
 * `serialport` package. Other transports (a TCP socket, an in-memory pair) can be swapped in.
 */
import type { SerialPort } from 'serialport';
import { DeviceUnavailableError, asError } from '../errors.js';

export interface ByteTransport {
  readonly isOpen: boolean;
  /** a human name for messages (the port path) */
  readonly name: string;
  open(): Promise<void>;
  write(data: Uint8Array): Promise<void>;
  /** subscribe to incoming bytes; returns an unsubscribe function */
  onData(cb: (chunk: Buffer) => void): () => void;
  /** called once when the transport closes by itself (unplugged, peer gone) */
  onClose(cb: (err: Error) => void): () => void;
  close(): Promise<void>;
}

export interface SerialLineSettings {
  baudRate: number;
  dataBits: 5 | 6 | 7 | 8;
  parity: 'none' | 'even' | 'odd' | 'mark' | 'space';
  stopBits: 1 | 1.5 | 2;
}

export type TransportOpener = (path: string, settings: SerialLineSettings) => ByteTransport;

export const openSerialPort: TransportOpener = (path, settings) => new SerialPortTransport(path, settings);

export class SerialPortTransport implements ByteTransport {
  private port: SerialPort | undefined;
  private readonly dataListeners = new Set<(chunk: Buffer) => void>();
  private readonly closeListeners = new Set<(err: Error) => void>();
  private closing = false;

  constructor(
    readonly name: string,
    private readonly settings: SerialLineSettings,
  ) {}

  get isOpen(): boolean {
    return this.port?.isOpen ?? false;
  }

  async open(): Promise<void> {
    if (this.isOpen) return;
    this.closing = false;
    // serialport (~10 MiB with its bindings) loads only once a node opens a serial port
    const { SerialPort } = await import('serialport');
    const port = new SerialPort({ path: this.name, ...this.settings, autoOpen: false });
    await new Promise<void>((resolve, reject) => {
      port.open((err) => (err ? reject(new DeviceUnavailableError(`cannot open ${this.name}: ${err.message}`, { cause: err })) : resolve()));
    });
    port.on('data', (chunk: Buffer) => {
      for (const cb of [...this.dataListeners]) {
        try {
          cb(chunk);
        } catch {
          // a listener's bug must not break the port's stream
        }
      }
    });
    // an I/O error (EIO once the pty/USB adapter is gone) ends the link
    port.on('error', (err: Error) => this.fail(port, err));
    port.on('close', (err?: Error | null) => this.fail(port, err ?? undefined));
    this.port = port;
  }

  /** The port broke or closed by itself: forget it, close it, tell the listeners once. */
  private fail(port: SerialPort, err: Error | undefined): void {
    if (this.port !== port) return;
    this.port = undefined;
    if (port.isOpen) port.close(() => undefined);
    if (this.closing) return;
    const e = new DeviceUnavailableError(`${this.name} closed${err ? `: ${err.message}` : ''}`, { cause: err });
    for (const cb of [...this.closeListeners]) {
      try {
        cb(e);
      } catch {
        // listeners must not break the transport
      }
    }
  }

  write(data: Uint8Array): Promise<void> {
    const port = this.port;
    if (!port?.isOpen) return Promise.reject(new DeviceUnavailableError(`${this.name} is not open`));
    return new Promise((resolve, reject) => {
      port.write(Buffer.from(data), (err) => {
        if (err) {
          this.fail(port, err);
          return reject(new DeviceUnavailableError(`write to ${this.name} failed: ${err.message}`, { cause: err }));
        }
        port.drain((e) => (e ? reject(new DeviceUnavailableError(`drain ${this.name}: ${asError(e).message}`)) : resolve()));
      });
    });
  }

  onData(cb: (chunk: Buffer) => void): () => void {
    this.dataListeners.add(cb);
    return () => this.dataListeners.delete(cb);
  }

  onClose(cb: (err: Error) => void): () => void {
    this.closeListeners.add(cb);
    return () => this.closeListeners.delete(cb);
  }

  async close(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    if (!port) return;
    this.closing = true;
    if (!port.isOpen) return;
    await new Promise<void>((resolve) => port.close(() => resolve()));
  }
}
