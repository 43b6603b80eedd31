/**
 * The eventbus's link to MQTT: an embedded aedes broker (listening on host:port, loopback by
 * default; edgecore subscribes and publishes in-process) or a client of an external broker
 * (QoS 1, clean session, reconnecting — as KubeEdge's external mode does).
 *
 * Apps' messages (docs/appchannel.md) are taken before they are acknowledged: on the embedded
 * broker in `authorizePublish`, which aedes runs before it sends the PUBACK (its `published`
 * hook runs after); on an external broker through a second client with a persistent session
 * whose PUBACK waits for the tap (mqtt.js handleMessage). A tap that throws leaves the message
 * unacknowledged, so the publisher sends it again.
 */
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { Aedes } from 'aedes';
import mqtt, { type IPublishPacket } from 'mqtt';
import { APP_UPLOAD_FILTERS, topicMatches } from '../../contract/appchan.js';
import { errorMessage } from '../../core/errors.js';
import { noPacketNumberCache } from '../../lib/mqtt.js';
import type { Logger } from '../../core/logger.js';
import { guardMqttStream } from '../../lib/mqtt-guard.js';
import { keepCopy, subscriptionCover, subscriptionIdOf } from './overlap.js';

export { topicMatches };

export type MessageHandler = (topic: string, payload: Buffer) => void;

/** One message an app published, seen before it is acknowledged. */
export interface TappedMessage {
  client: string;
  topic: string;
  payload: Buffer;
  qos: number;
  /** the publisher's packet id (QoS 1/2) */
  messageId?: number;
  /**
   * whether this may be a resend of a message kept before a crash: true for the packets at the
   * start of a connection until one is not recognised (mqtt.js resends unacknowledged packets
   * first on reconnect, with the same packet id but without the DUP flag)
   */
  maybeResend: boolean;
}

export interface AppTap {
  /** whether messages on `topic` are taken (the rest is local traffic) */
  wants(topic: string): boolean;
  /** synchronous: when it returns, the message is kept (true: it had been kept already); a throw leaves it unacknowledged */
  take(m: TappedMessage): boolean;
}

export interface BrokerLink {
  /** where the embedded broker listens (undefined for an external broker) */
  readonly address?: { host: string; port: number };
  subscribe(filter: string, handler: MessageHandler): Promise<void>;
  publish(topic: string, payload: string | Buffer, qos?: 0 | 1): Promise<void>;
  /** a message for apps (a downlink message), QoS 1; never taken back up by the app tap */
  publishApp(topic: string, payload: Buffer): Promise<void>;
  /** whether a connected client subscribes to `topic` (undefined: the broker cannot tell) */
  hasSubscriber(topic: string): boolean | undefined;
  /** the topics apps' messages are taken from changed (external broker: resubscribe) */
  appFiltersChanged(filters: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * The embedded broker. Every connection passes a packet guard: aedes buffers a packet whole before
 * anything sees it, so one larger than `maxPacketBytes` closes the connection at its header.
 */
export async function startEmbeddedBroker(host: string, port: number, log: Logger, maxPacketBytes = 256 * 1024, tap?: AppTap): Promise<BrokerLink> {
  // connections still in their resend window (see TappedMessage.maybeResend)
  noPacketNumberCache();
  const settled = new WeakSet<object>();
  const broker = await Aedes.createBroker({
    authorizePublish: (client, packet, done) => {
      if (!client || !tap?.wants(packet.topic)) return done(null);
      try {
        const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
        const maybeResend = !settled.has(client);
        const dup = tap.take({ client: client.id, topic: packet.topic, payload, qos: packet.qos, ...(packet.messageId !== undefined ? { messageId: packet.messageId } : {}), maybeResend });
        if (!dup) settled.add(client);
        return done(null);
      } catch (e) {
        log.warn('app message not kept; the publisher will send it again', { topic: packet.topic, error: errorMessage(e) });
        return done(e as Error);
      }
    },
  });
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
        broker.subscribe(filter, fn as never, () => resolve());
      }),
    publish: (topic, payload, qos = 0) =>
      new Promise<void>((resolve, reject) => {
        broker.publish({ cmd: 'publish', topic, payload: Buffer.isBuffer(payload) ? payload : Buffer.from(payload), qos, retain: false, dup: false }, (err) =>
          err ? reject(err) : resolve(),
        );
      }),
    // in-process publishes have no client: authorizePublish never takes them back up
    publishApp: (topic, payload) =>
      new Promise<void>((resolve, reject) => {
        broker.publish({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false }, (err) => (err ? reject(err) : resolve()));
      }),
    // aedes keeps each connected client's subscriptions by filter (QoS 0 ones included, unlike its persistence)
    hasSubscriber: (topic) => {
      const clients = (broker as unknown as { clients?: Record<string, { subscriptions?: Record<string, unknown> }> }).clients;
      if (!clients) return undefined;
      return Object.values(clients).some((c) => Object.keys(c.subscriptions ?? {}).some((f) => topicMatches(f, topic)));
    },
    // every publish passes authorizePublish: nothing to subscribe
    appFiltersChanged: async () => undefined,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => broker.close(() => r()));
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/**
 * The app tap on an external broker: its own client with a fixed id and a persistent session, so
 * what apps publish while edgecore is down waits in the broker (within its queue limits:
 * mosquitto's `max_queued_messages`), and a PUBACK that waits for the tap. MQTT 5: it subscribes
 * with no-local and publishes the downlink's messages itself, so they are never taken back up.
 */
