import { moduleBase } from '../../config/restart.js';
import { section, z } from '../../lib/schema.js';

export const eventbusConfig = section({
  ...moduleBase,
  /** embedded: an in-process broker; external: connect to `url` */
  mode: z.enum(['embedded', 'external']).default('embedded'),
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(1883),
  url: z.string().default('mqtt://127.0.0.1:1883'),
});
