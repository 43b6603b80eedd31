#!/usr/bin/env node
/**
 * Workloads over the node link at fleet size: one real `edgerelay run` (its own process: API,
 * embedded broker, SQLite, controllers, node sync) and N **simulated nodes** in this process that
 * speak the node link as edgehub does — each joins through `/edge/v1` join with a bootstrap token,
 * connects to the broker with the credentials it got (client id = its name, clean=false, a
 * retained presence and its Will), asks for its document (`sync`), reports its Node status
 * (Ready engine, room for 110 pods) and heartbeats, and for every Pod in its desired document
 * reports Running + Ready on `reported/state` (a pod being deleted: Succeeded, which ends its
 * deletion at the relay) — what a node's edged reports, without containers.
 *
 * Figures (same run): scheduler throughput with N nodes (bare pods created through the API and
 * bound, until every one is Running as its node reported); a Deployment of N replicas created
 * (the baseline) and rolled to a new image with maxUnavailable 10 %: wall time, and the relay
 * process's CPU (/proc, user + system) for each; the fewest available replicas seen.
 * Usage: node bench/workloads-link.mjs [nodes=1000]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import mqtt from 'mqtt';
import { stringify } from 'yaml';
import { emit, freePort, round, sleep } from './lib.mjs';

const N = Number(process.argv[2] ?? 1000);
const root = fileURLToPath(new URL('..', import.meta.url));
const ADMIN = 'bench-admin-token';
const T = 'edgecore/v1/nodes';
const dir = mkdtempSync(join(tmpdir(), 'edgecore-bench-wl-link-'));
const [apiPort, mqttPort, mqttsPort, wsPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
writeFileSync(
  join(dir, 'relay.yaml'),
  stringify({
    dataDir: join(dir, 'data'),
    log: { level: 'warn', format: 'json' },
    api: { host: '127.0.0.1', port: apiPort, adminToken: ADMIN, tls: { enabled: false } },
    broker: { host: '127.0.0.1', port: mqttPort, plaintext: true, tls: { port: mqttsPort, enabled: false }, ws: { enabled: false, port: wsPort } },
  }),
);
const relay = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/edgerelay/entry.ts'), 'run', '--config', join(dir, 'relay.yaml')], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } });
let relayErr = '';
relay.stderr.on('data', (d) => (relayErr = (relayErr + d).slice(-4000)));
relay.stdout.on('data', () => undefined);
const API = `http://127.0.0.1:${apiPort}`;
const counters = { docs: 0, reports: 0, retriedReads: 0 };
async function http(method, path, body, ok = [200, 201]) {
  let res;
  for (let attempt = 1; ; attempt++) {
    try {
      res = await fetch(API + path, { method, headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
      break;
    } catch (e) {
      // a reset keep-alive connection: reads are retried (counted); a relay that died is not
      if (method !== 'GET' || attempt >= 5 || relay.exitCode !== null) throw new Error(`${method} ${path}: ${e?.cause?.code ?? e} (relay ${relay.exitCode === null ? 'running' : `exited ${relay.exitCode}`})\n${relayErr}`);
      counters.retriedReads++;
      await sleep(200);
    }
  }
  const text = await res.text();
  if (!ok.includes(res.status)) throw new Error(`${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
  return text ? JSON.parse(text) : undefined;
}
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${API}/healthz`)).ok) break;
  } catch (e) {
    if (i > 600) throw new Error(`relay did not start: ${e}\n${relayErr}`);
    await sleep(100);
  }
}
/** the relay process's CPU so far (ms, user + system) */
const relayCpu = () => {
  const f = readFileSync(`/proc/${relay.pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / 100;
};

// --- the simulated nodes ---------------------------------------------------------------------
const names = Array.from({ length: N }, (_, i) => `sim-${String(i).padStart(4, '0')}`);
const bootId = Math.random().toString(16).slice(2, 10);
const nowIso = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

const nodes = [];
class SimNode {
  constructor(name, creds) {
    this.name = name;
    this.creds = creds;
    this.version = 0;
    this.epoch = '';
    /** uid → what was last reported for it ('run' | 'done') */
    this.sent = new Map();
  }
  connect() {
    const pub = (topic, payload, opts = { qos: 1 }) => this.client.publish(`${T}/${this.name}/${topic}`, JSON.stringify(payload), opts);
    const will = { topic: `${T}/${this.name}/presence`, payload: Buffer.from(JSON.stringify({ online: false, bootId, agentVersion: 'bench', timestamp: Date.now(), attempt: 1 })), qos: 1, retain: true };
    this.client = mqtt.connect(this.creds.brokerUrl, { clientId: this.name, username: this.creds.username, password: this.creds.password, clean: false, keepalive: 60, reconnectPeriod: 2000, connectTimeout: 30_000, will });
    this.pub = pub;
    return new Promise((resolve, reject) => {
      this.client.once('connect', () => {
        this.client.subscribe(`${T}/${this.name}/desired`, { qos: 1 });
        pub('presence', { online: true, bootId, agentVersion: 'bench', timestamp: Date.now() }, { qos: 1, retain: true });
        pub('sync', { epoch: this.epoch, appliedVersion: this.version, bootId, timestamp: Date.now() });
        this.status();
        resolve();
      });
      this.client.once('error', reject);
      this.client.on('message', (_t, payload) => this.onDesired(JSON.parse(payload.toString())));
    });
  }
  status() {
    const t = Date.now();
    this.pub('reported/state', {
      kind: 'Node',
      namespace: '',
      name: this.name,
      desiredVersion: this.version,
      timestamp: t,
      status: { appliedVersion: this.version, epoch: this.epoch, agentVersion: 'bench', bootId, arch: 'arm64', platform: 'linux', outbox: { rows: 0, dropped: 0 }, system: { cpus: 4, memoryBytes: 4 * 2 ** 30, maxPods: 110 }, runtime: { ready: true } },
    });
  }
  heartbeat() {
    this.pub('heartbeat', { v: this.version, q: 0, t: Date.now() }, { qos: 0 });
  }
  onDesired(doc) {
    if (doc.node !== this.name || (doc.epoch === this.epoch && doc.version <= this.version)) return;
    counters.docs++;
    this.epoch = doc.epoch;
    this.version = doc.version;
    const live = new Set();
    for (const it of doc.items) {
      if (it.kind !== 'Pod') continue;
      live.add(it.uid);
      const deleting = !!it.spec.metadata.deletionTimestamp;
      const want = deleting ? 'done' : 'run';
      if (this.sent.get(it.uid) === want) continue;
      this.sent.set(it.uid, want);
      const t = nowIso();
      const c = it.spec.spec.containers[0];
      const status = deleting
        ? { phase: 'Succeeded', conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: t }], containerStatuses: [{ name: c.name, image: c.image, imageID: '', ready: false, restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed', finishedAt: t } } }] }
        : { phase: 'Running', conditions: [{ type: 'PodScheduled', status: 'True', lastTransitionTime: t }, { type: 'Ready', status: 'True', lastTransitionTime: t }], containerStatuses: [{ name: c.name, image: c.image, imageID: '', ready: true, started: true, restartCount: 0, state: { running: { startedAt: t } } }] };
      counters.reports++;
      this.pub('reported/state', { kind: 'Pod', namespace: it.namespace, name: it.name, uid: it.uid, desiredVersion: doc.version, timestamp: Date.now(), status });
    }
    for (const uid of this.sent.keys()) if (!live.has(uid)) this.sent.delete(uid);
  }
}

const t0 = performance.now();
for (let i = 0; i < N; i += 50) {
  await Promise.all(
    names.slice(i, i + 50).map(async (name) => {
      const { token } = await http('POST', '/edge/v1/tokens', {});
      const res = await fetch(`${API}/edge/v1/join`, { method: 'POST', body: JSON.stringify({ token, node: name }) });
      if (!res.ok) throw new Error(`join ${name}: ${res.status} ${await res.text()}`);
      const n = new SimNode(name, await res.json());
      nodes.push(n);
      await n.connect();
    }),
  );
}
const joinSeconds = round((performance.now() - t0) / 1000);
const beat = setInterval(() => {
  for (const n of nodes) n.heartbeat();
}, 5000);
const readyNodes = async () => (await http('GET', '/api/v1/nodes')).items.filter((n) => (n.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True') && n.status?.allocatable?.pods).length;
for (let i = 0; (await readyNodes()) < N; i++) {
  if (i > 1200) throw new Error(`only ${await readyNodes()} of ${N} nodes Ready`);
  await sleep(250);
}

async function measure(what, until) {
  const c0 = relayCpu();
  const t = performance.now();
  for (;;) {
    if (await until()) break;
    await sleep(200);
  }
  return { what, seconds: round((performance.now() - t) / 1000), relayCpuMs: round(relayCpu() - c0, 0) };
}

// scheduler throughput: N bare pods created through the API, bound by the scheduler, reported Running by their nodes
const PODS = '/api/v1/namespaces/default/pods';
const c0 = relayCpu();
const s0 = performance.now();
for (let i = 0; i < N; i += 50) {
  await Promise.all(Array.from({ length: Math.min(50, N - i) }, (_, j) => http('POST', PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name: `bare-${i + j}`, labels: { bench: 'bare' } }, spec: { containers: [{ name: 'c', image: 'app:1' }] } })));
}
const created = (performance.now() - s0) / 1000;
const bound = await measure('bind', async () => (await http('GET', `${PODS}?labelSelector=bench%3Dbare`)).items.every((p) => p.spec.nodeName));
const running = await measure('running', async () => (await http('GET', `${PODS}?labelSelector=bench%3Dbare`)).items.every((p) => p.status?.phase === 'Running'));
const scheduler = { pods: N, createSeconds: round(created), boundSeconds: round(created + bound.seconds), podsBoundPerSecond: round(N / (created + bound.seconds), 1), allRunningSeconds: round(created + bound.seconds + running.seconds), relayCpuMs: round(relayCpu() - c0, 0) };
console.error(JSON.stringify({ scheduler }));
await http('DELETE', `${PODS}?labelSelector=bench%3Dbare`);
await measure('bare pods gone', async () => (await http('GET', `${PODS}?labelSelector=bench%3Dbare`)).items.length === 0);

const DEPLOY = '/apis/apps/v1/namespaces/default/deployments';
const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'fleet' }, spec: { replicas: N, strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%', maxSurge: 0 } }, selector: { matchLabels: { app: 'fleet' } }, template: { metadata: { labels: { app: 'fleet' } }, spec: { containers: [{ name: 'c', image: 'app:1' }] } } } };
const done = async () => {
  const d = await http('GET', `${DEPLOY}/fleet`);
  const s = d.status ?? {};
  return s.observedGeneration === d.metadata.generation && s.updatedReplicas === N && s.availableReplicas === N && s.replicas === N;
};
await http('POST', DEPLOY, deployment);
const create = await measure('create', done);
let minAvailable = N;
const watchAvailable = setInterval(async () => {
  const s = (await http('GET', `${DEPLOY}/fleet`)).status ?? {};
  if (typeof s.availableReplicas === 'number') minAvailable = Math.min(minAvailable, s.availableReplicas);
}, 200);
await fetch(`${API}${DEPLOY}/fleet`, { method: 'PATCH', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/merge-patch+json' }, body: JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'c', image: 'app:2' }] } } } }) });
const rollout = await measure('rollout', done);
clearInterval(watchAvailable);
clearInterval(beat);
const perNode = (await http('GET', '/apis/apps/v1/namespaces/default/replicasets')).items.length;
for (const n of nodes) n.client.end(true);
relay.kill('SIGTERM');
await new Promise((r) => relay.once('exit', r));
rmSync(dir, { recursive: true, force: true });

emit('workloads-link', {
  nodes: N,
  joinSeconds,
  scheduler,
  deploymentCreate: { replicas: N, ...create },
  rollout: { replicas: N, maxUnavailable: '10%', ...rollout, fewestAvailableSeen: minAvailable, allowedFewest: N - Math.max(1, Math.floor(N * 0.1)) },
  replicaSets: perNode,
  simulator: counters,
  note: 'edgerelay in its own process (relayCpuMs is its CPU); the simulated nodes in this process speak the node link over MQTT (join, desired, reported/state, heartbeat)',
});
process.exit(0);
