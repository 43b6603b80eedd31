#!/usr/bin/env node
/**
 * Streams bench: one `edgerelay run` and one `edgecore run` (bundles of the current sources,
 * embedded broker, loopback), one pod on the real Docker engine; the Kubernetes client is a raw
 * WebSocket (v5.channel.k8s.io) on the relay's /exec. Baselines in the same run: the same
 * operations straight on the engine with dockerode (what `docker exec` does), no relay, no MQTT.
 *
 * 1. interactive round trip: one byte typed into `cat` until its echo comes back (p50/p99)
 * 2. one-shot exec: open → command `true` → exit status (p50/p99)
 * 3. throughput: `head -c 64MiB /dev/zero` read to the end (MB/s)
 * 4. memory per open session: relay and node RSS with 50 idle `cat` sessions open, and with 20
 *    sessions whose readers stopped reading (their windows full: the bounded-buffer case)
 *
 * Usage: node bench/streams.mjs [roundTrips=300] [oneShots=30]
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import WebSocket from 'ws';
import { bundle } from '../build.mjs';
import { benchConfig, emit, freePort, percentile, ROOT, round, rssKiB, sleep, spawnUntil, stop } from './lib.mjs';

const ROUND_TRIPS = Number(process.argv[2] ?? 300);
const ONE_SHOTS = Number(process.argv[3] ?? 30);
const BULK = 64 * 1024 * 1024;
const IDLE_SESSIONS = 50;
const STALLED_SESSIONS = 20;
const IMAGE = 'edgecore-test/busybox:1';
const ADMIN = 'bench-admin';
const docker = new Docker({ socketPath: process.env.DOCKER_SOCKET ?? '/var/run/docker.sock' });
const progress = (m) => (process.env.QUIET ? undefined : process.stderr.write(`[streams] ${m}\n`));

const now = () => Number(process.hrtime.bigint()) / 1e6;
const stats = (v) => ({ p50: round(percentile(v, 50), 3), p99: round(percentile(v, 99), 3), n: v.length });

try {
  await docker.getImage(IMAGE).inspect();
} catch {
  execFileSync(process.execPath, ['--import', 'tsx', '-e', "import('./test/helpers/docker.ts').then((m) => m.ensureTestImage(m.dockerClient()))"], { cwd: ROOT, stdio: 'inherit' });
}
const outdir = join(ROOT, '.edgecore', `bench-dist-${process.pid}`);
await bundle(outdir);

// ---- relay + node (plain HTTP and MQTT on loopback: the streams are measured, not TLS) ----
const cfg = benchConfig();
const [api, mq, wsPort] = [await freePort(), await freePort(), await freePort()];
const relayCfg = join(cfg.dir, 'relay.yaml');
writeFileSync(relayCfg, JSON.stringify({ dataDir: join(cfg.dir, 'relay'), log: { level: 'info', format: 'json' }, api: { host: '127.0.0.1', port: api, adminToken: ADMIN, tls: { enabled: false } }, broker: { host: '127.0.0.1', port: mq, plaintext: true, tls: { enabled: false }, ws: { port: wsPort } } }));
const relay = await spawnUntil(process.execPath, [join(outdir, 'edgerelay.js'), 'run', '--config', relayCfg], /edgerelay ready/);
const base = `http://127.0.0.1:${api}`;
const http = async (method, path, body) => {
  const r = await fetch(base + path, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  return r.json();
};
const nodeName = `bench-streams-${process.pid}`;
const { token } = await http('POST', '/edge/v1/tokens', {});
const joined = await (await fetch(base + '/edge/v1/join', { method: 'POST', body: JSON.stringify({ token, node: nodeName }) })).json();
writeFileSync(
  cfg.file,
  JSON.stringify({
    node: { name: nodeName },
    dataDir: join(cfg.dir, 'data'),
    log: { level: 'info', format: 'json' },
    modules: {
      metamanager: { api: { enabled: false } },
      eventbus: { enabled: false },
      devicetwin: { enabled: false },
      edged: { staticPodPath: '' },
      edgehub: { enabled: true, relay: { url: joined.brokerUrl, username: joined.username, password: joined.password } },
    },
  }),
);
const node = await spawnUntil(process.execPath, [join(outdir, 'edgecore.js'), 'run', '--config', cfg.file], /edgecore ready/);
const podManifest = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bench' }, spec: { nodeName, containers: [{ name: 'main', image: IMAGE, imagePullPolicy: 'Never', command: ['sleep', '100000'] }] } };
// bound to the node: its desired document (computed from the API) takes the pod there
await http('POST', '/api/v1/namespaces/default/pods', podManifest);

/** a raw v5 exec; resolves once open */
function exec(command, { stdin = false } = {}) {
  const q = new URLSearchParams({ container: 'main', stdout: 'true', stderr: 'true', stdin: String(stdin) });
  for (const c of command) q.append('command', c);
  const ws = new WebSocket(`ws://127.0.0.1:${api}/api/v1/namespaces/default/pods/bench/exec?${q}`, ['v5.channel.k8s.io'], { headers: { authorization: `Bearer ${ADMIN}` } });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}
function finished(ws) {
  return new Promise((resolve) => {
    let status = '';
    ws.on('message', (d) => {
      if (d[0] === 3) status = d.subarray(1).toString();
    });
    ws.once('close', () => resolve(status));
  });
}
for (let i = 0; ; i++) {
  const ws = await exec(['true']).catch(() => undefined);
  if (ws && /Success/.test(await finished(ws))) break;
  if (i > 200) throw new Error('pod never became exec-able');
  await sleep(300);
}
const cid = (await docker.listContainers({ filters: { label: [`io.edgecore.node=${nodeName}`, 'io.edgecore.container=main'] } }))[0].Id;
const container = docker.getContainer(cid);
progress('pod running');