interface TapLink {
  update(filters: readonly string[]): Promise<void>;
  publish(topic: string, payload: Buffer): Promise<void>;
  close(): Promise<void>;
}

async function connectAppTap(url: string, clientId: string, expirySeconds: number, tap: AppTap, log: Logger, initial: readonly string[]): Promise<TapLink> {
  // handlers in place before the session's queued messages can arrive (right after the CONNACK)
  const client = mqtt.connect(url, {
    clientId,
    protocolVersion: 5,
    clean: false,
    // the broker keeps the session (and queues for it) this long while edgecore is away, then drops it
    properties: { sessionExpiryInterval: expirySeconds },
    reconnectPeriod: 1000,
    connectTimeout: 5000,
  });
  const wanted = (filters: readonly string[]): string[] => [...new Set([...APP_UPLOAD_FILTERS, ...filters])];
  // the broker's redelivery after a reconnect comes first, marked DUP, under the broker's packet ids for this session
  let settled = false;
  // the filters wanted, and the cover of them subscribed on this connection (overlap.ts)
  let current = wanted(initial);
  let cover = subscriptionCover(current);
  let subscribed: string[] = [];
  let first = true;
  client.on('connect', () => {
    settled = false;
  });
  client.handleMessage = (packet: IPublishPacket, done: (err?: Error) => void): void => {
    const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
    if (!tap.wants(packet.topic)) return done();
    // one copy per matching subscription (overlapping filters): keep one
    const sid = packet.properties?.subscriptionIdentifier;
    if (!keepCopy(current, cover, packet.topic, sid === undefined ? [] : Array.isArray(sid) ? sid : [sid])) return done();
    try {
      const maybeResend = !settled && packet.dup;
      const dup = tap.take({ client: `broker:${clientId}`, topic: packet.topic, payload, qos: packet.qos, ...(packet.messageId !== undefined ? { messageId: packet.messageId } : {}), maybeResend });
      if (!dup) settled = true;
      done();
    } catch (e) {
      log.warn('app message not kept; the broker will send it again', { topic: packet.topic, error: errorMessage(e) });
      // no PUBACK: the persistent session redelivers after a reconnect
      client.end(true, () => client.reconnect());
    }
  };
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', (e) => {
      client.end(true);
      reject(e);
    });
  });
  client.on('error', (e) => log.warn('external broker error (app tap)', { error: e.message }));
  return {
    update: async (filters) => {
      const want = wanted(filters);
      const next = subscriptionCover(want);
      // on the first update the session may hold what an earlier edgecore subscribed: every wanted
      // filter, covered ones too; filters removed while edgecore was away stay (their copies are kept)
      const held = first ? want : subscribed;
      first = false;
      const gone = held.filter((f) => !next.includes(f));
      const added = next.filter((f) => !subscribed.includes(f));
      current = want;
      cover = next;
      subscribed = next;
      // one SUBSCRIBE per filter: a subscription identifier is per packet (overlap.ts); the covering
      // filter first, so no message published in between matches nothing
      for (const f of added) await client.subscribeAsync(f, { qos: 1, nl: true, properties: { subscriptionIdentifier: subscriptionIdOf(f) } });
      if (gone.length) await client.unsubscribeAsync(gone);
    },
    publish: async (topic, payload) => {
      await client.publishAsync(topic, payload, { qos: 1, retain: false });
    },
    close: async () => {
      await client.endAsync(true);
    },
  };
}

export async function connectExternalBroker(url: string, clientPrefix: string, log: Logger, tap?: { clientId: string; expirySeconds: number; tap: AppTap; filters: readonly string[] }): Promise<BrokerLink> {
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
  const app = tap ? await connectAppTap(url, tap.clientId, tap.expirySeconds, tap.tap, log, tap.filters) : undefined;
  await app?.update(tap!.filters);
  return {
    subscribe: async (filter, handler) => {
      handlers.push({ filter, handler });
      await client.subscribeAsync(filter, { qos: 1 });
    },
    publish: async (topic, payload, qos = 1) => {
      await client.publishAsync(topic, payload, { qos, retain: false });
    },
    publishApp: async (topic, payload) => {
      await (app ?? { publish: (t: string, p: Buffer) => client.publishAsync(t, p, { qos: 1, retain: false }) }).publish(topic, payload);
    },
    hasSubscriber: () => undefined,
    appFiltersChanged: async (filters) => {
      await app?.update(filters);
    },
    close: async () => {
      await app?.close();
      await client.endAsync(true);
    },
  };
}
