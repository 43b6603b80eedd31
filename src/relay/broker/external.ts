/**
 * An external broker (mosquitto, EMQX, RabbitMQ...) through one MQTT 5 client. The relay keeps a
 * persistent session (clean=false with a session that does not expire, QoS1 subscriptions) so
 * reports published while it was down wait in the broker; the desired documents are republished
 * retained on every start anyway. Set the broker's queue limits deliberately (docs/relay.md).
 *
 * A message is acknowledged (PUBACK) only once the relay has handled it (mqtt.js handleMessage).
 * The application channel's messages (a node's app/up and app/ack, a consumer's downlink publish)
 * are taken the same way, so one the relay could not keep is sent again.
 * The generated ACL keeps nodes off their `desired`, but no mosquitto ACL can refuse the retain
 * flag: the relay subscribes with retain-as-published, refuses a node's retained message on any
 * channel but `presence`, and clears it from the broker so it is never replayed.
 */
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { brokerList, connected, currentUrl, nextAttempt, startRotation } from '../../lib/brokers.js';
import { noDelay, noPacketNumberCache, retarget } from '../../lib/mqtt.js';
import { NODE_RETAINED, parseNodeTopic, relaySubscriptions } from '../../contract/topics.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { RelayConfig } from '../config.js';
import { appTopics, parseDownTopic } from '../appchan/topics.js';
import { APP_CHANNELS, UPLINK_CHANNELS, type AppTaps, type NodeMessageHandler, type PublishOptions, type RelayTransport } from './transport.js';

export class ExternalBroker implements RelayTransport {
  readonly kind = 'external' as const;
  private client?: MqttClient;

  constructor(
    private readonly cfg: RelayConfig['broker'],
    private readonly log: Logger,
    /** the CA (PEM) that signed the broker's certificate, for mqtts:// and wss:// URLs */
    private readonly ca?: string,
    private readonly clientId = 'edgerelay',
    private readonly apps?: AppTaps,
  ) {}

  async start(onMessage: NodeMessageHandler, onConnect?: () => void): Promise<void> {
    const ext = this.cfg.external;
    noPacketNumberCache();
    let rotation = startRotation(brokerList(ext.url, ext.urls), this.clientId);
    const v5 = ext.protocolVersion === 5;
    const client = mqtt.connect(currentUrl(rotation), {
      clientId: this.clientId,
      protocolVersion: ext.protocolVersion,
      clean: false,
      // the broker hands the relay nothing larger (MQTT 5: it drops the message for this client);
      // 3.1.1 has neither: the session lasts until the broker drops it, and the size is the broker's limit
      ...(v5 ? { properties: { sessionExpiryInterval: 0xffffffff, maximumPacketSize: this.cfg.maxPacketBytes } } : {}),
      keepalive: this.cfg.keepaliveSeconds,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      ...(ext.username ? { username: ext.username } : {}),
      ...(ext.password ? { password: ext.password } : {}),
      ...(this.ca ? { ca: this.ca } : {}),
    });
    this.client = client;
    client.handleMessage = (packet: IPublishPacket, done: (err?: Error) => void): void => {
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      if (parseDownTopic(packet.topic)) {
        if (!packet.retain) return this.takeApp(this.apps?.cloud(packet.topic, payload), packet.topic, done);
        // a consumer's retained publish is refused like a node's, and cleared
        if (payload.length) {
          this.log.warn('refused a retained consumer message; clearing it', { topic: packet.topic });
          client.publish(packet.topic, '', { qos: 1, retain: true });
        }
        return done();
      }
      const t = parseNodeTopic(packet.topic);
      if (!t || !(UPLINK_CHANNELS.has(t.channel) || APP_CHANNELS.has(t.channel))) return done();
      if (packet.retain && !NODE_RETAINED.includes(t.channel)) {
        // not in the contract: refused, and cleared so the broker never replays it
        if (payload.length) {
          this.log.warn('refused a retained message from a node; clearing it', { node: t.node, channel: t.channel });
          client.publish(packet.topic, '', { qos: 1, retain: true });
        }
        return done();
      }
      if (APP_CHANNELS.has(t.channel)) return this.takeApp(this.apps?.node(t.node, t.channel, payload), packet.topic, done);
      const failed = (e: unknown): void => {
        this.log.error('could not store a node message', { node: t.node, channel: t.channel, error: errorMessage(e) });
        done();
      };
      try {
        const r = onMessage(t.node, t.channel, payload);
        if (r) r.then(() => done(), failed);
        else done();
      } catch (e) {
        failed(e);
      }
    };
    client.on('connect', (ack) => {
      noDelay(client); // node link frames (streams, tunnels) wait on answers: no Nagle delay on this side either
      rotation = connected(rotation);
      this.log.info('connected to external broker', { url: currentUrl(rotation), sessionPresent: ack.sessionPresent });
      client.subscribe(
        [...relaySubscriptions, ...(this.apps ? [appTopics.downFilter] : [])],
        { qos: 1, rap: true },
        (err, granted) => {
          const refused = (granted ?? []).filter((g) => g.qos === 128);
          if (err || refused.length) {
            // deaf to the nodes if it stayed: the link is dropped and tried again (a NATS member busy
            // in JetStream refuses some; a broker ACL without the relay's topics refuses every time)
            this.log.error('broker refused relay subscriptions (a busy member, or its ACL); reconnecting', { error: err?.message, topics: refused.map((g) => g.topic) });
            client.stream?.destroy();
            return;
          }
          onConnect?.();
        },
      );
    });
    client.on('error', (e) => this.log.warn('external broker error', { error: e.message }));
    // mqtt.js reconnects after reconnectPeriod: the next member of a cluster, if there are several
    client.on('close', () => {
      if (rotation.urls.length < 2) return;
      rotation = nextAttempt(rotation, { initialMs: 0, maxMs: 0, factor: 1, jitter: 0 }).rotation;
      retarget(client.options, currentUrl(rotation));
    });
    client.on('offline', () => this.log.warn('external broker unreachable; retrying', { url: currentUrl(rotation) }));
  }

  /**
   * An app channel message: acknowledged once the channel took it (or had nothing to take). A
   * failure leaves it unacknowledged: the session is dropped and resumed, so the broker sends it again.
   */
  private takeApp(tap: Promise<void> | undefined, topic: string, done: (err?: Error) => void): void {
    if (!tap) return done();
    tap.then(
      () => done(),
      (e: unknown) => {
        this.log.error('could not take an app message; not acknowledging it', { topic, error: errorMessage(e) });
        // the same stores: without them reconnect() starts empty ones, and the relay's QoS 1
        // publishes not yet acknowledged would be neither resent nor failed (their callers wait for ever)
        this.client?.end(true, () => this.client?.reconnect({ incomingStore: this.client.incomingStore, outgoingStore: this.client.outgoingStore }));
      },
    );
  }

  async publish(topic: string, payload: Buffer | string, opts: PublishOptions): Promise<void> {
    if (!this.client) throw new Error('broker client not started');
    await this.client.publishAsync(topic, payload, { qos: opts.qos, retain: opts.retain });
  }

  connected(): boolean {
    return this.client?.connected ?? false;
  }

  endpoints(): Record<string, string> {
    return { external: brokerList(this.cfg.external.url, this.cfg.external.urls).join(',') };
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await c.endAsync(true).catch(() => undefined);
  }
}
