/**
 * Taint eviction, as Kubernetes' NoExecute taint manager reads tolerations: a pod on a node with
 * a NoExecute taint it does not tolerate is deleted at once; one that tolerates it for
 * `tolerationSeconds` is deleted when that time has passed since the taint appeared (its
 * timeAdded, else when the node's Ready condition last changed); a toleration without seconds
 * tolerates forever. The relay's default tolerations make that "forever" for an unreachable node
 * (pod.ts), so by default nothing is evicted: a node that is away keeps its pods. A workload that
 * wants its pods moved says so with its own toleration. Deletion is the API's graceful delete.
 */
import type { KubeObject } from '../../contract/kube/types.js';
import { arr, rec } from '../kinds/common.js';
import type { Controller, ControllerContext } from './context.js';
import type { Informer } from './informer.js';
import { isActive, NODES, nodeNameOf, PODS } from './pods.js';
import { WorkQueue } from './queue.js';
import { BY_NODE } from './replicaset.js';
import { nodeTaints, tolerates, tolerationsOf, type Taint } from './scheduler/predicates.js';

/** When `pod` must leave `node` (now, a time, or never: undefined). Pure. */
export function evictionTime(pod: KubeObject, node: KubeObject): Date | 'now' | undefined {
  const taints = nodeTaints(node).filter((t) => t.effect === 'NoExecute');
  if (!taints.length) return undefined;
  const tolerations = tolerationsOf(rec(pod.spec));
  let at: number | undefined;
  for (const taint of taints) {
    const matching = tolerations.filter((t) => tolerates(t, taint));
    if (!matching.length) return 'now';
    const seconds = matching.map((t) => t.tolerationSeconds).filter((s): s is number => typeof s === 'number');
    if (!seconds.length) continue; // tolerated forever
    const min = Math.min(...seconds);
    const since = taintSince(taint, node);
    const t = since + Math.max(0, min) * 1000;
    at = at === undefined ? t : Math.min(at, t);
  }
  return at === undefined ? undefined : new Date(at);
}

function taintSince(taint: Taint & { timeAdded?: string }, node: KubeObject): number {
  const added = Date.parse(taint.timeAdded ?? '');
  if (!Number.isNaN(added)) return added;
  const ready = arr(rec(node.status)?.conditions).map(rec).find((c) => c?.type === 'Ready');
  const changed = Date.parse(String(ready?.lastTransitionTime ?? ''));
  return Number.isNaN(changed) ? Date.parse(node.metadata.creationTimestamp ?? '') || 0 : changed;
}

export class TaintEviction implements Controller {
  readonly name = 'taint-eviction';
  private readonly pods: Informer;
  private readonly nodes: Informer;
  private readonly queue: WorkQueue;
  /** pods evicted (tests, logs) */
  evicted = 0;

  constructor(private readonly c: ControllerContext) {
    this.pods = c.informers.for(PODS);
    this.nodes = c.informers.for(NODES);
    this.queue = new WorkQueue((k) => this.sync(k), c.log);
    this.pods.onChange((k, obj) => {
      if (obj && nodeNameOf(obj) && isActive(obj)) this.queue.add(k);
    });
    this.nodes.onChange((_k, obj) => {
      if (!obj || !nodeTaints(obj).some((t) => t.effect === 'NoExecute')) return;
      for (const p of this.pods.byIndex(BY_NODE, obj.metadata.name ?? '')) if (isActive(p)) this.queue.add(`${p.metadata.namespace ?? ''}/${p.metadata.name ?? ''}`);
    });
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  stop(): void {
    this.queue.stop();
  }

  private async sync(key: string): Promise<void> {
    const pod = this.pods.get(key);
    if (!pod || !isActive(pod)) return;
    const node = this.nodes.get(`/${nodeNameOf(pod)}`);
    if (!node) return;
    const when = evictionTime(pod, node);
    if (!when) return;
    if (when !== 'now' && when.getTime() > this.c.clock.now().getTime()) return this.queue.wakeAt(key, when, this.c.clock);
    const ns = pod.metadata.namespace ?? '';
    void this.c.events.emit(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${ns}/${pod.metadata.name ?? ''}`);
    try {
      const r = await this.c.client.delete(PODS, ns, pod.metadata.name ?? '', { preconditions: { uid: pod.metadata.uid ?? '' } });
      if (!r.gone) this.pods.observe(r.object);
      this.evicted++;
    } catch (e) {
      if ((e as { code?: number }).code !== 404 && (e as { code?: number }).code !== 409) throw e;
    }
  }
}
