/**
 * Wiring of one relay process: stores (objects in SQLite or PostgreSQL: store/open.ts) → trust (CA, certificates, API tokens) → Kubernetes API core
 * and its controllers → broker (embedded or external) → the node link (desired documents from the
 * API, reports into it) and the node streams → one API listener (HTTPS unless `api.tls.enabled:
 * false`) carrying the Kubernetes API, the edge bootstrap routes (ca, join, tokens) and the private
 * /edge/v1 telemetry route. `startRelay` resolves when everything listens; `stop()` closes in reverse order.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import type { Server as HttpsServer } from 'node:https';
import { join } from 'node:path';
import { EDGE_PATHS } from '../contract/join.js';
import { oversize } from '../contract/limits.js';
import { parseNodeTopic, topics } from '../contract/topics.js';
import { ConfigError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { VERSION } from '../version.js';
import { AppChannel } from './appchan/index.js';
import { CONSUMER_PREFIX } from './appchan/topics.js';
import { createEdgeApi, isEdgeApiPath } from './api.js';
import { tokenAuthenticator } from './apiserver/authn.js';
import { controllerIdentity, type Identity } from './apiserver/authz.js';
import { ApiClient } from './apiserver/client.js';
import { ApiCore } from './apiserver/core.js';
import { ApiServer } from './apiserver/http/server.js';
import { METRICS_GROUP, METRICS_RESOURCES, MetricsApi } from './apiserver/http/metrics-api.js';
import { RelayMetrics } from './metrics.js';
import { ResourceRegistry } from './apiserver/registry.js';
import { ServiceAllocator } from './apiserver/service-alloc.js';
import { systemClock, type Clock } from './controllers/clock.js';
import { startControllers, type Controllers } from './controllers/index.js';
import { LeaseElector } from './controllers/leader.js';
import type { Leadership } from './controllers/manager.js';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { builtinKinds } from './kinds/index.js';
import * as patch from './patch/index.js';
import { byGroupVersion, openapiPathKey, openapiV3Document, type DocumentedResource } from './openapi/index.js';
import type { OpenApiSource } from './apiserver/http/openapi.js';
import type { ObjectStore } from './store/objects.js';
import { openCredentialStore, openObjectStore } from './store/open.js';
import { EmbeddedBroker } from './broker/embedded.js';
import { ExternalBroker } from './broker/external.js';
import type { AppTaps, RelayTransport } from './broker/transport.js';
import type { RelayConfig } from './config.js';
import { CredentialsPoll } from './credentials-poll.js';
import { createEdgeRoutes } from './edge.js';
import { writeMosquittoCert, writeMosquittoFiles } from './mosquitto-files.js';
import { NodeLink } from './nodelink/index.js';
import { FailureLimiter } from './ratelimit.js';
import { RpcRouter } from './rpc.js';
import { RelayService } from './service.js';
import { SqliteRelayStore } from './store/sqlite.js';
import type { RelayStore } from './store/types.js';
import { mountPodStreams, NodeStreams, PodStreamAdapters, RelayTunnels, ServiceLoadBalancer } from './streams/index.js';
import { openPki, wantsTls, type RelayPki } from './tls/pki.js';
import { createApiServer, listenApi } from './tls/server.js';
import { ApiTokens } from './tokens.js';

export interface RelayHandle {
  apiUrl: string;
  /** the Kubernetes objects (one global revision) */
  objects: ObjectStore;
  core: ApiCore;
  kube: ApiServer;
  controllers: Controllers;
  /** the application channel (rules, app messages up and down) */
  app: AppChannel;
  /** an in-process API client acting as `identity` (the node link, future controllers) */
  client(identity: Identity, manager: string): ApiClient;
  broker: Record<string, string>;
  /** the API's bearer tokens (admin, read-only), re-read when rotated */
  tokens: ApiTokens;
  /** the CA nodes and clients trust (undefined when nothing runs TLS) */
  pki: RelayPki | undefined;
  store: RelayStore;
  service: RelayService;
  /** the node link: desired documents, reports, node lifecycle */
  link: NodeLink;
  /** stream sessions to nodes (logs, exec, attach, port-forward) */
  streams: NodeStreams;
  /** their Kubernetes wire adapters, for the API server to mount */
  podStreams: PodStreamAdapters;
  /** mesh tunnels through the relay (docs/mesh.md) */
  tunnels: RelayTunnels;
  /** the load balancer of LoadBalancer Services (mesh.loadBalancer; undefined when off) */
  loadBalancer: ServiceLoadBalancer | undefined;
  /** Re-run the certificate checks now (a timer does it every day): a renewed certificate goes to the listeners. */
  renewCertificates(): Promise<boolean>;
  stop(): Promise<void>;
}

