import type { DriverFactory } from '../types.js';

/** Stub: replaced by the real driver shortly. */
export function gpioDriver(): DriverFactory {
  return {
    protocol: 'gpio',
    validate: () => [],
    create: () => {
      throw new Error('gpio driver: not implemented');
    },
  };
}
