/**
 * The eventbus's link to MQTT: an embedded aedes broker (listening on host:port, loopback by
 * default; edgecore subscribes and publishes in-process) or a client of an external broker
 * (QoS 1, clean session, reconnecting — as KubeEdge's external mode does).
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Aedes } from 'aedes';
import { noPacketNumberCache } from '../../lib/mqtt.js';
import mqtt from 'mqtt';
import type { Logger } from '../../core/logger.js';
import { guardMqttStream } from '../../lib/mqtt-guard.js';

export type MessageHandler = (topic: string, payload: Buffer) => void;

export interface BrokerLink {
  /** where the embedded broker listens (undefined for an external broker) */
  readonly address?: { host: string; port: number };
  subscribe(filter: string, handler: MessageHandler): Promise<void>;
  publish(topic: string, payload: string): Promise<void>;
  close(): Promise<void>;
}

/** MQTT topic filter matching (+ one level, # the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}

/**
 * The embedded broker. Every connection passes a packet guard: aedes buffers a packet whole before
 * anything sees it, so one larger than `maxPacketBytes` closes the connection at its header.
 */
export async function startEmbeddedBroker(host: string, port: number, log: Logger, maxPacketBytes = 256 * 1024): Promise<BrokerLink> {
  noPacketNumberCache();
  const broker = await Aedes.createBroker();
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    broker.handle(guardMqttStream(s, maxPacketBytes, (reason) => log.warn('local MQTT connection closed: packet over the size limit', { reason })));
  });
  broker.on('clientError', (client, err) => log.debug('mqtt client error', { client: client.id, error: err.message }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => log.error('embedded broker server error', { error: e }));
  const a = server.address() as AddressInfo;
  const deliverers: { filter: string; fn: (p: { topic: string; payload: Buffer | string }, cb: () => void) => void }[] = [];
  return {
    address: { host: a.address, port: a.port },
    subscribe: (filter, handler) =>
      new Promise<void>((resolve) => {
        const fn = (packet: { topic: string; payload: Buffer | string }, cb: () => void): void => {
          try {
            handler(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
          } finally {
            cb();
          }
        };
        deliverers.push({ filter, fn });
        broker.subscribe(filter, fn as never, () => resolve());
      }),
    publish: (topic, payload) =>
      new Promise<void>((resolve, reject) => {
        broker.publish({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 0, retain: false, dup: false }, (err) =>
          err ? reject(err) : resolve(),
        );
      }),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => broker.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

export async function connectExternalBroker(url: string, clientPrefix: string, log: Logger): Promise<BrokerLink> {
  noPacketNumberCache();
  const client = await mqtt.connectAsync(url, {
    clientId: `${clientPrefix}-${randomBytes(4).toString('hex')}`,
    clean: true,
    reconnectPeriod: 1000,
    connectTimeout: 5000,
  });
  const handlers: { filter: string; handler: MessageHandler }[] = [];
  client.on('message', (topic, payload) => {
    for (const h of handlers) if (topicMatches(h.filter, topic)) h.handler(topic, payload);
  });
  client.on('error', (e) => log.warn('external broker error', { error: e.message }));
  client.on('reconnect', () => log.debug('reconnecting to the external broker', { url }));
  return {
    subscribe: async (filter, handler) => {
      handlers.push({ filter, handler });
      await client.subscribeAsync(filter, { qos: 1 });
    },
    publish: async (topic, payload) => {
      await client.publishAsync(topic, payload, { qos: 1, retain: false });
    },
    close: async () => {
      await client.endAsync(true);
    },
  };
}
