/**
 * Garbage collection by ownerReferences, as Kubernetes' collector does it, over metadata-only
 * informers of every kind (writes are merge patches of metadata, with the resourceVersion seen as
 * a precondition):
 * - a dependent all of whose owners are gone (not found, or found with another uid) is deleted;
 *   references to gone owners are dropped while another owner remains;
 * - an owner being deleted with the `orphan` finalizer: its references are removed from every
 *   dependent, then the finalizer;
 * - an owner being deleted with `foregroundDeletion`: its dependents are deleted (foreground
 *   too), and once none with blockOwnerDeletion is left, the finalizer goes.
 */
import type { KubeObject, OwnerReference } from '../../contract/kube/types.js';
import type { Logger } from '../../core/logger.js';
import type { ApiClient } from '../apiserver/client.js';
import { FOREGROUND_FINALIZER, ORPHAN_FINALIZER } from '../apiserver/delete.js';
import type { ResourceRegistry } from '../apiserver/registry.js';
import type { ResourceDef } from '../kinds/types.js';
import { Informer, keyOf } from './informer.js';
import { WorkQueue } from './queue.js';

interface Node {
  def: ResourceDef;
  obj: KubeObject;
}

const itemKey = (def: ResourceDef, o: KubeObject): string => `${def.group}|${def.plural}|${keyOf(o)}`;
const codeOf = (e: unknown): number | undefined => (e as { code?: number }).code;

export class GarbageCollector {
  private readonly informers = new Map<ResourceDef, Informer>();
  /** uid → object, every kind */
  private readonly byUid = new Map<string, Node>();
  /** owner uid → item keys of its dependents */
  private readonly dependents = new Map<string, Set<string>>();
  private readonly queue: WorkQueue;

  constructor(
    private readonly client: ApiClient,
    private readonly registry: ResourceRegistry,
    private readonly log: Logger,
  ) {
    this.queue = new WorkQueue((k) => this.sync(k), log);
    for (const def of registry.all()) {
      const inf = new Informer(client, def, log, true);
      inf.onChange((_k, obj, old) => this.observe(def, obj, old));
      this.informers.set(def, inf);
    }
  }

  async start(): Promise<void> {
    for (const inf of this.informers.values()) await inf.start();
  }

