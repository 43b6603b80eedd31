/**
 * An external broker (mosquitto, EMQX, RabbitMQ...) through one MQTT client. The relay keeps a
 * persistent session (clean=false, QoS1 subscriptions) so reports published while it was down
 * wait in the broker; the desired documents are republished retained on every start anyway.
 * Set the broker's queue limits deliberately (docs/relay.md).
 */
import mqtt, { type MqttClient } from 'mqtt';
import { noPacketNumberCache } from '../../lib/mqtt.js';
import { parseNodeTopic, relaySubscriptions } from '../../contract/topics.js';
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
      clean: false,
      keepalive: this.cfg.keepaliveSeconds,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      ...(ext.username ? { username: ext.username } : {}),
      ...(ext.password ? { password: ext.password } : {}),
      ...(this.ca ? { ca: this.ca } : {}),
    });
    this.client = client;
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
        relaySubscriptions.map((t) => t),
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
