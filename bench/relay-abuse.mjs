#!/usr/bin/env node
/**
 * What one compromised node can do to the relay's memory (issue 18, point 4), with the issue's
 * own figures: a real `edgerelay` process (the bundle, embedded aedes broker, plain listeners)
 * and one joined node's real credentials in an MQTT client of this process.
 *
 *   junk      2,000 retained 50 KB messages (on a topic of its own subtree, then on reported/state)
 *   huge      one 100 MB retained publish
 *   sync      2,000 `sync` requests against a 500 KB desired document
 *
 * and two baselines: `churn`, 2,000 reconnects of the node with nothing but a refused byte (what
 * `junk` costs once every retained publish is refused: the broker closes the connection), and
 * `oversized`, 2,000 messages of 50 KB on a channel whose limit is 4 KiB (taken, then dropped
 * at the contract edge).
 *
 * Each attack runs against a fresh relay. Printed per attack: the relay's RSS idle (the same-run
 * baseline), its peak while the attack runs (sampled every 50 ms) and once it settled, and what
 * the broker did with the attack (accepted / refused, documents sent back).
 *
 *   node build.mjs && node bench/relay-abuse.mjs          (≈ 1 min here)
 *   ATTACKS=sync node bench/relay-abuse.mjs               one of them
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { emit, freePort, ROOT, rssKiB, sleep } from './lib.mjs';

const ADMIN = 'bench-admin';
const T = 'edgecore/v1/nodes';
const ATTACKS = (process.env.ATTACKS ?? 'churn,junk,huge,oversized,sync').split(',');
const progress = (m) => (process.env.QUIET ? undefined : process.stderr.write(`[relay-abuse] ${m}\n`));
const MiB = (kib) => Math.round((kib / 1024) * 10) / 10;


async function startRelay() {
  const dir = mkdtempSync(join(tmpdir(), 'edgecore-bench-abuse-'));
  const [api, mq] = [await freePort(), await freePort()];
  writeFileSync(
    join(dir, 'relay.yaml'),
    // plain listeners, explicitly: the figures are about sizes and counts, not TLS
    `dataDir: ${dir}/data\nlog: { level: error }\napi: { host: 127.0.0.1, port: ${api}, adminToken: ${ADMIN}, tls: { enabled: false } }\n` +
      `broker: { host: 127.0.0.1, port: ${mq}, plaintext: true, tls: { enabled: false }, ws: { enabled: false } }\n`,
  );
  const child = spawn(process.execPath, [join(ROOT, 'dist/edgerelay.js'), 'run', '--config', join(dir, 'relay.yaml')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const base = `http://127.0.0.1:${api}`;
  const call = async (method, path, body) => {
    const r = await fetch(base + path, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const text = await r.text();
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 300)}`);
    return JSON.parse(text);
  };
  for (let i = 0; ; i++) {
    try {
      await fetch(`${base}/healthz`);
      break;
    } catch {
      if (i > 100) throw new Error('relay did not start');
      await sleep(100);
    }
  }
  const { token } = await call('POST', '/edge/v1/tokens', {});
  const node = 'victim';
  const creds = await call('POST', '/edge/v1/join', { token, node });
  return {
    child,
    call,
    node,
    url: `mqtt://127.0.0.1:${mq}`,
    creds,
    healthy: async () => (await fetch(`${base}/healthz`)).ok,
    stop: async () => {
      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const connect = (relay, opts = {}) =>
  mqtt.connectAsync(relay.url, { clientId: relay.node, username: relay.creds.username, password: relay.creds.password, clean: true, reconnectPeriod: 0, ...opts });

/** Publish QoS 1; resolves 'accepted' on PUBACK, 'refused' when the broker closes the connection instead. */
function publishOrRefused(client, topic, payload, opts) {
  return new Promise((resolve) => {
    const onClose = () => resolve('refused');
    client.once('close', onClose);
    client.publish(topic, payload, { qos: 1, ...opts }, (err) => {
      client.off('close', onClose);
      resolve(err ? 'refused' : 'accepted');
    });
  });
}

/** Sample the relay's RSS every 50 ms while `fn` runs; the peak in KiB. */
async function peakDuring(pid, fn) {
  let peak = rssKiB(pid);
  const t = setInterval(() => {
    try {
      peak = Math.max(peak, rssKiB(pid));
    } catch {
      /* exited */
    }
  }, 50);
  try {
    const result = await fn();
    await sleep(1500);
    return { peak: Math.max(peak, rssKiB(pid)), result };
  } finally {
    clearInterval(t);
  }
}

async function settled(pid) {
  await sleep(3000);
  return rssKiB(pid);
}

