/**
 * One simulator process of bench/relay-scale.mjs (forked; commands over IPC). Each simulated node
 * does what edgehub does on the wire (src/modules/edgehub/module.ts):
 *   - one MQTT client per node (bench/relay-sim-client.mjs; SIM_CLIENT=mqtt.js: mqtt.js), client id = username = node name, clean=false, keepalive 60 s,
 *     connect timeout 10 s, no automatic reconnect; a retained Will "offline" that names the
 *     attempt (bootId + attempt number, as edgehub's connect attempts do);
 *   - after a close: retry after backoffDelay({1 s, 60 s, ×2, jitter 0.5}, attempt), attempt
 *     reset on CONNACK — the same formula as src/core/backoff.ts;
 *   - on CONNACK: SUBSCRIBE desired + rpc/request (QoS1), retained birth, sync;
 *   - heartbeat every 30 s (QoS per HEARTBEAT_QOS), first one at a random phase;
 *   - desired documents: applied only for this node, a new epoch or a higher version.
 * With several brokers (`brokers`: a fleet's replicas or a cluster's members), node j of the
 * fleet starts on broker j mod count and moves to the next one after an attempt that failed or a
 * connection that was lost, as edgehub does through its `relay.urls` (src/lib/brokers.ts).
 * Connections come from the worker's own source address (127.0.0.x), so the relay's port sees
 * at most ~28k connections per source address and each worker stays under its file limit.
 */
import { createConnection } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { randomUUID } from 'node:crypto';
import { MqttClient } from 'mqtt';
import { LeanClient } from './relay-sim-client.mjs';

const T = 'edgecore/v1/nodes';
const bootId = randomUUID().slice(0, 8);

const cfg = JSON.parse(process.env.SIM_CONFIG ?? '{}');
const { host, port, brokers = [{ host, port }], offset = 0, sourceAddress, sourcePerNode = false, ca, password, heartbeatQos = 0, heartbeatSeconds = 30, keepalive = 60, connectTimeoutMs = 10_000 } = cfg;
const backoff = { initialMs: 1000, maxMs: 60_000, factor: 2, jitter: 0.5 };

/** src/core/backoff.ts, restated (the bench runs plain JS) */
function backoffDelay(p, attempt) {
  const capped = Math.min(p.maxMs, p.initialMs * Math.pow(p.factor, Math.max(0, attempt)));
  const low = capped * (1 - Math.min(1, p.jitter));
  return Math.round(low + (capped - low) * Math.random());
}

const stats = { pingreqs: 0, connacks: 0, kicked: 0, refused: 0, errors: {}, sessionPresent: 0, attempts: 0, docs: 0, stale: 0 };
const countError = (m) => {
  const k = String(m).replace(/\d+\.\d+\.\d+\.\d+:\d+/g, 'ADDR').slice(0, 60);
  stats.errors[k] = (stats.errors[k] ?? 0) + 1;
};

let expect; // { epoch, versions: Map<name, version>, t0 }
let matchedCount = 0;
let lastMatchAt = 0;

class SimNode {
  constructor(name, index) {
    this.name = name;
    this.broker = index % brokers.length; // where the next attempt goes
    // its own loopback address, as a real node is its own host: with thousands of connections per
    // address the kernel's search for a free port at bind() (TIME_WAIT ports included) was the
    // simulators' main cost in a storm
    this.source = sourcePerNode ? `127.${100 + Math.floor(index / (254 * 256))}.${Math.floor(index / 254) % 256}.${(index % 254) + 1}` : sourceAddress;
    this.applied = { epoch: '', version: 0 };
    this.attempt = 0; // backoff position (reset on connect)
    this.seq = 0; // connect attempts in this boot (the Will names it)
    this.dropping = false;
    this.wasConnected = false;
    this.matched = false;
    this.docsSince = 0;
    this.timer = undefined;
    this.hb = undefined;
  }

