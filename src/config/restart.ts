import * as z from 'zod';
import { section } from '../lib/schema.js';

/** Restart policy of one module (capped exponential backoff). */
export const restartSchema = section({
  initialMs: z.number().int().min(10).default(1000),
  maxMs: z.number().int().min(10).default(60_000),
  factor: z.number().min(1).default(2),
  jitter: z.number().min(0).max(1).default(0.2),
  /** consecutive failures before giving up (0 = never give up) */
  maxRestarts: z.number().int().min(0).default(0),
  /** a run longer than this resets the consecutive failure count */
  resetAfterMs: z.number().int().min(0).default(60_000),
});
export type RestartConfig = z.output<typeof restartSchema>;

/** Fields every module section has. */
export const moduleBase = {
  enabled: z.boolean().default(true),
  restart: restartSchema,
};
