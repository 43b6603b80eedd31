#!/usr/bin/env node
/**
 * Relay scale bench: one `edgerelay` process (embedded aedes broker, SQLite) and N simulated
 * nodes — lightweight MQTT clients in this process speaking the contract (persistent session,
 * retained presence + Will, subscribe desired + rpc, sync on connect, heartbeats).
 *
 * Prints JSON: relay RSS idle (baseline) and with N nodes → bytes per node and an extrapolation;
 * time to fan one fleet-wide change out to all nodes (vs. one node-bound change to one node);
 * a reconnect storm of all nodes; idle uplink bytes per node per minute.
 *
 *   node bench/relay-scale.mjs            (NODES=5000 by default: ≈ 25 s here; 10000 ≈ 45 s)
 *   TLS=1 node bench/relay-scale.mjs      the same over the relay's defaults: HTTPS API, MQTT over TLS
 *                                         with its own CA (the simulator verifies it, as nodes do)
 */
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { pbkdf2Sync, randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env.NODES ?? 5000);
const TLS = process.env.TLS === '1';
const HEARTBEAT_S = 30;
const ADMIN = 'bench-admin';
const T = 'edgecore/v1/nodes';

if (!existsSync(join(root, 'dist/edgerelay.js'))) execFileSync(process.execPath, [join(root, 'build.mjs')], { stdio: 'inherit' });

const freePort = () =>
  new Promise((res) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => res(p));
    });
  });
const progress = (m) => process.env.QUIET ? undefined : process.stderr.write(`[relay-scale] ${m}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rssKiB = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

const dir = mkdtempSync(join(tmpdir(), 'edgecore-bench-relay-'));
const [api, mq, ws] = [await freePort(), await freePort(), await freePort()];
writeFileSync(
  join(dir, 'relay.yaml'),
  TLS
    ? `dataDir: ${dir}/data\nlog: { level: warn }\napi: { host: 127.0.0.1, port: ${api}, adminToken: ${ADMIN} }\nbroker: { host: 127.0.0.1, tls: { port: ${mq} }, ws: { port: ${ws} } }\n`
    : // plain listeners, explicitly: the default figures are for MQTT over plain TCP
      `dataDir: ${dir}/data\nlog: { level: warn }\napi: { host: 127.0.0.1, port: ${api}, adminToken: ${ADMIN}, tls: { enabled: false } }\nbroker: { host: 127.0.0.1, port: ${mq}, plaintext: true, tls: { enabled: false }, ws: { port: ${ws} } }\n`,
);
const startRelay = async () => {
  const p = spawn(process.execPath, [join(root, 'dist/edgerelay.js'), 'run', '--config', join(dir, 'relay.yaml')], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; ; i++) {
    try {
      await call('GET', '/healthz');
      return p;
    } catch {
      if (i > 100) throw new Error('relay did not start');
      await sleep(100);
    }
  }
};
const base = `${TLS ? 'https' : 'http'}://127.0.0.1:${api}`;
const caFile = join(dir, 'data', 'pki', 'ca.crt');
/** Node's fetch takes no CA: one request over node:https (or fetch for plain HTTP) */
const request = (method, path, body, headers = {}) =>
  TLS
    ? new Promise((resolve, reject) => {
        const req = httpsRequest(base + path, { method, headers, ca: readFileSync(caFile), agent: false }, (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ ok: res.statusCode < 300, status: res.statusCode, text }));
        });
        req.on('error', reject);
        req.end(body);
      })
    : fetch(base + path, { method, headers, body }).then(async (r) => ({ ok: r.ok, status: r.status, text: await r.text() }));
