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
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { buildLinuxArtifact, cpuMs, emit, joinNode, median, pollUntil, round, rssKiB, sleep, spawnUntil, startRelay, stop, thermostatDevice, thermostatModel } from './lib.mjs';

const SETTLE_S = Number(process.argv[2] ?? 30);
const WINDOW_S = Number(process.argv[3] ?? 60);
const PODS = Number(process.env.PODS ?? 20);
const DEVICES = Number(process.env.DEVICES ?? 50);
const IMAGE = 'edgecore-test/busybox:1';
const variants = JSON.parse(process.env.AB ?? '[{"name":"a"},{"name":"b"}]');
const docker = new Docker({ socketPath: process.env.DOCKER_SOCKET ?? '/var/run/docker.sock' });
const mib = (kib) => round(kib / 1024, 1);

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
  const own = variants.some((v) => !v.art) ? buildLinuxArtifact(dir) : undefined;
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
  await pollUntil('pods running', async () => {
    const list = await relay.http('GET', '/api/v1/namespaces/default/pods');
    return list.items.filter((o) => names.includes(o.spec?.nodeName) && o.status?.phase === 'Running').length === PODS * names.length;
  }, 180_000, 500);
  const pods = await measureAll(pids);

  const DEV = '/apis/devices.kubeedge.io/v1beta1/namespaces/default';
  await relay.http('POST', `${DEV}/devicemodels`, thermostatModel);
  for (let d = 0; d < DEVICES; d++) for (const n of names) await relay.http('POST', `${DEV}/devices`, thermostatDevice(`${n}-d${d}`, n));
  await pollUntil('devices reporting', async () => {
    const list = await relay.http('GET', `${DEV}/devices`);
    return list.items.filter((o) => names.includes(o.spec?.nodeName) && o.status?.twins?.some((t) => t.reported)).length === DEVICES * names.length;
  }, 180_000, 500);
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
