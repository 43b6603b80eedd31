/**
 * The scheduler: binds each pod that has no node (schedulerName default-scheduler) to one that
 * passes kube-scheduler's filters (predicates.ts) and has room for its requests, through the
 * pods/binding subresource, with a Scheduled event. Among the nodes that fit it spreads the
 * replicas of one workload: fewest pods of the same workload (a Deployment across its
 * ReplicaSets, else the pod's controller), then fewest of the pod's own controller, then
 * preferred node affinity, then the least requested node. A pod that fits nowhere stays Pending
 * with PodScheduled=False (reason Unschedulable) and a FailedScheduling event in
 * kube-scheduler's words; it is tried again when nodes or bound pods change.
 */
import type { KubeObject } from '../../../contract/kube/types.js';
import { rec, str } from '../../kinds/common.js';
import type { Controller, ControllerContext } from '../context.js';
import type { Informer } from '../informer.js';
import { controllerRef, isTerminal, NODES, nodeNameOf, PODS } from '../pods.js';
import { WorkQueue } from '../queue.js';
import { REPLICASETS } from '../replicaset.js';
import { allocatable, filterReasons, fitErrorMessage, insufficient, podRequests, preferredScore, type Resources } from './predicates.js';

const DEFAULT_SCHEDULER = 'default-scheduler';
const RETRY_DEBOUNCE_MS = 500;

interface Placed {
  node: string;
  req: Resources;
  workload: string;
  owner: string;
}

export function needsScheduling(p: KubeObject): boolean {
  const spec = rec(p.spec) ?? {};
  const name = str(spec.schedulerName) || DEFAULT_SCHEDULER;
  return !str(spec.nodeName) && name === DEFAULT_SCHEDULER && !p.metadata.deletionTimestamp && !isTerminal(p);
}

export class Scheduler implements Controller {
  readonly name = 'scheduler';
  private readonly pods: Informer;
  private readonly nodes: Informer;
  private readonly sets: Informer;
  private readonly queue: WorkQueue;
  /** what each bound, unfinished pod takes, by pod key */
  private readonly placed = new Map<string, Placed>();
  private readonly used = new Map<string, Resources>();
  /** node → workload/owner key → pods */
  private readonly spread = new Map<string, Map<string, number>>();
  private readonly unschedulable = new Set<string>();
  private retryTimer?: NodeJS.Timeout;
  /** pods bound by this scheduler (bench, tests) */
  bound = 0;

