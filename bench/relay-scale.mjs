#!/usr/bin/env node
/**
 * Relay scale bench: one `edgerelay` process (embedded broker by default, SQLite) and N simulated
 * nodes that behave like edgehub on the wire (bench/relay-sim.mjs: 10 s connect timeout, jittered
 * 1 s → 60 s retries, persistent sessions, Will naming the attempt, heartbeats), spread over several
 * simulator processes (past the per-process file limit), each node connecting from its own
 * loopback address 127.100+.x.y as a real node is a host of its own (SOURCE=worker: one address
 * 127.0.0.x per simulator process, the ~28k ephemeral ports per source/destination pair shared).
 *
 * Phases, each ending when EVERY node holds exactly the desired version the relay's store has for
 * it (epoch + version, read from the store, not "newer than before"):
 *   connect   all nodes start at once
 *   fanout    one node-bound change (baseline) then one fleet-wide change
 *   storm     every node's connection drops at once; each retries on its own schedule; a node is
 *             back when it received a document after reconnecting
 *   restart   the relay is killed (SIGKILL) and started again: same, from a cold broker
 * Throughout: relay RSS (sampled, and VmHWM), /healthz every second, nodes kicked off an
 * established connection, refused connects; whether the relay died (and its last stderr).
 *
 *   node bench/relay-scale.mjs                     NODES=5000 by default
 *   NODES=19800 node bench/relay-scale.mjs         ~20k: 4 simulator processes
 *   START_TIMEOUT_S=900 (relay start)  PHASES=connect,fanout,storm,restart  UPLINK_SECONDS=150  HEARTBEAT_QOS=0|1  RELAY_YAML_EXTRA='nodes: {...}'
 *   BROKER_EXTRA='maxConnecting: 0'                more keys in the broker section
 *   SOURCE=worker                                  one source address per simulator process instead of one per node
 *   SIM_CLIENT=mqtt.js                             the simulated nodes on mqtt.js itself (default: the lean client
 *                                                  of bench/relay-sim-client.mjs, same packets, a fraction of the CPU)
 *   REPLICAS=2 [FLEET_BROKER=embedded|nats] [NATS_MQTT='consumer_replicas: 1'] node bench/relay-scale.mjs
 *                                                  the fleet (bench/relay-fleet.mjs): replicas over PostgreSQL,
 *                                                  each with its embedded broker or all on a 3-member NATS;
 *                                                  the restart phase kills replica 0 only (failover), and a
 *                                                  fleet-wide change made through another must reach every node
 *   RELAY_ENV='{"MALLOC_ARENA_MAX":"1"}'          environment for the replicas only (the simulators keep the bench's)
 *   TLS=1 node bench/relay-scale.mjs               the relay's defaults: HTTPS API, MQTT over TLS with its
 *                                                  own CA (the simulators verify it, as nodes do);
 *                                                  otherwise plain listeners, explicitly
  *
 * The oracle is the relay's own `GET /edge/v1/desired` (the version of the document it last
 * published for each node). Nodes are Node objects: 20 join through the API (timed), the rest
 * are written into the relay's node table with one shared password hash while it is stopped, and
 * the relay creates their Nodes when it starts (as for nodes that joined before an upgrade).
 * Fan-out: a Pod bound to sim-0 (one node's document changes), then a Service without a selector
 * (every node's document carries the Services). A phase's expected versions are read once every
 * node's version is at least the revision of the change (a document computed before the change
 * cannot be the answer).
 */
