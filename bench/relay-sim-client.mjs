/**
 * A lean MQTT 3.1.1 client for the relay bench's simulated nodes: the packets edgehub's mqtt.js
 * client sends and answers, written with mqtt-packet straight onto the socket, without mqtt.js'
 * stores, streams and per-client timers. It speaks the subset SimNode uses, with MqttClient's
 * names: `connect` (CONNACK), `message`, `packetsend` (PINGREQ), `error`, `close`; `subscribe`,
 * `publish`, `reconnect`, `end`; `connected`, `stream`, `options.will`.
 *
 * Why: 20,000 mqtt.js clients in four simulator processes took about twice the relay's CPU in a
 * reconnect storm on the bench's 2-core machine (docs/benchmarks.md, relay scale), so the relay
 * was measured with a third of the machine. The relay sees the same packets either way:
 * CONNECT (clean=false, keepalive, Will), SUBSCRIBE, QoS 1 PUBLISH with PUBACK, PINGREQ every
 * keepalive (mqtt.js 5.16 pings on its own schedule although heartbeats flow), and a connection
 * given up after `connectTimeout` without a CONNACK.
 */
import { EventEmitter } from 'node:events';
import mqttPacket from 'mqtt-packet';

const REFUSED = { 1: 'Connection refused: Unacceptable protocol version', 2: 'Connection refused: Identifier rejected', 3: 'Connection refused: Server unavailable', 4: 'Connection refused: Bad username or password', 5: 'Connection refused: Not authorized' };
const PINGREQ = { cmd: 'pingreq' };

export class LeanClient extends EventEmitter {
  /** `streamFactory` opens the socket of one attempt; `options` as MqttClient's (clientId, username, password, clean, keepalive s, connectTimeout ms, will). */
  constructor(streamFactory, options) {
    super();
    this.streamFactory = streamFactory;
    this.options = options;
    this.connected = false;
    this.stream = undefined;
    this.nextId = 0;
    this.subacks = new Map();
    this.connectTimer = undefined;
    this.pingTimer = undefined;
    this.open();
  }

  open() {
    const s = this.streamFactory();
    this.stream = s;
    const parser = mqttPacket.parser({ protocolVersion: 4 });
    parser.on('packet', (p) => this.onPacket(p));
    parser.on('error', (e) => this.fail(s, e));
    s.on('data', (b) => parser.parse(b));
    s.on('error', (e) => this.fail(s, e));
    s.on('close', () => this.closed(s));
    s.setNoDelay?.(true);
    const o = this.options;
    this.send({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: o.clean, clientId: o.clientId, keepalive: o.keepalive, username: o.username, password: o.password === undefined ? undefined : Buffer.from(o.password), will: o.will });
    this.connectTimer = setTimeout(() => this.fail(s, new Error('connack timeout')), o.connectTimeout);
  }

  send(packet) {
    if (!this.stream || this.stream.destroyed) return;
    this.stream.write(mqttPacket.generate(packet, { protocolVersion: 4 }));
    if (packet.cmd === 'pingreq') this.emit('packetsend', packet);
  }

  fail(s, e) {
    if (s !== this.stream) return;
    this.emit('error', e);
    s.destroy();
  }

  closed(s) {
    if (s !== this.stream) return;
    clearTimeout(this.connectTimer);
    clearInterval(this.pingTimer);
    this.connected = false;
    for (const cb of this.subacks.values()) cb(new Error('connection closed'));
    this.subacks.clear();
    this.emit('close');
  }

  onPacket(p) {
    switch (p.cmd) {
      case 'connack':
        clearTimeout(this.connectTimer);
        if (p.returnCode !== 0) return this.fail(this.stream, new Error(REFUSED[p.returnCode] ?? `Connection refused: ${p.returnCode}`));
        this.connected = true;
        this.pingTimer = setInterval(() => this.send(PINGREQ), this.options.keepalive * 1000);
        this.emit('connect', p);
        return;
      case 'publish':
        if (p.qos === 1) this.send({ cmd: 'puback', messageId: p.messageId });
        this.emit('message', p.topic, p.payload, p);
        return;
      case 'suback': {
        const cb = this.subacks.get(p.messageId);
        this.subacks.delete(p.messageId);
        cb?.(null, p.granted.map((qos) => ({ qos })));
        return;
      }
      default:
      // puback, pingresp: nothing to do (a QoS 1 publish is not resent: the relay's ack decides nothing here)
    }
  }

  id() {
    this.nextId = (this.nextId % 65535) + 1;
    return this.nextId;
  }

  subscribe(topics, { qos }, cb) {
    const messageId = this.id();
    if (cb) this.subacks.set(messageId, cb);
    this.send({ cmd: 'subscribe', messageId, subscriptions: topics.map((topic) => ({ topic, qos })) });
  }

  publish(topic, payload, { qos = 0, retain = false } = {}) {
    this.send({ cmd: 'publish', topic, payload, qos, retain, ...(qos > 0 ? { messageId: this.id() } : {}) });
  }

  /** A new attempt on a new socket (after 'close'). */
  reconnect() {
    this.open();
  }

  end() {
    clearTimeout(this.connectTimer);
    clearInterval(this.pingTimer);
    if (this.stream && !this.stream.destroyed) {
      this.send({ cmd: 'disconnect' });
      this.stream.destroy();
    }
  }
}
