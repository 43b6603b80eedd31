import { moduleBase } from '../../config/restart.js';
import { section, z } from '../../lib/schema.js';

export const edgehubConfig = section({
  ...moduleBase,
  /** off until the node has joined a relay (`edgecore join` turns it on) */
  enabled: z.boolean().default(false),
  relay: section({
    url: z.string().default(''),
    username: z.string().default(''),
    password: z.string().default(''),
  }),
  heartbeatSeconds: z.number().int().min(1).default(30),
  outbox: section({
    maxRows: z.number().int().min(10).default(100_000),
    maxBytes: z.number().int().min(1024).default(64 * 1024 * 1024),
  }),
});