import { execFileSync, fork, spawn } from 'node:child_process';
import { createHash, pbkdf2Sync, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { RELAY_NODE_FLAGS as RELAY_LAUNCHER_FLAGS } from '../scripts/build/artifact.mjs';
import { freePort } from './lib.mjs';
import { fleetMode, fleetYaml, natsBrokerYaml, prefillCredentials, startBackends } from './relay-fleet.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const N = Number(process.env.NODES ?? 5000);
const WORKERS = Number(process.env.WORKERS ?? Math.max(1, Math.ceil(N / 5000)));
const PHASES = (process.env.PHASES ?? 'connect,fanout,storm,restart').split(',');
// the first start after the node table was filled creates every Node object (one API create each)
const START_TIMEOUT_MS = Number(process.env.START_TIMEOUT_S ?? 900) * 1000;
const PHASE_TIMEOUT_MS = Number(process.env.PHASE_TIMEOUT_S ?? 240) * 1000;
const UPLINK_SECONDS = Number(process.env.UPLINK_SECONDS ?? 0);
/** the simulated nodes' MQTT client: 'lean' (bench/relay-sim-client.mjs, the default) or 'mqtt.js' (edgehub's library) */
const SIM_CLIENT = process.env.SIM_CLIENT ?? 'lean';
const HEARTBEAT_QOS = Number(process.env.HEARTBEAT_QOS ?? 0);
/** where simulated nodes connect from: 'node' (each its own 127.100+.x.y, as real nodes are hosts of their own) or 'worker' (127.0.0.<2+k> per simulator process) */
const SOURCE = process.env.SOURCE ?? 'node';
const TLS = process.env.TLS === '1';
const BROKER_EXTRA = process.env.BROKER_EXTRA ? `, ${process.env.BROKER_EXTRA}` : '';
// the relay runs with the flags its launcher gives it (scripts/build/artifact.mjs) unless RELAY_NODE_FLAGS says otherwise ("" = V8's defaults)
const RELAY_NODE_FLAGS = process.env.RELAY_NODE_FLAGS !== undefined ? process.env.RELAY_NODE_FLAGS.split(' ').filter(Boolean) : RELAY_LAUNCHER_FLAGS;
// diagnostics: CPU_PROFILE=<dir> profiles every replica (bench/cpu-probe.cjs), one .cpuprofile per phase; their names are in the JSON
const CPU_PROFILE = process.env.CPU_PROFILE;
// RELAY_ENV='{"MALLOC_ARENA_MAX":"1"}': more environment for the replicas only (not the simulators), e.g. the allocator's
const RELAY_ENV = process.env.RELAY_ENV ? JSON.parse(process.env.RELAY_ENV) : {};
const ADMIN = 'bench-admin';
const PASSWORD = 'bench-password';

if (!existsSync(join(root, 'dist/edgerelay.js'))) execFileSync(process.execPath, [join(root, 'build.mjs')], { stdio: 'inherit' });

const progress = (m) => (process.env.QUIET ? undefined : process.stderr.write(`[relay-scale ${new Date().toISOString().slice(11, 19)}] ${m}\n`));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const procStatus = (pid, field) => {
  try {
    return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
  } catch {
    return NaN;
  }
};
const mib = (kib) => +(kib / 1024).toFixed(1);
/** RSS of every replica (one number for one relay), MiB */
const rssOf = (field = 'VmRSS') => (RELAYS === 1 ? mib(procStatus(relay.pid, field)) : relays.map((p) => mib(procStatus(p.pid, field))));
/** CPU seconds (user + system) a process used so far */
const cpuSeconds = (pid) => {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
};

const dir = mkdtempSync(join(tmpdir(), 'edgecore-bench-relay-'));
const FLEET = fleetMode();
const RELAYS = FLEET?.replicas ?? 1;
if (FLEET && TLS) throw new Error('TLS=1 is for one relay (each fleet replica would have a CA of its own)');
const backends = FLEET ? await startBackends(FLEET, dir) : undefined;
/** each replica's ports: API, MQTT, WebSocket */
const ports = [];
for (let i = 0; i < RELAYS; i++) ports.push({ api: await freePort(), mq: await freePort(), ws: await freePort() });
ports.forEach(({ api, mq, ws }, i) => {
  const data = i === 0 ? `${dir}/data` : `${dir}/data-${i}`;
  const broker =
    FLEET?.broker === 'nats'
      ? natsBrokerYaml(backends, i)
      : TLS
        ? `broker: { host: 0.0.0.0, tls: { port: ${mq} }, ws: { port: ${ws} }${BROKER_EXTRA} }\n`
        : // plain listeners, explicitly (the relay's default is TLS)
          `broker: { host: 0.0.0.0, port: ${mq}, plaintext: true, tls: { enabled: false }, ws: { port: ${ws} }${BROKER_EXTRA} }\n`;
  const apiYaml = TLS ? `api: { host: 127.0.0.1, port: ${api}, adminToken: ${ADMIN} }\n` : `api: { host: 127.0.0.1, port: ${api}, adminToken: ${ADMIN}, tls: { enabled: false } }\n`;
  writeFileSync(join(dir, `relay-${i}.yaml`), `dataDir: ${data}\nlog: { level: info, format: json }\n${apiYaml}${broker}${FLEET ? fleetYaml(backends, i) : ''}${process.env.RELAY_YAML_EXTRA ?? ''}\n`);
});
const caFile = join(dir, 'data', 'pki', 'ca.crt');
/** Node's fetch takes no CA: one request over node:https (or fetch for plain HTTP); to the first replica alive */
const request = (...args) => requestTo(live(), ...args);
const requestTo = (i, method, path, body, headers = {}, timeoutMs = 30_000) => {
  const base = `${TLS ? 'https' : 'http'}://127.0.0.1:${ports[i].api}`;
  return TLS
    ? new Promise((resolve, reject) => {
        const req = httpsRequest(base + path, { method, headers, ca: readFileSync(caFile), agent: false, timeout: timeoutMs }, (res) => {
          let text = '';
          res.on('data', (d) => (text += d));
          res.on('end', () => resolve({ ok: res.statusCode < 300, status: res.statusCode, text }));
        });
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.on('error', reject);
        req.end(body);
      })
    : fetch(base + path, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) }).then(async (r) => ({ ok: r.ok, status: r.status, text: await r.text() }));
};
const relayLog = (i = 0) => join(dir, `relay-${i}.stderr`);
const stderrTail = (i = 0) => {
  try {
    return readFileSync(relayLog(i), 'utf8').split('\n').filter((l) => !l.includes('"broker stats"')).slice(-25).join('\n');
  } catch {
    return '';
  }
};
/** the relay's latest 'broker stats' log record (embedded broker: cap, refusals, takeovers, bus queue) */
const brokerStats = (i = 0) => {
  try {
    const lines = readFileSync(relayLog(i), 'utf8').split('\n').filter((l) => l.includes('"broker stats"'));
    if (!lines.length) return undefined;
    const { time, level, msg, name, ...rest } = JSON.parse(lines[lines.length - 1]);
    return rest;
  } catch {
    return undefined;
  }
};

