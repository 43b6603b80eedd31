/**
 * Finding a serial port by USB vendor/product/serial number. `SerialPort.list()` runs
 * `udevadm info -e` on Linux; without udev it throws `spawn udevadm ENOENT`, which becomes a
 * clear DeviceUnavailableError (discovery impossible: give a port path instead).
 */
import { errnoCode } from '../../core/errors.js';
import { DeviceUnavailableError, asError } from '../errors.js';

export interface PortInfo {
  path: string;
  vendorId?: string | undefined;
  productId?: string | undefined;
  serialNumber?: string | undefined;
  manufacturer?: string | undefined;
}

export interface UsbMatch {
  vendorId: string;
  productId: string;
  serialNumber?: string | undefined;
}

export type PortLister = () => Promise<PortInfo[]>;

/** serialport (~10 MiB with its bindings) loads only once a node has serial devices */
export const systemPortLister: PortLister = async () => (await import('serialport')).SerialPort.list();

export async function listPorts(lister: PortLister = systemPortLister): Promise<PortInfo[]> {
  try {
    return await lister();
  } catch (e) {
    const err = asError(e);
    if (errnoCode(e) === 'ENOENT' || /udevadm/.test(err.message)) {
      throw new DeviceUnavailableError(
        `serial port discovery needs udevadm (package udev), which is not available (${err.message}); ` +
          `set protocol.configData.port to the port path instead`,
        { cause: e },
      );
    }
    throw new DeviceUnavailableError(`listing serial ports failed: ${err.message}`, { cause: e });
  }
}

const normHex = (s: string | undefined): string | undefined =>
  s === undefined ? undefined : s.toLowerCase().replace(/^0x/, '').padStart(4, '0');

/** The ports matching vendor/product (and serial number when given). Pure. */
export function matchUsb(ports: readonly PortInfo[], want: UsbMatch): PortInfo[] {
  return ports.filter(
    (p) =>
      normHex(p.vendorId) === normHex(want.vendorId) &&
      normHex(p.productId) === normHex(want.productId) &&
      (want.serialNumber === undefined || p.serialNumber === want.serialNumber),
  );
}

export async function findUsbPort(want: UsbMatch, lister?: PortLister): Promise<string> {
  const ports = await listPorts(lister);
  const found = matchUsb(ports, want);
  const what = `USB serial ${want.vendorId}:${want.productId}${want.serialNumber ? ` serial ${want.serialNumber}` : ''}`;
  if (found.length === 0) throw new DeviceUnavailableError(`${what} not found among ${ports.length} port(s)`);
  if (found.length > 1) {
    throw new DeviceUnavailableError(`${what} is ambiguous (${found.map((p) => p.path).join(', ')}); add usb.serialNumber`);
  }
  return found[0]!.path;
}
