/**
 * Driver errors. devicetwin branches on the guards, never on messages:
 * - `DeviceUnavailableError`: the device/bus/port is not there (unplugged, absent I2C address,
 *   missing serial port, no answer at all) → mark the device offline, reconnect with backoff.
 * - `DriverProtocolError`: the device answered, but wrongly (Modbus exception, CRC mismatch,
 *   unexpected line) → the device is reachable but unhealthy.
 * - `DriverTimeoutError`: no answer in time (a kind of unavailability).
 */
export class DeviceUnavailableError extends Error {
  readonly code: string = 'EUNAVAILABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DeviceUnavailableError';
  }
}

export class DriverTimeoutError extends DeviceUnavailableError {
  override readonly code = 'ETIMEOUT';
  constructor(what: string, readonly ms: number) {
    super(`${what}: no answer within ${ms} ms`);
    this.name = 'DriverTimeoutError';
  }
}

export class DriverProtocolError extends Error {
  readonly code: string = 'EPROTO';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DriverProtocolError';
  }
}

export const isDeviceUnavailable = (e: unknown): e is DeviceUnavailableError => e instanceof DeviceUnavailableError;
export const isDriverTimeout = (e: unknown): e is DriverTimeoutError => e instanceof DriverTimeoutError;
export const isDriverProtocolError = (e: unknown): e is DriverProtocolError => e instanceof DriverProtocolError;

/** Wrap anything thrown into an Error (timers and event handlers must never throw). */
export function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