const attacks = {
  /** 2,000 retained 50 KB messages: half on a topic of the node's own subtree, half on reported/state */
  async junk(relay) {
    const body = Buffer.alloc(50 * 1024, 'x');
    let client = await connect(relay);
    const counts = { accepted: 0, refused: 0 };
    for (let i = 0; i < 2000; i++) {
      const topic = i % 2 === 0 ? `${T}/${relay.node}/junk/${i}` : `${T}/${relay.node}/reported/state`;
      const r = await publishOrRefused(client, topic, body, { retain: true });
      counts[r]++;
      if (r === 'refused') {
        await client.endAsync(true).catch(() => undefined);
        client = await connect(relay);
      }
    }
    await client.endAsync(true).catch(() => undefined);
    return counts;
  },
  /** baseline for junk: 2,000 reconnects of the node, each publishing one byte where it may not (refused, so the next reconnects) */
  async churn(relay) {
    let client = await connect(relay);
    const counts = { accepted: 0, refused: 0 };
    for (let i = 0; i < 2000; i++) {
      const r = await publishOrRefused(client, `${T}/${relay.node}/junk/${i}`, 'x', { retain: true });
      counts[r]++;
      if (r === 'refused') {
        await client.endAsync(true).catch(() => undefined);
        client = await connect(relay);
      }
    }
    await client.endAsync(true).catch(() => undefined);
    return counts;
  },
  /** 2,000 messages of 50 KB on heartbeat (limit 4 KiB): taken by the broker, dropped at the contract edge */
  async oversized(relay) {
    const client = await connect(relay);
    const body = Buffer.alloc(50 * 1024, 'x');
    const counts = { accepted: 0, refused: 0 };
    for (let i = 0; i < 2000; i++) counts[await publishOrRefused(client, `${T}/${relay.node}/heartbeat`, body, {})]++;
    await client.endAsync(true).catch(() => undefined);
    return counts;
  },
  /** one 100 MB retained publish */
  async huge(relay) {
    const client = await connect(relay);
    const r = await publishOrRefused(client, `${T}/${relay.node}/junk/big`, Buffer.alloc(100 * 1024 * 1024, 'y'), { retain: true });
    await client.endAsync(true).catch(() => undefined);
    return { publish: r };
  },
  /** 2,000 sync requests against a 500 KB document */
  async sync(relay) {
    // ten ConfigMaps of 50 KB each on the node: a 500 KB desired document
    const cm = (i) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: `big-${i}` }, data: { blob: 'z'.repeat(50 * 1024) } });
    try {
      // the relay's private object routes (before the node link): placed on the node
      for (let i = 0; i < 10; i++) await relay.call('POST', '/edge/v1/apply', { node: relay.node, object: cm(i) });
    } catch (e) {
      if (!/: 404 /.test(e.message)) throw e;
      // the node link: a document holds the ConfigMaps its pods reference
      for (let i = 0; i < 10; i++) await relay.call('POST', '/api/v1/namespaces/default/configmaps', cm(i));
      const envFrom = Array.from({ length: 10 }, (_, i) => ({ configMapRef: { name: `big-${i}` } }));
      await relay.call('POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'holder' }, spec: { nodeName: relay.node, containers: [{ name: 'c', image: 'busybox:1', envFrom }] } });
    }
    const client = await connect(relay);
    let documents = 0;
    let bytes = 0;
    client.on('message', (_t, p) => {
      documents++;
      bytes = p.length;
    });
    await client.subscribeAsync(`${T}/${relay.node}/desired`, { qos: 1 });
    await sleep(500);
    documents = 0;
    const sync = JSON.stringify({ epoch: '', appliedVersion: 0, bootId: 'bench', timestamp: Date.now() });
    const acks = [];
    for (let i = 0; i < 2000; i++) acks.push(client.publishAsync(`${T}/${relay.node}/sync`, sync, { qos: 1 }));
    await Promise.all(acks);
    await sleep(3000);
    await client.endAsync(true).catch(() => undefined);
    return { syncRequests: 2000, documentsSentBack: documents, documentBytes: bytes };
  },
};

const out = { machine: '2 vCPU (shared)', transport: 'mqtt (plain TCP), embedded aedes', attacks: {} };
for (const name of ATTACKS) {
  progress(name);
  const relay = await startRelay();
  try {
    await sleep(1000);
    const idle = rssKiB(relay.child.pid);
    const { peak, result } = await peakDuring(relay.child.pid, () => attacks[name](relay));
    const after = await settled(relay.child.pid);
    out.attacks[name] = { relayRssMiB: { idle: MiB(idle), peak: MiB(peak), settled: MiB(after), peakOverIdle: MiB(peak - idle) }, ...result, healthyAfter: await relay.healthy() };
  } finally {
    await relay.stop();
  }
}
emit('relay-abuse', out);