  constructor(private readonly c: ControllerContext) {
    this.pods = c.informers.for(PODS);
    this.nodes = c.informers.for(NODES);
    this.sets = c.informers.for(REPLICASETS);
    this.queue = new WorkQueue((k) => this.schedule(k), c.log);
    this.pods.onChange((k, obj, old) => this.observe(k, obj, old));
    this.nodes.onChange(() => this.retrySoon());
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  stop(): void {
    clearTimeout(this.retryTimer);
    this.queue.stop();
  }

  /** The workload a pod belongs to (its Deployment through its ReplicaSet, else its controller) and its controller. */
  private keys(p: KubeObject): { workload: string; owner: string } {
    const ref = controllerRef(p);
    if (!ref) return { workload: `pod:${p.metadata.uid ?? ''}`, owner: `pod:${p.metadata.uid ?? ''}` };
    let workload = ref.uid;
    if (ref.kind === 'ReplicaSet') {
      const up = this.sets.get(`${p.metadata.namespace ?? ''}/${ref.name}`);
      const d = up && controllerRef(up);
      if (d) workload = d.uid;
    }
    return { workload, owner: ref.uid };
  }

  private count(node: string, key: string, by: number): void {
    let m = this.spread.get(node);
    if (!m) this.spread.set(node, (m = new Map()));
    const n = (m.get(key) ?? 0) + by;
    if (n > 0) m.set(key, n);
    else m.delete(key);
  }

  private account(k: string, p: KubeObject | undefined): void {
    const prev = this.placed.get(k);
    if (prev) {
      const u = this.used.get(prev.node)!;
      u.cpu -= prev.req.cpu;
      u.memory -= prev.req.memory;
      u.pods -= 1;
      this.count(prev.node, `w:${prev.workload}`, -1);
      this.count(prev.node, `o:${prev.owner}`, -1);
      this.placed.delete(k);
    }
    const node = p ? nodeNameOf(p) : '';
    if (!p || !node || isTerminal(p)) return;
    // a pod being deleted still holds its place until it is gone, but does not count for spreading
    const req = podRequests(rec(p.spec));
    const keys = p.metadata.deletionTimestamp ? { workload: '', owner: '' } : this.keys(p);
    const u = this.used.get(node) ?? { cpu: 0, memory: 0, pods: 0 };
    this.used.set(node, u);
    u.cpu += req.cpu;
    u.memory += req.memory;
    u.pods += 1;
    this.count(node, `w:${keys.workload}`, 1);
    this.count(node, `o:${keys.owner}`, 1);
    this.placed.set(k, { node, req, ...keys });
  }

  private observe(k: string, obj: KubeObject | undefined, old: KubeObject | undefined): void {
    this.account(k, obj);
    if (obj && needsScheduling(obj)) {
      // an unschedulable pod waits for a change of nodes, or of its own spec
      if (!this.unschedulable.has(k) || obj.metadata.generation !== old?.metadata.generation) {
        this.unschedulable.delete(k);
        this.queue.add(k);
      }
    } else this.unschedulable.delete(k);
    // room freed on a node: pods that fit nowhere may fit now
    if (old && nodeNameOf(old) && (!obj || isTerminal(obj) || obj.metadata.deletionTimestamp)) this.retrySoon();
  }

  /** Try the unschedulable pods again shortly (debounced: node heartbeats arrive in bursts). */
  private retrySoon(): void {
    if (this.retryTimer || !this.unschedulable.size) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      for (const k of this.unschedulable) this.queue.add(k);
      this.unschedulable.clear();
    }, RETRY_DEBOUNCE_MS);
    this.retryTimer.unref();
  }

  /** The best node for `p`, or the reasons no node fits (kube-scheduler's histogram). */
  choose(p: KubeObject): { node: string } | { reasons: Map<string, number>; total: number } {
    const spec = rec(p.spec);
    const req = podRequests(spec);
    const { workload, owner } = this.keys(p);
    const reasons = new Map<string, number>();
    let best: { node: string; score: number[] } | undefined;
    const nodes = this.nodes.list();
    for (const n of nodes) {
      const name = n.metadata.name ?? '';
      if (n.metadata.deletionTimestamp) continue;
      let why = filterReasons(spec, n);
      const used = this.used.get(name) ?? { cpu: 0, memory: 0, pods: 0 };
      const alloc = allocatable(n);
      if (!why.length) why = insufficient(req, used, alloc);
      if (why.length) {
        for (const r of why) reasons.set(r, (reasons.get(r) ?? 0) + 1);
        continue;
      }
      const counts = this.spread.get(name);
      const load = (Number.isFinite(alloc.cpu) && alloc.cpu > 0 ? (used.cpu + req.cpu) / alloc.cpu : 0) + (Number.isFinite(alloc.memory) && alloc.memory > 0 ? (used.memory + req.memory) / alloc.memory : 0);
      const score = [counts?.get(`w:${workload}`) ?? 0, counts?.get(`o:${owner}`) ?? 0, -preferredScore(spec, n), load, used.pods];
      if (!best || less(score, best.score) || (equal(score, best.score) && name < best.node)) best = { node: name, score };
    }
    return best ? { node: best.node } : { reasons, total: nodes.length };
  }

  private async schedule(key: string): Promise<void> {
    const p = this.pods.get(key);
    if (!p || !needsScheduling(p)) return;
    const pick = this.choose(p);
    if ('node' in pick) {
      const bound = await this.c.client.bind(p.metadata.namespace ?? '', p.metadata.name ?? '', pick.node);
      this.pods.observe(bound);
      this.bound++;
      void this.c.events.emit(bound, 'Normal', 'Scheduled', `Successfully assigned ${p.metadata.namespace ?? ''}/${p.metadata.name ?? ''} to ${pick.node}`);
      return;
    }
    const message = fitErrorMessage(pick.total, pick.reasons);
    this.unschedulable.add(key);
    void this.c.events.emit(p, 'Warning', 'FailedScheduling', message);
    await this.markUnschedulable(p, message);
  }

  private async markUnschedulable(p: KubeObject, message: string): Promise<void> {
    const status = rec(p.status) ?? {};
    const conds = ((status.conditions as { type: string; status: string; reason?: string; message?: string }[] | undefined) ?? []).filter((c) => c.type !== 'PodScheduled');
    const prev = ((status.conditions as { type: string; status: string; reason?: string; message?: string; lastTransitionTime?: string }[] | undefined) ?? []).find((c) => c.type === 'PodScheduled');
    if (prev?.status === 'False' && prev.message === message) return;
    const t = this.c.clock.now().toISOString().replace(/\.\d{3}Z$/, 'Z');
    conds.push({ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, ...(prev?.status === 'False' && prev.lastTransitionTime ? { lastTransitionTime: prev.lastTransitionTime } : { lastTransitionTime: t }) } as never);
    try {
      this.pods.observe(await this.c.client.updateStatus(PODS, { ...p, status: { ...status, conditions: conds } }));
    } catch (e) {
      if ((e as { code?: number }).code !== 409 && (e as { code?: number }).code !== 404) throw e;
    }
  }
}

function less(a: number[], b: number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
}
const equal = (a: number[], b: number[]): boolean => a.every((x, i) => x === b[i]);
