#!/usr/bin/env node
/**
 * Mesh bench (issue 14): what the node's proxy and DNS cost, against a direct connection between
 * the same network namespaces in the same run. The hosts are the mesh tests' own
 * (test/integration/mesh/fleet.ts, hosts.ts: network namespaces, one `edgecore` each, the real
 * relay and kubectl), so the bench measures exactly what the tests prove works.
 *
 * Arms (each a way through the proxy and its baseline):
 *   same-node  client pod on A → Service `near` (ClusterIP) → pod on A;  direct: client → that pod's IP
 *   same-lan   client pod on A → Service `far` → A's proxy → mutual-TLS HTTP/2 CONNECT over the LAN
 *              → C's peer listener → pod on C;  direct: host A → host C over their LAN link (plain TCP)
 *   via-relay  (VIA_RELAY=1; needs the relay tunnel) client pod on A → Service `relayed` → A's proxy
 *              → the relay's tunnel → B's peer listener → pod on B, host B having no route to A;
 *              direct: host A → a plain TCP forward on the relay's host (over A's counted link to
 *              it, in this process) → host B
 * For each: throughput (`BULK` bytes, default 64 MiB, served by a probe in the endpoint), connect
 * + first byte (a new connection until the echo of its first byte), and one-byte request/response
 * round trips on one connection (p50/p99). The probe (bench/mesh-probe.mjs) runs inside the pod's
 * network namespace (`nsenter -n` on the container's process) or the host's (`ip netns exec`).
 * DNS on node A, queried from the client pod: a Service name (answered by the node) and a name the
 * node forwards upstream, against the same query sent to that upstream directly. The upstream is a
 * stand-in resolver on host A (a fake: the test hosts have no way out), answering at once.
 * Steps alternate between an arm and its baseline, `ROUNDS` times, so load from neighbours hits
 * both alike. Needs root, Docker, iproute2, iptables, socat, nsenter, kubectl 1.32.
 *
 * Usage: node bench/mesh.mjs   (env: ROUNDS=3 BULK=67108864 BULK_RUNS=2 CONNECTS=100 ROUND_TRIPS=1000 QUERIES=1000 VIA_RELAY=0)
 */
import { spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { register } from 'tsx/esm/api';
import { emit, freePort, percentile, ROOT, round } from './lib.mjs';

register();
const test = (p) => import(new URL(`../test/integration/${p}`, import.meta.url).href);
const { containerOf, startFleet } = await test('mesh/fleet.ts');
const { waitFor } = await test('relay/harness.ts');

const env = (k, d) => Number(process.env[k] ?? d);
const ROUNDS = env('ROUNDS', 3);
const BULK = env('BULK', 64 * 1024 * 1024);
const SPEC = { bulk: BULK, bulkRuns: env('BULK_RUNS', 2), connects: env('CONNECTS', 100), roundTrips: env('ROUND_TRIPS', 1000), queries: env('QUERIES', 1000) };
const PROBE = join(ROOT, 'bench', 'mesh-probe.mjs');
const PORT = 8080;
const VIA_RELAY = process.env.VIA_RELAY === '1';
const progress = (m) => (process.env.QUIET ? undefined : process.stderr.write(`[mesh] ${m}\n`));

/** A teardown scope like a test's: afters run last-registered first. */
const undo = [];
const scope = {
  after: (fn) => void undo.push(fn),
  skip: (why) => {
    throw new Error(why);
  },
};
async function teardown() {
  for (const fn of undo.reverse()) await Promise.resolve().then(fn).catch(() => undefined);
}

/** A probe in a namespace (`prefix`: nsenter or ip netns exec); resolves once it listens. */
function probe(prefix, args) {
  const child = spawn(prefix[0], [...prefix.slice(1), process.execPath, PROBE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  undo.push(() => child.kill('SIGKILL'));
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('listening')) resolve(child);
    });
    child.stderr.on('data', (d) => void (out += d));
    child.once('exit', (code) => reject(new Error(`probe ${args.join(' ')} exited (${code}): ${out}`)));
  });
}

/** The probe's client in a namespace; its samples. */
function measure(prefix, spec) {
  return new Promise((resolve, reject) => {
    const child = spawn(prefix[0], [...prefix.slice(1), process.execPath, PROBE, 'client', JSON.stringify({ ...SPEC, ...spec })], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => void (out += d));
    child.stderr.on('data', (d) => void (err += d));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`client exited (${code}): ${err}${out}`))));
  });
}

