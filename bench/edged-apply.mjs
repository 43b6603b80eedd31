#!/usr/bin/env node
/**
 * edged against the real Docker engine, with baselines measured in the same run:
 * 1. apply → all containers running: static pod files handed to a running `edgecore run`
 *    (metamanager + edged only) until the engine has started every container, vs raw dockerode
 *    `create` + `start` of the same containers (per pod: the netns holder, then the containers
 *    joining it), 4 pods at a time like edged's executor. Ratio goal ≤ 1.2.
 * 2. RSS of the daemon with 20 running pods vs the same daemon with none vs bare node.
 * The local test image is used (no registry). Bundles the current sources into .edgecore/.
 * Usage: node bench/edged-apply.mjs [runs=2] [pods=5] [containersPerPod=2]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { benchConfig, daemonNodeFlags, emit, median, ROOT, round, rssKiB, sleep, spawnUntil, stop } from './lib.mjs';
import { bundle } from '../build.mjs';

const runs = Number(process.argv[2] ?? 2);
const pods = Number(process.argv[3] ?? 5);
const perPod = Number(process.argv[4] ?? 2);
const RSS_PODS = 20;
const IMAGE = 'edgecore-test/busybox:1';
const socketPath = process.env.DOCKER_SOCKET ?? '/var/run/docker.sock';
const docker = new Docker({ socketPath });

async function ensureImage() {
  try {
    await docker.getImage(IMAGE).inspect();
  } catch {
    execFileSync(process.execPath, ['--import', 'tsx', '-e', "import('./test/helpers/docker.ts').then((m) => m.ensureTestImage(m.dockerClient()))"], { cwd: ROOT, stdio: 'inherit' });
  }
}

async function removeLabelled(label) {
  const list = await docker.listContainers({ all: true, filters: { label: [label] } });
  await Promise.all(list.map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)));
}

/** Resolves when `count` containers carrying `label` have started (engine events). */
async function startsOf(label, count) {
  const stream = await docker.getEvents({ filters: { type: ['container'], event: ['start'], label: [label] } });
  let seen = 0;
  let rest = '';
  const done = new Promise((resolve) => {
    stream.on('data', (b) => {
      rest += b.toString();
      const lines = rest.split('\n');
      rest = lines.pop();
      seen += lines.filter(Boolean).length;
      if (seen >= count) resolve(process.hrtime.bigint());
    });
  });
  return { done, close: () => stream.destroy() };
}

/** The same containers edged makes, created and started directly; pods 4 at a time as edged's executor does. */
async function rawRun(tag) {
  const label = `edgecore.bench=${tag}`;
  const t0 = process.hrtime.bigint();
  const queue = Array.from({ length: pods }, (_, p) => p);
  const onePod = async (p) => {
    const box = await docker.createContainer({
      name: `${tag}-p${p}-sandbox`,
      Image: IMAGE,
      Entrypoint: ['sleep', 'infinity'],
      Cmd: [],
      Labels: { 'edgecore.bench': tag },
      HostConfig: { Init: true, NetworkMode: 'bridge' },
    });
    await box.start();
    for (let c = 0; c < perPod; c++) {
      const ct = await docker.createContainer({
        name: `${tag}-p${p}-c${c}`,
        Image: IMAGE,
        Entrypoint: ['sleep', '100000'],
        Cmd: [],
        Labels: { 'edgecore.bench': tag },
        HostConfig: { NetworkMode: `container:${tag}-p${p}-sandbox` },
      });
      await ct.start();
    }
  };
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      for (let p = queue.shift(); p !== undefined; p = queue.shift()) await onePod(p);
    }),
  );
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  await removeLabelled(label);
  return ms;
}

function podYaml(name) {
  const containers = Array.from({ length: perPod }, (_, c) => ({ name: `c${c}`, image: IMAGE, command: ['sleep', '100000'] }));
  return JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { terminationGracePeriodSeconds: 1, containers } });
}