/** How often a running relay checks whether its certificates need renewing (as at start). */
export const RENEWAL_CHECK_MS = 24 * 3600_000;

/** sources the join limiter remembers at most */
const JOIN_LIMIT_SOURCES = 10_000;

/** The full OpenAPI v3 documents of src/relay/openapi, per group-version path (api/v1, apis/G/V): the registered kinds and metrics.k8s.io's. */
function openapiDocuments(defs: readonly DocumentedResource[]): OpenApiSource {
  const byGv = byGroupVersion([...defs]);
  const gvOf = new Map(Object.keys(byGv).map((gv) => [openapiPathKey(gv), gv]));
  return {
    paths: () => [...gvOf.keys()],
    document: (p) => {
      const gv = gvOf.get(p);
      return gv ? openapiV3Document(gv, byGv[gv]!) : undefined;
    },
  };
}

function readConfigured(file: string, field: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError([{ path: field, reason: `cannot read ${file}: ${errorMessage(e)}` }]);
  }
}

const BOOTSTRAP_PATHS = new Set<string>(Object.values(EDGE_PATHS));

export interface RelayOptions {
  /** the workload controllers' clock (tests drive CronJobs and deadlines with a ManualClock) */
  clock?: Clock;
  /** fleet mode: who runs the workload controllers */
  leadership?: Leadership;
}

/** Fleet mode's elector (leaderElection.enabled, by default on with store.kind: postgres), or none: this relay leads alone. */
function electorFor(config: RelayConfig, core: ApiCore, log: Logger): Leadership | undefined {
  const l = config.leaderElection;
  if (!(l.enabled ?? config.store.kind === 'postgres')) return undefined;
  const identity = l.identity || `${hostname()}_${randomBytes(6).toString('hex')}`;
  const client = new ApiClient(core, controllerIdentity('leader-election'), 'edgerelay-leader-election');
  const p = { namespace: l.namespace, name: l.name, identity, leaseDurationMs: l.leaseDurationSeconds * 1000, renewDeadlineMs: l.renewDeadlineSeconds * 1000, retryPeriodMs: l.retryPeriodSeconds * 1000 };
  return new LeaseElector(client, p, systemClock(core.d.now), log);
}

