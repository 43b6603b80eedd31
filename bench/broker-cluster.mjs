#!/usr/bin/env node
/**
 * Which clustered MQTT broker from Debian's packages serves a relay fleet (issue 19, docs/scale.md):
 * NATS with JetStream's MQTT and RabbitMQ's MQTT plugin, each as a 3-member cluster on loopback,
 * against one mosquitto measured in the same run (the single-broker baseline).
 *
 * For each (test/helpers/broker-cluster.ts starts them, private ports and folders):
 * - retained: a retained desired document published on member 0 — seen by a subscriber on member 1?
 *   still there after member 0 is killed (SIGKILL), seen on member 2?
 * - dotted node names: a report on edgecore/v1/nodes/node-1.example/... delivered?
 * - QoS 1: NODES publishers on member 0 × MSGS messages each (WINDOW in flight), one relay-like
 *   subscriber (persistent session) on member 1: msgs/s, latency p50/p99, lost, duplicated, out of order.
 * - failover: a node publishing on member 0 (member list [0, 2]) while member 0 is killed; then the
 *   relay's subscriber on member 1 (list [1, 2]) while member 1 is killed: every acknowledged
 *   message received? duplicates, reordering, ms from the kill to the next acknowledgement/delivery.
 * - memory: RSS growth of member 0 for CONNS idle clients (each subscribed to its desired topic), per 1,000.
 *
 *   node bench/broker-cluster.mjs     (KINDS=mosquitto,nats,rabbitmq NODES=10 MSGS=500 WINDOW=16 CONNS=1000)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { register } from 'tsx/esm/api';
import { emit, percentile, round, rssKiB, sleep } from './lib.mjs';

register();
const { startBrokerCluster } = await import(new URL('../test/helpers/broker-cluster.ts', import.meta.url).href);

const KINDS = (process.env.KINDS ?? 'mosquitto,nats,rabbitmq').split(',');
const NODES = Number(process.env.NODES ?? 10);
const MSGS = Number(process.env.MSGS ?? 500);
const WINDOW = Number(process.env.WINDOW ?? 16);
const CONNS = Number(process.env.CONNS ?? 1000);
const FAILOVER_MSGS = Number(process.env.FAILOVER_MSGS ?? 1500);
const ROOT_TOPIC = 'edgecore/v1/nodes';

const now = () => Number(process.hrtime.bigint()) / 1e6;

/** a client on `urls` (rotating through them on reconnect, as a node does), resolved on its first CONNACK */
function client(urls, clientId, opts = {}) {
  const servers = urls.map((u) => ({ host: new URL(u).hostname, port: Number(new URL(u).port) }));
  const c = mqtt.connect({ servers, clientId, reconnectPeriod: 300, connectTimeout: 10_000, protocolVersion: 4, ...opts });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`${clientId}: no CONNACK from ${urls}`)), 60_000);
    c.once('connect', () => (clearTimeout(t), resolve(c)));
  });
}

async function until(fn, ms = 60_000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (fn()) return true;
    await sleep(50);
  }
  return false;
}

/**
 * A fresh subscriber on `url`: does it get the retained message on `topic`? Retried for 60 s (a
 * cluster that lost a member may refuse subscriptions while it elects new leaders); with the ms it took.
 */
async function seesRetained(url, topic, expect) {
  const t0 = now();
  let error;
  while (now() - t0 < 60_000) {
    const c = await client([url], `ret-${Math.random().toString(36).slice(2)}`, { clean: true });
    let got = false;
    c.on('message', (_t, p) => (got ||= String(p) === expect));
    try {
      await c.subscribeAsync(topic, { qos: 1 });
      await until(() => got, 5000);
      await c.endAsync(true);
      return { seen: got, ms: round(now() - t0, 0) };
    } catch (e) {
      error = String(e?.message ?? e);
      await c.endAsync(true);
      await sleep(500);
    }
  }
  return { seen: false, error };
}