const call = async (method, path, body) => {
  const r = await request(method, path, body ? JSON.stringify(body) : undefined, { authorization: `Bearer ${ADMIN}` });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return JSON.parse(r.text);
};
// Joining thousands of nodes over HTTP (one PBKDF2 each) would eat the bench's time budget: a
// few nodes join through the API (timed), the rest are written straight into the relay's SQLite
// store with one shared password hash (the rows a join writes), then the relay restarts.
let relay = await startRelay();
for (const sig of ['SIGTERM', 'SIGINT']) process.once(sig, () => { relay.kill('SIGKILL'); process.exit(1); });
const { token } = await call('POST', '/edge/v1/tokens', { ttlSeconds: 3600 });
const JOINED_VIA_API = Math.min(N, 50);
const tj = Date.now();
const creds = [];
for (let j = 0; j < JOINED_VIA_API; j++) {
  creds.push(JSON.parse((await request('POST', '/edge/v1/join', JSON.stringify({ token, node: `sim-${j}` }))).text));
}
const joinMsEach = (Date.now() - tj) / JOINED_VIA_API;
relay.kill('SIGTERM');
await new Promise((r) => relay.once('exit', r));
{
  const salt = randomBytes(12);
  const pw = 'bench-password';
  const hash = `$7$1000$${salt.toString('base64')}$${pbkdf2Sync(pw, salt, 1000, 64, 'sha512').toString('base64')}`;
  const db = new Database(join(dir, 'data', 'relay.db'));
  const now = new Date().toISOString();
  const ins = db.prepare('INSERT INTO nodes (name, password_hash, labels, joined_at) VALUES (?, ?, ?, ?)');
  const ver = db.prepare('INSERT INTO node_versions (node, version) VALUES (?, 1)');
  db.transaction(() => {
    for (let j = JOINED_VIA_API; j < N; j++) {
      ins.run(`sim-${j}`, hash, '{}', now);
      ver.run(`sim-${j}`);
      creds.push({ node: `sim-${j}`, username: `sim-${j}`, password: pw });
    }
  })();
  db.close();
}
relay = await startRelay();