  will() {
    return { topic: `${T}/${this.name}/presence`, payload: Buffer.from(JSON.stringify({ online: false, bootId, agentVersion: 'sim', timestamp: Date.now(), attempt: ++this.seq })), qos: 1, retain: true };
  }

  start() {
    const at = () => brokers[this.broker];
    const Client = cfg.client === 'mqtt.js' ? MqttClient : LeanClient;
    const c = new Client(() => (ca ? tlsConnect({ ...at(), localAddress: this.source, ca }) : createConnection({ ...at(), localAddress: this.source })), {
      clientId: this.name,
      username: this.name,
      password,
      clean: false,
      keepalive,
      reconnectPeriod: 0,
      connectTimeout: connectTimeoutMs,
      resubscribe: false,
      protocolVersion: 4,
      will: this.will(),
    });
    stats.attempts++;
    this.client = c;
    c.on('connect', (ack) => {
      stats.connacks++;
      if (ack.sessionPresent) stats.sessionPresent++;
      this.attempt = 0;
      this.wasConnected = true;
      this.on = this.broker;
      this.onConnected(c);
    });
    c.on('message', (topic, payload) => this.onMessage(topic, payload));
    c.on('packetsend', (p) => {
      if (p.cmd === 'pingreq') stats.pingreqs++;
    });
    c.on('error', (e) => {
      countError(e.message);
      if (/Not authorized|Server unavailable|Bad username/i.test(e.message)) stats.refused++;
    });
    c.on('close', () => {
      if (this.wasConnected && !this.dropping && !stopping) stats.kicked++;
      // a failed attempt or a lost connection (not a drop the bench asked for): the next broker
      if (!this.dropping) this.broker = (this.broker + 1) % brokers.length;
      this.wasConnected = false;
      this.scheduleReconnect();
    });
  }

  scheduleReconnect() {
    if (stopping || this.timer) return;
    const delay = backoffDelay(backoff, this.attempt++);
    this.dropping = false;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (stopping || this.client.connected) return;
      this.client.options.will = this.will();
      stats.attempts++;
      this.client.reconnect();
    }, delay);
  }

  onConnected(c) {
    const n = this.name;
    c.subscribe([`${T}/${n}/desired`, `${T}/${n}/rpc/request`], { qos: 1 }, (err, granted) => {
      // a refused subscription (SUBACK 0x80: NATS while JetStream is busy) leaves the node deaf: counted
      if (err || granted?.some((g) => g.qos === 128)) return countError(`subscribe refused: ${err?.message ?? 'SUBACK 0x80'}`);
      c.publish(`${T}/${n}/presence`, JSON.stringify({ online: true, bootId, agentVersion: 'sim', timestamp: Date.now() }), { qos: 1, retain: true });
      c.publish(`${T}/${n}/sync`, JSON.stringify({ epoch: this.applied.epoch, appliedVersion: this.applied.version, bootId, timestamp: Date.now() }), { qos: 1 });
    });
    if (!this.hb) {
      // first heartbeat at a random phase, then every period (edgehub: a fixed interval from start)
      const first = Math.random() * heartbeatSeconds * 1000;
      this.hb = setTimeout(() => {
        this.beat();
        this.hb = setInterval(() => this.beat(), heartbeatSeconds * 1000);
      }, first);
    }
  }

  beat() {
    const c = this.client;
    if (!c?.connected) return;
    c.publish(`${T}/${this.name}/heartbeat`, JSON.stringify({ v: this.applied.version, q: 0, t: Date.now() }), { qos: heartbeatQos });
  }

  onMessage(topic, payload) {
    if (!topic.endsWith('/desired')) return;
    let d;
    try {
      d = JSON.parse(payload.toString('utf8'));
    } catch {
      return;
    }
    stats.docs++;
    this.docsSince++;
    if (d?.node !== this.name || typeof d.epoch !== 'string' || !Number.isInteger(d.version)) return;
    if (d.epoch === this.applied.epoch && d.version <= this.applied.version) {
      stats.stale++;
      this.check();
      return;
    }
    this.applied = { epoch: d.epoch, version: d.version };
    this.check();
  }

  check() {
    if (!expect || this.matched) return;
    if (expect.fresh && this.docsSince === 0) return;
    if (this.applied.epoch === expect.epoch && this.applied.version === this.want()) {
      this.matched = true;
      matchedCount++;
      lastMatchAt = Date.now();
      if (matchedCount === nodes.length) send({ ev: 'matched', lastMatchAt, matched: matchedCount });
    }
  }

  /** the version to hold: the newest any replica published, or (a fleet of embedded brokers) what this node's replica published */
  want() {
    return expect.byBroker ? expect.byBroker[this.on]?.get(this.name) : expect.versions.get(this.name);
  }

  drop() {
    this.dropping = true;
    this.client.stream?.destroy();
  }
}

