/**
 * The embedded broker: aedes in the relay's process. With TLS (the default: a certificate from
 * the relay's CA) it listens on MQTT over TLS and on WebSocket over TLS (wss, ws +
 * createWebSocketStream); plain MQTT over TCP only with `broker.plaintext: true`. Every node
 * authenticates with its own credentials (username = client id = node name), may subscribe only
 * inside its own subtree, and may publish only its uplink channels: never its own `desired` (desired
 * state flows only from the relay), and retained only `presence` (authorizePublish refuses anything
 * else, which closes the connection). Cloud consumers of the application channel (username
 * `app.<name>`, a client id starting `app.`) may read and write only their namespaces' app topics,
 * never retained. The app channel's messages (a node's app/up and app/ack, a consumer's downlink
 * publish) are taken in authorizePublish, which aedes runs before it acknowledges a QoS 1 publish
 * (its `published` hook runs after the PUBACK is written).
 */
import { Aedes, type AedesPublishPacket, type Client } from 'aedes';
import { noPacketNumberCache } from '../../lib/mqtt.js';
import { existsSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { oversize } from '../../contract/limits.js';
import { nodeMayPublish, nodeMayUse, parseNodeTopic } from '../../contract/topics.js';
import { consumerMay, isConsumer, parseDownTopic } from '../appchan/topics.js';
import { safeEqual } from '../auth.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { guardMqttStream } from '../../lib/mqtt-guard.js';
import type { RelayConfig } from '../config.js';
import { AttemptLedger, attemptMarkOf, ConnectionGate, ConnectThrottle, connectionCap, parseOpenFileLimit, type AttemptMark } from './admission.js';
import { BoundedBus } from './emitter.js';
import { indexedMemoryPersistence } from './retained.js';
import { APP_CHANNELS, UPLINK_CHANNELS, type AppTaps, type NodeMessageHandler, type PublishOptions, type RelayTransport } from './transport.js';

/** Checks a node's password; the relay supplies it (store + cache). */
export type Authenticator = (username: string, password: string) => Promise<boolean>;

const SERVER_UNAVAILABLE = 3;
const AUTH_FAILED = 4; // BAD_USERNAME_OR_PASSWORD
const NOT_AUTHORIZED = 5;

function authError(code: number, msg: string): Error & { returnCode: number } {
  return Object.assign(new Error(msg), { returnCode: code });
}

/** resolves after at least one complete poll phase (two check phases later) */
const oneLoopTurn = (): Promise<void> => new Promise((r) => setImmediate(() => setImmediate(r)));

/**
 * Whether the node already closed this connection (its EOF has been read). Node exposes "end
 * emitted" but not "end received"; aedes pauses the stream while it authenticates, so the end is
 * never emitted there — the readable state's `ended` flag is the only witness.
 */
function peerClosed(client: Client): boolean {
  const conn = client.conn as { destroyed?: boolean; _readableState?: { ended?: boolean } };
  return conn.destroyed === true || conn._readableState?.ended === true;
}

export class EmbeddedBroker implements RelayTransport {
  readonly kind = 'embedded' as const;
  private aedes?: Aedes;
  private readonly servers: (NetServer | HttpServer)[] = [];
  private wss?: WebSocketServer;
  /** the listeners that speak TLS (mqtts, wss): a renewed certificate goes to them */
  private readonly secure: { setSecureContext(o: { cert: string; key: string }): void }[] = [];
  private readonly addrs: Record<string, string> = {};
  private gate?: ConnectionGate;
  private throttle?: ConnectThrottle;
  private bus?: BoundedBus;
  private readonly ledger = new AttemptLedger();
  private statsTimer?: NodeJS.Timeout;
  /** oversizedPackets: connections closed because a packet header announced more than `broker.maxPacketBytes` */
  private readonly counters = { takeovers: 0, closedBeforeAccepted: 0, oversizedPackets: 0, clientErrors: {} as Record<string, number> };

  constructor(
    private readonly cfg: RelayConfig['broker'],
    /** certificate and key (PEM) for the TLS and wss listeners; undefined = TLS off */
    private readonly tls: { cert: string; key: string } | undefined,
    private readonly authenticate: Authenticator,
    private readonly log: Logger,
    private readonly apps?: AppTaps,
  ) {}

  /** A consumer's namespaces, when `client` is a consumer. */
  private consumer(client: Client): readonly string[] | undefined {
    const c = this.apps?.consumer((client as Client & { user?: string }).user ?? '');
    return c?.namespaces;
  }

  async start(onMessage: NodeMessageHandler): Promise<void> {
    noPacketNumberCache();
    const limits = existsSync('/proc/self/limits') ? parseOpenFileLimit(readFileSync('/proc/self/limits', 'utf8')) : undefined;
    const gate = (this.gate = new ConnectionGate(connectionCap(this.cfg.maxConnections, limits, this.cfg.reservedFiles)));
    const bus = (this.bus = new BoundedBus(1000));
    const throttle = (this.throttle = new ConnectThrottle(this.cfg.maxConnecting > 0 ? this.cfg.maxConnecting : Number.MAX_SAFE_INTEGER, this.cfg.connectWaitSeconds * 1000));
    const ledger = this.ledger;
    const marks = new WeakMap<Client, AttemptMark>();
    const aedes = await Aedes.createBroker({
      persistence: indexedMemoryPersistence(),
      mq: bus,
      drainTimeout: 10_000,
      // packets a client may send before its CONNECT is answered (nodes wait for CONNACK)
      queueLimit: 8,
      // QoS 2 publishes awaiting PUBREL per client (nodes publish QoS 0 and 1)
      maxInflightInbound: 16,
      preConnect: (client, packet, done) => {
        const mark = attemptMarkOf(packet.will?.payload);
        if (mark) marks.set(client, mark);
        if (ledger.isStale(packet.clientId, mark)) {
          ledger.staleRefused++;
          return done(new Error('an abandoned connect attempt'), false);
        }
        throttle.begin(client.conn, (admitted) => {
          if (!admitted) return done(new Error('waited too long for its turn to connect'), false);
          // while it waited, a later attempt of the node may have come through
          if (ledger.isStale(packet.clientId, mark)) {
            ledger.staleRefused++;
            throttle.end(client.conn);
            return done(new Error('an abandoned connect attempt'), false);
          }
          if (this.clients()[packet.clientId]) this.counters.takeovers++;
          return done(null, true);
        });
      },
      authenticate: (client: Client, username, password, done) => {
        const u = username ?? '';
        if (isConsumer(u)) {
          const c = this.apps?.consumer(u);
          if (!c || !password || !safeEqual(password.toString(), c.password)) return done(authError(AUTH_FAILED, 'bad credentials'), false);
          if (!client.id.startsWith('app.')) return done(authError(NOT_AUTHORIZED, 'a consumer client id must start with app.'), false);
          (client as Client & { user?: string }).user = u;
          return done(null, true);
        }
        if (!u || !password || client.id !== u) return done(authError(NOT_AUTHORIZED, 'client id must equal the node name'), false);
        this.authenticate(u, password.toString())
          .then(async (ok) => {
            if (!ok) return done(authError(AUTH_FAILED, 'bad credentials'), false);
            // one full turn of the event loop: a node that gave up on this attempt closed its
            // socket long ago, and its EOF is read now — before the session is taken over
            await oneLoopTurn();
            if (peerClosed(client)) {
              this.counters.closedBeforeAccepted++;
              return done(authError(SERVER_UNAVAILABLE, 'the node closed this connection before it was accepted'), false);
            }
            if (!ledger.admit(u, marks.get(client))) return done(authError(SERVER_UNAVAILABLE, 'a later connect attempt of this node came first'), false);
            return done(null, true);
          })
          .catch((e: unknown) => done(authError(SERVER_UNAVAILABLE, `authentication failed: ${errorMessage(e)}`), false));
      },
      authorizePublish: (client, packet, done) => {
        if (!client) return done(null);
        const payload = (): Buffer => (Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
        const taken = (p: Promise<void> | undefined): void => {
          if (!p) return done(null);
          p.then(
            () => done(null),
            (e: unknown) => {
              this.log.error('could not take an app message; not acknowledging it', { client: client.id, topic: packet.topic, error: errorMessage(e) });
              done(e as Error);
            },
          );
        };
        const namespaces = this.consumer(client);
        if (namespaces) {
          if (!consumerMay(namespaces, 'publish', packet.topic) || packet.retain) {
            this.log.warn('publish refused', { client: client.id, topic: packet.topic, retain: packet.retain });
            return done(new Error(`${client.id} may not publish${packet.retain ? ' retained' : ''} to ${packet.topic}`));
          }
          return taken(parseDownTopic(packet.topic) ? this.apps?.cloud(packet.topic, payload()) : undefined);
        }
        if (!nodeMayPublish(client.id, packet.topic, packet.retain)) {
          this.log.warn('publish refused', { client: client.id, topic: packet.topic, retain: packet.retain });
          return done(new Error(`${client.id} may not publish${packet.retain ? ' retained' : ''} to ${packet.topic}`));
        }
        const t = parseNodeTopic(packet.topic);
        // presence is the one message the broker keeps (retained, and the Will): held to its contract size here
        const big = t?.channel === 'presence' ? oversize('presence', packet.payload.length) : undefined;
        if (big) {
          this.log.warn('publish refused', { client: client.id, topic: packet.topic, reason: big });
          return done(new Error(big));
        }
        if (t && APP_CHANNELS.has(t.channel)) return taken(this.apps?.node(t.node, t.channel, payload()));
        return done(null);
      },
      authorizeSubscribe: (client, sub, done) => {
        const namespaces = this.consumer(client);
        if (namespaces ? !consumerMay(namespaces, 'subscribe', sub.topic) : !nodeMayUse(client.id, sub.topic)) {
          this.log.warn('subscription refused', { client: client.id, topic: sub.topic });
          return done(null, null); // SUBACK 0x80 for this filter
        }
        return done(null, sub);
      },
      published: (packet: AedesPublishPacket, client: Client | null, done) => {
        const t = parseNodeTopic(packet.topic);
        if (!t || !UPLINK_CHANNELS.has(t.channel)) return done(null);
        // A Will is published with the client that died; a node's own publishes were authorized.
        if (client && client.id !== t.node) return done(null);
        const failed = (e: unknown): void => {
          this.log.error('could not store a node message', { node: t.node, channel: t.channel, error: errorMessage(e) });
          done(null);
        };
        try {
          const r = onMessage(t.node, t.channel, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
          if (r) r.then(() => done(null), failed);
          else done(null);
        } catch (e) {
          failed(e);
        }
      },
    });
    this.aedes = aedes;
    aedes.on('connackSent', (_packet, client) => throttle.end(client.conn));
    aedes.on('clientError', (client, err) => {
      const reason = err.message.slice(0, 48);
      this.counters.clientErrors[reason] = (this.counters.clientErrors[reason] ?? 0) + 1;
      this.log.debug('client error', { client: client.id, error: err.message });
    });
    this.statsTimer = setInterval(() => this.logStats(), 10_000);
    this.statsTimer.unref();

    const handle = (conn: Duplex, req?: IncomingMessage): void => this.handle(aedes, conn, req);
    if (this.cfg.plaintext || !this.tls) {
      // no Nagle delay: tunnels and exec carry small writes that wait on an answer (docs/mesh.md)
      const tcp = createNetServer({ noDelay: true }, (conn) => gate.admit(conn) && handle(conn));
      this.addrs.mqtt = await this.listen(tcp, this.cfg.port, 'mqtt');
    }
    const tlsOpts = this.tls ? { cert: this.tls.cert, key: this.tls.key, minVersion: 'TLSv1.2' as const } : undefined;
    if (tlsOpts) {
      const tls = createTlsServer(tlsOpts, (s) => handle(s));
      tls.prependListener('connection', (raw) => {
        raw.setNoDelay(true);
        gate.admit(raw); // counted (or refused) before the handshake
      });
      this.secure.push(tls);
      tls.on('tlsClientError', (e) => this.log.debug('TLS handshake refused', { error: e.message }));
      this.addrs.mqtts = await this.listen(tls, this.cfg.tls.port, 'mqtts');
    }
    if (this.cfg.ws.enabled) {
      const http = tlsOpts ? createHttpsServer(tlsOpts) : createHttpServer();
      http.prependListener('connection', (raw) => {
        raw.setNoDelay(true);
        gate.admit(raw);
      });
      if (tlsOpts) this.secure.push(http as ReturnType<typeof createHttpsServer>);
      // one WebSocket message carries at most one MQTT packet's worth (the guard checks packets)
      const wss = new WebSocketServer({ server: http, path: this.cfg.ws.path, maxPayload: this.cfg.maxPacketBytes + 16 });
      wss.on('connection', (ws, req) => {
        const stream = createWebSocketStream(ws);
        stream.on('error', () => ws.terminate());
        handle(stream, req);
      });
      this.wss = wss;
      this.addrs.ws = (await this.listen(http, this.cfg.ws.port, tlsOpts ? 'wss' : 'ws')) + this.cfg.ws.path;
    }
  }

  /**
   * Sizes (issue 18): aedes buffers a packet whole, whatever its size, before any hook sees it. Every
   * connection passes a packet guard (src/lib/mqtt-guard.ts) that closes it as soon as a packet
   * header announces more than `broker.maxPacketBytes`, before the packet is buffered; a payload
   * within that but over its channel's limit (src/contract/limits.ts) is dropped where node
   * messages are read, not here, so a node whose outbox holds one is not disconnected on every resend.
   */
  private handle(aedes: Aedes, conn: Duplex, req?: IncomingMessage): void {
    const guarded = guardMqttStream(conn, this.cfg.maxPacketBytes, (reason, bytes) => {
      this.counters.oversizedPackets++;
      this.log.warn('connection closed: packet over the size limit', { reason, bytes });
    });
    aedes.handle(guarded, req as never);
  }

  private listen(server: NetServer | HttpServer, port: number, scheme: string): Promise<string> {
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.cfg.host, () => {
        server.off('error', reject);
        const a = server.address() as AddressInfo;
        const host = a.address === '0.0.0.0' || a.address === '::' ? '127.0.0.1' : a.address;
        resolve(`${scheme}://${host}:${a.port}`);
      });
    });
  }

  publish(topic: string, payload: Buffer | string, opts: PublishOptions): Promise<void> {
    const aedes = this.aedes;
    if (!aedes) return Promise.reject(new Error('broker not started'));
    return new Promise((resolve, reject) => {
      aedes.publish(
        { cmd: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos: opts.qos, retain: opts.retain, dup: false },
        (err) => (err ? reject(err) : resolve()),
      );
    });
  }

  endpoints(): Record<string, string> {
    return { ...this.addrs };
  }

  connectedClients(): number {
    return this.aedes?.connectedClients ?? 0;
  }

  /** aedes keeps its connected clients by id (not in its type declarations) */
  private clients(): Record<string, Client> {
    return (this.aedes as unknown as { clients?: Record<string, Client> } | undefined)?.clients ?? {};
  }

  /** Serve a renewed certificate from now on (connections already open keep theirs). */
  setCertificate(tls: { cert: string; key: string }): void {
    for (const s of this.secure) s.setSecureContext({ ...tls, minVersion: 'TLSv1.2' } as { cert: string; key: string });
  }

  connectedNodes(): string[] {
    return Object.keys(this.clients());
  }

  /** whether CONNECTs are waiting their turn (more than `maxConnecting` in progress) */
  connectBacklog(): boolean {
    return (this.throttle?.waiting ?? 0) > 0;
  }

  /** whether `node` is connected to this broker now */
  connected(node: string): boolean {
    return Object.hasOwn(this.clients(), node);
  }

  disconnect(node: string): void {
    const c = this.clients()[node];
    if (c) {
      this.log.info('closing a node session: its credentials changed or were removed', { node });
      c.close();
    }
  }

  /** connections, refusals and errors since start (logged every 10 s while they change) */
  stats(): Record<string, unknown> {
    const m = process.memoryUsage();
    return {
      connections: this.gate?.connections ?? 0,
      connectionCap: this.gate?.cap ?? 0,
      peakConnections: this.gate?.peak ?? 0,
      refusedAtCap: this.gate?.refused ?? 0,
      refusedBusy: this.throttle?.refused ?? 0,
      heldConnects: this.throttle?.held ?? 0,
      longestConnectLine: this.throttle?.longestLine ?? 0,
      abandonedAttemptsRefused: this.ledger.staleRefused,
      closedBeforeAccepted: this.counters.closedBeforeAccepted,
      takeovers: this.counters.takeovers,
      clientErrors: { ...this.counters.clientErrors },
      busQueuedMax: this.bus?.maxQueued ?? 0,
      rssMiB: Math.round(m.rss / 1048576),
      heapUsedMiB: Math.round(m.heapUsed / 1048576),
      heapTotalMiB: Math.round(m.heapTotal / 1048576),
      externalMiB: Math.round(m.external / 1048576),
    };
  }

  private lastStats = '';
  private logStats(): void {
    const s = this.stats();
    const key = JSON.stringify({ ...s, rssMiB: 0, heapUsedMiB: 0, heapTotalMiB: 0, externalMiB: 0 });
    if (key === this.lastStats) return;
    this.lastStats = key;
    this.log.info('broker stats', s);
  }

  async stop(): Promise<void> {
    clearInterval(this.statsTimer);
    this.wss?.close();
    for (const s of this.servers) {
      if ('closeAllConnections' in s) s.closeAllConnections();
      s.close();
    }
    const a = this.aedes;
    this.aedes = undefined;
    if (a) await new Promise<void>((r) => a.close(() => r()));
  }
}
