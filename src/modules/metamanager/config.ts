import { moduleBase } from '../../config/restart.js';
import * as z from 'zod';
import { section } from '../../lib/schema.js';

export const metamanagerConfig = section({
  ...moduleBase,
  /**
   * The MetaServer: the Kubernetes API (read-only) for what the node holds, for apps on the node
   * (in-cluster clients in pods) and the host's tools (see docs/metaserver.md).
   */
  api: section({
    enabled: z.boolean().default(true),
    /** HTTPS with the node-local CA; loopback by default */
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(10550),
    /** also listen here: the pod network's gateway (e.g. Docker's bridge, 172.17.0.1) so bridge-network pods reach it; '' = loopback only */
    podNetworkAddress: z.string().default(''),
    /** plain HTTP on a unix socket (mode 0600) for the host's tools; relative to dataDir; '' = off */
    socket: z.string().default('metaserver.sock'),
    /** watches open at once (429 beyond) */
    maxWatchers: z.number().int().min(1).max(100_000).default(1000),
    /** a watcher whose unread backlog passes this is cut off (it resumes from its last revision) */
    maxWatchBacklogBytes: z.number().int().min(4096).default(1024 * 1024),
    bookmarkSeconds: z.number().int().min(1).default(60),
    maxWatchTimeoutSeconds: z.number().int().min(1).default(1800),
    /** deletions kept for watches that resume; older resumes get 410 Gone and relist */
    watchWindow: z.number().int().min(10).max(1_000_000).default(1000),
  }),
});
