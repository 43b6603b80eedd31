#!/usr/bin/env node
/**
 * Application channel bench: one `edgerelay run` and one `edgecore run` (bundles of the current
 * sources, embedded brokers, loopback, plain MQTT). An app publishes QoS 1 on the node's eventbus;
 * an eventbus→mqtt Rule carries each message through the node's outbox, the node ⇄ relay link
 * and the relay's ingest and delivery to a cloud consumer on the relay's broker. Baseline in the
 * same run: a raw QoS 1 publish on the relay's broker straight back to its publisher (a second
 * joined node's own subtree): no outbox, no store, no second broker.
 *
 * 1. throughput: N messages published at once (the app keeps up to 100 unacknowledged), timed
 *    from the first publish to the consumer's last message (messages/s)
 * 2. latency with the node online: one message every 10 ms, publish → consumer (p50/p99, ms)
 *
 * Usage: node bench/appchan.mjs [messages=5000] [latencySamples=500]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { bundle } from '../build.mjs';
import { benchConfig, emit, freePort, percentile, ROOT, round, sleep, spawnUntil, stop } from './lib.mjs';

const N = Number(process.argv[2] ?? 5000);
const SAMPLES = Number(process.argv[3] ?? 500);
const INFLIGHT = 100;
const ADMIN = 'bench-admin';
const CONSUMER = { username: 'app.bench', password: 'bench-consumer' };
const progress = (m) => (process.env.QUIET ? undefined : process.stderr.write(`[appchan] ${m}\n`));
const now = () => Number(process.hrtime.bigint()) / 1e6;
const stats = (v) => ({ p50: round(percentile(v, 50), 2), p99: round(percentile(v, 99), 2), n: v.length });

const outdir = join(ROOT, '.edgecore', `bench-dist-${process.pid}`);
await bundle(outdir);

// ---- relay ----
const cfg = benchConfig();
const [api, mq, eventbus] = [await freePort(), await freePort(), await freePort()];
const relayCfg = join(cfg.dir, 'relay.yaml');
writeFileSync(
  relayCfg,
  JSON.stringify({
    dataDir: join(cfg.dir, 'relay'),
    log: { level: 'info', format: 'json' },
    api: { host: '127.0.0.1', port: api, adminToken: ADMIN, tls: { enabled: false } },
    broker: { host: '127.0.0.1', port: mq, tls: { enabled: false }, plaintext: true, ws: { enabled: false } },
    appchannel: {
      // the bench measures the path, not the quota
      quota: { messagesPerSecond: 1e6, burst: 1e6, bytesPerSecond: 1e9 },
      consumers: [{ name: 'bench', password: CONSUMER.password, namespaces: ['*'] }],
    },
  }),
);
const relay = await spawnUntil(process.execPath, [join(outdir, 'edgerelay.js'), 'run', '--config', relayCfg], /edgerelay ready/);
const base = `http://127.0.0.1:${api}`;
const http = async (method, path, body) => {
  const r = await fetch(base + path, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
};
const join_ = async (node) => {
  const { token } = await http('POST', '/edge/v1/tokens', {});
  return (await fetch(base + '/edge/v1/join', { method: 'POST', body: JSON.stringify({ token, node }) })).json();
};
const nodeName = `bench-app-${process.pid}`;
const rawName = `bench-raw-${process.pid}`;
const joined = await join_(nodeName);
const rawJoined = await join_(rawName);

await http('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
const rules = '/apis/rules.kubeedge.io/v1/namespaces/bench';
await http('POST', `${rules}/ruleendpoints`, { apiVersion: 'rules.kubeedge.io/v1', kind: 'RuleEndpoint', metadata: { name: 'bus' }, spec: { ruleEndpointType: 'eventbus', properties: {} } });
await http('POST', `${rules}/ruleendpoints`, { apiVersion: 'rules.kubeedge.io/v1', kind: 'RuleEndpoint', metadata: { name: 'cloud' }, spec: { ruleEndpointType: 'mqtt' } });
await http('POST', `${rules}/rules`, { apiVersion: 'rules.kubeedge.io/v1', kind: 'Rule', metadata: { name: 'up' }, spec: { source: 'bus', sourceResource: { topic: 'data', node_name: nodeName }, target: 'cloud', targetResource: { topic: 'data' } } });

// ---- node ----
writeFileSync(
  cfg.file,
  JSON.stringify({
    node: { name: nodeName },
    dataDir: join(cfg.dir, 'data'),
    log: { level: 'info', format: 'json' },
    ops: { port: 0 },
    modules: {
      metamanager: { api: { enabled: false } },
      eventbus: { host: '127.0.0.1', port: eventbus },
      devicetwin: { enabled: false },
      nodestatus: { enabled: false },
      edged: { enabled: false, staticPodPath: '' },
      edgehub: { enabled: true, relay: { url: joined.brokerUrl, username: joined.username, password: joined.password } },
    },
  }),
);
const node = await spawnUntil(process.execPath, [join(outdir, 'edgecore.js'), 'run', '--config', cfg.file], /edgecore ready/);

// ---- clients ----
const consumer = await mqtt.connectAsync(`mqtt://127.0.0.1:${mq}`, { clientId: `${CONSUMER.username}-${process.pid}`, username: CONSUMER.username, password: CONSUMER.password });
await consumer.subscribeAsync('edgecore/v1/apps/bench/up/#', { qos: 1 });
const app = await mqtt.connectAsync(`mqtt://127.0.0.1:${eventbus}`, { clientId: `bench-app-${process.pid}` });
const raw = await mqtt.connectAsync(`mqtt://127.0.0.1:${mq}`, { clientId: rawName, username: rawJoined.username, password: rawJoined.password });
// a channel the contract lets a node publish (NODE_PUBLISHES) and read back in its own subtree; the
// relay's node link refuses the payload (not an RPC answer) after the broker delivered it
const rawTopic = `edgecore/v1/nodes/${rawName}/rpc/response`;
await raw.subscribeAsync(rawTopic, { qos: 1 });

let onChannel;
consumer.on('message', (_t, p) => onChannel?.(p));
let onRaw;
raw.on('message', (_t, p) => onRaw?.(p));

// the route reaches the node: wait until one message gets through
for (let i = 0; ; i++) {
  const got = new Promise((r) => (onChannel = r));
  await app.publishAsync('bench/data', 'warm', { qos: 1 });
  if (await Promise.race([got.then(() => true), sleep(1000).then(() => false)])) break;
  if (i > 60) throw new Error('no message reached the consumer');
}
progress('route up');

/** publish n messages with at most INFLIGHT unacknowledged; resolves when `receiver` has n */
async function throughput(client, topic, setReceiver, n) {
  let received = 0;
  const done = new Promise((resolve) => setReceiver(() => ++received === n && resolve()));
  const t0 = now();
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await client.publishAsync(topic, JSON.stringify({ i, pad: 'x'.repeat(100) }), { qos: 1 });
    }
  };
  await Promise.all(Array.from({ length: INFLIGHT }, worker));
  await done;
  return n / ((now() - t0) / 1000);
}