  stop(): void {
    for (const inf of this.informers.values()) inf.stop();
    this.queue.stop();
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  private node(key: string): Node | undefined {
    const [group, plural, rest] = key.split('|') as [string, string, string];
    const def = this.registry.all().find((d) => d.group === group && d.plural === plural);
    const obj = def && this.informers.get(def)?.get(rest);
    return def && obj ? { def, obj } : undefined;
  }

  private observe(def: ResourceDef, obj: KubeObject | undefined, old: KubeObject | undefined): void {
    const o = obj ?? old!;
    const uid = o.metadata.uid ?? '';
    const key = itemKey(def, o);
    for (const r of old?.metadata.ownerReferences ?? []) this.dependents.get(r.uid)?.delete(key);
    if (obj) {
      this.byUid.set(uid, { def, obj });
      for (const r of obj.metadata.ownerReferences ?? []) {
        let s = this.dependents.get(r.uid);
        if (!s) this.dependents.set(r.uid, (s = new Set()));
        s.add(key);
        // an owner waiting for its dependents looks again
        const owner = this.byUid.get(r.uid);
        if (owner?.obj.metadata.deletionTimestamp) this.queue.add(itemKey(owner.def, owner.obj));
      }
      if (obj.metadata.ownerReferences?.length) this.queue.add(key);
      const f = obj.metadata.finalizers ?? [];
      if (obj.metadata.deletionTimestamp && (f.includes(ORPHAN_FINALIZER) || f.includes(FOREGROUND_FINALIZER))) this.queue.add(key);
    } else {
      this.byUid.delete(uid);
      for (const r of old?.metadata.ownerReferences ?? []) {
        const owner = this.byUid.get(r.uid);
        if (owner?.obj.metadata.deletionTimestamp) this.queue.add(itemKey(owner.def, owner.obj));
      }
      for (const d of this.dependents.get(uid) ?? []) this.queue.add(d);
    }
  }

  /** Is this owner reference's object there (same uid)? Asks the API when the cache does not know it. */
  private async ownerState(dep: KubeObject, r: OwnerReference): Promise<'absent' | 'present' | 'foreground' | 'unknown'> {
    const def = this.registry.forObject(r);
    if (!def) return 'unknown';
    let owner: KubeObject | undefined = this.byUid.get(r.uid)?.obj;
    if (!owner) {
      owner = await this.client.find(def, def.namespaced ? dep.metadata.namespace : undefined, r.name);
      if (owner && owner.metadata.uid !== r.uid) owner = undefined;
    }
    if (!owner) return 'absent';
    if (owner.metadata.deletionTimestamp && (owner.metadata.finalizers ?? []).includes(FOREGROUND_FINALIZER)) return 'foreground';
    return 'present';
  }

  private async sync(key: string): Promise<void> {
    const n = this.node(key);
    if (!n) return;
    const { def, obj } = n;
    const f = obj.metadata.finalizers ?? [];
    if (obj.metadata.deletionTimestamp && f.includes(ORPHAN_FINALIZER)) await this.orphan(def, obj);
    else if (obj.metadata.deletionTimestamp && f.includes(FOREGROUND_FINALIZER)) await this.foreground(def, obj);
    if (obj.metadata.ownerReferences?.length && !obj.metadata.deletionTimestamp) await this.dependent(def, obj);
  }

  private async dependent(def: ResourceDef, obj: KubeObject): Promise<void> {
    const refs = obj.metadata.ownerReferences ?? [];
    const states = await Promise.all(refs.map((r) => this.ownerState(obj, r)));
    if (states.includes('unknown') && !states.includes('present')) return;
    const ns = obj.metadata.namespace;
    const name = obj.metadata.name ?? '';
    if (states.every((s) => s === 'absent' || s === 'foreground')) {
      const policy = states.includes('foreground') ? 'Foreground' : 'Background';
      this.log.debug('deleting dependent', { kind: def.kind, namespace: ns, name, policy });
      await this.tolerate(this.client.delete(def, ns, name, { propagationPolicy: policy, preconditions: { uid: obj.metadata.uid ?? '' } }));
      return;
    }
    if (states.includes('absent')) {
      const keep = refs.filter((_, i) => states[i] !== 'absent');
      await this.patchMeta(def, obj, { ownerReferences: keep });
    }
  }

  private dependentsOf(uid: string): Node[] {
    return [...(this.dependents.get(uid) ?? [])].map((k) => this.node(k)).filter((x): x is Node => !!x);
  }

  private async orphan(def: ResourceDef, owner: KubeObject): Promise<void> {
    const uid = owner.metadata.uid ?? '';
    for (const d of this.dependentsOf(uid)) {
      const refs = (d.obj.metadata.ownerReferences ?? []).filter((r) => r.uid !== uid);
      await this.patchMeta(d.def, d.obj, { ownerReferences: refs });
    }
    await this.dropFinalizer(def, owner, ORPHAN_FINALIZER);
  }

  private async foreground(def: ResourceDef, owner: KubeObject): Promise<void> {
    const uid = owner.metadata.uid ?? '';
    const deps = this.dependentsOf(uid);
    for (const d of deps) {
      if (d.obj.metadata.deletionTimestamp) continue;
      await this.tolerate(this.client.delete(d.def, d.obj.metadata.namespace, d.obj.metadata.name ?? '', { propagationPolicy: 'Foreground', preconditions: { uid: d.obj.metadata.uid ?? '' } }));
    }
    const blocking = deps.filter((d) => (d.obj.metadata.ownerReferences ?? []).some((r) => r.uid === uid && r.blockOwnerDeletion));
    if (blocking.length === 0) await this.dropFinalizer(def, owner, FOREGROUND_FINALIZER);
  }

  private async dropFinalizer(def: ResourceDef, obj: KubeObject, finalizer: string): Promise<void> {
    await this.patchMeta(def, obj, { finalizers: (obj.metadata.finalizers ?? []).filter((f) => f !== finalizer) });
  }

  /** A merge patch of metadata fields, valid only on the version seen (409 otherwise: the change event brings it back). */
  private async patchMeta(def: ResourceDef, obj: KubeObject, meta: Record<string, unknown>): Promise<void> {
    const patch = { metadata: { ...meta, resourceVersion: obj.metadata.resourceVersion } };
    await this.tolerate(this.client.patch(def, obj.metadata.namespace, obj.metadata.name ?? '', 'merge', patch));
  }

  /** 404 (already gone) is done; 409 (changed meanwhile) is looked at again when its change arrives. */
  private async tolerate(p: Promise<unknown>): Promise<void> {
    try {
      await p;
    } catch (e) {
      const c = codeOf(e);
      if (c === 404 || c === 409) return;
      throw e;
    }
  }
}
