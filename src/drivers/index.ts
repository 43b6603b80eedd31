/**
 * Built-in drivers. devicetwin looks a Device's `protocol.protocolName` up in this list;
 * protocols not listed here are left to an external mapper over the eventbus contract.
 */
import type { DriverFactory } from './types.js';
import { gpioDriver } from './gpio/driver.js';
import { i2cDriver } from './i2c/driver.js';
import { serialLineDriver } from './serial/driver.js';
import { modbusRtuDriver } from './modbus/driver.js';
import { virtualDriver } from './virtual/driver.js';

export function builtinDrivers(): DriverFactory[] {
  return [gpioDriver(), i2cDriver(), serialLineDriver(), modbusRtuDriver(), virtualDriver()];
}

export type { DriverFactory, DeviceDriver, DriverEnv, PropertyVisitor, RawValue } from './types.js';
export {
  DeviceUnavailableError,
  DriverProtocolError,
  DriverTimeoutError,
  isDeviceUnavailable,
  isDriverProtocolError,
  isDriverTimeout,
} from './errors.js';
