/**
 * A watch as Kubernetes serves it, over the store's change stream. From resourceVersion "" or
 * "0": every current object as ADDED, then the changes after that list. From N: the changes
 * after N, or one ERROR event (410 Expired) when N is older than the window kept. With a
 * selector, an object that stops matching arrives as DELETED and one that starts as ADDED.
 */
import { badRequest, expired } from '../../contract/kube/status.js';
import type { KubeObject, Status, WatchEvent } from '../../contract/kube/types.js';
import type { ResourceDef } from '../kinds/types.js';
import { StoreGoneError, type ObjectStore, type StoredEvent } from '../store/objects.js';
import { scopeOf } from './registry.js';
import type { Matcher } from './selection.js';

export type ApiWatchEvent = WatchEvent<KubeObject | Status>;

export interface ApiWatch {
  /** the revision the watch started after */
  readonly revision: number;
  /** false once stopped or ended by an ERROR event */
  readonly active: boolean;
  stop(): void;
}

export function parseResourceVersion(rv: string | undefined): number | undefined {
  if (rv === undefined || rv === '' || rv === '0') return undefined;
  if (!/^\d+$/.test(rv)) throw badRequest(`invalid resource version: "${rv}"`);
  return Number(rv);
}

/** The event a watcher with `match` sees for one stored change (undefined: none). */
export function visible(e: StoredEvent, match: Matcher): ApiWatchEvent | undefined {
  const now = e.type !== 'DELETED' && match(e.object);
  const before = e.type === 'ADDED' ? false : e.prev ? match(e.prev) : e.type === 'DELETED' ? match(e.object) : true;
  if (e.type === 'ADDED') return now ? { type: 'ADDED', object: e.object } : undefined;
  if (e.type === 'DELETED') return before ? { type: 'DELETED', object: e.object } : undefined;
  if (now && before) return { type: 'MODIFIED', object: e.object };
  if (now) return { type: 'ADDED', object: e.object };
  if (before) return { type: 'DELETED', object: e.object };
  return undefined;
}

export async function openWatch(
  store: ObjectStore,
  def: ResourceDef,
  namespace: string | undefined,
  resourceVersion: string | undefined,
  match: Matcher,
  onEvent: (e: ApiWatchEvent) => void,
): Promise<ApiWatch> {
  const from = parseResourceVersion(resourceVersion);
  const scope = scopeOf(def, namespace);
  let active = true;
  let start = from ?? 0;
  if (from === undefined) {
    const list = await store.list(scope);
    start = list.revision;
    for (const o of list.items) if (match(o)) onEvent({ type: 'ADDED', object: o });
  }
  let handle: { stop(): void } | undefined;
  try {
    handle = await store.watch(
      scope,
      start,
      (e) => {
        if (!active) return;
        const v = visible(e, match);
        if (v) onEvent(v);
      },
      (gone) => {
        // the store lost its place (a fleet replica away from PostgreSQL past the window): 410, as for an old resourceVersion
        if (!active) return;
        active = false;
        onEvent({ type: 'ERROR', object: expired(`too old resource version: ${gone.requested} (${gone.oldest})`).status });
      },
    );
  } catch (e) {
    if (!(e instanceof StoreGoneError)) throw e;
    active = false;
    onEvent({ type: 'ERROR', object: expired(`too old resource version: ${e.requested} (${e.oldest})`).status });
  }
  return {
    revision: start,
    get active() {
      return active;
    },
    stop() {
      active = false;
      handle?.stop();
    },
  };
}