let stopping = false;
const nodes = (cfg.names ?? []).map((n, i) => new SimNode(n, offset + i));
const send = (m) => process.send?.(m);

function connectedCount() {
  let c = 0;
  for (const n of nodes) if (n.client?.connected) c++;
  return c;
}

process.on('message', (m) => {
  switch (m.cmd) {
    case 'start': {
      // all nodes start at once (a fleet already running when the relay comes up): the first
      // attempts are spread over `spreadMs`, as retries of nodes waiting for the relay would be
      for (const n of nodes) setTimeout(() => n.start(), Math.random() * (m.spreadMs ?? 0));
      send({ ev: 'started' });
      break;
    }
    case 'expect': {
      expect = { epoch: m.epoch, versions: new Map(m.versions), byBroker: m.byBroker?.map((v) => new Map(v)), fresh: !!m.fresh };
      matchedCount = 0;
      lastMatchAt = 0;
      // a fresh phase counts documents from its disruption ('drop', 'mark'), not from this message:
      // reading the expected versions takes seconds, and a node back before then already has its
      // document (the relay does not send it again to a node that holds it)
      for (const n of nodes) n.matched = false;
      for (const n of nodes) n.check();
      if (matchedCount === nodes.length) send({ ev: 'matched', lastMatchAt, matched: matchedCount });
      break;
    }
    case 'revise': {
      // the versions read again (a fleet's replica renumbered): nodes not yet exact are judged anew
      if (!expect) break;
      expect.versions = new Map(m.versions);
      expect.byBroker = m.byBroker?.map((v) => new Map(v));
      for (const n of nodes) n.check();
      break;
    }
    case 'drop':
      for (const n of nodes) {
        n.docsSince = 0;
        n.drop();
      }
      break;
    case 'mark':
      for (const n of nodes) n.docsSince = 0;
      break;
    case 'stats': {
      const missing = nodes.filter((n) => !n.matched).slice(0, 5).map((n) => ({ name: n.name, applied: n.applied, want: expect && n.want(), on: n.on, connected: !!n.client?.connected }));
      send({ ev: 'stats', id: m.id, stats: { ...stats, connected: connectedCount(), matched: matchedCount, nodes: nodes.length, missingSample: missing, rssMiB: Math.round(process.memoryUsage().rss / 1048576), cpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6 } });
      break;
    }
    case 'uplink': {
      // bytes written on the sockets of the first `count` nodes (MQTT layer), for the idle uplink
      const sample = nodes.slice(0, m.count ?? 20);
      send({ ev: 'uplink', id: m.id, bytes: sample.map((n) => n.client?.stream?.bytesWritten ?? 0), connected: sample.map((n) => !!n.client?.connected) });
      break;
    }
    case 'stop':
      stopping = true;
      for (const n of nodes) {
        clearTimeout(n.timer);
        clearTimeout(n.hb);
        clearInterval(n.hb);
        n.client?.end(true);
      }
      setTimeout(() => process.exit(0), 200);
      break;
  }
});
process.on('disconnect', () => process.exit(0));
send({ ev: 'ready' });