const podManifest = (name, app, node, port) => `apiVersion: v1
kind: Pod
metadata: {name: ${name}${app ? `, labels: {app: ${app}}` : ''}}
spec:
  nodeName: ${node}
  containers: [{name: main, image: edgecore-test/busybox:1, command: [sleep, '36000']${port ? `, ports: [{name: probe, containerPort: ${port}}]` : ''}}]
---
`;
const serviceManifest = (name) => `apiVersion: v1
kind: Service
metadata: {name: ${name}}
spec: {selector: {app: ${name}}, ports: [{port: 80, targetPort: probe}]}
---
`;

const dir = mkdtempSync(join(tmpdir(), 'edgecore-bench-mesh-'));
undo.push(() => rmSync(dir, { recursive: true, force: true }));
try {
  progress('test hosts, relay and two nodes');
  // via relay: a third host, B, with no LAN link; the direct line's forward listens on `forward` in the root namespace
  const forward = VIA_RELAY ? await freePort() : 0;
  const f = await startFleet(scope, {
    count: VIA_RELAY ? 3 : 2,
    lans: [[0, 1]],
    linkPorts: VIA_RELAY ? [forward] : [],
    // each node's upstream resolver: the stand-in on its own host
    dns: (host) => {
      const file = join(dir, `resolv-${host.ns}.conf`);
      writeFileSync(file, `nameserver ${host.uplink}\n`);
      return { resolvConf: file };
    },
  });
  const [a, c, b] = f.nodes;
  const relayed = VIA_RELAY ? podManifest('relayed', 'relayed', b.name, PORT) + serviceManifest('relayed') : '';
  const applied = f.relay.apply(podManifest('near', 'near', a.name, PORT) + podManifest('far', 'far', c.name, PORT) + podManifest('client', '', a.name, 0) + serviceManifest('near') + serviceManifest('far') + relayed);
  if (applied.code !== 0) throw new Error(applied.err);
  const ready = (svc, node) =>
    waitFor(`the endpoint of ${svc} on ${node} ready`, () => {
      const s = f.relay.getJson('endpointslices', '-l', `kubernetes.io/service-name=${svc}`);
      return s?.items[0]?.endpoints?.find((x) => x.conditions?.ready && x.nodeName === node)?.addresses[0];
    }, 180_000);
  const nearIp = await ready('near', a.name);
  await ready('far', c.name);
  if (VIA_RELAY) await ready('relayed', b.name);
  for (const peer of VIA_RELAY ? [c, b] : [c]) await waitFor(`${peer.name}'s key stored on A`, () => a.node.resources('Node').find((r) => r.name === peer.name && r.spec.includes('key-sha256')), 60_000);
  const services = VIA_RELAY ? 3 : 2;
  await waitFor('the Services and slices on A', () => a.node.resources('Service').length === services && a.node.resources('EndpointSlice').length === services, 60_000);
  const clusterIp = (svc) => f.relay.kubectl(['get', 'svc', svc, '-o', 'jsonpath={.spec.clusterIP}']).out.trim();
  const pidOf = async (node, pod) => {
    const id = await waitFor(`the container of ${pod}`, () => containerOf(f, node, pod, 'main'), 120_000);
    return (await f.docker.getContainer(id).inspect()).State.Pid;
  };
  const inPod = async (node, pod) => ['nsenter', '-t', String(await pidOf(node, pod)), '-n'];
  const clientNs = await inPod(a.name, 'client');

  progress('probes: servers in the endpoint pods and on host C, the stand-in resolver on host A');
  await probe(await inPod(a.name, 'near'), ['server', '0.0.0.0', String(PORT)]);
  await probe(await inPod(c.name, 'far'), ['server', '0.0.0.0', String(PORT)]);
  await probe(c.host.prefix, ['server', c.host.lan[0], String(PORT)]);
  await probe(a.host.prefix, ['dns', a.host.uplink, '53']);
  if (VIA_RELAY) {
    await probe(await inPod(b.name, 'relayed'), ['server', '0.0.0.0', String(PORT)]);
    await probe(b.host.prefix, ['server', b.host.uplink, String(PORT)]);
    // the direct line's plain forward on the relay's host: root namespace → host B's own address
    const server = createServer((s) => {
      const out = connect(PORT, b.host.uplink);
      s.setNoDelay(true);
      out.setNoDelay(true);
      s.pipe(out).pipe(s);
      s.on('error', () => out.destroy());
      out.on('error', () => s.destroy());
    });
    await new Promise((r) => server.listen(forward, '127.0.0.1', r));
    undo.push(() => server.close());
  }

  /** each arm: where the client runs and what it dials, through the proxy and directly */
  const ARMS = [
    { name: 'same-node', via: { ns: clientNs, host: clusterIp('near'), port: 80 }, direct: { ns: clientNs, host: nearIp, port: PORT } },
    { name: 'same-lan', via: { ns: clientNs, host: clusterIp('far'), port: 80 }, direct: { ns: a.host.prefix, host: c.host.lan[0], port: PORT } },
    ...(VIA_RELAY ? [{ name: 'via-relay', via: { ns: clientNs, host: clusterIp('relayed'), port: 80 }, direct: { ns: a.host.prefix, host: '127.0.0.1', port: forward } }] : []),
  ];
  const DNS = [
    { name: 'service', server: f.dnsAddress, port: 53, qname: 'near.default.svc.cluster.local' },
    { name: 'forwarded', server: f.dnsAddress, port: 53, qname: 'example.bench.test' },
    { name: 'upstream-direct', server: a.host.uplink, port: 53, qname: 'example.bench.test' },
  ];
  // reachable both ways before measuring (the first round trip through C sets up the peer session)
  for (const arm of ARMS) for (const side of ['via', 'direct']) await measure(arm[side].ns, { tcp: [{ name: 'check', host: arm[side].host, port: arm[side].port }], bulk: 1024, bulkRuns: 1, connects: 1, roundTrips: 1, queries: 0 });

  const samples = {};
  const add = (key, res) => {
    const s = (samples[key] ??= { bulkMs: [], firstByteMs: [], roundTripMs: [] });
    for (const k of Object.keys(s)) s[k].push(...res[k]);
  };
  const dnsSamples = {};
  for (let r = 0; r < ROUNDS; r++) {
    for (const arm of ARMS) {
      for (const side of ['via', 'direct']) {
        progress(`round ${r + 1}/${ROUNDS}: ${arm.name} ${side}`);
        const res = await measure(arm[side].ns, { tcp: [{ name: side, host: arm[side].host, port: arm[side].port }] });
        add(`${arm.name}/${side}`, res.tcp[side]);
      }
    }
    progress(`round ${r + 1}/${ROUNDS}: DNS`);
    const res = await measure(clientNs, { tcp: [], dns: DNS });
    for (const [k, v] of Object.entries(res.dns)) {
      const s = (dnsSamples[k] ??= { ms: [], lost: 0, rcode: v.rcode });
      s.ms.push(...v.ms);
      s.lost += v.lost;
    }
  }

  const stats = (v) => ({ p50: round(percentile(v, 50), 3), p99: round(percentile(v, 99), 3), n: v.length });
  const mbps = (ms) => round(BULK / 1e6 / (ms / 1000), 1);
  const figures = (s) => ({
    throughputMBps: { median: mbps(percentile(s.bulkMs, 50)), runs: s.bulkMs.map(mbps) },
    connectFirstByteMs: stats(s.firstByteMs),
    roundTripMs: stats(s.roundTripMs),
  });
  const arms = Object.fromEntries(
    ARMS.map((arm) => {
      const via = figures(samples[`${arm.name}/via`]);
      const direct = figures(samples[`${arm.name}/direct`]);
      return [
        arm.name,
        {
          via,
          direct,
          throughputRatio: round(via.throughputMBps.median / direct.throughputMBps.median, 2),
          addedConnectFirstByteMs: { p50: round(via.connectFirstByteMs.p50 - direct.connectFirstByteMs.p50, 3), p99: round(via.connectFirstByteMs.p99 - direct.connectFirstByteMs.p99, 3) },
          addedRoundTripMs: { p50: round(via.roundTripMs.p50 - direct.roundTripMs.p50, 3), p99: round(via.roundTripMs.p99 - direct.roundTripMs.p99, 3) },
        },
      ];
    }),
  );
  const dns = Object.fromEntries(Object.entries(dnsSamples).map(([k, v]) => [k, { ...stats(v.ms), lost: v.lost, rcode: v.rcode }]));
  const load = (await import('node:os')).loadavg().map((x) => round(x, 1));
  emit('mesh', { rounds: ROUNDS, bulkBytes: BULK, spec: SPEC, loadAverage: load, arms, dns });
} finally {
  await teardown();
}
