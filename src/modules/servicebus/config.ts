import { moduleBase } from '../../config/restart.js';
import * as z from 'zod';
import { section } from '../../lib/schema.js';

/** servicebus (docs/appchannel.md): apps' HTTP side of the application channel, on loopback. */
export const servicebusConfig = section({
  ...moduleBase,
  /** off by default, as KubeEdge's servicebus */
  enabled: z.boolean().default(false),
  /** where apps post messages for the relay (pods reach it with hostNetwork) */
  host: z.string().default('127.0.0.1'),
  /** KubeEdge's servicebus port; 0 = any free port */
  port: z.number().int().min(0).max(65535).default(9060),
  /** a downlink call into an app (KubeEdge: 10 s) */
  callTimeoutSeconds: z.number().int().min(1).max(600).default(10),
  /** the largest answer an app may give a downlink call (KubeEdge: 5 MB) */
  maxReplyBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(5 * 1024 * 1024),
});
