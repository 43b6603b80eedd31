/** Shared bits of the bench scripts: process RSS, percentiles, spawn-until-line. No test framework. */
import { execFileSync, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DAEMON_ENV, DAEMON_NODE_FLAGS } from '../scripts/build/artifact.mjs';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Resident set size of a live process, in KiB (from /proc). */
export function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

export function percentile(values, p) {
  const s = [...values].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i];
}

export const median = (v) => percentile(v, 50);

/**
 * node's flags for the daemon under bench: what the artifact's launcher gives it
 * (scripts/build/artifact.mjs), or BENCH_NODE_FLAGS when set ("" for V8's defaults).
 */
export const daemonNodeFlags = () =>
  process.env.BENCH_NODE_FLAGS !== undefined ? process.env.BENCH_NODE_FLAGS.split(' ').filter(Boolean) : DAEMON_NODE_FLAGS;
/** the environment the launcher gives the daemon (MALLOC_ARENA_MAX...), unless BENCH_NODE_FLAGS asks for V8's defaults */
export const daemonEnv = () => (process.env.BENCH_NODE_FLAGS !== undefined ? {} : DAEMON_ENV);
export const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Spawn and resolve once stdout/stderr matches `re` (with the child and ms elapsed). */
export function spawnUntil(cmd, args, re, { timeoutMs = 30_000, env = {} } = {}) {
  const t0 = process.hrtime.bigint();
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timeout waiting for ${re}: ${out.slice(-2000)}`));
    }, timeoutMs);
    const on = (d) => {
      out += d;
      if (re.test(out)) {
        clearTimeout(timer);
        resolve({ child, ms: Number(process.hrtime.bigint() - t0) / 1e6, output: () => out });
      }
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before ${re}: ${out.slice(-2000)}`));
    });
  });
}

export function stop(child) {
  return new Promise((r) => {
    if (child.exitCode !== null) return r(child.exitCode);
    child.once('exit', (c) => r(c));
    child.kill('SIGTERM');
  });
}