let relay; // replica 0 (the only one unless REPLICAS says otherwise)
const relays = [];
const alive = (p) => p && p.exitCode === null && p.signalCode === null;
/** the first replica running (the API calls go there) */
const live = () => Math.max(0, relays.findIndex(alive));
let relayExit; // { code, signal, phase } when it died on its own
let phase = 'setup';
const startRelay = async (i = 0) => {
  const log = createWriteStream(relayLog(i), { flags: 'a' });
  const probe = CPU_PROFILE ? ['--require', join(root, 'bench/cpu-probe.cjs')] : [];
  const env = { ...process.env, ...RELAY_ENV, ...(CPU_PROFILE ? { EDGECORE_BENCH_CPU_PROFILE: CPU_PROFILE } : {}) };
  const p = spawn(process.execPath, [...RELAY_NODE_FLAGS, ...probe, join(root, 'dist/edgerelay.js'), 'run', '--config', join(dir, `relay-${i}.yaml`)], { stdio: ['ignore', 'pipe', 'pipe'], env });
  relays[i] = p;
  p.starting = true;
  if (i === 0) relay = p;
  p.stdout.pipe(log);
  p.stderr.pipe(log);
  p.expected = false;
  p.once('exit', (code, signal) => {
    if (!p.expected) relayExit = { replica: i, code, signal, phase, stderr: stderrTail(i) };
  });
  const t0 = Date.now();
  for (;;) {
    try {
      await requestTo(i, 'GET', '/healthz');
      p.startMs = Date.now() - t0;
      p.starting = false;
      return p;
    } catch {
      if (Date.now() - t0 > START_TIMEOUT_MS || p.exitCode !== null) throw new Error(`relay ${i} did not start: ${stderrTail(i)}`);
      await sleep(100);
    }
  }
};
const stopRelay = async (signal = 'SIGTERM', i = 0) => {
  const p = relays[i];
  if (!alive(p)) return;
  p.expected = true;
  p.kill(signal);
  await new Promise((r) => p.once('exit', r));
};
const call = async (method, path, body) => {
  const r = await request(method, path, body ? JSON.stringify(body) : undefined, { authorization: `Bearer ${ADMIN}`, ...(body ? { 'content-type': 'application/json' } : {}) });
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${r.text}`);
  return JSON.parse(r.text);
};

// A few nodes join through the API (timed); the rest are written straight into the store with one
// shared password hash (the rows a join writes), then the relay restarts.
relay = await startRelay();
const { token } = await call('POST', '/edge/v1/tokens', { ttlSeconds: 3600 });
const JOINED_VIA_API = Math.min(N, 20);
const names = [];
const tj = Date.now();
for (let j = 0; j < JOINED_VIA_API; j++) {
  JSON.parse((await request('POST', '/edge/v1/join', JSON.stringify({ token, node: `sim-${j}` }))).text);
  names.push(`sim-${j}`);
}
const joinMsEach = (Date.now() - tj) / JOINED_VIA_API;
await stopRelay();
const db = FLEET ? undefined : new Database(join(dir, 'data', 'relay.db'));
const salt = randomBytes(12);
const hash = `$7$1000$${salt.toString('base64')}$${pbkdf2Sync(PASSWORD, salt, 1000, 64, 'sha512').toString('base64')}`;
// the fast check a join stores beside the hash (src/relay/auth.ts passwordCheck)
const check = createHash('sha256').update(hash).update('\n').update(PASSWORD).digest('hex');
const now = new Date().toISOString();
if (FLEET) {
  for (let j = JOINED_VIA_API; j < N; j++) names.push(`sim-${j}`);
  await prefillCredentials(backends.pgUrl, names, hash, check, now); // one password for all simulated nodes
} else {
  const setPw = db.prepare('UPDATE nodes SET password_hash = ?, password_check = ? WHERE name = ?');
  const ins = db.prepare('INSERT INTO nodes (name, password_hash, password_check, labels, joined_at) VALUES (?, ?, ?, ?, ?)');
  db.transaction(() => {
    for (const n of names) setPw.run(hash, check, n); // one password for all simulated nodes
    for (let j = JOINED_VIA_API; j < N; j++) {
      ins.run(`sim-${j}`, hash, check, '{}', now);
      names.push(`sim-${j}`);
    }
  })();
}
/**
 * What every node must hold: the relay's published (epoch, version) per node, once every node in
 * `nodes` (all by default) has a version of at least `atLeast` (the revision of the change).
 */
const expected = async (atLeast = 0, nodes = names) => {
  for (let i = 0; ; i++) {
    // a fleet: every replica publishes its own documents, each versioned by the store's revision
    // when it computed them, so two replicas may number the same content differently
    const live = relays.map((p, r) => (alive(p) ? r : -1)).filter((r) => r >= 0);
    const ds = await Promise.all(live.map(async (r) => JSON.parse((await requestTo(r, 'GET', '/edge/v1/desired', undefined, { authorization: `Bearer ${ADMIN}` })).text)));
    // each replica's own broker: a replica computes and publishes the documents of the nodes on
    // its broker only, so a node's document after the change is on one replica (the one it is on)
    const embedded = FLEET?.broker === 'embedded';
    const after = (d, n) => (d.nodes[n] ?? -1) >= atLeast;
    if (embedded ? nodes.every((n) => ds.some((d) => after(d, n))) : ds.every((d) => nodes.every((n) => after(d, n)))) {
      const max = {};
      for (const d of ds) for (const [n, v] of Object.entries(d.nodes)) max[n] = Math.max(max[n] ?? 0, v);
      // each replica's own broker: a node must hold what the replica it is connected to published
      // after the change (one from before it, of a replica the node left, is no answer);
      // one broker for all (NATS): every replica publishes to the node's topic, the node keeps the newest
      const changed = new Set(nodes);
      const byBroker = embedded ? relays.map((_, r) => (live.includes(r) ? Object.entries(ds[live.indexOf(r)].nodes).filter(([n, v]) => !changed.has(n) || v >= atLeast) : [])) : undefined;
      return { epoch: ds[0].epoch, versions: Object.entries(max), byBroker };
    }
    if (i > PHASE_TIMEOUT_MS / 250) throw new Error(`the relay did not compute every node's document (at least ${atLeast})`);
    await sleep(250);
  }
};

