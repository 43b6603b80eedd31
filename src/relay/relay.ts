/**
 * Wiring of one relay process: stores → Kubernetes API core and its controllers → broker
 * (embedded or external) → sync → one HTTP listener carrying the Kubernetes API and the private
 * /edge/v1 routes. `startRelay` resolves when everything listens; `stop()` closes in reverse order.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../core/logger.js';
import { VERSION } from '../version.js';
import { AppChannel } from './appchan/index.js';
import { CONSUMER_PREFIX } from './appchan/topics.js';
import { hashPassword, newSecret } from './auth.js';
import { createEdgeApi, isEdgeApiPath } from './api.js';
import { tokenAuthenticator } from './apiserver/authn.js';
import type { Identity } from './apiserver/authz.js';
import { ApiClient } from './apiserver/client.js';
import { ApiCore } from './apiserver/core.js';
import { ApiServer } from './apiserver/http/server.js';
import { ResourceRegistry } from './apiserver/registry.js';
import { startControllers, type Controllers } from './controllers/index.js';
import { builtinKinds } from './kinds/index.js';
import * as patch from './patch/index.js';
import { byGroupVersion, openapiPathKey, openapiV3Document } from './openapi/index.js';
import type { OpenApiSource } from './apiserver/http/openapi.js';
import type { ResourceDef } from './kinds/types.js';
import type { ObjectStore } from './store/objects.js';
import { SqliteObjectStore } from './store/objects-sqlite.js';
import { EmbeddedBroker } from './broker/embedded.js';
import { ExternalBroker } from './broker/external.js';
import type { AppTaps, RelayTransport } from './broker/transport.js';
import type { RelayConfig } from './config.js';
import { mosquittoAclFile, mosquittoPasswordFile, writePrivate } from './mosquitto.js';
import { relayKindRegistry } from './registry.js';
import { RpcRouter } from './rpc.js';
import { RelayService } from './service.js';
import { SqliteRelayStore } from './store/sqlite.js';
import type { RelayStore } from './store/types.js';
import { RelaySync } from './sync.js';

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
  adminToken: string;
  store: RelayStore;
  service: RelayService;
  sync: RelaySync;
  stop(): Promise<void>;
}

export function adminTokenFor(config: RelayConfig): string {
  if (config.api.adminToken) return config.api.adminToken;
  const file = join(config.dataDir, 'admin-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const token = `eca.${newSecret(24)}`;
  writePrivate(file, token + '\n');
  return token;
}

export function readOnlyTokenFor(config: RelayConfig): string {
  if (config.api.readOnlyToken) return config.api.readOnlyToken;
  const file = join(config.dataDir, 'read-only-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const token = `ecr.${newSecret(24)}`;
  writePrivate(file, token + '\n');
  return token;
}

/** The full OpenAPI v3 documents of src/relay/openapi, per group-version path (api/v1, apis/G/V). */
function openapiDocuments(defs: readonly ResourceDef[]): OpenApiSource {
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

function listen(server: Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address() as AddressInfo;
      resolve(`http://${a.address === '0.0.0.0' || a.address === '::' ? '127.0.0.1' : a.address}:${a.port}`);
    });
  });
}

export function writeMosquittoFiles(config: RelayConfig, store: RelayStore): void {
  const ext = config.broker.external;
  const consumers = config.appchannel.consumers.map((c) => ({ username: `${CONSUMER_PREFIX}${c.name}`, password: c.password, namespaces: c.namespaces }));
  const accounts = [...store.listNodes().map((n) => ({ username: n.name, passwordHash: n.passwordHash })), ...consumers.map((c) => ({ username: c.username, passwordHash: hashPassword(c.password) }))];
  if (ext.passwordFile) writePrivate(ext.passwordFile, mosquittoPasswordFile({ username: ext.username, passwordHash: hashPassword(ext.password) }, accounts));
  if (ext.aclFile) writePrivate(ext.aclFile, mosquittoAclFile(ext.username, consumers));
}