async function startDaemon(bundlePath, node) {
  const cfg = benchConfig({
    metamanager: { api: { enabled: false } },
    eventbus: { enabled: false },
    devicetwin: { enabled: false },
    edgehub: { enabled: false },
  });
  const manifests = join(cfg.dir, 'manifests');
  mkdirSync(manifests, { recursive: true });
  // benchConfig names the node 'bench-node'; give each run its own so containers never mix.
  const text = JSON.parse((await import('node:fs')).readFileSync(cfg.file, 'utf8'));
  text.node.name = node;
  text.paths = { dockerSocket: socketPath };
  text.modules.edged = { staticPodPath: manifests, staticPodScanSeconds: 1 };
  writeFileSync(cfg.file, JSON.stringify(text));
  const d = await spawnUntil(process.execPath, [...daemonNodeFlags(), bundlePath, 'run', '--config', cfg.file], /"msg":"edgecore ready"/);
  return { ...d, manifests, cfg };
}

async function edgedRun(bundlePath, tag) {
  const node = tag;
  const d = await startDaemon(bundlePath, node);
  await sleep(500);
  const watch = await startsOf(`io.edgecore.node=${node}`, pods * (perPod + 1));
  const t0 = process.hrtime.bigint();
  for (let p = 0; p < pods; p++) writeFileSync(join(d.manifests, `p${p}.json`), podYaml(`p${p}`));
  const t1 = await watch.done;
  watch.close();
  await stop(d.child);
  await removeLabelled(`io.edgecore.node=${node}`);
  d.cfg.cleanup();
  return Number(t1 - t0) / 1e6;
}

async function rssRun(bundlePath) {
  const bare = await spawnUntil(process.execPath, ['-e', "setInterval(() => {}, 1000); console.log('up')"], /up/);
  await sleep(1500);
  const bareKiB = rssKiB(bare.child.pid);
  await stop(bare.child);

  const node = `bench-rss-${process.pid}`;
  const d = await startDaemon(bundlePath, node);
  await sleep(2000);
  const idleKiB = rssKiB(d.child.pid);
  const watch = await startsOf(`io.edgecore.node=${node}`, RSS_PODS * 2);
  for (let p = 0; p < RSS_PODS; p++) {
    writeFileSync(join(d.manifests, `r${p}.json`), JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `r${p}` }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: IMAGE, command: ['sleep', '100000'] }] } }));
  }
  await watch.done;
  watch.close();
  await sleep(3000); // settle: statuses reported, a resync pass or two
  const loadedKiB = rssKiB(d.child.pid);
  await stop(d.child);
  await removeLabelled(`io.edgecore.node=${node}`);
  d.cfg.cleanup();
  return { bareKiB, idleKiB, loadedKiB };
}

await ensureImage();
const outdir = join(ROOT, '.edgecore', `bench-dist-${process.pid}`);
await bundle(outdir);
const bundlePath = join(outdir, 'edgecore.js');
try {
  const raw = [];
  const edged = [];
  for (let i = 0; i < runs; i++) {
    raw.push(await rawRun(`bench-raw-${process.pid}-${i}`));
    edged.push(await edgedRun(bundlePath, `bench-apply-${process.pid}-${i}`));
  }
  const rss = await rssRun(bundlePath);
  emit('edged-apply', {
    daemonNodeFlags: daemonNodeFlags(),
    runs,
    pods,
    containersPerPod: perPod,
    applyToRunningMs: {
      edged: round(median(edged)),
      rawCreateStart: round(median(raw)),
      ratio: round(median(edged) / median(raw)),
      note: `${pods} pods x (${perPod} containers + 1 netns holder); raw = dockerode create+start of the same containers, 4 pods at a time like edged`,
    },
    rssMiB: {
      bareNode: round(rss.bareKiB / 1024),
      daemonNoPods: round(rss.idleKiB / 1024),
      daemon20Pods: round(rss.loadedKiB / 1024),
      plus20PodsMiB: round((rss.loadedKiB - rss.idleKiB) / 1024),
      overBareNodeMiB: round((rss.loadedKiB - rss.bareKiB) / 1024),
    },
  });
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
