/**
 * A list-then-watch cache of one resource through the in-process API client, as client-go's
 * informer: it lists, watches from the list's revision, and relists when the watch expires
 * (410) — so a controller rebuilt from the store alone sees every object once, then every change.
 */
import type { KubeObject } from '../../contract/kube/types.js';
import type { Logger } from '../../core/logger.js';
import type { ApiClient, ResourceRef } from '../apiserver/client.js';
import type { ApiWatch } from '../apiserver/watch.js';

export const keyOf = (o: KubeObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;
const rev = (o: KubeObject): number => Number(o.metadata.resourceVersion ?? 0);

export type ChangeHandler = (key: string, obj: KubeObject | undefined, old: KubeObject | undefined) => void;

export class Informer {
  private readonly cache = new Map<string, KubeObject>();
  private readonly handlers: ChangeHandler[] = [];
  private watch?: ApiWatch;
  private stopped = false;
  private relistTimer?: NodeJS.Timeout;
  /** the newest revision this informer has seen: its last list's, or a later watch event's */
  private newest = 0;

  constructor(
    private readonly client: ApiClient,
    readonly ref: ResourceRef,
    private readonly log: Logger,
    /** keep only apiVersion, kind and metadata of each object (a metadata informer: far less memory) */
    private readonly metadataOnly = false,
    private readonly relistDelayMs = 1000,
  ) {}

  private keep(o: KubeObject): KubeObject {
    return this.metadataOnly ? { apiVersion: o.apiVersion, kind: o.kind, metadata: o.metadata } : o;
  }

  private readonly indexes = new Map<string, { fn: (o: KubeObject) => string[]; map: Map<string, Set<string>> }>();

  /** Keep an index of the cache by `fn`'s values (e.g. the controller's uid), for `byIndex`. */
  addIndex(name: string, fn: (o: KubeObject) => string[]): void {
    const map = new Map<string, Set<string>>();
    this.indexes.set(name, { fn, map });
    for (const [k, o] of this.cache) for (const v of fn(o)) (map.get(v) ?? map.set(v, new Set()).get(v)!).add(k);
  }

  byIndex(name: string, value: string): KubeObject[] {
    const keys = this.indexes.get(name)?.map.get(value);
    return keys ? [...keys].map((k) => this.cache.get(k)!).filter(Boolean) : [];
  }

  private put(k: string, o: KubeObject): void {
    this.remove(k);
    this.cache.set(k, o);
    for (const { fn, map } of this.indexes.values()) for (const v of fn(o)) (map.get(v) ?? map.set(v, new Set()).get(v)!).add(k);
  }

  private remove(k: string): void {
    const old = this.cache.get(k);
    if (!old) return;
    this.cache.delete(k);
    for (const { fn, map } of this.indexes.values()) {
      for (const v of fn(old)) {
        const set = map.get(v);
        set?.delete(k);
        if (set && !set.size) map.delete(v);
      }
    }
  }

  /** The newest store revision this informer has seen (its list's or a watch event's): what its cache reflects at least. */
  revision(): number {
    return this.newest;
  }

  onChange(h: ChangeHandler): void {
    this.handlers.push(h);
  }

  get(key: string): KubeObject | undefined {
    return this.cache.get(key);
  }

  list(): KubeObject[] {
    return [...this.cache.values()];
  }

  /** change notices held back (the cache still fills) until `release` */
  private held?: [string, KubeObject | undefined, KubeObject | undefined][];

  /**
   * Hold change notices until `release()`: the cache fills, no handler runs. SharedInformers hold
   * them until every informer has its first list, so no controller acts on a half-filled view —
   * a ReplicaSet listed before its pods would otherwise be seen with none and given them all again.
   */
  hold(): void {
    this.held ??= [];
  }

  /** Hand the held notices to the handlers, in order, and stop holding. */
  release(): void {
    const held = this.held ?? [];
    this.held = undefined;
    for (const [k, obj, old] of held) this.emit(k, obj, old);
  }

  private emit(key: string, obj: KubeObject | undefined, old: KubeObject | undefined): void {
    if (this.held) return void this.held.push([key, obj, old]);
    for (const h of this.handlers) {
      try {
        h(key, obj, old);
      } catch (e) {
        this.log.warn('informer handler failed', { error: e instanceof Error ? e.message : String(e) });
      }
    }
  }

  /** List and start watching; resolves once the first list is in the cache. */
  async start(): Promise<void> {
    const list = await this.client.list(this.ref);
    this.newest = Math.max(this.newest, Number(list.metadata.resourceVersion ?? 0));
    const seen = new Set<string>();
    for (const item of list.items) {
      const o = this.keep(item);
      const k = keyOf(o);
      seen.add(k);
      const old = this.cache.get(k);
      this.put(k, o);
      if (old?.metadata.resourceVersion !== o.metadata.resourceVersion) this.emit(k, o, old);
    }
    for (const [k, old] of [...this.cache]) {
      if (seen.has(k)) continue;
      this.remove(k);
      this.emit(k, undefined, old);
    }
    if (this.stopped) return;
    this.watch = await this.client.watch(this.ref, undefined, { resourceVersion: list.metadata.resourceVersion ?? '0' }, (e) => {
      if (e.type === 'ERROR') return this.relistSoon();
      // a DELETED event's object carries the deletion's revision (the cache's copy does not)
      this.newest = Math.max(this.newest, rev(e.object as KubeObject));
      if (e.type === 'BOOKMARK') return;
      const o = this.keep(e.object as KubeObject);
      const k = keyOf(o);
      const old = this.cache.get(k);
      // a write this process already put in the cache (observe) arrives again: nothing new
      if (old && e.type !== 'DELETED' && rev(old) >= rev(o)) return;
      if (e.type === 'DELETED') this.remove(k);
      else this.put(k, o);
      this.emit(k, e.type === 'DELETED' ? undefined : o, old);
    });
    if (!this.watch.active) this.relistSoon();
  }

  private relistSoon(): void {
    this.watch?.stop();
    if (this.stopped || this.relistTimer) return;
    this.relistTimer = setTimeout(() => {
      this.relistTimer = undefined;
      this.start().catch((e: unknown) => {
        this.log.warn('relist failed', { error: e instanceof Error ? e.message : String(e) });
        this.relistSoon();
      });
    }, this.relistDelayMs);
    this.relistTimer.unref();
  }

  /**
   * An object this process just wrote, as the API answered it: the cache takes it now if it is
   * newer than what it holds (read-your-writes even when a store delivers watch events late).
   */
  observe(o: KubeObject): void {
    const k = keyOf(o);
    const old = this.cache.get(k);
    if (old && rev(old) >= rev(o)) return;
    const kept = this.keep(o);
    this.put(k, kept);
    this.emit(k, kept, old);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.relistTimer);
    this.watch?.stop();
  }
}

/** One informer per resource, shared by every controller that reads it (one list, one watch, one cache). */
export class SharedInformers {
  private readonly all = new Map<string, Informer>();

  constructor(
    private readonly client: ApiClient,
    private readonly log: Logger,
  ) {}

  for(ref: { group: string; resource: string }): Informer {
    const k = `${ref.group}/${ref.resource}`;
    let inf = this.all.get(k);
    if (!inf) this.all.set(k, (inf = new Informer(this.client, ref, this.log.child(ref.resource))));
    return inf;
  }

  /** List and watch every informer asked for so far. */
  async start(): Promise<void> {
    const all = [...this.all.values()];
    // no controller acts before every cache has its first list (client-go's WaitForCacheSync)
    for (const i of all) i.hold();
    try {
      await Promise.all(all.map((i) => i.start()));
    } finally {
      for (const i of all) i.release();
    }
  }

  stop(): void {
    for (const i of this.all.values()) i.stop();
  }
}