// ---- 1. interactive round trip ----
async function roundTrips(send, onEcho, n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const t0 = now();
    const got = new Promise((r) => onEcho(r));
    send(Buffer.from('x'));
    await got;
    out.push(now() - t0);
  }
  return out;
}
const relayCat = await exec(['cat'], { stdin: true });
let relayWaiter;
relayCat.on('message', (d) => d[0] === 1 && relayWaiter?.());
await roundTrips((b) => relayCat.send(Buffer.concat([Buffer.from([0]), b])), (r) => (relayWaiter = r), 20);
const relayRtt = await roundTrips((b) => relayCat.send(Buffer.concat([Buffer.from([0]), b])), (r) => (relayWaiter = r), ROUND_TRIPS);
relayCat.close();
const dex = await container.exec({ Cmd: ['cat'], AttachStdin: true, AttachStdout: true, AttachStderr: true });
const dsock = await dex.start({ hijack: true, stdin: true });
let directWaiter;
dsock.on('data', () => directWaiter?.());
await roundTrips((b) => dsock.write(b), (r) => (directWaiter = r), 20);
const directRtt = await roundTrips((b) => dsock.write(b), (r) => (directWaiter = r), ROUND_TRIPS);
dsock.destroy();
progress('round trips done');

// ---- 2. one-shot exec ----
const relayShots = [];
const directShots = [];
for (let i = 0; i < ONE_SHOTS; i++) {
  let t0 = now();
  const ws = await exec(['true']);
  await finished(ws);
  relayShots.push(now() - t0);
  t0 = now();
  const ex = await container.exec({ Cmd: ['true'], AttachStdout: true, AttachStderr: true });
  const s = await ex.start({ hijack: true, stdin: false });
  s.resume();
  await new Promise((r) => s.once('end', r));
  let info = await ex.inspect();
  while (info.Running) info = await ex.inspect();
  directShots.push(now() - t0);
}
progress('one-shots done');

// ---- 3. throughput ----
async function relayBulk() {
  const t0 = now();
  const ws = await exec(['head', '-c', String(BULK), '/dev/zero']);
  let bytes = 0;
  ws.on('message', (d) => d[0] === 1 && (bytes += d.length - 1));
  await finished(ws);
  if (bytes !== BULK) throw new Error(`relay bulk: ${bytes} bytes`);
  return (BULK / 1e6) / ((now() - t0) / 1000);
}
async function directBulk() {
  const t0 = now();
  const ex = await container.exec({ Cmd: ['head', '-c', String(BULK), '/dev/zero'], AttachStdout: true, AttachStderr: true });
  const s = await ex.start({ hijack: true, stdin: false });
  let bytes = 0;
  s.on('data', (d) => (bytes += d.length));
  await new Promise((r) => s.once('end', r));
  return (BULK / 1e6) / ((now() - t0) / 1000);
}
const relayMBs = [await relayBulk(), await relayBulk()];
const directMBs = [await directBulk(), await directBulk()];
progress('throughput done');

// ---- 4. memory per open session ----
await sleep(1000);
const relayIdle = rssKiB(relay.child.pid);
const nodeIdle = rssKiB(node.child.pid);
const idle = [];
for (let i = 0; i < IDLE_SESSIONS; i++) idle.push(await exec(['cat'], { stdin: true }));
await sleep(1000);
const relayOpen = rssKiB(relay.child.pid);
const nodeOpen = rssKiB(node.child.pid);
for (const ws of idle) ws.close();
await sleep(1500);
const relayBefore = rssKiB(relay.child.pid);
const nodeBefore = rssKiB(node.child.pid);
const stalled = [];
for (let i = 0; i < STALLED_SESSIONS; i++) {
  const ws = await exec(['head', '-c', String(BULK), '/dev/zero']);
  ws.pause(); // the client stops reading: socket, relay window, node queue and pipe fill, then stop
  stalled.push(ws);
}
await sleep(3000);
const relayStalled = rssKiB(relay.child.pid);
const nodeStalled = rssKiB(node.child.pid);
for (const ws of stalled) ws.terminate();
progress('memory done');

await stop(node.child);
await stop(relay.child);
const left = await docker.listContainers({ all: true, filters: { label: [`io.edgecore.node=${nodeName}`] } });
await Promise.all(left.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
cfg.cleanup();

const med = (v) => round(percentile(v, 50), 1);
emit('streams', {
  conditions: 'loopback, embedded broker, relay and node bundles, 2 vCPU shared with the client and dockerd',
  interactiveRoundTripMs: { relay: stats(relayRtt), dockerDirect: stats(directRtt) },
  oneShotExecMs: { relay: stats(relayShots), dockerDirect: stats(directShots) },
  throughputMBps: { bytes: BULK, relay: med(relayMBs), dockerDirect: med(directMBs), ratio: round(med(relayMBs) / med(directMBs), 3) },
  memoryPerSessionKiB: {
    idleCatSessions: IDLE_SESSIONS,
    relay: round((relayOpen - relayIdle) / IDLE_SESSIONS, 1),
    node: round((nodeOpen - nodeIdle) / IDLE_SESSIONS, 1),
    stalledReaderSessions: STALLED_SESSIONS,
    relayStalled: round((relayStalled - relayBefore) / STALLED_SESSIONS, 1),
    nodeStalled: round((nodeStalled - nodeBefore) / STALLED_SESSIONS, 1),
    windowKiB: 256,
  },
  rssKiB: { relayIdle, relayOpen, relayStalled, nodeIdle, nodeOpen, nodeStalled },
});