const out = { nodes: N, machine: '2 vCPU (shared)', heartbeatSeconds: HEARTBEAT_S, transport: TLS ? 'mqtts (ECDSA P-256, relay CA verified)' : 'mqtt (plain TCP)' };
const ca = TLS ? readFileSync(caFile) : undefined;
try {
  out.joinMsEach = +joinMsEach.toFixed(1);
  let t0;
  await sleep(500);
  const idleKiB = rssKiB(relay.pid);

  // connect all
  const clients = new Array(N);
  const versions = new Array(N).fill(0);
  let waiters = [];
  const onDoc = () => {
    waiters = waiters.filter((w) => !w());
  };
  const connectOne = (i) =>
    new Promise((resolve, reject) => {
      const c = creds[i];
      const cl = mqtt.connect(`${TLS ? 'mqtts' : 'mqtt'}://127.0.0.1:${mq}`, {
        ...(ca ? { ca } : {}),
        clientId: c.node,
        username: c.username,
        password: c.password,
        clean: false,
        keepalive: 60,
        reconnectPeriod: 0,
        connectTimeout: 60_000,
        will: { topic: `${T}/${c.node}/presence`, payload: '{"online":false}', qos: 1, retain: true },
      });
      cl.on('message', (topic, payload) => {
        if (topic.endsWith('/desired')) {
          versions[i] = JSON.parse(payload.toString()).version;
          onDoc();
        }
      });
      cl.once('connect', () => {
        cl.subscribe([`${T}/${c.node}/desired`, `${T}/${c.node}/rpc/request`], { qos: 1 }, () => {
          cl.publish(`${T}/${c.node}/presence`, JSON.stringify({ online: true, bootId: 'b', agentVersion: 'bench', timestamp: Date.now() }), { qos: 1, retain: true });
          cl.publish(`${T}/${c.node}/sync`, JSON.stringify({ epoch: '', appliedVersion: 0, bootId: 'b', timestamp: Date.now() }), { qos: 1 });
          resolve(cl);
        });
      });
      cl.once('error', reject);
    });
  const connectAll = async () => {
    for (let i = 0; i < N; i += 200) {
      const batch = [];
      for (let j = i; j < Math.min(N, i + 200); j++) batch.push(connectOne(j).then((cl) => (clients[j] = cl)));
      await Promise.all(batch);
    }
  };
  const untilAll = (pred, timeoutMs) =>
    new Promise((resolve, reject) => {
      const check = () => {
        if (pred()) {
          resolve();
          return true;
        }
        return false;
      };
      if (check()) return;
      waiters.push(check);
      setTimeout(() => reject(new Error('timeout')), timeoutMs).unref();
    });
  progress('connecting');
  t0 = Date.now();
  await connectAll();
  progress(`connected in ${(Date.now() - t0) / 1000}s; waiting for documents`);
  await untilAll(() => versions.every((v) => v > 0), 60_000);
  out.connectSeconds = (Date.now() - t0) / 1000;
  await sleep(1500);
  const fullKiB = rssKiB(relay.pid);
  out.relayRssMiB = { idle: +(idleKiB / 1024).toFixed(1), withNodes: +(fullKiB / 1024).toFixed(1) };
  out.bytesPerNode = Math.round(((fullKiB - idleKiB) * 1024) / N);
  out.extrapolatedRssMiBAt20k = +((idleKiB * 1024 + out.bytesPerNode * 20_000) / 1048576).toFixed(0);

  progress('fan-out');
  // fan-out: one node-bound change (baseline) vs one fleet-wide change
  const cm = (name) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { k: 'v' } });
  const before0 = versions[0];
  t0 = performance.now();
  await call('POST', '/edge/v1/apply', { object: cm('one'), node: 'sim-0' });
  await untilAll(() => versions[0] > before0, 30_000);
  const oneMs = performance.now() - t0;
  const before = [...versions];
  t0 = performance.now();
  await call('POST', '/edge/v1/apply', { object: cm('everyone') });
  await untilAll(() => versions.every((v, i) => v > before[i]), 60_000);
  const allMs = performance.now() - t0;
  out.fanout = { oneNodeMs: +oneMs.toFixed(1), allNodesMs: +allMs.toFixed(1), ratio: +(allMs / oneMs).toFixed(1), perNodeUs: +((allMs * 1000) / N).toFixed(1) };

  // idle uplink: bytes of one heartbeat as written on the socket, per minute at the heartbeat period
  const s = clients[1].stream;
  const w0 = s.bytesWritten;
  await new Promise((r) => clients[1].publish(`${T}/sim-1/heartbeat`, JSON.stringify({ v: versions[1], q: 0, t: Date.now() }), { qos: 0 }, r));
  await sleep(50);
  const hbBytes = s.bytesWritten - w0;
  const mqttPerMin = hbBytes * (60 / HEARTBEAT_S);
  // + TCP/IPv4 headers (40 B + 12 B timestamps) on the heartbeat segment and on the ACK going up for the relay's nothing
  const wirePerMin = (hbBytes + 52) * (60 / HEARTBEAT_S);
  out.idleUplink = {
    heartbeatBytes: hbBytes,
    mqttBytesPerMin: mqttPerMin,
    wireBytesPerMinIncludingTcpIp: wirePerMin,
    kbitPerSecond: +((wirePerMin * 8) / 60 / 1000).toFixed(4),
    goalKbitPerSecond: 0.1,
    note: 'heartbeats (QoS0) reset the MQTT keepalive timer, so no PINGREQ while heartbeats flow; TLS would add ~22 B per record',
  };

  progress('reconnect storm');
  // reconnect storm: every socket drops at once, then all reconnect together (persistent sessions)
  for (const c of clients) c.stream.destroy();
  await sleep(1000);
  const before2 = [...versions];
  versions.fill(0);
  t0 = Date.now();
  const storm = [];
  for (let i = 0; i < N; i++) storm.push(connectOne(i).then((cl) => (clients[i] = cl)));
  await Promise.all(storm);
  const connectedMs = Date.now() - t0;
  await untilAll(() => versions.every((v) => v > 0), 60_000);
  out.reconnectStorm = { nodes: N, allConnectedSeconds: connectedMs / 1000, allResyncedSeconds: (Date.now() - t0) / 1000, versionsKept: versions.every((v, i) => v >= before2[i]) };
  for (const c of clients) c.end(true);
} finally {
  relay.kill('SIGTERM');
  await new Promise((r) => relay.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify(out, null, 2) + '\n');
process.exit(0);
