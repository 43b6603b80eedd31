import { isIP } from 'node:net';
/**
 * edgerelay's config file schema. Unknown keys are refused; every field has a default, so an
 * empty file (or none) runs the embedded defaults: the API over HTTPS and an in-process MQTT
 * broker over TLS (+ wss), both with certificates from the relay's own CA under dataDir/pki,
 * and the state in SQLite under `dataDir`. Plain listeners only when asked for explicitly.
 */
import { ConfigError, type FieldIssue } from '../core/errors.js';
import { loadConfigYamlFile, parseConfigValue } from '../lib/config-file.js';
import * as z from 'zod';
import { section } from '../lib/schema.js';
import { NODE_MAX_PACKET_BYTES, UPLINK_MAX_BYTES } from '../contract/limits.js';
import { inCidr, parseCidr } from './apiserver/service-alloc.js';
import { leaseParamIssues } from './controllers/leader.js';

const port = z.number().int().min(0).max(65535);

export const relayConfigSchema = section({
  /** SQLite store, generated admin token, mosquitto files */
  dataDir: z.string().min(1).default('/var/lib/edgerelay'),
  /**
   * where the Kubernetes objects live: sqlite = dataDir/relay.db (one relay); postgres = one
   * database shared by a fleet of relay replicas (docs/scale.md)
   */
  store: section({
    kind: z.enum(['sqlite', 'postgres']).default('sqlite'),
    /** postgres: the connection URL, postgres://USER:PASSWORD@HOST:PORT/DATABASE (libpq URL options such as sslmode work) */
    url: z.string().default(''),
    /** postgres: connections per replica for reads and commits (each replica holds one more for the change feed) */
    poolSize: z.number().int().min(1).max(100).default(8),
  }),
  /**
   * Controllers on one replica at a time (a coordination.k8s.io/v1 Lease in the store, durations as
   * client-go's leaderelection means them). On by default with store.kind: postgres (a fleet).
   */
  leaderElection: section({
    /** null = on with store.kind: postgres, off with sqlite (one relay leads itself) */
    enabled: z.boolean().nullable().default(null),
    /** this replica's holderIdentity; empty = hostname_<random> (unique per start) */
    identity: z.string().max(253).default(''),
    namespace: z.string().min(1).default('kube-system'),
    name: z.string().min(1).default('edgerelay-controllers'),
    /** a candidate takes the Lease over once it has not changed for this long (Kubernetes: 15) */
    leaseDurationSeconds: z.number().int().min(1).default(15),
    /** the leader stops its controllers when it could not renew for this long (Kubernetes: 10) */
    renewDeadlineSeconds: z.number().positive().default(10),
    /** between attempts (Kubernetes: 2) */
    retryPeriodSeconds: z.number().positive().default(2),
  }),
  log: section({
    level: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
    format: z.enum(['json', 'text']).default('text'),
  }),
  api: section({
    host: z.string().default('0.0.0.0'),
    port: port.default(8080),
    /** admin bearer token; empty = generate one into dataDir/admin-token (rotatable) */
    adminToken: z.string().default(''),
    /** read-only bearer token (get/list/watch, no Secrets); empty = generate into dataDir/read-only-token */
    readOnlyToken: z.string().default(''),
    /**
     * with api.tls.enabled: false only, for local debugging: a request from loopback without a token is
     * admin (kubectl sends no token over http://). Never on a listener others can reach.
     */
    insecureLocalAdmin: z.boolean().default(false),
    /** changes kept so a watch can resume from an older resourceVersion (older → 410 Expired) */
    watchWindow: z.number().int().min(100).default(10_000),
    /** concurrent API connections; more are closed at once (keep below broker.reservedFiles) */
    maxConnections: z.number().int().min(1).default(128),
    /** how nodes and kubectl reach this API (join commands, kubeconfigs); empty = derived */
    publicUrl: z.string().default(''),
    tls: section({
      /** false = plain HTTP: for tests of the refusal and local debugging only (kubectl sends no token over it) */
      enabled: z.boolean().default(true),
      /** serving certificate and key (PEM files); empty = issued by the CA below */
      cert: z.string().default(''),
      key: z.string().default(''),
      /** the CA clients trust (PEM); empty = the relay's own, made on first start in dataDir/pki */
      caCert: z.string().default(''),
      /** the CA's key: with caCert and no cert, the relay issues its certificates from this CA */
      caKey: z.string().default(''),
      /** extra subject alternative names (DNS names or IPs) for the certificates the relay issues */
      sans: z.array(z.string().min(1)).default([]),
      /** issued certificates are renewed at start when fewer days than this remain (or a SAN is missing) */
      renewBeforeDays: z.number().int().min(1).max(3650).default(90),
    }),
  }),
  broker: section({
    /** embedded: aedes in this process; external: connect to `external.url` (e.g. mosquitto) */
    mode: z.enum(['embedded', 'external']).default('embedded'),
    host: z.string().default('0.0.0.0'),
    /** plain MQTT over TCP (embedded): off unless asked for; with TLS on, nodes are told the mqtts URL anyway */
    plaintext: z.boolean().default(false),
    port: port.default(1883),
    /**
     * the largest MQTT packet taken from a node (embedded: its connection closes on a larger one,
     * before it is buffered; external: the relay's MQTT 5 maximum packet size, so the broker never
     * hands it a larger one)
     */
    maxPacketBytes: z.number().int().min(Math.max(...Object.values(UPLINK_MAX_BYTES)) + 1024).max(256 * 1024 * 1024).default(NODE_MAX_PACKET_BYTES),
    ws: section({
      enabled: z.boolean().default(true),
      port: port.default(8083),
      path: z.string().default('/mqtt'),
    }),
    /** MQTT over TLS (embedded); the WebSocket listener then speaks wss. cert/key empty = issued by the relay's CA */
    tls: section({
      enabled: z.boolean().default(true),
      cert: z.string().default(''),
      key: z.string().default(''),
      port: port.default(8883),
    }),
    external: section({
      url: z.string().default('mqtt://127.0.0.1:1883'),
      /**
       * more members of a clustered broker (fleet mode, docs/scale.md): the relay's list is `url`
       * then these, and it moves to the next member when one fails
       */
      urls: z.array(z.string().regex(/^(mqtts?|wss?):\/\/[^/]/, 'must be an mqtt://, mqtts://, ws:// or wss:// URL')).max(64).default([]),
      /**
       * MQTT version of the relay's client: 5 (mosquitto, EMQX), or 4 = 3.1.1 for brokers without
       * MQTT 5 (NATS 2.9's and RabbitMQ 3.10's MQTT; docs/scale.md says what 3.1.1 costs)
       */
      protocolVersion: z.union([z.literal(4), z.literal(5)]).default(5),
      /**
       * the relay's MQTT client id: its persistent session. Each replica of a fleet needs its own
       * (a second client with the same id takes the first one's session over, back and forth).
       * `edgerelay` or `_` + letters, digits, `-`, `_`: node names are DNS labels, so no node can claim it
       */
      clientId: z
        .string()
        .regex(/^(edgerelay|_[A-Za-z0-9_-]{1,63})$/, 'must be edgerelay or start with _ (then letters, digits, - or _; at most 64): no node name can take it')
        .default('edgerelay'),
      /** the relay's own account on the external broker */
      username: z.string().default('_relay'),
      password: z.string().default(''),
      /** when set, the relay (re)writes these mosquitto files on every join (then SIGHUP mosquitto) */
      passwordFile: z.string().default(''),
      aclFile: z.string().default(''),
      /** when set, `edgerelay mosquitto-files` (and every start) writes a certificate from the relay's CA for mosquitto's TLS listener */
      certFile: z.string().default(''),
      keyFile: z.string().default(''),
      /**
       * when set, the relay (re)writes this mosquitto config file with the settings that enforce its
       * rules (authentication, ACL, packet size): put it in an `include_dir` (Debian: /etc/mosquitto/conf.d/)
       */
      confFile: z.string().default(''),
      /**
       * mosquitto's max_packet_size in that file: one limit for every client, the relay's desired
       * documents included, so it must exceed the largest document; nodes' messages are held to
       * their channel limits by the relay (maxPacketBytes) whatever this is
       */
      maxPacketBytes: z.number().int().min(64 * 1024).max(256 * 1024 * 1024).default(16 * 1024 * 1024),
    }),
    /** the broker URL handed to joining nodes; empty = derived from the API request's host */
    publicUrl: z.string().default(''),
    /** with publicUrl: more members of a clustered broker handed to joining nodes (they move on when one fails) */
    publicUrls: z.array(z.string().regex(/^(mqtts?|wss?):\/\/[^/]/, 'must be an mqtt://, mqtts://, ws:// or wss:// URL')).max(64).default([]),
    /**
     * most broker connections at once (TCP + TLS + WebSocket, embedded); 0 = the process's
     * open-file limit minus `reservedFiles`. Connections beyond it are closed at once.
     */
    maxConnections: z.number().int().min(0).default(0),
    /**
     * CONNECTs handled at once (arrival to CONNACK, embedded); more wait their turn in arrival
     * order, and one that waited longer than `connectWaitSeconds` is turned away (its node gives
     * up after 10 s). 0 = no limit (a reconnect storm of 19,700 nodes then never completes)
     */
    maxConnecting: z.number().int().min(0).default(100),
    /** how long a CONNECT may wait for its turn before it is turned away */
    connectWaitSeconds: z.number().min(0.1).default(5),
    /** descriptors kept free for the API, the store and the process when the cap is derived */
    reservedFiles: z.number().int().min(16).default(256),
    /** MQTT keepalive the relay's own client uses (external mode) */
    keepaliveSeconds: z.number().int().min(5).default(60),
  }),
  workloads: section({
    /**
     * tolerationSeconds of every pod's default node.kubernetes.io/unreachable:NoExecute
     * toleration; null = tolerate forever (the edge default: a node that is away keeps its pods)
     */
    unreachableTolerationSeconds: z.number().int().min(0).nullable().default(null),
    /** the same for node.kubernetes.io/not-ready (a node that says it cannot run pods); Kubernetes' 300 */
    notReadyTolerationSeconds: z.number().int().min(0).nullable().default(300),
    /** the first delay before a failed Job pod is replaced, doubling per failure (Kubernetes: 10) */
    jobBackoffSeconds: z.number().int().min(0).default(10),
  }),
  nodes: section({
    /** a node is NotReady when nothing was heard from it for this long (or its Will fired) */
    notReadyAfterSeconds: z.number().int().min(1).default(90),
    /** a node whose connection dropped stays as it was this long before Ready turns Unknown (0: at once) */
    offlineGraceSeconds: z.number().int().min(0).default(40),
    /** a Node's lastHeartbeatTime is rewritten at most this often while its conditions stay the same (a Node write each) */
    heartbeatWriteSeconds: z.number().int().min(1).default(300),
    /** Nodes whose conditions or taints the lifecycle controller writes per second at most (0: no pace) */
    statusWritesPerSecond: z.number().int().min(0).default(100),
    /** default bootstrap token lifetime */
    tokenTtlSeconds: z.number().int().min(1).default(3600),
    /** failed joins per source address (IPv6: per /64): `burst` of them, then one more every `refillSeconds` */
    joinAttempts: section({
      burst: z.number().int().min(1).default(10),
      refillSeconds: z.number().int().min(1).default(6),
    }),
    /** how long `edgerelay node allow-rejoin NAME` (and `rotate node`) lets that name join again */
    rejoinWindowSeconds: z.number().int().min(1).default(3600),
    /** telemetry rows kept per node (that node's oldest pruned first; one node cannot erase another's) */
    telemetryKeep: z.number().int().min(100).default(10_000),
    /** telemetry messages (samples and events) a node may send per second once its burst is used; more are dropped */
    telemetryRatePerSecond: z.number().min(0.1).default(200),
    /** telemetry messages a node may send at once (what it queued while offline goes up in a burst) */
    telemetryBurst: z.number().int().min(1).default(20_000),
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
    /**
     * The relay as the load balancer of `type: LoadBalancer` Services: edge Services for the cloud
     * side (docs/mesh.md). Off by default: it binds the Services' ports on `address`.
     */
    loadBalancer: section({
      enabled: z.boolean().default(false),
      /** where the listeners bind */
      address: z.string().refine((v) => isIP(v) === 4, 'must be an IPv4 address').default('0.0.0.0'),
      /** the address written into each Service's status.loadBalancer.ingress (default: address, or 127.0.0.1 for 0.0.0.0) */
      ingressIP: z.string().refine((v) => isIP(v) === 4, 'must be an IPv4 address').optional(),
      resyncSeconds: z.number().int().min(1).max(3600).default(10),
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

/** Rules across fields: pairs that go together, and a broker that nodes can reach at all. */
export function relayConfigIssues(c: RelayConfig): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const t = c.api.tls;
  if (!!t.cert !== !!t.key) issues.push({ path: t.cert ? 'api.tls.key' : 'api.tls.cert', reason: 'api.tls.cert and api.tls.key go together' });
  if (t.cert && !t.caCert) issues.push({ path: 'api.tls.caCert', reason: 'required with api.tls.cert: the CA that signed it (clients and nodes are given it)' });
  if (t.caKey && !t.caCert) issues.push({ path: 'api.tls.caCert', reason: 'required with api.tls.caKey' });
  if (t.caCert && !t.caKey && !t.cert) issues.push({ path: 'api.tls.caKey', reason: 'required with api.tls.caCert unless api.tls.cert and key are given' });
  if (c.api.insecureLocalAdmin && t.enabled) issues.push({ path: 'api.insecureLocalAdmin', reason: 'applies to plain HTTP only: set api.tls.enabled: false too (kubeconfigs from `edgerelay kubeconfig` carry the CA and a token)' });
  const b = c.broker.tls;
  if (!!b.cert !== !!b.key) issues.push({ path: b.cert ? 'broker.tls.key' : 'broker.tls.cert', reason: 'broker.tls.cert and broker.tls.key go together' });
  if (c.broker.mode === 'embedded' && !b.enabled && !c.broker.plaintext) {
    issues.push({ path: 'broker.plaintext', reason: 'broker.tls.enabled is false: set broker.plaintext: true explicitly, or nodes have no listener' });
  }
  const e = c.broker.external;
  // what joining nodes are told: publicUrl(s), else the external broker's members
  const handedOut: [string, string][] = c.broker.publicUrl
    ? [['broker.publicUrl', c.broker.publicUrl], ...c.broker.publicUrls.map((u, i): [string, string] => [`broker.publicUrls[${i}]`, u])]
    : c.broker.mode === 'external'
      ? [['broker.external.url', e.url], ...e.urls.map((u, i): [string, string] => [`broker.external.urls[${i}]`, u])]
      : [];
  for (const [path, url] of handedOut) {
    if (url && /^(mqtt|ws|tcp):/i.test(url) && !c.broker.plaintext) {
      issues.push({ path, reason: `nodes would be told a plain URL (${url}): use mqtts:// or wss:// (see edgerelay mosquitto-files), or set broker.plaintext: true explicitly` });
    }
  }
  if (c.broker.publicUrls.length && !c.broker.publicUrl) issues.push({ path: 'broker.publicUrls', reason: 'needs broker.publicUrl (the first member nodes are told)' });
  if (e.urls.length && c.broker.mode !== 'external') issues.push({ path: 'broker.external.urls', reason: 'applies to broker.mode: external only' });
  if (e.confFile && (!e.passwordFile || !e.aclFile)) issues.push({ path: 'broker.external.confFile', reason: 'needs broker.external.passwordFile and aclFile (the config points mosquitto at them)' });
  if (!!e.certFile !== !!e.keyFile) issues.push({ path: e.certFile ? 'broker.external.keyFile' : 'broker.external.certFile', reason: 'certFile and keyFile go together' });
  issues.push(...storeIssues(c.store));
  const l = c.leaderElection;
  for (const reason of leaseParamIssues({ leaseDurationMs: l.leaseDurationSeconds * 1000, renewDeadlineMs: l.renewDeadlineSeconds * 1000, retryPeriodMs: l.retryPeriodSeconds * 1000 })) {
    issues.push({ path: reason.startsWith('lease') ? 'leaderElection.leaseDurationSeconds' : 'leaderElection.renewDeadlineSeconds', reason });
  }
  return issues;
}

function storeIssues(s: RelayConfig['store']): FieldIssue[] {
  if (s.kind === 'sqlite') return s.url ? [{ path: 'store.url', reason: 'applies to store.kind: postgres only (sqlite keeps the objects in dataDir/relay.db)' }] : [];
  if (!s.url) return [{ path: 'store.url', reason: 'required with store.kind: postgres: postgres://USER:PASSWORD@HOST:PORT/DATABASE' }];
  let u: URL;
  try {
    u = new URL(s.url);
  } catch {
    return [{ path: 'store.url', reason: 'not a URL: expected postgres://USER:PASSWORD@HOST:PORT/DATABASE' }];
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:') return [{ path: 'store.url', reason: `scheme ${u.protocol} is not postgres: or postgresql:` }];
  if (!u.hostname) return [{ path: 'store.url', reason: 'names no host' }];
  if (u.pathname.length < 2) return [{ path: 'store.url', reason: 'names no database (…/DATABASE)' }];
  return [];
}

function checked(c: RelayConfig, file?: string): RelayConfig {
  const issues = relayConfigIssues(c);
  if (issues.length) throw new ConfigError(issues, file);
  return c;
}

export function parseRelayConfig(value: unknown, file?: string): RelayConfig {
  return checked(parseConfigValue(relayConfigSchema, value, file), file);
}

export function loadRelayConfigFile(file: string): RelayConfig {
  return checked(loadConfigYamlFile(relayConfigSchema, file), file);
}