/** What a subscriber received per node: lost (acked, never received), duplicates, out of order. */
function tally(sent, received) {
  let lost = 0, dup = 0, reordered = 0;
  for (const [node, acked] of sent) {
    const got = received.get(node) ?? [];
    const seen = new Set();
    let last = -1;
    for (const s of got) {
      if (seen.has(s)) dup++;
      else if (s < last) reordered++;
      seen.add(s);
      last = Math.max(last, s);
    }
    for (const s of acked) if (!seen.has(s)) lost++;
  }
  return { lost, duplicated: dup, outOfOrder: reordered };
}

/** a relay-like subscriber (persistent session, QoS 1) collecting seq numbers per node */
async function relaySubscriber(urls, id, channel) {
  const received = new Map();
  const lat = [];
  const times = [];
  let lastAt = 0;
  const c = await client(urls, id, { clean: false });
  c.on('message', (t, p) => {
    const m = JSON.parse(String(p));
    const node = t.split('/')[3];
    if (!received.has(node)) received.set(node, []);
    received.get(node).push(m.seq);
    lat.push(now() - m.at);
    lastAt = now();
    times.push(lastAt);
  });
  await c.subscribeAsync(`${ROOT_TOPIC}/+/${channel}`, { qos: 1 });
  return { c, received, lat, times, lastAt: () => lastAt };
}

/** publish `count` QoS 1 messages with seq numbers, `window` in flight; returns the acked seqs */
async function publishSeq(c, node, channel, count, window, onAck = () => {}) {
  const acked = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const seq = next++;
      try {
        await c.publishAsync(`${ROOT_TOPIC}/${node}/${channel}`, JSON.stringify({ seq, at: now() }), { qos: 1 });
        acked.push(seq);
        onAck(seq);
      } catch {
        /* not acknowledged: not counted as sent */
      }
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  return acked;
}

async function qos1(cl) {
  const b = cl.urls.length > 1 ? 1 : 0;
  const sub = await relaySubscriber([cl.urls[b]], 'bench-relay-q', 'reported/state');
  const pubs = await Promise.all(Array.from({ length: NODES }, (_, i) => client([cl.urls[0]], `q-node-${i}`, { clean: false })));
  const t0 = now();
  const sent = new Map();
  await Promise.all(pubs.map(async (p, i) => sent.set(`q-node-${i}`, await publishSeq(p, `q-node-${i}`, 'reported/state', MSGS, WINDOW))));
  const total = NODES * MSGS;
  await until(() => [...sub.received.values()].reduce((n, v) => n + v.length, 0) >= total, 60_000);
  const secs = (sub.lastAt() - t0) / 1000;
  const r = { msgsPerSec: round(total / secs, 0), latencyMs: { p50: round(percentile(sub.lat, 50)), p99: round(percentile(sub.lat, 99)) }, ...tally(sent, sub.received) };
  await Promise.all([...pubs.map((p) => p.endAsync(true)), sub.c.endAsync(true)]);
  return r;
}

/** kill `victim` while `publisherUrls[0]`'s node publishes to the subscriber on `subUrls` */
async function failover(cl, victim, publisherUrls, subUrls, tag) {
  const sub = await relaySubscriber(subUrls, `bench-relay-${tag}`, 'reported/telemetry');
  const p = await client(publisherUrls, `f-node-${tag}`, { clean: false });
  let killedAt = 0, afterKill = 0, killing;
  const acked = await publishSeq(p, `f-node-${tag}`, 'reported/telemetry', FAILOVER_MSGS, 4, (seq) => {
    if (seq >= FAILOVER_MSGS / 3 && !killing) killing = cl.kill(victim).then(() => (killedAt = now()));
    if (killedAt && !afterKill) afterKill = now();
  });
  await killing;
  await until(() => new Set(sub.received.get(`f-node-${tag}`) ?? []).size >= acked.length, 60_000);
  const delivered = sub.times.find((t) => t > killedAt);
  const r = {
    acked: acked.length,
    msKillToNextAck: afterKill ? round(afterKill - killedAt, 0) : null,
    msKillToNextDelivery: delivered ? round(delivered - killedAt, 0) : null,
    ...tally(new Map([[`f-node-${tag}`, acked]]), sub.received),
  };
  await Promise.all([p.endAsync(true), sub.c.endAsync(true)]);
  await cl.restart(victim);
  return r;
}