/** A throwaway edgecore config (private data dir, ephemeral ports); returns {file, cleanup}. */
export function benchConfig(modules = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'edgecore-bench-'));
  const file = join(dir, 'edgecore.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      node: { name: 'bench-node' },
      dataDir: join(dir, 'data'),
      log: { level: 'info', format: 'json' },
      ops: { port: 0 },
      modules: { metamanager: { api: { port: 0 } }, eventbus: { port: 0 }, edged: { staticPodPath: join(dir, 'manifests') }, ...modules },
    }),
  );
  return { dir, file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function emit(name, figures) {
  process.stdout.write(JSON.stringify({ bench: name, node: process.version, at: new Date().toISOString(), ...figures }, null, 2) + '\n');
}

/** A free TCP port on 127.0.0.1 (closed again before use: ephemeral). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

const BENCH_ADMIN = 'bench-admin-token';

/**
 * An `edgerelay run` (embedded broker, ephemeral ports, private folder) from `relayCmd`
 * ([program, ...args] that runs edgerelay). Returns { api, http(method, path, body), stop }.
 */
export async function startRelay(relayCmd, dir) {
  const [api, mqtt, ws] = [await freePort(), await freePort(), await freePort()];
  const file = join(dir, 'relay.json');
  writeFileSync(
    file,
    JSON.stringify({
      dataDir: join(dir, 'relay-data'),
      log: { level: 'info', format: 'json' },
      // plain HTTP and MQTT, as the benches' baselines: TLS costs are relay-scale's subject
      api: { host: '127.0.0.1', port: api, adminToken: BENCH_ADMIN, tls: { enabled: false } },
      broker: { host: '127.0.0.1', port: mqtt, plaintext: true, tls: { enabled: false }, ws: { enabled: true, port: ws } },
    }),
  );
  const r = await spawnUntil(relayCmd[0], [...relayCmd.slice(1), 'run', '--config', file], /edgerelay ready/);
  const base = `http://127.0.0.1:${api}`;
  const http = async (method, path, body) => {
    const res = await fetch(base + path, { method, headers: { authorization: `Bearer ${BENCH_ADMIN}`, 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return text ? JSON.parse(text) : undefined;
  };
  return { api: base, http, child: r.child, stop: () => stop(r.child) };
}

/**
 * A node joined to `relay` with `edgecore join` (through `nodeCmd`: [program, ...args]), its config
 * written under dir/<name>.json with `modules` merged in. Returns { file, dataDir }.
 */
export async function joinNode(nodeCmd, relay, dir, name, modules = {}) {
  const file = join(dir, `${name}.json`);
  const dataDir = join(dir, name);
  // every listener on an ephemeral port (the ops endpoint too): benches of several engineers run side by side
  writeFileSync(file, JSON.stringify({ node: { name }, dataDir, log: { level: 'info', format: 'json' }, ops: { port: 0 }, modules: { metamanager: { api: { port: 0 } }, eventbus: { port: 0 }, ...modules } }));
  const { token } = await relay.http('POST', '/edge/v1/tokens', {});
  execFileSync(nodeCmd[0], [...nodeCmd.slice(1), 'join', '--relay', relay.api, '--insecure-http', '--token', token, '--name', name, '--config', file], { stdio: 'pipe' });
  return { file, dataDir };
}

/** CPU time (user + system) a live process has used, in ms (from /proc; clock ticks of 10 ms). */
export function cpuMs(pid) {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) * 10;
}

/** Poll `fn` every `everyMs` until it returns something truthy (that value), or throw after `timeoutMs`. */
export async function pollUntil(what, fn, timeoutMs = 120_000, everyMs = 250) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(everyMs);
  }
}

/** The shipped thermostat example's DeviceModel, in `default`, on the built-in virtual driver. */
export const thermostatModel = {
  apiVersion: 'devices.kubeedge.io/v1beta1',
  kind: 'DeviceModel',
  metadata: { name: 'thermostat', namespace: 'default' },
  spec: {
    protocol: 'virtual',
    properties: [
      { name: 'setpoint', type: 'INT', accessMode: 'ReadWrite', minimum: '0', maximum: '100', unit: 'Celsius' },
      { name: 'temperature', type: 'FLOAT', accessMode: 'ReadOnly' },
    ],
  },
};

/** One thermostat Device (a read of each property every second), bound to `node` when given. */
export const thermostatDevice = (name, node) => ({
  apiVersion: 'devices.kubeedge.io/v1beta1',
  kind: 'Device',
  metadata: { name, namespace: 'default' },
  spec: {
    ...(node ? { nodeName: node } : {}),
    deviceModelRef: { name: 'thermostat' },
    protocol: { protocolName: 'virtual' },
    properties: [
      { name: 'setpoint', desired: { value: '21' }, visitors: { protocolName: 'virtual', configData: { signal: 'echo', initial: 20 } }, collectCycle: 1000, reportCycle: 5000, reportToCloud: true },
      { name: 'temperature', visitors: { protocolName: 'virtual', configData: { signal: 'sine', amplitude: 5, offset: 20, periodMs: 60000, decimals: 2 } }, collectCycle: 1000, reportCycle: 5000, reportToCloud: true },
    ],
  },
});

/** Build the linux-x64 artifact into `dir`/out and unpack it into `dir`/artifact (its path), as an install would have it. */
export function buildLinuxArtifact(dir) {
  const cache = process.env.BENCH_BUILD_CACHE ?? join(ROOT, 'builds', '.cache');
  execFileSync(process.execPath, ['build.mjs', '--target', 'linux-x64', '--out', join(dir, 'out'), '--cache', cache], { cwd: ROOT, stdio: 'pipe' });
  const unpacked = join(dir, 'artifact');
  execFileSync('mkdir', ['-p', unpacked]);
  execFileSync('sh', ['-c', `tar -xzf ${join(dir, 'out', 'linux-x64')}/edgecore-*-linux-x64.tar.gz -C ${unpacked} --strip-components=1`]);
  return unpacked;
}
