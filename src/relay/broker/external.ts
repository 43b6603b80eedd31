/**
 * An external broker (mosquitto, EMQX, RabbitMQ...) through one MQTT client. The relay keeps a
 * persistent session (clean=false, QoS1 subscriptions) so reports published while it was down
 * wait in the broker; the desired documents are republished retained on every start anyway.
 * Set the broker's queue limits deliberately (docs/relay.md). The application channel's messages
 * (a node's app/up and app/ack, a consumer's downlink publish) are taken before the PUBACK
 * (mqtt.js handleMessage), so one the relay could not keep is sent again.
 */
import mqtt, { type IPublishPacket, type MqttClient } from 'mqtt';
import { noPacketNumberCache } from '../../lib/mqtt.js';
import { parseNodeTopic, relaySubscriptions } from '../../contract/topics.js';
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
    const client = mqtt.connect(ext.url, {
      clientId: this.clientId,
      clean: false,
      keepalive: this.cfg.keepaliveSeconds,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      ...(ext.username ? { username: ext.username } : {}),
      ...(ext.password ? { password: ext.password } : {}),
      ...(this.ca ? { ca: this.ca } : {}),
    });
    this.client = client;
    const handle = client.handleMessage.bind(client);
    client.handleMessage = (packet: IPublishPacket, done: (err?: Error) => void): void => {
      const payload = Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload);
      const t = parseNodeTopic(packet.topic);
      const tap = t && APP_CHANNELS.has(t.channel) ? this.apps?.node(t.node, t.channel, payload) : parseDownTopic(packet.topic) ? this.apps?.cloud(packet.topic, payload) : undefined;
      if (!tap) return handle(packet, done);
      // no PUBACK until the app channel took it; a failure leaves it to the broker's redelivery
      tap.then(
        () => done(),
        (e: unknown) => {
          this.log.error('could not take an app message; not acknowledging it', { topic: packet.topic, error: errorMessage(e) });
          client.end(true, () => client.reconnect());
        },
      );
    };
    client.on('message', (topic, payload) => {
      const t = parseNodeTopic(topic);
      if (!t || !UPLINK_CHANNELS.has(t.channel)) return;
      try {
        onMessage(t.node, t.channel, payload);
      } catch (e) {
        this.log.error('could not store a node message', { node: t.node, channel: t.channel, error: errorMessage(e) });
      }
    });
    client.on('connect', (ack) => {
      this.log.info('connected to external broker', { url: ext.url, sessionPresent: ack.sessionPresent });
      client.subscribe(
        [...relaySubscriptions, ...(this.apps ? [appTopics.downFilter] : [])],
        { qos: 1 },
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