export async function startRelay(config: RelayConfig, log: Logger, now: () => Date = () => new Date(), opts: RelayOptions = {}): Promise<RelayHandle> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const store = SqliteRelayStore.open(join(config.dataDir, 'relay.db'));
  const objects = await openObjectStore(config, log.child('store'));
  const credentials = await openCredentialStore(config, store, log.child('store'));
  const rewriteMosquittoFiles = (): void => void writeMosquittoFiles(config, credentials).catch((e: unknown) => log.error('could not write the mosquitto files', { error: errorMessage(e) }));
  const tokens = ApiTokens.open(config);
  const pki = wantsTls(config) ? await openPki(config, { now: now(), log: log.child('pki') }) : undefined;
  const w = config.workloads;
  const registry = new ResourceRegistry(builtinKinds({ notReadyTolerationSeconds: w.notReadyTolerationSeconds, unreachableTolerationSeconds: w.unreachableTolerationSeconds }));
  const [npMin, npMax] = config.mesh.nodePortRange.split('-').map(Number);
  const allocator = new ServiceAllocator(objects, registry, { serviceCIDR: config.mesh.serviceCIDR, reserved: [config.mesh.clusterDNS], nodePorts: { min: npMin!, max: npMax! } });
  const core = new ApiCore({ store: objects, registry, patch, now, hooks: [allocator] });
  const leadership = opts.leadership ?? electorFor(config, core, log.child('leader'));
  const controllers = await startControllers(core, log.child('controllers'), {
    job: { backoffBaseSeconds: w.jobBackoffSeconds },
    ...(opts.clock ? { clock: opts.clock } : {}),
    ...(leadership ? { leadership } : {}),
  });
  // link (below) answers the closures only once requests and scrapes come
  const metrics: RelayMetrics = new RelayMetrics({
    known: (g, r) => registry.all().some((d) => d.group === g && d.plural === r) || (g === METRICS_GROUP && (r === 'nodes' || r === 'pods')),
    nodesConnected: () => link.ingress.nodes().filter((n) => link.liveness.get(n).online).length,
    dropped: () => link.ingress.counters,
  });
  const authenticate = tokenAuthenticator({ tokens, insecureLocalAdmin: config.api.insecureLocalAdmin });
  const kube = new ApiServer({
    core,
    metrics: new MetricsApi(core, { latest: (n) => link.usage.latest(n) }, now),
    prometheus: () => metrics.text(),
    authenticate,
    log: log.child('kube'),
    now,
    openapi: openapiDocuments([...registry.all(), ...METRICS_RESOURCES]),
    gitVersion: `v1.32.0+edgerelay-${VERSION}`,
  });
  const apiTls = config.api.tls.enabled ? { cert: pki!.serving.certPem, key: pki!.serving.keyPem } : undefined;
  // the app channel publishes on the broker, which is created after it (it taps the broker)
  const late: { transport?: RelayTransport; link?: NodeLink } = {};
  const app = new AppChannel({
    config: config.appchannel,
    dataDir: config.dataDir,
    core,
    objects,
    publish: (topic, payload) => (late.transport ? late.transport.publish(topic, payload, { qos: 1, retain: false }) : Promise.reject(new Error('broker not started'))),
    // the link is made after the app channel starts (its first route table goes to nobody: the broker is not up yet)
    nodes: () => late.link?.ingress.nodes() ?? [],
    authenticate,
    ...(apiTls ? { tls: apiTls } : {}),
    log: log.child('appchannel'),
    now,
  });
  await app.start();
  app.mount(kube);
  const consumers = new Map(config.appchannel.consumers.map((c) => [`${CONSUMER_PREFIX}${c.name}`, { password: c.password, namespaces: c.namespaces }]));
  const taps: AppTaps = {
    // only joined nodes are heard (an external broker without the generated ACL lets anyone publish)
    node: (node, channel, payload) => (link.ingress.knows(node) ? app.nodeMessage(node, channel, payload) : undefined),
    cloud: (topic, payload) => app.cloudMessage(topic, payload),
    consumer: (username) => consumers.get(username),
  };
  const external = config.broker.mode === 'external';
  const bt = config.broker.tls;
  const brokerTls = external || !bt.enabled ? undefined : bt.cert ? { cert: readConfigured(bt.cert, 'broker.tls.cert'), key: readConfigured(bt.key, 'broker.tls.key') } : { cert: pki!.serving.certPem, key: pki!.serving.keyPem };
  let transport: RelayTransport;
  let embedded: EmbeddedBroker | undefined;
  // the service is created after the transport but the embedded broker asks it to authenticate
  let service: RelayService | undefined;
  if (!external) {
    embedded = new EmbeddedBroker(config.broker, brokerTls, (u, p) => service?.authenticate(u, p) ?? Promise.resolve(false), log.child('broker'), taps);
    transport = embedded;
  } else {
    transport = new ExternalBroker(config.broker, log.child('broker'), pki?.caPem, config.broker.external.clientId, taps);
  }
  // what the relay publishes to nodes (app channel included), counted by channel (/metrics)
  const toNodes: RelayTransport = metrics.countPublishes(transport, (t: string) => parseNodeTopic(t)?.channel);
  late.transport = toNodes;
  const rpc = new RpcRouter(toNodes);
  const link: NodeLink = new NodeLink({
    core,
    objects,
    store,
    credentials,
    transport: toNodes,
    rpc,
    nodes: config.nodes,
    log: log.child('link'),
    now,
    leading: () => controllers.workloads.leading,
    onNodeGone: (node) => {
      service?.forget(node);
      app.forget(node);
      embedded?.disconnect(node);
      if (external) rewriteMosquittoFiles();
    },
    // a fleet of replicas each with its own broker: a document goes out on the broker its node is on
    ...(embedded && config.store.kind === 'postgres' ? { reaches: (node: string) => embedded!.connected(node) } : {}),
    // Node writes give way while connections wait their turn on this relay's broker
    ...(embedded ? { busy: () => embedded!.connectBacklog() } : {}),
  });
  late.link = link;
  controllers.workloads.onLeading(() => link.lifecycle.resync());
  const streams = new NodeStreams({
    publish: (node, frame) => toNodes.publish(topics.streamDown(node), frame, { qos: 0, retain: false }),
    online: (node) => link.liveness.get(node).online,
    log: log.child('streams'),
  });
  const podStreams = new PodStreamAdapters(streams);
  const tunnels = new RelayTunnels({ streams, objects, log: log.child('tunnels') });
  const ports = { mqtt: config.broker.port, mqtts: bt.port };
  service = new RelayService({
    config,
    store,
    credentials,
    log: log.child('api'),
    now,
    brokerUrlsFor: (host) => {
      if (config.broker.publicUrl) return [config.broker.publicUrl, ...config.broker.publicUrls];
      if (external) return [config.broker.external.url, ...config.broker.external.urls];
      const h = (host ?? '127.0.0.1').replace(/:\d+$/, '');
      return [brokerTls ? `mqtts://${h}:${ports.mqtts}` : `mqtt://${h}:${ports.mqtt}`];
    },
    registerNode: (node, labels) => link.ensureNode(node, labels),
    onJoin: (node) => {
      link.joined(node);
      if (external) rewriteMosquittoFiles();
    },
    disconnect: embedded ? (node) => embedded.disconnect(node) : undefined,
  });
  if (external) {
    await writeMosquittoFiles(config, credentials);
    await writeMosquittoCert(config, pki);
  }
  let started = false;
  await transport.start(
    (node, channel, payload) => {
      metrics.countReceived(channel);
      streams.observe(node, channel, payload);
      if (channel === 'stream/up') return undefined;
      if (channel === 'mesh/request') {
        // a joined node's request, within its size limit (the broker already confines it to its own topic)
        if (store.getNode(node) && !oversize(channel, payload.length)) void tunnels.request(node, payload);
        return undefined;
      }
      // the app channel hears a joined node's connects (sync), presence and heartbeats too
      if (link.ingress.knows(node)) void app.nodeMessage(node, channel, payload);
      return link.handle(node, channel, payload);
    },
    // after a reconnect the external broker may have restarted without its retained documents
    () => {
      if (started) link.republishAll();
    },
  );
  // the documents go out once the link has read the API (an unreachable external broker gets them when it connects)
  await link.start();
  started = true;
  const endpoints = transport.endpoints();
  if (endpoints.mqtt) ports.mqtt = Number(new URL(endpoints.mqtt).port);
  if (endpoints.mqtts) ports.mqtts = Number(new URL(endpoints.mqtts).port);
  await app.beginDelivery();
  const lbc = config.mesh.loadBalancer;
  let loadBalancer: ServiceLoadBalancer | undefined;
  if (lbc.enabled) {
    const lbClient = new ApiClient(core, controllerIdentity('loadbalancer'), 'edgerelay-loadbalancer');
    loadBalancer = new ServiceLoadBalancer({
      streams,
      objects,
      writeStatus: async (namespace, name, ip) => void (await lbClient.patch({ group: '', resource: 'services' }, namespace, name, 'merge', { status: { loadBalancer: { ingress: [{ ip }] } } }, { subresource: 'status' })),
      address: lbc.address,
      ingressIP: lbc.ingressIP ?? (lbc.address === '0.0.0.0' ? '127.0.0.1' : lbc.address),
      resyncMs: lbc.resyncSeconds * 1000,
      log: log.child('loadbalancer'),
    });
    await loadBalancer.start();
  }

  const privateApi = createEdgeApi({ service, tokens, desired: () => link.nodeSync.publishedVersions(), log: log.child('api') });
  // pods/log, exec, attach, portforward: served by the Kubernetes API after authn, authz and the pod read
  mountPodStreams(kube, podStreams);
  const bootstrap = createEdgeRoutes({
    service,
    tokens,
    ca: apiTls && pki ? { pem: pki.caPem, hash: pki.caHash } : undefined,
    publicUrl: config.api.publicUrl,
    scheme: apiTls ? 'https' : 'http',
    limiter: new FailureLimiter({ burst: config.nodes.joinAttempts.burst, refillMs: config.nodes.joinAttempts.refillSeconds * 1000, maxSources: JOIN_LIMIT_SOURCES }, () => now().getTime()),
    audit: log.child('audit'),
  });
  const server = createApiServer({
    tls: apiTls,
    onRequest: (req, res) => {
      metrics.observe(req, res);
      const path = (req.url ?? '/').split('?')[0]!;
      if (BOOTSTRAP_PATHS.has(path)) void bootstrap(req, res, path);
      else if (isEdgeApiPath(req.url)) privateApi(req, res);
      else kube.handle(req, res);
    },
    onUpgrade: kube.upgrade,
  });
  server.maxConnections = config.api.maxConnections; // part of broker.reservedFiles: the API never starves the process
  const apiUrl = await listenApi(server, config.api.port, config.api.host);
  if (!apiTls) log.warn('the API serves plain HTTP (api.tls.enabled: false): tokens cross the network in clear, and kubectl will not send them');
  if (!external && config.broker.plaintext) log.warn('plain MQTT listener on (broker.plaintext: true): node passwords cross the network in clear', { port: ports.mqtt });

  // certificates renewed while running (the same checks as at start), handed to the listeners
  let serving = pki?.serving.certPem;
  const renewCertificates = async (): Promise<boolean> => {
    if (!pki) return false;
    const fresh = await openPki(config, { now: now(), log: log.child('pki') });
    if (external) await writeMosquittoCert(config, fresh);
    if (fresh.serving.certPem === serving) return false;
    serving = fresh.serving.certPem;
    const pair = { cert: fresh.serving.certPem, key: fresh.serving.keyPem };
    if (apiTls) {
      (server as HttpsServer).setSecureContext({ ...pair, minVersion: 'TLSv1.2' });
      app.setCertificate(pair);
    }
    if (embedded && !bt.cert && bt.enabled) embedded.setCertificate(pair);
    return true;
  };
  const renewal = setInterval(() => void renewCertificates().catch((e: unknown) => log.error('certificate renewal failed', { error: errorMessage(e) })), RENEWAL_CHECK_MS);
  renewal.unref();

  const credentialsPoll = new CredentialsPoll({
    credentials,
    ...(external ? { rewriteFiles: () => writeMosquittoFiles(config, credentials) } : {}),
    knows: (node) => link.ingress.knows(node),
    joined: (node) => link.joined(node),
    ...(embedded ? { sessions: { connected: () => embedded!.connectedNodes(), changed: (node: string) => service.credentialsChanged(node), close: (node: string) => embedded!.disconnect(node) } } : {}),
    log,
  });
  await credentialsPoll.start();

  log.info('edgerelay ready', { api: apiUrl, broker: endpoints, epoch: await objects.epoch(), nodes: link.ingress.nodes().length, ...(pki ? { caHash: pki.caHash } : {}) });

  let stopped = false;
  return {
    apiUrl,
    objects,
    core,
    kube,
    controllers,
    app,
    client: (identity, manager) => new ApiClient(core, identity, manager),
    broker: endpoints,
    tokens,
    pki,
    store,
    service,
    link,
    streams,
    podStreams,
    tunnels,
    loadBalancer,
    renewCertificates,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      credentialsPoll.stop();
      clearInterval(renewal);
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rpc.closeAll();
      await loadBalancer?.stop();
      podStreams.close();
      streams.closeAll();
      link.stop();
      await controllers.stop();
      await app.stop();
      await transport.stop();
      await objects.close();
      await credentials.close();
      store.close();
    },
  };
}