export async function startRelay(config: RelayConfig, log: Logger, now: () => Date = () => new Date()): Promise<RelayHandle> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const store = SqliteRelayStore.open(join(config.dataDir, 'relay.db'));
  const objects = SqliteObjectStore.open(join(config.dataDir, 'relay.db'), { window: config.api.watchWindow });
  const adminToken = adminTokenFor(config);
  const registry = new ResourceRegistry(builtinKinds());
  const core = new ApiCore({ store: objects, registry, patch, now });
  const controllers = await startControllers(core, log.child('controllers'));
  const authenticate = tokenAuthenticator({ adminToken, readOnlyToken: readOnlyTokenFor(config), insecureLocalAdmin: config.api.insecureLocalAdmin });
  const kube = new ApiServer({
    core,
    authenticate,
    log: log.child('kube'),
    now,
    openapi: openapiDocuments(registry.all()),
    gitVersion: `v1.32.0+edgerelay-${VERSION}`,
  });
  let transport: RelayTransport | undefined;
  const app = new AppChannel({
    config: config.appchannel,
    dataDir: config.dataDir,
    core,
    objects,
    publish: (topic, payload) => (transport ? transport.publish(topic, payload, { qos: 1, retain: false }) : Promise.reject(new Error('broker not started'))),
    nodes: () => store.listNodes().map((n) => n.name),
    authenticate,
    log: log.child('appchannel'),
    now,
  });
  await app.start();
  app.mount(kube);
  const consumers = new Map(config.appchannel.consumers.map((c) => [`${CONSUMER_PREFIX}${c.name}`, { password: c.password, namespaces: c.namespaces }]));
  const taps: AppTaps = {
    // only joined nodes are heard (an external broker without the generated ACL lets anyone publish)
    node: (node, channel, payload) => (store.getNode(node) ? app.nodeMessage(node, channel, payload) : undefined),
    cloud: (topic, payload) => app.cloudMessage(topic, payload),
    consumer: (username) => consumers.get(username),
  };
  // the service is created after the transport but the embedded broker asks it to authenticate
  let service: RelayService | undefined;
  if (config.broker.mode === 'embedded') {
    transport = new EmbeddedBroker(config.broker, (u, p) => service?.authenticate(u, p) ?? false, log.child('broker'), taps);
  } else {
    transport = new ExternalBroker(config.broker, log.child('broker'), undefined, taps);
  }
  const rpc = new RpcRouter(transport);
  const sync = new RelaySync({ store, transport, rpc, log: log.child('sync'), now, telemetryKeep: config.nodes.telemetryKeep });
  const external = config.broker.mode === 'external';
  let mqttPort = config.broker.port;
  service = new RelayService({
    config,
    store,
    sync,
    rpc,
    registry: relayKindRegistry(),
    log: log.child('api'),
    now,
    brokerUrlFor: (host) => {
      if (config.broker.publicUrl) return config.broker.publicUrl;
      if (external) return config.broker.external.url;
      const h = (host ?? '127.0.0.1').replace(/:\d+$/, '');
      return `mqtt://${h}:${mqttPort}`;
    },
    onJoin: external ? () => writeMosquittoFiles(config, store) : undefined,
  });
  if (external) writeMosquittoFiles(config, store);
  sync.start();
  let started = false;
  await transport.start(
    (node, channel, payload) => {
      // the app channel hears connects (sync), presence and heartbeats too
      if (store.getNode(node)) void app.nodeMessage(node, channel, payload);
      return sync.handle(node, channel, payload);
    },
    // after a reconnect the external broker may have restarted without its retained documents
    () => {
      if (started) void sync.republishAll();
    },
  );
  const endpoints = transport.endpoints();
  if (endpoints.mqtt) mqttPort = Number(new URL(endpoints.mqtt).port);
  await app.beginDelivery();
  const edge = createEdgeApi({ service, rpc, adminToken, log: log.child('api') });
  const server = createServer((req, res) => (isEdgeApiPath(req.url) ? edge(req, res) : kube.handle(req, res)));
  server.on('upgrade', kube.upgrade);
  const apiUrl = await listen(server, config.api.port, config.api.host);
  // an external broker may still be unreachable: the documents go out when it connects
  const republished = sync.republishAll();
  started = true;
  if (!external) await republished;
  log.info('edgerelay ready', { api: apiUrl, broker: endpoints, epoch: store.epoch(), nodes: store.listNodes().length });

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
    adminToken,
    store,
    service,
    sync,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      rpc.closeAll();
      sync.stop();
      controllers.stop();
      await app.stop();
      await transport!.stop();
      await objects.close();
      store.close();
    },
  };
}
