import type { DriverFactory } from '../types.js';

/** Stub: replaced by the real driver shortly. */
export function virtualDriver(): DriverFactory {
  return {
    protocol: 'virtual',
    validate: () => [],
    create: () => {
      throw new Error('virtual driver: not implemented');
    },
  };
}
