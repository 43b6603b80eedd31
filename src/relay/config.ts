/**
 * edgerelay's config file schema. Unknown keys are refused; every field has a default, so an
 * empty file (or none) runs the embedded defaults: an in-process MQTT broker on TCP + WebSocket
 * and the state in SQLite under `dataDir`.
 */
import { loadConfigYamlFile, parseConfigValue } from '../lib/config-file.js';
import { section, z } from '../lib/schema.js';

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
  /** the application channel (docs/appchannel.md): apps' messages between nodes and the cloud, routed by Rules */
  appchannel: section({
    /** per node: what its apps may send up (the node paces its app uplink to this; above it the relay drops and counts) */
    quota: section({
      messagesPerSecond: z.number().min(0.001).default(200),
      burst: z.number().int().min(1).default(2000),
      bytesPerSecond: z.number().int().min(1).default(2 * 1024 * 1024),
      /** one message's payload */
      maxMessageBytes: z.number().int().min(1).max(16 * 1024 * 1024).default(256 * 1024),
      /** deliveries waiting at the relay per node (a failing endpoint cannot fill the disk); beyond: dropped, counted */
      maxPendingDeliveries: z.number().int().min(1).default(20_000),
    }),
    delivery: section({
      /** deliveries in flight at once (across lanes; one lane = rule, node, topic, delivered in order) */
      concurrency: z.number().int().min(1).max(1000).default(32),
      httpTimeoutSeconds: z.number().int().min(1).max(600).default(30),
      /** retry back-off for failing endpoints */
      retryInitialMs: z.number().int().min(10).default(1000),
      retryMaxMs: z.number().int().min(10).default(60_000),
      /** default for the rule annotation appchannel.edgecore.io/retry-for: then the message is a dead letter */
      retryForSeconds: z.number().int().min(1).default(86_400),
    }),
    storage: section({
      /** defaults for storage endpoints without `keep` / `maxMessages` properties (per rule and node) */
      keepSeconds: z.number().int().min(1).default(7 * 86_400),
      maxMessages: z.number().int().min(1).default(100_000),
    }),
    down: section({
      /** messages queued per node for delivery; beyond: 429 */
      maxPendingPerNode: z.number().int().min(1).default(10_000),
      /** one downlink message's body */
      maxBodyBytes: z.number().int().min(1).max(16 * 1024 * 1024).default(1024 * 1024),
      /** a message for an online node without a hold TTL expires after this (the node went away meanwhile) */
      onlineTtlSeconds: z.number().int().min(1).default(60),
      /** how long a REST caller waits for a servicebus app's answer */
      replyTimeoutSeconds: z.number().int().min(1).max(600).default(60),
    }),
    /** KubeEdge's router listener: POST /<node>/<namespace>/<path> (off by default, as KubeEdge's router) */
    router: section({
      enabled: z.boolean().default(false),
      host: z.string().default('0.0.0.0'),
      port: port.default(9443),
      /** KubeEdge's router takes anyone; here a bearer token (the admin token) is required unless this is set */
      allowAnonymous: z.boolean().default(false),
    }),
    /** cloud consumers' accounts on the relay broker (username app.<name>), each confined to its namespaces ('*' = all) */
    consumers: z
      .array(z.strictObject({ name: z.string().regex(/^[a-z0-9][-a-z0-9.]*$/, 'must be lower-case letters, digits, - and .'), password: z.string().min(8), namespaces: z.array(z.string().min(1)).min(1) }))
      .default([]),
  }),
});

export type RelayConfig = z.output<typeof relayConfigSchema>;

export function parseRelayConfig(value: unknown, file?: string): RelayConfig {
  return parseConfigValue(relayConfigSchema, value, file);
}

export function loadRelayConfigFile(file: string): RelayConfig {
  return loadConfigYamlFile(relayConfigSchema, file);
}
