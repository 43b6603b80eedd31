import { moduleBase } from '../../config/restart.js';
import * as z from 'zod';
import { section } from '../../lib/schema.js';

export const devicetwinConfig = section({
  ...moduleBase,
  /** collect/report cycles for properties that set none (ms) */
  defaultCollectCycleMs: z.number().int().min(10).default(1000),
  defaultReportCycleMs: z.number().int().min(10).default(10_000),
  /** consecutive driver errors before a device is taken offline (and reconnected with backoff) */
  offlineAfterErrors: z.number().int().min(1).default(3),
  /** reconnect backoff of a failing device */
  reconnect: section({
    initialMs: z.number().int().min(10).default(1000),
    maxMs: z.number().int().min(10).default(60_000),
  }),
  /** a protocol without a built-in driver is left to an external mapper over the eventbus (false: refuse such devices) */
  allowExternalMappers: z.boolean().default(true),
  /** how long a write waits before reading back (ms) */
  readBackDelayMs: z.number().int().min(0).default(0),
});
