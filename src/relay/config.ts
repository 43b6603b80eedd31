/**
 * edgerelay's config file schema. Unknown keys are refused; every field has a default, so an
 * empty file (or none) runs the embedded defaults: an in-process MQTT broker on TCP + WebSocket
 * and the state in SQLite under `dataDir`.
 */
import { loadConfigYamlFile, parseConfigValue } from '../lib/config-file.js';
import * as z from 'zod';
import { section } from '../lib/schema.js';

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
});

export type RelayConfig = z.output<typeof relayConfigSchema>;

export function parseRelayConfig(value: unknown, file?: string): RelayConfig {
  return parseConfigValue(relayConfigSchema, value, file);
}

export function loadRelayConfigFile(file: string): RelayConfig {
  return loadConfigYamlFile(relayConfigSchema, file);
}
