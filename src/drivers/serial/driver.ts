import type { DriverFactory } from '../types.js';

/** Stub: replaced by the real driver shortly. */
export function serialLineDriver(): DriverFactory {
  return {
    protocol: 'serial-line',
    validate: () => [],
    create: () => {
      throw new Error('serial-line driver: not implemented');
    },
  };
}
