/**
 * An API core with the built-in kinds, the controllers (workloads included) on a ManualClock,
 * and **fake nodes** — a stand-in for edgecore until the node link writes pod and node status
 * from real nodes: each fake node writes its Node's Ready condition and, for the pods bound to
 * it while it is "up", Running + Ready (or a finished phase) through the API as `node:<name>`,
 * and confirms deletions as a kubelet does. A node that is "down" writes nothing.
 */
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { createLogger } from '../../../../src/core/logger.js';
import { ADMIN, nodeIdentity } from '../../../../src/relay/apiserver/authz.js';
import { ApiClient, confirmTerminated } from '../../../../src/relay/apiserver/client.js';
import { ApiCore } from '../../../../src/relay/apiserver/core.js';
import { ResourceRegistry } from '../../../../src/relay/apiserver/registry.js';
import { ManualClock } from '../../../../src/relay/controllers/clock.js';
import { startControllers, type Controllers } from '../../../../src/relay/controllers/index.js';
import { builtinKinds } from '../../../../src/relay/kinds/index.js';
import type { PodKindOptions } from '../../../../src/relay/kinds/pod.js';
import * as patch from '../../../../src/relay/patch/index.js';
import { SqliteObjectStore } from '../../../../src/relay/store/objects-sqlite.js';

export const PODS = { group: '', resource: 'pods' };
export const NODES = { group: '', resource: 'nodes' };
export const DEPLOY = { group: 'apps', resource: 'deployments' };
export const RS = { group: 'apps', resource: 'replicasets' };
export const DS = { group: 'apps', resource: 'daemonsets' };
export const JOBS = { group: 'batch', resource: 'jobs' };
export const CRONJOBS = { group: 'batch', resource: 'cronjobs' };
export const EVENTS = { group: '', resource: 'events' };

const log = createLogger({ level: 'silent', format: 'json' }, 'test');
const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export type PodOutcome = 'run' | 'succeed' | 'fail' | 'pending';

export class FakeNode {
  up = true;
  /** what a pod does on this node (by pod name prefix; default: run and be ready) */
  outcome: (pod: KubeObject) => PodOutcome = () => 'run';
  readonly client: ApiClient;
  constructor(
    readonly name: string,
    private readonly fleet: Fleet,
  ) {
    this.client = new ApiClient(fleet.core, nodeIdentity(name), 'edgecore');
  }

  async ready(status: 'True' | 'Unknown' | 'False'): Promise<void> {
    const n = await this.client.get(NODES, undefined, this.name);
    const t = iso(this.fleet.clock.now());
    const prev = ((n.status as { conditions?: { type: string; status: string; lastTransitionTime?: string }[] } | undefined)?.conditions ?? []).find((c) => c.type === 'Ready');
    const cond = { type: 'Ready', status, reason: status === 'True' ? 'KubeletReady' : 'NodeStatusUnknown', message: 'fake node', lastHeartbeatTime: t, lastTransitionTime: prev?.status === status ? prev.lastTransitionTime : t };
    await this.client.updateStatus(NODES, { ...n, status: { ...(n.status as object), conditions: [cond] } });
  }

