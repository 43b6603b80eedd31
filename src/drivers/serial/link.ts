/**
 * A serial link: resolves the port (path or USB ids), opens a ByteTransport, notices when it
 * closes by itself (unplugged), and reopens on the next `connect()` with capped backoff.
 */
import { join, isAbsolute } from 'node:path';
import { backoffDelay, sleep } from '../../core/backoff.js';
import { DeviceUnavailableError, asError } from '../errors.js';
import type { DriverEnv } from '../types.js';
import { findUsbPort, type PortLister } from './discover.js';
import type { SerialPortConfig } from './options.js';
import { openSerialPort, type ByteTransport, type TransportOpener } from './transport.js';
import { SingleFlight } from '../../lib/single-flight.js';

export interface LinkDeps {
  opener?: TransportOpener;
  lister?: PortLister;
}

export class SerialLink {
  private transport: ByteTransport | undefined;
  private lastError: Error | undefined;
  private readonly connecting = new SingleFlight();
  /** bumped by close(): an open() that was overtaken by close() must not keep its port */
  private epoch = 0;

  constructor(
    private readonly cfg: SerialPortConfig,
    private readonly env: DriverEnv,
    private readonly deps: LinkDeps = {},
  ) {}

  /** the open transport; throws DeviceUnavailableError when the port is closed or gone */
  get current(): ByteTransport {
    const t = this.transport;
    if (!t?.isOpen) {
      throw new DeviceUnavailableError(
        `serial port ${this.describe()} is not connected${this.lastError ? ` (${this.lastError.message})` : ''}`,
      );
    }
    return t;
  }

  get connected(): boolean {
    return this.transport?.isOpen ?? false;
  }

  describe(): string {
    if (this.cfg.port) return this.resolvePath(this.cfg.port);
    const u = this.cfg.usb!;
    return `usb ${u.vendorId}:${u.productId}${u.serialNumber ? `/${u.serialNumber}` : ''}`;
  }

  private resolvePath(p: string): string {
    return isAbsolute(p) ? p : join(this.env.dev, p);
  }

  private async path(): Promise<string> {
    if (this.cfg.port) return this.resolvePath(this.cfg.port);
    return findUsbPort(this.cfg.usb!, this.deps.lister);
  }

  /** Open (or reopen) the port; concurrent calls share one attempt. */
  connect(): Promise<void> {
    if (this.connected) return Promise.resolve();
    return this.connecting.run(() => this.open());
  }

  private async open(): Promise<void> {
    const epoch = this.epoch;
    await this.dropTransport();
    const { attempts, initialMs, maxMs } = this.cfg.reconnect;
    let last: Error = new DeviceUnavailableError('not tried');
    for (let i = 0; i < attempts; i++) {
      if (i > 0) await sleep(backoffDelay({ initialMs, maxMs, factor: 2, jitter: 0 }, i - 1));
      try {
        const path = await this.path();
        const { baudRate, dataBits, parity, stopBits } = this.cfg;
        const t = (this.deps.opener ?? openSerialPort)(path, { baudRate, dataBits, parity, stopBits });
        await t.open();
        if (epoch !== this.epoch) {
          await t.close().catch(() => undefined);
          throw new DeviceUnavailableError(`${path}: closed while connecting`);
        }
        t.onClose((err) => {
          this.lastError = err;
          this.env.log.warn('serial port closed', { port: t.name, error: err.message });
        });
        this.transport = t;
        this.lastError = undefined;
        return;
      } catch (e) {
        last = asError(e);
        if (epoch !== this.epoch) break;
        this.env.log.debug('serial connect failed', { port: this.describe(), attempt: i + 1, error: last.message });
      }
    }
    this.lastError = last;
    throw last instanceof DeviceUnavailableError ? last : new DeviceUnavailableError(last.message, { cause: last });
  }

  private async dropTransport(): Promise<void> {
    const t = this.transport;
    this.transport = undefined;
    if (t) await t.close().catch(() => undefined);
  }

  async close(): Promise<void> {
    this.epoch++;
    await this.dropTransport();
  }
}
