#!/usr/bin/env node
/**
 * The node's footprint in the scenario of issue 16, as the field runs it: the linux-x64 artifact
 * is built and unpacked, a relay runs from it, and a node joined to that relay runs through the
 * artifact's launcher (its Node runtime and node flags), with every module at its default. Then:
 *
 *   - a bare `node` of the same runtime, in the same run: the baseline;
 *   - the daemon idle; with 20 running pods (one busybox container each, applied through the
 *     relay); and with 50 devices on the built-in virtual driver as well (the shipped thermostat:
 *     two properties read every second, so 100 reads/s);
 *   - RSS after a settle time, and CPU (user + system, all threads) over a window.
 *
 * Goals: daemon − bare ≤ 20 MiB with 20 pods + 50 devices, CPU ≤ 0.5 % of one core.
 * Usage: node bench/footprint.mjs [settleSeconds=30] [cpuSeconds=60]
 * BENCH_BUILD_CACHE: build.mjs's --cache (Node runtimes, compiled addons); default builds/.cache.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { buildLinuxArtifact, cpuMs, emit, joinNode, pollUntil, ROOT, round, rssKiB, sleep, spawnUntil, startRelay, stop, thermostatDevice, thermostatModel } from './lib.mjs';

const SETTLE_S = Number(process.argv[2] ?? 30);
const CPU_S = Number(process.argv[3] ?? 60);
const PODS = 20;
const DEVICES = 50;
const IMAGE = 'edgecore-test/busybox:1';
const docker = new Docker({ socketPath: process.env.DOCKER_SOCKET ?? '/var/run/docker.sock' });
const mib = (kib) => round(kib / 1024, 1);

async function ensureImage() {
  try {
    await docker.getImage(IMAGE).inspect();
  } catch {
    execFileSync(process.execPath, ['--import', 'tsx', '-e', "import('./test/helpers/docker.ts').then((m) => m.ensureTestImage(m.dockerClient()))"], { cwd: ROOT, stdio: 'inherit' });
  }
}

/** RSS after `settle`, and CPU % of one core over `window`. */
async function measure(pid, settleS, windowS) {
  await sleep(settleS * 1000);
  const rss = rssKiB(pid);
  const c0 = cpuMs(pid);
  const t0 = Date.now();
  await sleep(windowS * 1000);
  const cpu = ((cpuMs(pid) - c0) / (Date.now() - t0)) * 100;
  return { rssMiB: mib(rss), cpuPct: round(cpu, 2) };
}

const pod = (name) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: IMAGE, imagePullPolicy: 'Never', command: ['sleep', '1000000'] }] } });

await ensureImage();
const dir = mkdtempSync(join(tmpdir(), 'edgecore-bench-footprint-'));
const name = `bench-fp-${process.pid}`;
let relay;
let daemon;
try {
  const art = buildLinuxArtifact(dir);
  const nodeBin = join(art, 'node', 'bin', 'node');
  // the baseline: the artifact's own Node runtime doing nothing
  const bare = await spawnUntil(nodeBin, ['-e', "setInterval(() => {}, 1000); console.log('up')"], /up/);
  const bareFig = await measure(bare.child.pid, 3, 10);
  await stop(bare.child);

  relay = await startRelay([join(art, 'bin', 'edgerelay')], dir);
  const node = await joinNode([join(art, 'bin', 'edgecore')], relay, dir, name, { edged: { staticPodPath: '' } });
  daemon = await spawnUntil(join(art, 'bin', 'edgecore'), ['run', '--config', node.file], /"msg":"edgecore ready"/);
  const pid = daemon.child.pid;
  const idle = await measure(pid, SETTLE_S, CPU_S);

  // through the Kubernetes API, bound to the node (spec.nodeName)
  const onNode = (o) => ({ ...o, metadata: { ...o.metadata, namespace: 'default' }, spec: { ...o.spec, nodeName: name } });
  for (let i = 0; i < PODS; i++) await relay.http('POST', '/api/v1/namespaces/default/pods', onNode(pod(`fp-${i}`)));
  await pollUntil('20 pods running', async () => {
    const list = await relay.http('GET', `/api/v1/namespaces/default/pods?fieldSelector=spec.nodeName%3D${name}`);
    return list.items.filter((o) => o.status?.phase === 'Running').length === PODS;
  });
  const pods = await measure(pid, SETTLE_S, CPU_S);

  const DEV = '/apis/devices.kubeedge.io/v1beta1/namespaces/default';
  await relay.http('POST', `${DEV}/devicemodels`, thermostatModel);
  for (let i = 0; i < DEVICES; i++) await relay.http('POST', `${DEV}/devices`, onNode(thermostatDevice(`thermo-${i}`)));
  await pollUntil('50 devices reporting', async () => {
    const list = await relay.http('GET', `${DEV}/devices`);
    return list.items.filter((o) => o.spec?.nodeName === name && o.status?.twins?.some((t) => t.reported)).length === DEVICES;
  });
  const full = await measure(pid, SETTLE_S, CPU_S);

  emit('footprint', {
    artifact: 'linux-x64, launcher flags',
    settleSeconds: SETTLE_S,
    cpuSeconds: CPU_S,
    bareNode: bareFig,
    daemonIdle: idle,
    daemon20Pods: pods,
    daemon20Pods50Devices: full,
    overBareMiB: { idle: round(idle.rssMiB - bareFig.rssMiB, 1), pods: round(pods.rssMiB - bareFig.rssMiB, 1), podsAndDevices: round(full.rssMiB - bareFig.rssMiB, 1) },
    goals: { overBareMiB: 20, cpuPct: 0.5, met: { memory: full.rssMiB - bareFig.rssMiB <= 20, cpu: full.cpuPct <= 0.5 } },
  });
} finally {
  if (daemon) await stop(daemon.child);
  if (relay) await relay.stop();
  const list = await docker.listContainers({ all: true, filters: { label: [`io.edgecore.node=${name}`] } });
  await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
  rmSync(dir, { recursive: true, force: true });
}