  /** Act on every pod bound here, as a kubelet would once it runs them. */
  async sync(): Promise<void> {
    if (!this.up) return;
    const pods = (await this.client.list(PODS, undefined, { fieldSelector: `spec.nodeName=${this.name}` })).items;
    for (const p of pods) {
      try {
        if (p.metadata.deletionTimestamp) {
          await confirmTerminated(this.client, PODS, p.metadata.namespace, p.metadata.name!, p.metadata.uid!);
          continue;
        }
        const phase = (p.status as { phase?: string }).phase;
        if (phase === 'Succeeded' || phase === 'Failed') continue;
        const out = this.outcome(p);
        if (out === 'pending') continue;
        const t = iso(this.fleet.clock.now());
        const c = ((p.spec as { containers: { name: string; image: string }[] }).containers ?? [])[0]!;
        const running = out === 'run';
        const status = {
          ...(p.status as object),
          phase: running ? 'Running' : out === 'succeed' ? 'Succeeded' : 'Failed',
          conditions: [
            ...(((p.status as { conditions?: { type: string }[] }).conditions ?? []).filter((x) => x.type === 'PodScheduled')),
            { type: 'Ready', status: running ? 'True' : 'False', lastTransitionTime: t },
          ],
          containerStatuses: [
            {
              name: c.name,
              image: c.image,
              imageID: '',
              ready: running,
              restartCount: 0,
              state: running ? { running: { startedAt: t } } : { terminated: { exitCode: out === 'succeed' ? 0 : 1, finishedAt: t, reason: out === 'succeed' ? 'Completed' : 'Error' } },
            },
          ],
        };
        if (JSON.stringify(status) === JSON.stringify(p.status)) continue;
        const prevReady = ((p.status as { conditions?: { type: string; status: string; lastTransitionTime?: string }[] }).conditions ?? []).find((x) => x.type === 'Ready');
        if (prevReady?.status === (running ? 'True' : 'False')) (status.conditions.at(-1) as { lastTransitionTime: string }).lastTransitionTime = prevReady.lastTransitionTime!;
        if (JSON.stringify(status) === JSON.stringify(p.status)) continue;
        await this.client.updateStatus(PODS, { ...p, status });
      } catch (e) {
        if (![404, 409].includes((e as { code?: number }).code ?? 0)) throw e;
      }
    }
  }
}

export interface Fleet {
  clock: ManualClock;
  core: ApiCore;
  store: SqliteObjectStore;
  admin: ApiClient;
  controllers: Controllers;
  nodes: Map<string, FakeNode>;
  addNode(name: string, labels?: Record<string, string>, allocatable?: Record<string, string>): Promise<FakeNode>;
  /** let the fake nodes and the controllers act until nothing changes (or `rounds` passes) */
  settle(rounds?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function fleet(o: { pod?: PodKindOptions; jobBackoffSeconds?: number } = {}): Promise<Fleet> {
  const clock = new ManualClock('2026-01-01T00:00:00Z');
  const store = SqliteObjectStore.open(':memory:');
  const core = new ApiCore({ store, registry: new ResourceRegistry(builtinKinds(o.pod)), patch, now: () => clock.now() });
  const admin = new ApiClient(core, ADMIN, 'test');
  const controllers = await startControllers(core, log, { clock, job: { backoffBaseSeconds: o.jobBackoffSeconds ?? 10 } });
  await controllers.workloads.started;
  const nodes = new Map<string, FakeNode>();
  const f: Fleet = {
    clock,
    core,
    store,
    admin,
    controllers,
    nodes,
    async addNode(name, labels = {}, allocatable = { cpu: '4', memory: '4Gi', pods: '110' }) {
      await admin.create(NODES, { apiVersion: 'v1', kind: 'Node', metadata: { name, labels: { 'kubernetes.io/hostname': name, ...labels } } });
      const n = new FakeNode(name, f);
      nodes.set(name, n);
      const cur = await admin.get(NODES, undefined, name);
      await n.client.updateStatus(NODES, { ...cur, status: { capacity: allocatable, allocatable } });
      await n.ready('True');
      return n;
    },
    async settle(rounds = 30) {
      for (let i = 0; i < rounds; i++) {
        const before = await store.revision();
        await controllers.idle();
        for (const n of nodes.values()) await n.sync();
        await controllers.idle();
        await new Promise((r) => setTimeout(r, 5));
        if ((await store.revision()) === before) return;
      }
    },
    async stop() {
      controllers.stop();
      await store.close();
    },
  };
  return f;
}

export const deployment = (name: string, replicas: number, image: string, extra: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'default' },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image }] } },
    ...extra,
  },
});

export async function podsOf(f: Fleet, selector: string): Promise<KubeObject[]> {
  return (await f.admin.list(PODS, 'default', { labelSelector: selector })).items;
}

export const imageOf = (p: KubeObject): string => (p.spec as { containers: { image: string }[] }).containers[0]!.image;
export const nodeOf = (p: KubeObject): string => (p.spec as { nodeName?: string }).nodeName ?? '';
