import type { DriverFactory } from '../types.js';

/** Stub: replaced by the real driver shortly. */
export function i2cDriver(): DriverFactory {
  return {
    protocol: 'i2c',
    validate: () => [],
    create: () => {
      throw new Error('i2c driver: not implemented');
    },
  };
}