/** one message every 10 ms; each message's time from publish to arrival */
async function latency(client, topic, setReceiver, n) {
  const out = [];
  setReceiver((p) => {
    const m = JSON.parse(p.toString());
    if (m.sent !== undefined) out.push(now() - m.sent);
  });
  for (let i = 0; i < n; i++) {
    void client.publishAsync(topic, JSON.stringify({ sent: now() }), { qos: 1 });
    await sleep(10);
  }
  while (out.length < n) await sleep(50);
  return out;
}

const rawTp = await throughput(raw, rawTopic, (f) => (onRaw = f), N);
progress('raw throughput done');
const chanTp = await throughput(app, 'bench/data', (f) => (onChannel = f), N);
progress('channel throughput done');
const rawLat = await latency(raw, rawTopic, (f) => (onRaw = f), SAMPLES);
const chanLat = await latency(app, 'bench/data', (f) => (onChannel = f), SAMPLES);
progress('latency done');

await Promise.all([consumer.endAsync(), app.endAsync(), raw.endAsync()]);
await stop(node.child);
await stop(relay.child);
cfg.cleanup();

emit('appchan', {
  conditions: 'loopback, embedded brokers, relay and node bundles, QoS 1 everywhere, ~110-byte payloads, 2 vCPU shared with the clients',
  messages: N,
  throughputMsgPerSec: { channel: round(chanTp, 0), rawRelayBroker: round(rawTp, 0), ratio: round(chanTp / rawTp, 3) },
  latencyMs: { channel: stats(chanLat), rawRelayBroker: stats(rawLat) },
});