async function memory(cl) {
  const pid = cl.pid(0);
  const before = rssKiB(pid);
  const cs = [];
  for (let i = 0; i < CONNS; i += 50) {
    cs.push(...(await Promise.all(Array.from({ length: Math.min(50, CONNS - i) }, (_, j) => client([cl.urls[0]], `m-node-${i + j}`, { clean: true, keepalive: 600 })))));
  }
  // 50 subscriptions at a time, each retried: a JetStream cluster refuses some while it is busy
  let refused = 0;
  for (let i = 0; i < cs.length; i += 50) {
    await Promise.all(
      cs.slice(i, i + 50).map(async (c, j) => {
        for (let attempt = 0; attempt < 5; attempt++) {
          try {
            return void (await c.subscribeAsync(`${ROOT_TOPIC}/m-node-${i + j}/desired`, { qos: 1 }));
          } catch {
            refused++;
            await sleep(1000);
          }
        }
        throw new Error(`m-node-${i + j}: subscription refused 5 times`);
      }),
    );
  }
  await sleep(2000);
  const after = rssKiB(pid);
  await Promise.all(cs.map((c) => c.endAsync(true)));
  return { connections: CONNS, refusedThenRetried: refused, rssBeforeMiB: round(before / 1024, 1), rssAfterMiB: round(after / 1024, 1), miBPer1k: round((after - before) / 1024 / (CONNS / 1000), 1) };
}

async function dotted(cl) {
  const sub = await client([cl.urls[cl.urls.length > 1 ? 1 : 0]], 'dot-sub', { clean: true });
  let got = false;
  sub.on('message', () => (got = true));
  await sub.subscribeAsync(`${ROOT_TOPIC}/+/heartbeat`, { qos: 1 });
  const p = await client([cl.urls[0]], 'dot-node', { clean: true, reconnectPeriod: 0 });
  let closed = false;
  p.on('close', () => (closed = true));
  p.publish(`${ROOT_TOPIC}/node-1.example/heartbeat`, '{}', { qos: 1 });
  await until(() => got || closed, 5000);
  const disconnected = closed;
  await Promise.all([sub.endAsync(true), p.endAsync(true)]);
  return { delivered: got, publisherDisconnected: disconnected };
}

async function measure(kind) {
  const dir = mkdtempSync(join(tmpdir(), `bench-broker-${kind}-`));
  const t0 = now();
  const cl = await startBrokerCluster(kind, dir, 3);
  const out = { members: cl.urls.length, startMs: round(now() - t0, 0) };
  try {
    const m = cl.urls.length;
    const topic = `${ROOT_TOPIC}/ret-node/desired`;
    const c = await client([cl.urls[0]], 'ret-pub', { clean: true });
    await c.publishAsync(topic, 'v1', { qos: 1, retain: true });
    await c.endAsync(true);
    out.retained = { otherMember: await seesRetained(cl.urls[m > 1 ? 1 : 0], topic, 'v1') };
    if (m > 2) {
      await cl.kill(0);
      out.retained.afterOwnerKilled = await seesRetained(cl.urls[2], topic, 'v1');
      await cl.restart(0);
    }
    out.dottedNodeName = await dotted(cl);
    out.qos1 = await qos1(cl);
    if (m > 2) {
      out.failoverPublisherMember = await failover(cl, 0, [cl.urls[0], cl.urls[2]], [cl.urls[1]], 'p');
      out.failoverSubscriberMember = await failover(cl, 1, [cl.urls[0]], [cl.urls[1], cl.urls[2]], 's');
    }
    out.memory = await memory(cl);
  } catch (e) {
    out.error = String(e?.message ?? e);
  } finally {
    await cl.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

const results = {};
for (const k of KINDS) results[k] = await measure(k);
emit('broker-cluster', { nodes: NODES, msgs: MSGS, window: WINDOW, failoverMsgs: FAILOVER_MSGS, ...results });
process.exit(0);
