/**
 * The writes workload controllers make on pods, done as Kubernetes' controllers do them: pods are
 * created in slow-start batches (1, 2, 4, … — a template the API refuses fails once, not a
 * thousand times), each creation and deletion recorded as an event on the owner, every answer
 * put straight into the pod cache (so the next pass counts what was just written), and a delete
 * made only on the pod seen (its uid).
 */
import type { KubeObject } from '../../contract/kube/types.js';
import { stableStringify } from '../../lib/json.js';
import type { ApiClient, ResourceRef } from '../apiserver/client.js';
import type { EventRecorder } from './events.js';
import type { Informer } from './informer.js';
import { PODS } from './pods.js';

const codeOf = (e: unknown): number | undefined => (e as { code?: number }).code;

export class PodActions {
  constructor(
    private readonly client: ApiClient,
    private readonly pods: Informer,
    private readonly events: EventRecorder,
  ) {}

  /** Create `pods` for `owner` in slow-start batches; stops at the first batch with a failure (rethrown). */
  async create(owner: KubeObject, pods: KubeObject[]): Promise<KubeObject[]> {
    const made: KubeObject[] = [];
    let batch = 1;
    for (let i = 0; i < pods.length; ) {
      const slice = pods.slice(i, i + batch);
      i += slice.length;
      const results = await Promise.allSettled(slice.map((p) => this.client.create(PODS, p)));
      let failure: unknown;
      for (const r of results) {
        if (r.status === 'fulfilled') {
          made.push(r.value);
          this.pods.observe(r.value);
          void this.events.emit(owner, 'Normal', 'SuccessfulCreate', `Created pod: ${r.value.metadata.name ?? ''}`);
        } else failure ??= r.reason;
      }
      if (failure) {
        void this.events.emit(owner, 'Warning', 'FailedCreate', `Error creating: ${failure instanceof Error ? failure.message : String(failure)}`);
        throw failure;
      }
      batch *= 2;
    }
    return made;
  }

  /** Delete one pod (that very pod: its uid); a pod already gone is fine. */
  async delete(owner: KubeObject, pod: KubeObject): Promise<void> {
    try {
      const r = await this.client.delete(PODS, pod.metadata.namespace, pod.metadata.name ?? '', { preconditions: { uid: pod.metadata.uid ?? '' } });
      if (!r.gone) this.pods.observe(r.object);
      void this.events.emit(owner, 'Normal', 'SuccessfulDelete', `Deleted pod: ${pod.metadata.name ?? ''}`);
    } catch (e) {
      if (codeOf(e) !== 404) throw e;
    }
  }
}

/** Write `status` to `obj` through /status unless it is what the object already says; the answer goes to the cache. */
export async function writeStatus(client: ApiClient, ref: ResourceRef, cache: Informer, obj: KubeObject, status: unknown): Promise<KubeObject> {
  if (stableStringify(obj.status ?? {}) === stableStringify(status)) return obj;
  const out = await client.updateStatus(ref, { ...obj, status });
  cache.observe(out);
  return out;
}

