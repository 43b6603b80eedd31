/**
 * An external broker (mosquitto, EMQX, RabbitMQ...) through one MQTT 5 client. The relay keeps a
 * persistent session (clean=false with a session that does not expire, QoS1 subscriptions) so
 * reports published while it was down wait in the broker; the desired documents are republished
 * retained on every start anyway. Set the broker's queue limits deliberately (docs/relay.md).
 *
 * A message is acknowledged (PUBACK) only once the relay has handled it (mqtt.js handleMessage).
 * The generated ACL keeps nodes off their `desired`, but no mosquitto ACL can refuse the retain
 * flag: the relay subscribes with retain-as-published, refuses a node's retained message on any
 * channel but `presence`, and clears it from the broker so it is never replayed.
 */
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { noPacketNumberCache } from '../../lib/mqtt.js';
import { NODE_RETAINED, parseNodeTopic, relaySubscriptions } from '../../contract/topics.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { RelayConfig } from '../config.js';
import { UPLINK_CHANNELS, type NodeMessageHandler, type PublishOptions, type RelayTransport } from './transport.js';

export class ExternalBroker implements RelayTransport {
  readonly kind = 'external' as const;
  private client?: MqttClient;

  constructor(
    private readonly cfg: RelayConfig['broker'],
    private readonly log: Logger,
    /** the CA (PEM) that signed the broker's certificate, for mqtts:// and wss:// URLs */
    private readonly ca?: string,
    private readonly clientId = 'edgerelay',
  ) {}

  async start(onMessage: NodeMessageHandler, onConnect?: () => void): Promise<void> {
    const ext = this.cfg.external;
    noPacketNumberCache();
    const client = mqtt.connect(ext.url, {
      clientId: this.clientId,
      protocolVersion: 5,
      clean: false,
      // the broker hands the relay nothing larger (MQTT 5: it drops the message for this client)
      properties: { sessionExpiryInterval: 0xffffffff, maximumPacketSize: this.cfg.maxPacketBytes },
      keepalive: this.cfg.keepaliveSeconds,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      ...(ext.username ? { username: ext.username } : {}),
      ...(ext.password ? { password: ext.password } : {}),
      ...(this.ca ? { ca: this.ca } : {}),
    });
    this.client = client;
    client.handleMessage = (packet: IPublishPacket, done: (err?: Error) => void): void => {
      const t = parseNodeTopic(packet.topic);
      if (!t || !UPLINK_CHANNELS.has(t.channel)) return done();
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      if (packet.retain && !NODE_RETAINED.includes(t.channel)) {
        // not in the contract: refused, and cleared so the broker never replays it
        if (payload.length) {
          this.log.warn('refused a retained message from a node; clearing it', { node: t.node, channel: t.channel });
          client.publish(packet.topic, '', { qos: 1, retain: true });
        }
        return done();
      }
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
      this.log.info('connected to external broker', { url: ext.url, sessionPresent: ack.sessionPresent });
      client.subscribe(
        relaySubscriptions.map((t) => t),
        { qos: 1, rap: true },
        (err, granted) => {
          if (err) this.log.error('subscribe failed', { error: err.message });
          const refused = (granted ?? []).filter((g) => g.qos === 128);
          if (refused.length) this.log.error('broker refused relay subscriptions (check its ACL)', { topics: refused.map((g) => g.topic) });
          onConnect?.();
        },
      );
    });
    client.on('error', (e) => this.log.warn('external broker error', { error: e.message }));
    client.on('offline', () => this.log.warn('external broker unreachable; retrying', { url: ext.url }));
  }

  async publish(topic: string, payload: Buffer | string, opts: PublishOptions): Promise<void> {
    if (!this.client) throw new Error('broker client not started');
    await this.client.publishAsync(topic, payload, { qos: opts.qos, retain: opts.retain });
  }

  connected(): boolean {
    return this.client?.connected ?? false;
  }

  endpoints(): Record<string, string> {
    return { external: this.cfg.external.url };
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await c.endAsync(true).catch(() => undefined);
  }
}