for (let i = 0; i < RELAYS; i++) await startRelay(i); // replica 0 first: it creates the Nodes
const out = {
  nodes: N,
  ...(FLEET ? { fleet: { replicas: RELAYS, broker: FLEET.broker, natsMqtt: FLEET.natsMqtt, store: 'postgres' } } : {}),
  transport: TLS ? 'mqtts (relay CA verified)' : 'mqtt (plain TCP)',
  brokerExtra: process.env.BROKER_EXTRA ?? '',
  simulatorProcesses: WORKERS,
  machine: '2 vCPU (shared with the simulators)',
  heartbeatQos: HEARTBEAT_QOS,
  relayNodeFlags: RELAY_NODE_FLAGS.join(' '),
  relayEnv: RELAY_ENV,
  simulatorSources: SOURCE === 'node' ? 'one loopback address per node' : 'one loopback address per simulator process',
  joinMsEach: +joinMsEach.toFixed(1),
  relayStartMs: relay.startMs,
};

// relay RSS sampling (peak per phase) and /healthz probing
const peaks = {};
let phasePeak = 0;
const brokerPeaks = [];
const sampler = setInterval(() => {
  for (const p of relays) {
    if (!alive(p)) continue;
    const r = procStatus(p.pid, 'VmRSS');
    if (r > phasePeak) phasePeak = r; // the largest replica: the unit's limit is per process
  }
  for (let m = 0; m < 3 && backends?.nats; m++) {
    const pid = backends.nats.pid(m);
    if (pid) brokerPeaks[m] = Math.max(brokerPeaks[m] ?? 0, procStatus(pid, 'VmRSS'));
  }
}, 250);
const health = { probes: 0, failures: 0, maxMs: 0 };
const prober = setInterval(() => {
  relays.forEach(async (p, i) => {
    // a relay still starting is not probed: startRelay waits for its first /healthz
    if (!alive(p) || p.starting || (i === 0 && phase === 'restart-down')) return;
    const t0 = performance.now();
    health.probes++;
    const during = phase;
    try {
      const r = await requestTo(i, 'GET', '/healthz', undefined, {}, 5000);
      if (!r.ok) health.failures++;
    } catch {
      if (during === phase && phase !== 'restart-down' && alive(p)) health.failures++;
    }
    health.maxMs = Math.max(health.maxMs, Math.round(performance.now() - t0));
  });
}, 1000);

