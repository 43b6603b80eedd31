#!/usr/bin/env node
/**
 * The workload controllers at fleet size, in one process: the relay's API core on SQLite (a temp
 * file, as the relay keeps it), its controllers (scheduler, ReplicaSet, Deployment), and N
 * **simulated nodes** — Node objects whose status says Ready with room for the pods, and one loop
 * that acknowledges every pod bound to them (Running + Ready) and confirms deletions, writing
 * through the API with each node's identity as the node link does.
 *
 * Figures (same run): scheduler throughput (bare pods bound per second with N nodes); a Deployment
 * of N replicas (one per node) created — the baseline — and then rolled to a new image with
 * maxUnavailable 10 %: wall time and this process's CPU for each (controllers, API and the
 * simulator together: the simulator's own share is the `ackCpuMs` figure).
 * Usage: node bench/workloads.mjs [nodes=1000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { register } from 'tsx/esm/api';
import { emit, round, sleep } from './lib.mjs';

register();
const src = (p) => import(new URL(`../src/${p}`, import.meta.url).href);
const { ApiCore } = await src('relay/apiserver/core.ts');
const { ApiClient, confirmTerminated } = await src('relay/apiserver/client.ts');
const { ADMIN, nodeIdentity } = await src('relay/apiserver/authz.ts');
const { ResourceRegistry } = await src('relay/apiserver/registry.ts');
const { startControllers } = await src('relay/controllers/index.ts');
const { builtinKinds } = await src('relay/kinds/index.ts');
const patch = await src('relay/patch/index.ts');
const { SqliteObjectStore } = await src('relay/store/objects-sqlite.ts');
const { nullLogger } = await src('core/logger.ts');

const N = Number(process.argv[2] ?? 1000);
const PODS = { group: '', resource: 'pods' };
const NODES = { group: '', resource: 'nodes' };
const DEPLOY = { group: 'apps', resource: 'deployments' };
const dir = mkdtempSync(join(tmpdir(), 'edgecore-bench-workloads-'));
const store = SqliteObjectStore.open(join(dir, 'relay.db'));
const core = new ApiCore({ store, registry: new ResourceRegistry(builtinKinds()), patch, now: () => new Date() });
const admin = new ApiClient(core, ADMIN, 'bench');
const controllers = await startControllers(core, nullLogger());
await controllers.workloads.started;
const iso = () => new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');

const names = Array.from({ length: N }, (_, i) => `sim-${String(i).padStart(4, '0')}`);
const clients = new Map(names.map((n) => [n, new ApiClient(core, nodeIdentity(n), 'edgecore')]));
const room = { cpu: '4', memory: '4Gi', pods: '110' };
for (const name of names) {
  const n = await admin.create(NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name } } });
  const t = iso();
  await clients.get(name).updateStatus(NODES, { ...n, status: { capacity: room, allocatable: room, conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'simulated', lastHeartbeatTime: t, lastTransitionTime: t }] } });
}

/** the simulated nodes: acknowledge what is bound to them, confirm what is being deleted */
let ackCpu = 0;
let acking = true;
const ackLoop = (async () => {
  while (acking) {
    const c0 = process.cpuUsage();
    const pods = (await admin.list(PODS, undefined)).items;
    for (const p of pods) {
      const node = p.spec.nodeName;
      if (!node || !clients.has(node)) continue;
      const client = clients.get(node);
      try {
        if (p.metadata.deletionTimestamp) await confirmTerminated(client, PODS, p.metadata.namespace, p.metadata.name, p.metadata.uid);
        else if (p.status?.phase === 'Pending') {
          const t = iso();
          const c = p.spec.containers[0];
          const conditions = [...(p.status.conditions ?? []).filter((x) => x.type === 'PodScheduled'), { type: 'Ready', status: 'True', lastTransitionTime: t }];
          await client.updateStatus(PODS, { ...p, status: { ...p.status, phase: 'Running', conditions, containerStatuses: [{ name: c.name, image: c.image, imageID: '', ready: true, restartCount: 0, state: { running: { startedAt: t } } }] } });
        }
      } catch (e) {
        if (![404, 409].includes(e?.code)) throw e;
      }
    }
    const d = process.cpuUsage(c0);
    ackCpu += (d.user + d.system) / 1000;
    await sleep(50);
  }
})();

async function measure(what, until) {
  const c0 = process.cpuUsage();
  const a0 = ackCpu;
  const t0 = performance.now();
  for (;;) {
    if (await until()) break;
    await sleep(50);
  }
  const d = process.cpuUsage(c0);
  return { what, seconds: round((performance.now() - t0) / 1000), cpuMs: round((d.user + d.system) / 1000, 0), ackCpuMs: round(ackCpu - a0, 0) };
}

// scheduler throughput: N bare pods, bound by the scheduler (the simulator then runs them)
const t0 = performance.now();
for (let i = 0; i < N; i++) await admin.create(PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name: `bare-${i}`, namespace: 'default', labels: { bench: 'bare' } }, spec: { containers: [{ name: 'c', image: 'app:1' }] } });
const created = performance.now() - t0;
const bound = await measure('bind', async () => (await admin.list(PODS, 'default', { labelSelector: 'bench=bare' })).items.every((p) => p.spec.nodeName));
const schedulerPodsPerSecond = round(N / ((created + bound.seconds * 1000) / 1000), 1);
await admin.deleteCollection(PODS, 'default', { labelSelector: 'bench=bare' });
await measure('bare pods gone', async () => (await admin.list(PODS, 'default', { labelSelector: 'bench=bare' })).items.length === 0);

const deployment = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'fleet', namespace: 'default' }, spec: { replicas: N, strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '10%', maxSurge: 0 } }, selector: { matchLabels: { app: 'fleet' } }, template: { metadata: { labels: { app: 'fleet' } }, spec: { containers: [{ name: 'c', image: 'app:1' }] } } } };
const done = async () => {
  const d = await admin.get(DEPLOY, 'default', 'fleet');
  const s = d.status ?? {};
  return s.observedGeneration === d.metadata.generation && s.updatedReplicas === N && s.availableReplicas === N && s.replicas === N;
};
await admin.create(DEPLOY, deployment);
const createRollout = await measure('create', done);
let minAvailable = N;
const watchAvailable = setInterval(async () => {
  const s = (await admin.get(DEPLOY, 'default', 'fleet')).status ?? {};
  if (typeof s.availableReplicas === 'number') minAvailable = Math.min(minAvailable, s.availableReplicas);
}, 100);
await admin.patch(DEPLOY, 'default', 'fleet', 'merge', { spec: { template: { spec: { containers: [{ name: 'c', image: 'app:2' }] } } } });
const update = await measure('rollout', done);
clearInterval(watchAvailable);
acking = false;
await ackLoop;
await controllers.stop();
await store.close();
rmSync(dir, { recursive: true, force: true });

emit('workloads', {
  nodes: N,
  scheduler: { pods: N, seconds: round((created / 1000) + bound.seconds), podsPerSecond: schedulerPodsPerSecond },
  deploymentCreate: { replicas: N, ...createRollout },
  rollout: { replicas: N, maxUnavailable: '10%', ...update, fewestAvailableSeen: minAvailable, allowedFewest: N - Math.floor(N * 0.1) },
  note: 'one process: API core, controllers and the simulated nodes; cpuMs includes the simulator (ackCpuMs of it)',
});
process.exit(0);
