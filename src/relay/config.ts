/**
 * edgerelay's config file schema. Unknown keys are refused; every field has a default, so an
 * empty file (or none) runs the embedded defaults: an in-process MQTT broker on TCP + WebSocket
 * and the state in SQLite under `dataDir`.
 */
import { loadConfigYamlFile, parseConfigValue } from '../lib/config-file.js';
import { section, z } from '../lib/schema.js';
import { inCidr, parseCidr } from './apiserver/service-alloc.js';

const port = z.number().int().min(0).max(65535);

export const relayConfigSchema = section({
  /** SQLite store, generated admin token, mosquitto files */
  dataDir: z.string().min(1).default('/var/lib/edgerelay'),
  log: section({
    level: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    format: z.enum(['json', 'text']).default('text'),
  }),
  api: section({
    host: z.string().default('0.0.0.0'),
    port: port.default(8080),
    /** admin bearer token for edgectl; empty = generate one into dataDir/admin-token */
    adminToken: z.string().default(''),
    /** read-only bearer token (get/list/watch, no Secrets); empty = generate into dataDir/read-only-token */
    readOnlyToken: z.string().default(''),
    /**
     * plain HTTP only, for local debugging and tests: a request from loopback without a token is
     * admin (kubectl sends no token over http://). Never on a listener others can reach.
     */
    insecureLocalAdmin: z.boolean().default(false),
    /** changes kept so a watch can resume from an older resourceVersion (older → 410 Expired) */
    watchWindow: z.number().int().min(100).default(10_000),
  }),
  broker: section({
    /** embedded: aedes in this process; external: connect to `external.url` (e.g. mosquitto) */
    mode: z.enum(['embedded', 'external']).default('embedded'),
    host: z.string().default('0.0.0.0'),
    /** MQTT over TCP (embedded) */
    port: port.default(1883),
    ws: section({
      enabled: z.boolean().default(true),
      port: port.default(8083),
      path: z.string().default('/mqtt'),
    }),
    /** MQTT over TLS when cert and key are set (embedded); the WebSocket listener then speaks wss */
    tls: section({
      cert: z.string().default(''),
      key: z.string().default(''),
      port: port.default(8883),
    }),
    external: section({
      url: z.string().default('mqtt://127.0.0.1:1883'),
      /** the relay's own account on the external broker */
      username: z.string().default('_relay'),
      password: z.string().default(''),
      /** when set, the relay (re)writes these mosquitto files on every join (then SIGHUP mosquitto) */
      passwordFile: z.string().default(''),
      aclFile: z.string().default(''),
    }),
    /** the broker URL handed to joining nodes; empty = derived from the API request's host */
    publicUrl: z.string().default(''),
    /** MQTT keepalive the relay's own client uses (external mode) */
    keepaliveSeconds: z.number().int().min(5).default(60),
  }),
  nodes: section({
    /** a node is NotReady when nothing was heard from it for this long (or its Will fired) */
    notReadyAfterSeconds: z.number().int().min(1).default(90),
    /** default bootstrap token lifetime */
    tokenTtlSeconds: z.number().int().min(1).default(3600),
    /** telemetry rows kept per relay (oldest pruned first) */
    telemetryKeep: z.number().int().min(100).default(100_000),
  }),
  /** Services and the mesh between nodes (docs/mesh.md) */
  mesh: section({
    /** where ClusterIPs come from (kube-apiserver's --service-cluster-ip-range) */
    serviceCIDR: z
      .string()
      .default('10.96.0.0/12')
      .superRefine((v, ctx) => {
        try {
          parseCidr(v);
        } catch (e) {
          ctx.addIssue({ code: 'custom', message: (e as Error).message });
        }
      }),
    /** the address every node's DNS answers at (the nodes' `modules.mesh.dns.address`); never given to a Service */
    clusterDNS: z.string().default('10.96.0.10'),
    /** node ports (kube-apiserver's --service-node-port-range) */
    nodePortRange: z
      .string()
      .regex(/^\d{1,5}-\d{1,5}$/, 'must be MIN-MAX, e.g. 30000-32767')
      .default('30000-32767')
      .refine((v) => {
        const [a, b] = v.split('-').map(Number);
        return a! >= 1 && b! <= 65535 && a! <= b!;
      }, 'must be MIN-MAX with 1 <= MIN <= MAX <= 65535'),
    /** LoadBalancer Services: the relay listens on each one's ports and tunnels to its endpoints */
    loadBalancer: section({
      enabled: z.boolean().default(true),
      /** where the relay listens for them */
      host: z.string().default('0.0.0.0'),
      /** the address written to status.loadBalancer.ingress; empty = the relay's first non-loopback IPv4 */
      advertise: z.string().default(''),
    }),
  }),
}).superRefine((c, ctx) => {
  try {
    if (!inCidr(c.mesh.clusterDNS, parseCidr(c.mesh.serviceCIDR))) ctx.addIssue({ code: 'custom', path: ['mesh', 'clusterDNS'], message: `must be inside mesh.serviceCIDR (${c.mesh.serviceCIDR})` });
  } catch {
    /* serviceCIDR's own issue says why */
  }
});

export type RelayConfig = z.output<typeof relayConfigSchema>;

export function parseRelayConfig(value: unknown, file?: string): RelayConfig {
  return parseConfigValue(relayConfigSchema, value, file);
}

export function loadRelayConfigFile(file: string): RelayConfig {
  return loadConfigYamlFile(relayConfigSchema, file);
}