// simulator processes
const workers = [];
const pending = new Map();
let reqId = 0;
const ask = (w, msg) =>
  new Promise((resolve) => {
    const id = ++reqId;
    pending.set(id, resolve);
    w.send({ ...msg, id });
  });
const per = Math.ceil(N / WORKERS);
// where nodes connect: each replica's embedded broker, or the NATS members (node j starts on j mod count)
const brokerAddrs = backends?.nats ? backends.nats.urls.map((u) => ({ host: '127.0.0.1', port: Number(new URL(u).port) })) : ports.map((p) => ({ host: '127.0.0.1', port: p.mq }));
for (let k = 0; k < WORKERS; k++) {
  const slice = names.slice(k * per, (k + 1) * per);
  const w = fork(join(root, 'bench/relay-sim.mjs'), [], {
    env: {
      ...process.env,
      SIM_CONFIG: JSON.stringify({ names: slice, offset: k * per, brokers: brokerAddrs, sourceAddress: `127.0.0.${2 + k}`, sourcePerNode: SOURCE === 'node', password: PASSWORD, heartbeatQos: HEARTBEAT_QOS, client: SIM_CLIENT, ...(TLS ? { ca: readFileSync(caFile, 'utf8') } : {}) }),
    },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  w.matched = undefined;
  w.on('message', (m) => {
    if (m.id && pending.has(m.id)) {
      pending.get(m.id)(m);
      pending.delete(m.id);
    } else if (m.ev === 'matched') w.matched = m;
  });
  await new Promise((r) => w.once('message', r)); // ready
  workers.push(w);
}
const stats = async () => {
  const all = await Promise.all(workers.map((w) => ask(w, { cmd: 'stats' })));
  const s = { pingreqs: 0, connected: 0, matched: 0, kicked: 0, refused: 0, connacks: 0, attempts: 0, sessionPresent: 0, docs: 0, stale: 0, errors: {}, simulatorRssMiB: 0, missingSample: [] };
  for (const { stats: x } of all) {
    for (const k of ['pingreqs', 'connected', 'matched', 'kicked', 'refused', 'connacks', 'attempts', 'sessionPresent', 'docs', 'stale']) s[k] += x[k];
    for (const [e, c] of Object.entries(x.errors)) s.errors[e] = (s.errors[e] ?? 0) + c;
    s.simulatorRssMiB += x.rssMiB;
    s.missingSample.push(...x.missingSample);
  }
  s.missingSample = s.missingSample.slice(0, 5);
  return s;
};
const diff = (a, b) => Object.fromEntries(['kicked', 'refused', 'connacks', 'attempts', 'sessionPresent'].map((k) => [k, b[k] - a[k]]));

/** Tell the simulators what every node must hold; resolve with the time the last node got there. */
const untilExact = async (t0, { fresh = false, atLeast = 0, nodes = names } = {}) => {
  const e = await expected(atLeast, nodes);
  for (const w of workers) {
    w.matched = undefined;
    w.send({ cmd: 'expect', epoch: e.epoch, versions: e.versions, byBroker: e.byBroker, fresh });
  }
  const deadline = Date.now() + PHASE_TIMEOUT_MS;
  let lastLog = 0;
  let lastRevise = Date.now();
  while (workers.some((w) => !w.matched)) {
    if (relayExit) return { ok: false, reason: 'relay died', relayExit };
    if (FLEET && Date.now() - lastRevise > 2000) {
      // a replica renumbers a node's document above what the node holds from another one (its
      // sync): what the node must hold is read again, for the nodes not yet exact
      lastRevise = Date.now();
      const r = await expected(atLeast, nodes);
      for (const w of workers) if (!w.matched) w.send({ cmd: 'revise', versions: r.versions, byBroker: r.byBroker });
    }
    if (Date.now() > deadline) return { ok: false, reason: 'timeout', ...(await stats()) };
    if (Date.now() - lastLog > 10_000) {
      lastLog = Date.now();
      const s = await stats();
      progress(`${phase}: ${s.matched}/${N} exact, ${s.connected} connected, kicked ${s.kicked}, relay ${relays.map((x) => mib(procStatus(x.pid, 'VmRSS'))).join(' + ')} MiB`);
    }
    await sleep(100);
  }
  const last = Math.max(...workers.map((w) => w.matched.lastMatchAt));
  return { ok: true, seconds: +((Math.max(last, t0) - t0) / 1000).toFixed(2) };
};
let phaseCpu0 = 0;
/** CPU seconds of every replica running (a restarted one from its start) */
const relaysCpu = () => relays.filter(alive).reduce((a, p) => a + (cpuSeconds(p.pid) || 0), 0);
let simCpu0 = 0;
const simCpu = async () => (await Promise.all(workers.map((w) => ask(w, { cmd: 'stats' })))).reduce((a, x) => a + x.stats.cpuSeconds, 0);
/** CPU_PROFILE: each replica writes what it recorded since the last signal; returns the files' names */
const profileCut = () =>
  relays.filter(alive).map((p) => {
    p.profiles = (p.profiles ?? 0) + 1;
    p.kill('SIGUSR2');
    return join(CPU_PROFILE, `${p.pid}-${p.profiles}.cpuprofile`);
  });
const beginPhase = async () => {
  if (CPU_PROFILE) profileCut();
  phaseCpu0 = relaysCpu();
  simCpu0 = await simCpu();
};
const endPhase = async (name, extra) => {
  extra.relayCpuSeconds = +(relaysCpu() - phaseCpu0).toFixed(1);
  extra.simulatorCpuSeconds = +((await simCpu()) - simCpu0).toFixed(1);
  if (CPU_PROFILE) extra.cpuProfiles = profileCut();
  // diagnostics: RELAY_NODE_FLAGS=--heapsnapshot-signal=SIGUSR2 HEAP_SNAPSHOTS=1 writes one per phase (relay's cwd)
  if (process.env.HEAP_SNAPSHOTS && alive(relay)) relay.kill('SIGUSR2');
  // diagnostics: SMAPS=1 KEEP=1 keeps the relay's memory map at each phase's end
  if (process.env.SMAPS && alive(relay)) writeFileSync(join(dir, `smaps-${name}`), readFileSync(`/proc/${relay.pid}/smaps`));
  peaks[name] = mib(phasePeak);
  phasePeak = 0;
  await sleep(10_500); // one more broker stats record
  out[name] = { ...extra, relayPeakRssMiB: peaks[name], broker: FLEET?.broker === 'nats' ? undefined : RELAYS > 1 ? relays.map((_, i) => brokerStats(i)) : brokerStats() };
};

try {
  await sleep(500);
  out.relayRssIdleMiB = rssOf();
  let before = await stats();
  for (const p of PHASES) {
    if (relayExit) break;
    phase = p;
    progress(p);
    await beginPhase();
    if (p === 'connect') {
      const t0 = Date.now();
      for (const w of workers) w.send({ cmd: 'start', spreadMs: Number(process.env.CONNECT_SPREAD_MS ?? 0) });
      const r = await untilExact(t0);
      await sleep(1500);
      const s = await stats();
      await endPhase(p, { ...r, relayRssAllConnectedMiB: rssOf(), ...diff(before, s), connectedAfter: s.connected });
      before = s;
    } else if (p === 'fanout') {
      let t0 = Date.now();
      const pod = await call('POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'one' }, spec: { nodeName: 'sim-0', containers: [{ name: 'c', image: 'app:1' }] } });
      const one = await untilExact(t0, { atLeast: Number(pod.metadata.resourceVersion), nodes: ['sim-0'] });
      t0 = Date.now();
      const svc = await call('POST', '/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: `everyone-${Date.now()}` }, spec: { ports: [{ port: 80 }] } });
      const all = await untilExact(t0, { atLeast: Number(svc.metadata.resourceVersion) });
      const s = await stats();
      await endPhase(p, { oneNodeSeconds: one.seconds, ...all, ...diff(before, s), connectedAfter: s.connected });
      before = s;
    } else if (p === 'storm') {
      const t0 = Date.now();
      for (const w of workers) w.send({ cmd: 'drop' });
      const r = await untilExact(t0, { fresh: true });
      await sleep(Number(process.env.SETTLE_MS ?? 15_000)); // late kicks show up here
      const s = await stats();
      await endPhase(p, { ...r, ...diff(before, s), connectedAfter: s.connected, relayRssAfterMiB: rssOf() });
      before = s;
    } else if (p === 'restart' && FLEET) {
      // failover: replica 0 is killed; a fleet-wide change made through another replica must reach
      // every node, those of the killed replica's broker included (they move on, as edgehub does)
      const t0 = Date.now();
      phase = 'restart-down';
      await stopRelay('SIGKILL', 0);
      phaseCpu0 = relaysCpu();
      const svc = await call('POST', '/api/v1/namespaces/default/services', { apiVersion: 'v1', kind: 'Service', metadata: { name: `after-kill-${Date.now()}` }, spec: { ports: [{ port: 81 }] } });
      const r = await untilExact(t0, { atLeast: Number(svc.metadata.resourceVersion) });
      phase = 'restart';
      await startRelay(0);
      await sleep(Number(process.env.SETTLE_MS ?? 15_000));
      const s = await stats();
      // kicked here counts the killed replica's nodes (their connections closed under them)
      await endPhase(p, { failover: true, ...r, relayStartMs: relay.startMs, ...diff(before, s), connectedAfter: s.connected, relayRssAfterMiB: rssOf() });
      before = s;
    } else if (p === 'restart') {
      const t0 = Date.now();
      phase = 'restart-down';
      await stopRelay('SIGKILL');
      while ((await stats()).connected > 0) await sleep(100);
      for (const w of workers) w.send({ cmd: 'mark' }); // documents count from here (fresh)
      before = await stats(); // the kill's closes are not kicks
      phase = 'restart';
      relay = await startRelay();
      phaseCpu0 = 0; // a new process: all of its CPU belongs to this phase
      const r = await untilExact(t0, { fresh: true });
      await sleep(Number(process.env.SETTLE_MS ?? 15_000));
      const s = await stats();
      await endPhase(p, { ...r, relayStartMs: relay.startMs, ...diff(before, s), connectedAfter: s.connected, relayRssAfterMiB: rssOf() });
      before = s;
    }
    if (out[p] && out[p].ok === false) break;
  }
  if (UPLINK_SECONDS > 0 && !relayExit) {
    phase = 'uplink';
    progress(`idle uplink over ${UPLINK_SECONDS}s`);
    const a = await Promise.all(workers.map((w) => ask(w, { cmd: 'uplink', count: 20 })));
    const s0 = await stats();
    await sleep(UPLINK_SECONDS * 1000);
    const b = await Promise.all(workers.map((w) => ask(w, { cmd: 'uplink', count: 20 })));
    const s1 = await stats();
    let bytes = 0;
    let n = 0;
    a.forEach((x, wi) =>
      x.bytes.forEach((v, i) => {
        if (x.connected[i] && b[wi].connected[i] && b[wi].bytes[i] >= v) {
          bytes += b[wi].bytes[i] - v;
          n++;
        }
      }),
    );
    const perMin = (bytes / n) * (60 / UPLINK_SECONDS);
    out.idleUplink = {
      sampleNodes: n,
      seconds: UPLINK_SECONDS,
      mqttBytesPerNodePerMinute: +perMin.toFixed(1),
      mqttKbitPerSecond: +((perMin * 8) / 60 / 1000).toFixed(4),
      pingreqsPerNodePerMinute: +(((s1.pingreqs - s0.pingreqs) / N) * (60 / UPLINK_SECONDS)).toFixed(3),
    };
  }
  out.relayPeakRssMiB = rssOf('VmHWM');
  if (backends?.nats) out.natsPeakRssMiB = brokerPeaks.map(mib);
  out.health = health;
  out.final = await stats();
} finally {
  clearInterval(sampler);
  clearInterval(prober);
  out.relayDied = relayExit ?? false;
  for (const w of workers) w.send({ cmd: 'stop' });
  await sleep(500);
  for (let i = 0; i < relays.length; i++) await stopRelay('SIGTERM', i);
  db?.close();
  await backends?.stop().catch((e) => progress(`cleanup: ${e.message}`));
  if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true });
  else out.dir = dir;
}
process.stdout.write(JSON.stringify(out, null, 2) + '\n');
process.exit(0);
