import { isIP } from 'node:net';
import { moduleBase } from '../../config/restart.js';
import * as z from 'zod';
import { section } from '../../lib/schema.js';

const ipv4 = z.string().refine((s) => isIP(s) === 4, 'must be an IPv4 address');

export const meshConfig = section({
  ...moduleBase,
  /** off unless asked for: it takes addresses and port 53 on the host (docs/mesh.md) */
  enabled: z.boolean().default(false),
  /** the table is rebuilt from the store on every change of Services/EndpointSlices, and this often anyway */
  resyncSeconds: z.number().int().min(1).max(3600).default(10),
  /**
   * The interface holding the ClusterIPs (and the DNS address) as local addresses, so traffic to
   * them reaches the proxy's sockets; made at start, removed at stop. A `dummy` link, or an empty
   * `bridge` where the kernel has no dummy driver.
   */
  interface: z
    .string()
    .regex(/^[a-zA-Z0-9_.-]{1,15}$/, 'must be an interface name (at most 15 characters)')
    .default('edgemesh0'),
  /** the cluster's Service range (the relay's `mesh.serviceCIDR`): never reported as a node address */
  serviceCIDR: z
    .string()
    .regex(/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/, 'must be an IPv4 CIDR')
    .refine((s) => isIP(s.split('/')[0]!) === 4 && Number(s.split('/')[1]) <= 32, 'must be an IPv4 CIDR')
    .default('10.96.0.0/12'),
  dns: section({
    enabled: z.boolean().default(true),
    /** where the node's DNS answers (kubelet's --cluster-dns); the relay's `mesh.clusterDNS` */
    address: ipv4.default('10.96.0.10'),
    port: z.number().int().min(1).max(65535).default(53),
    /** kubelet's --cluster-domain */
    clusterDomain: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, 'must be a DNS domain')
      .default('cluster.local'),
    /** the host's resolver file: upstream servers for everything else, and dnsPolicy Default (kubelet's --resolv-conf) */
    resolvConf: z.string().default('/etc/resolv.conf'),
    /** TTL of the cluster's answers (CoreDNS' kubernetes plugin: 5) */
    ttlSeconds: z.number().int().min(0).max(3600).default(5),
    upstreamTimeoutMs: z.number().int().min(100).max(30_000).default(2000),
  }),
  /** listen on node ports for NodePort and LoadBalancer Services */
  nodePorts: z.boolean().default(true),
  /** failed dials of one connection tried on other endpoints before it is given up */
  maxAttempts: z.number().int().min(1).max(10).default(3),
  /** how long a dial to an endpoint may take */
  connectTimeoutMs: z.number().int().min(50).max(60_000).default(3000),
  /** UDP: a client's flow is forgotten after this long without a datagram */
  udpIdleSeconds: z.number().int().min(1).max(3600).default(60),
  /**
   * Endpoints on other nodes: this node's peer listener (mutual TLS, each side authenticated by
   * the key the relay publishes for its node) and its dials to peers' listeners (docs/mesh.md).
   */
  peers: section({
    enabled: z.boolean().default(true),
    /** where peers reach this node (published on its Node; the same port is dialled on peers that publish none) */
    host: ipv4.default('0.0.0.0'),
    port: z.number().int().min(1).max(65535).default(10550),
    /** how long a direct TCP connection to a peer may take before it counts as unreachable */
    directTimeoutMs: z.number().int().min(50).max(60_000).default(2000),
    /** a peer that failed directly is tried again after this long */
    retryDirectSeconds: z.number().int().min(1).max(3600).default(30),
    /** HTTP/2 PING to each peer this often; one not answered drops the session */
    pingSeconds: z.number().int().min(1).max(3600).default(10),
    /**
     * Peers always reached through the relay, never dialled directly (another site, a known NAT;
     * `*`: every peer). Others are dialled directly first and reached through the relay when that
     * fails (docs/mesh.md, "Which path").
     */
    viaRelay: z.array(z.string().regex(/^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/, 'must be a node name or *')).max(1000).default([]),
    /** take no path through the relay at all (direct only) */
    relay: z.boolean().default(true),
    /** how long the relay may take to open an asked-for tunnel */
    tunnelTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
    /** CONNECT streams one peer may have open on this node at once */
    maxStreamsPerPeer: z.number().int().min(1).max(10_000).default(256),
  }),
});
export type MeshConfig = z.output<typeof meshConfig>;
