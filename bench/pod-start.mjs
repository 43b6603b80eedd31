#!/usr/bin/env node
/**
 * Pod start as a user sees it, against raw Docker in the same run (real engine, local test image):
 *
 * 1. raw Docker, one pod at a time (dockerode): `create`+`start` of one container; a pod with a
 *    network holder done in sequence (holder create, start, container create, start); and the
 *    same with the container created while the holder starts.
 * 2. edged: a relay and a joined node (bundles, the launcher's node flags); each pod applied
 *    through the relay's API (what `edgectl apply` does) and polled there until it reads Running
 *    with every container running (what `edgectl get pods` shows). Pods one after the other, as a
 *    user would; once with single-container pods skipping the sandbox (the default) and once with
 *    a sandbox for every pod (`sandbox.skipForSingleContainer: false`).
 *
 * Goal (issue 16): edged's p99 within raw Docker's p99 + 0.5 s.
 * Usage: node bench/pod-start.mjs [pods=20]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { bundle } from '../build.mjs';
import { daemonNodeFlags, emit, joinNode, percentile, ROOT, round, sleep, spawnUntil, startRelay, stop } from './lib.mjs';

const PODS = Number(process.argv[2] ?? 20);
const IMAGE = 'edgecore-test/busybox:1';
const socketPath = process.env.DOCKER_SOCKET ?? '/var/run/docker.sock';
const docker = new Docker({ socketPath });
const now = () => Number(process.hrtime.bigint()) / 1e6;

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

const stats = (v) => ({ p50: round(percentile(v, 50)), p99: round(percentile(v, 99)), max: round(Math.max(...v)) });

/** Raw Docker: `shape` is 'single' | 'holder-seq' | 'holder-par'. */
async function raw(tag, shape) {
  const labels = { 'edgecore.bench': tag };
  const times = [];
  for (let i = 0; i < PODS; i++) {
    const t0 = now();
    if (shape === 'single') {
      const c = await docker.createContainer({ name: `${tag}-${i}`, Image: IMAGE, Entrypoint: ['sleep', '100000'], Cmd: [], Labels: labels, HostConfig: { NetworkMode: 'bridge' } });
      await c.start();
    } else {
      const box = await docker.createContainer({ name: `${tag}-${i}-box`, Image: IMAGE, Entrypoint: ['sleep', 'infinity'], Cmd: [], Labels: labels, HostConfig: { Init: true, NetworkMode: 'bridge' } });
      const app = () => docker.createContainer({ name: `${tag}-${i}-c`, Image: IMAGE, Entrypoint: ['sleep', '100000'], Cmd: [], Labels: labels, HostConfig: { NetworkMode: `container:${tag}-${i}-box` } });
      let c;
      if (shape === 'holder-seq') {
        await box.start();
        c = await app();
      } else {
        [, c] = await Promise.all([box.start(), app()]);
      }
      await c.start();
    }
    times.push(now() - t0);
  }
  await removeLabelled(`edgecore.bench=${tag}`);
  return stats(times);
}

/** edged through a relay: apply → the relay reads Running with every container running. */
async function edged(dist, skip) {
  const dir = mkdtempSync(join(tmpdir(), 'edgecore-bench-start-'));
  const relay = await startRelay([process.execPath, join(dist, 'edgerelay.js')], dir);
  const name = `bench-start-${process.pid}-${skip ? 'own' : 'box'}`;
  const cmd = [process.execPath, ...daemonNodeFlags(), join(dist, 'edgecore.js')];
  const node = await joinNode(cmd, relay, dir, name, {
    eventbus: { enabled: false },
    devicetwin: { enabled: false },
    edged: { staticPodPath: '', sandbox: { skipForSingleContainer: skip } },
  });
  const d = await spawnUntil(cmd[0], [...cmd.slice(1), 'run', '--config', node.file], /"msg":"edgecore ready"/);
  // when the engine started each pod's containers (the node's share of the time)
  const started = new Map();
  const events = await docker.getEvents({ filters: { type: ['container'], event: ['start'], label: [`io.edgecore.node=${name}`] } });
  let rest = '';
  events.on('data', (b) => {
    rest += b.toString();
    const lines = rest.split('\n');
    rest = lines.pop();
    for (const l of lines.filter(Boolean)) {
      const ev = JSON.parse(l);
      started.set(ev.Actor?.Attributes?.['io.edgecore.pod.name'], now());
    }
  });
  try {
    await sleep(1000);
    const times = [];
    const toEngine = [];
    for (let i = 0; i < PODS; i++) {
      const pod = `p${i}`;
      const object = { apiVersion: 'v1', kind: 'Pod', metadata: { name: pod, namespace: 'default' }, spec: { nodeName: name, terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: IMAGE, imagePullPolicy: 'Never', command: ['sleep', '100000'] }] } };
      const t0 = now();
      // through the Kubernetes API, as kubectl apply does; Running as kubectl get reads it
      await relay.http('POST', '/api/v1/namespaces/default/pods', object);
      for (;;) {
        const o = await relay.http('GET', `/api/v1/namespaces/default/pods/${pod}`);
        const st = o.status;
        if (st?.phase === 'Running' && st.containerStatuses?.every((c) => c.state?.running)) break;
        await sleep(5);
      }
      times.push(now() - t0);
      toEngine.push((started.get(pod) ?? NaN) - t0);
    }
    return { ...stats(times), applyToLastContainerStartedMs: stats(toEngine) };
  } finally {
    events.destroy();
    await stop(d.child);
    await relay.stop();
    await removeLabelled(`io.edgecore.node=${name}`);
    rmSync(dir, { recursive: true, force: true });
  }
}

await ensureImage();
const dist = join(ROOT, '.edgecore', `bench-dist-${process.pid}`);
await bundle(dist);
try {
  const tag = `bench-raw-${process.pid}`;
  const rawSingle = await raw(`${tag}-s`, 'single');
  const rawSeq = await raw(`${tag}-q`, 'holder-seq');
  const rawPar = await raw(`${tag}-p`, 'holder-par');
  const own = await edged(dist, true);
  const box = await edged(dist, false);
  emit('pod-start', {
    daemonNodeFlags: daemonNodeFlags(),
    pods: PODS,
    note: 'ms per pod, one pod after another; edged = relay API apply -> the relay reads Running (all containers running)',
    rawDocker: { createStart: rawSingle, holderThenContainer: rawSeq, holderStartWhileContainerCreated: rawPar },
    edged: { singleContainerNoSandbox: own, withSandbox: box },
    goal: {
      rule: 'edged p99 <= raw createStart p99 + 500 ms',
      noSandbox: { marginMs: round(rawSingle.p99 + 500 - own.p99), met: own.p99 <= rawSingle.p99 + 500 },
      withSandbox: { marginMs: round(rawSingle.p99 + 500 - box.p99), met: box.p99 <= rawSingle.p99 + 500 },
    },
  });
} finally {
  rmSync(dist, { recursive: true, force: true });
}
