import type { DriverFactory } from '../types.js';

/** Stub: replaced by the real driver shortly. */
export function modbusRtuDriver(): DriverFactory {
  return {
    protocol: 'modbus-rtu',
    validate: () => [],
    create: () => {
      throw new Error('modbus-rtu driver: not implemented');
    },
  };
}
