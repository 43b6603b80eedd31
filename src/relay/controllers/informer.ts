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

export type ChangeHandler = (key: string, obj: KubeObject | undefined, old: KubeObject | undefined) => void;

export class Informer {
  private readonly cache = new Map<string, KubeObject>();
  private readonly handlers: ChangeHandler[] = [];
  private watch?: ApiWatch;
  private stopped = false;
  private relistTimer?: NodeJS.Timeout;

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

  onChange(h: ChangeHandler): void {
    this.handlers.push(h);
  }

  get(key: string): KubeObject | undefined {
    return this.cache.get(key);
  }

  list(): KubeObject[] {
    return [...this.cache.values()];
  }

  private emit(key: string, obj: KubeObject | undefined, old: KubeObject | undefined): void {
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
    const seen = new Set<string>();
    for (const item of list.items) {
      const o = this.keep(item);
      const k = keyOf(o);
      seen.add(k);
      const old = this.cache.get(k);
      this.cache.set(k, o);
      if (old?.metadata.resourceVersion !== o.metadata.resourceVersion) this.emit(k, o, old);
    }
    for (const [k, old] of [...this.cache]) {
      if (seen.has(k)) continue;
      this.cache.delete(k);
      this.emit(k, undefined, old);
    }
    if (this.stopped) return;
    this.watch = await this.client.watch(this.ref, undefined, { resourceVersion: list.metadata.resourceVersion ?? '0' }, (e) => {
      if (e.type === 'ERROR') return this.relistSoon();
      if (e.type === 'BOOKMARK') return;
      const o = this.keep(e.object as KubeObject);
      const k = keyOf(o);
      const old = this.cache.get(k);
      if (e.type === 'DELETED') this.cache.delete(k);
      else this.cache.set(k, o);
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

  stop(): void {
    this.stopped = true;
    clearTimeout(this.relistTimer);
    this.watch?.stop();
  }
}
