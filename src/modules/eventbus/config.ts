import { moduleBase } from '../../config/restart.js';
import * as z from 'zod';
import { section } from '../../lib/schema.js';

export const eventbusConfig = section({
  ...moduleBase,
  /** embedded: an in-process broker listening on host:port; external: connect to `url` */
  mode: z.enum(['embedded', 'external']).default('embedded'),
  host: z.string().default('127.0.0.1'),
  /** KubeEdge's internal broker port (1883 is usually an external broker's); 0 = any free port */
  port: z.number().int().min(0).max(65535).default(1884),
  url: z.string().default('mqtt://127.0.0.1:1883'),
  /** also publish under the name-only device id (KubeEdge ≤ 1.16 mappers) for namespace default */
  legacyIds: z.boolean().default(true),
  /**
   * a downlink message for apps (docs/appchannel.md) waits this long for an app to subscribe to
   * its topic (apps reconnect after edgecore restarts), then fails; an external broker cannot tell
   */
  appSubscriberWaitSeconds: z.number().int().min(0).max(600).default(10),
  /**
   * embedded: the largest MQTT packet a local client may send; a larger one closes its connection
   * before it is buffered (a mapper message is at most 64 KiB: MAPPER_LIMITS)
   */
  maxPacketBytes: z.number().int().min(70 * 1024).max(256 * 1024 * 1024).default(256 * 1024),
  /**
   * external: the app tap's persistent MQTT 5 session (docs/appchannel.md) — its client id
   * (empty: `edgecore-apps-<node name>`) and how long the broker keeps it, with what it queued,
   * while edgecore is away (a week by default; then the broker drops it)
   */
  appSessionId: z.string().max(200).default(''),
  appSessionExpirySeconds: z.number().int().min(60).max(0xffffffff).default(7 * 24 * 3600),
});
