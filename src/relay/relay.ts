/**
 * Wiring of one relay process: store → broker (embedded or external) → sync → HTTP API.
 * `startRelay` resolves when everything listens; `stop()` closes in reverse order.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../core/logger.js';
import { hashPassword, newSecret } from './auth.js';
import { createApi, listen } from './api.js';
import { EmbeddedBroker } from './broker/embedded.js';
import { ExternalBroker } from './broker/external.js';
import type { RelayTransport } from './broker/transport.js';
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

export function writeMosquittoFiles(config: RelayConfig, store: RelayStore): void {
  const ext = config.broker.external;
  const nodes = store.listNodes().map((n) => ({ username: n.name, passwordHash: n.passwordHash }));
  if (ext.passwordFile) writePrivate(ext.passwordFile, mosquittoPasswordFile({ username: ext.username, passwordHash: hashPassword(ext.password) }, nodes));
  if (ext.aclFile) writePrivate(ext.aclFile, mosquittoAclFile(ext.username));
}

export async function startRelay(config: RelayConfig, log: Logger, now: () => Date = () => new Date()): Promise<RelayHandle> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const store = SqliteRelayStore.open(join(config.dataDir, 'relay.db'));
  const adminToken = adminTokenFor(config);
  let transport: RelayTransport;
  // the service is created after the transport but the embedded broker asks it to authenticate
  let service: RelayService | undefined;
  if (config.broker.mode === 'embedded') {
    transport = new EmbeddedBroker(config.broker, (u, p) => service?.authenticate(u, p) ?? false, log.child('broker'));
  } else {
    transport = new ExternalBroker(config.broker, log.child('broker'));
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
    (node, channel, payload) => sync.handle(node, channel, payload),
    // after a reconnect the external broker may have restarted without its retained documents
    () => {
      if (started) void sync.republishAll();
    },
  );
  const endpoints = transport.endpoints();
  if (endpoints.mqtt) mqttPort = Number(new URL(endpoints.mqtt).port);
  const server = createApi({ service, rpc, adminToken, log: log.child('api') });
  const apiUrl = await listen(server, config.api.port, config.api.host);
  // an external broker may still be unreachable: the documents go out when it connects
  const republished = sync.republishAll();
  started = true;
  if (!external) await republished;
  log.info('edgerelay ready', { api: apiUrl, broker: endpoints, epoch: store.epoch(), nodes: store.listNodes().length });

  let stopped = false;
  return {
    apiUrl,
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
      await transport.stop();
      store.close();
    },
  };
}
