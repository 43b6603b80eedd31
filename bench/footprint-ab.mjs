#!/usr/bin/env node
/**
 * bench/footprint.mjs's scenario for two or more variants of the daemon at once, side by side in
 * the same run (same relay, same machine load): each variant is a node of its own, joined to one
 * relay, with 20 pods and 50 virtual devices, started with its own environment (launcher flags,
 * malloc settings) and optionally from its own unpacked artifact (code changes). What one variant
 * costs the others is shared by all, so the difference between variants is the figure; the
 * absolute figures are footprint.mjs's.
 *
 * Usage: AB='[{"name":"a"},{"name":"b","env":{"EDGECORE_NODE_FLAGS":"..."},"art":"/path/artifact"}]' \
 *          node bench/footprint-ab.mjs [settleSeconds=30] [windowSeconds=60]
 * A variant without `art` runs the artifact built from this tree (built once, as footprint.mjs does).
 * RSS: the median of samples every 2 s over the window; CPU: over the window.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { cpuMs, emit, joinNode, median, ROOT, round, rssKiB, sleep, spawnUntil, startRelay, stop } from './lib.mjs';

const SETTLE_S = Number(process.argv[2] ?? 30);
const WINDOW_S = Number(process.argv[3] ?? 60);
const PODS = Number(process.env.PODS ?? 20);
const DEVICES = Number(process.env.DEVICES ?? 50);
const IMAGE = 'edgecore-test/busybox:1';
const variants = JSON.parse(process.env.AB ?? '[{"name":"a"},{"name":"b"}]');
const docker = new Docker({ socketPath: process.env.DOCKER_SOCKET ?? '/var/run/docker.sock' });
const mib = (kib) => round(kib / 1024, 1);

function buildArtifact(dir) {
  const cache = process.env.BENCH_BUILD_CACHE ?? join(ROOT, 'builds', '.cache');
  execFileSync(process.execPath, ['build.mjs', '--target', 'linux-x64', '--out', join(dir, 'out'), '--cache', cache], { cwd: ROOT, stdio: 'pipe' });
  const unpacked = join(dir, 'artifact');
  execFileSync('mkdir', ['-p', unpacked]);
  execFileSync('sh', ['-c', `tar -xzf ${join(dir, 'out', 'linux-x64')}/edgecore-*-linux-x64.tar.gz -C ${unpacked} --strip-components=1`]);
  return unpacked;
}

/** every variant at once: RSS median over the window (after settle), CPU % of one core over it */
async function measureAll(pids) {
  await sleep(SETTLE_S * 1000);
  const c0 = pids.map(cpuMs);
  const t0 = Date.now();
  const samples = pids.map(() => []);
  const end = t0 + WINDOW_S * 1000;
  while (Date.now() < end) {
    pids.forEach((p, i) => samples[i].push(rssKiB(p)));
    await sleep(2000);
  }
  const dt = Date.now() - t0;
  return pids.map((p, i) => ({ rssMiB: mib(median(samples[i])), minMiB: mib(Math.min(...samples[i])), maxMiB: mib(Math.max(...samples[i])), cpuPct: round(((cpuMs(p) - c0[i]) / dt) * 100, 2) }));
}

async function waitFor(what, fn, timeoutMs = 180_000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(500);
  }
}

const thermostat = {
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
const device = (name, node) => ({
  apiVersion: 'devices.kubeedge.io/v1beta1',
  kind: 'Device',
  metadata: { name, namespace: 'default' },
  spec: {
    nodeName: node,
    deviceModelRef: { name: 'thermostat' },
    protocol: { protocolName: 'virtual' },
    properties: [
      { name: 'setpoint', desired: { value: '21' }, visitors: { protocolName: 'virtual', configData: { signal: 'echo', initial: 20 } }, collectCycle: 1000, reportCycle: 5000, reportToCloud: true },
      { name: 'temperature', visitors: { protocolName: 'virtual', configData: { signal: 'sine', amplitude: 5, offset: 20, periodMs: 60000, decimals: 2 } }, collectCycle: 1000, reportCycle: 5000, reportToCloud: true },
    ],
  },
});
const pod = (name, node) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default' },
  spec: { nodeName: node, terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: IMAGE, imagePullPolicy: 'Never', command: ['sleep', '1000000'] }] },
});

const dir = mkdtempSync(join(tmpdir(), 'edgecore-bench-fpab-'));
const tag = `bench-fpab-${process.pid}`;
let relay;
const daemons = [];
try {
  const own = variants.some((v) => !v.art) ? buildArtifact(dir) : undefined;
  const arts = variants.map((v) => v.art ?? own);
  const bare = await spawnUntil(join(arts[0], 'node', 'bin', 'node'), ['-e', "setInterval(() => {}, 1000); console.log('up')"], /up/);
  await sleep(3000);
  const bareMiB = mib(rssKiB(bare.child.pid));
  await stop(bare.child);

  relay = await startRelay([join(arts[0], 'bin', 'edgerelay')], dir);
  const names = variants.map((_v, i) => `${tag}-${i}`);
  for (let i = 0; i < variants.length; i++) {
    const node = await joinNode([join(arts[i], 'bin', 'edgecore')], relay, dir, names[i], { edged: { staticPodPath: '' } });
    daemons.push(await spawnUntil(join(arts[i], 'bin', 'edgecore'), ['run', '--config', node.file], /"msg":"edgecore ready"/, { env: variants[i].env ?? {} }));
  }
  const pids = daemons.map((d) => d.child.pid);
  const idle = await measureAll(pids);

  for (let p = 0; p < PODS; p++) for (const n of names) await relay.http('POST', '/api/v1/namespaces/default/pods', pod(`${n}-p${p}`, n));
  await waitFor('pods running', async () => {
    const list = await relay.http('GET', '/api/v1/namespaces/default/pods');
    return list.items.filter((o) => names.includes(o.spec?.nodeName) && o.status?.phase === 'Running').length === PODS * names.length;
  });
  const pods = await measureAll(pids);

  const DEV = '/apis/devices.kubeedge.io/v1beta1/namespaces/default';
  await relay.http('POST', `${DEV}/devicemodels`, thermostat);
  for (let d = 0; d < DEVICES; d++) for (const n of names) await relay.http('POST', `${DEV}/devices`, device(`${n}-d${d}`, n));
  await waitFor('devices reporting', async () => {
    const list = await relay.http('GET', `${DEV}/devices`);
    return list.items.filter((o) => names.includes(o.spec?.nodeName) && o.status?.twins?.some((t) => t.reported)).length === DEVICES * names.length;
  });
  const full = await measureAll(pids);

  emit('footprint-ab', {
    settleSeconds: SETTLE_S,
    windowSeconds: WINDOW_S,
    pods: PODS,
    devices: DEVICES,
    bareNodeMiB: bareMiB,
    variants: variants.map((v, i) => ({
      name: v.name,
      env: v.env ?? {},
      art: v.art ?? 'this tree',
      idle: idle[i],
      pods: pods[i],
      full: full[i],
      overBareMiB: round(full[i].rssMiB - bareMiB, 1),
    })),
  });
} finally {
  for (const d of daemons) await stop(d.child);
  if (relay) await relay.stop();
  const list = await docker.listContainers({ all: true, filters: { label: ['io.edgecore.node'] } });
  const ours = list.filter((c) => String(c.Labels?.['io.edgecore.node'] ?? '').startsWith(tag));
  await Promise.all(ours.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  rmSync(dir, { recursive: true, force: true });
}
