import { moduleBase } from '../../config/restart.js';
import * as z from 'zod';
import { section } from '../../lib/schema.js';

export const metamanagerConfig = section({
  ...moduleBase,
  /** local list/watch API for apps on the node (HTTP on loopback) */
  api: section({
    enabled: z.boolean().default(true),
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(10350),
  }),
});
