/**
 * The MetaServer's watches. One store listener for all of them: each committed change is made
 * into a Kubernetes object once, and each representation (JSON, Table, metadata) is serialized
 * once, whatever the number of watchers. A watch resumes from any revision the store still
 * holds (rows and tombstones in SQLite), so nothing is buffered per watcher but its socket's
 * backlog: a watcher that stops reading is cut off past `maxBacklogBytes` and comes back from
 * the last revision it saw. Memory is bounded by watchers × backlog, and watchers by
 * `maxWatchers` (429 beyond).
 */
import type { ServerResponse } from 'node:http';
import type { IncludeObject } from '../../../contract/kube/resources.js';
import { toPartial, toTable } from '../../../contract/kube/resources.js';
import { apiVersionOf } from '../../../contract/kube/resources.js';
import type { ObjectChoice } from '../../../contract/kube/negotiate.js';
import { expired } from '../../../contract/kube/status.js';
import type { KubeObject, WatchEvent } from '../../../contract/kube/types.js';
import { bookmark, visible, watchLine, type Matcher, type ObjectChange } from '../../../contract/kube/watch.js';
import { StoreGoneError, type ResourceChange, type ResourceStore } from '../../../store/resources.js';
import type { NodeResource } from './kinds.js';
import { toKube } from './objects.js';

export interface WatchLimits {
  maxWatchers: number;
  maxBacklogBytes: number;
  bookmarkSeconds: number;
  maxTimeoutSeconds: number;
}

export interface WatchRequest {
  def: NodeResource;
  namespace?: string;
  match: Matcher;
  /** undefined: start with the current objects as ADDED */
  from?: number;
  choice: ObjectChoice;
  include: IncludeObject;
  bookmarks: boolean;
  timeoutSeconds?: number;
}

interface Watcher {
  req: WatchRequest;
  res: ServerResponse;
  end(): void;
}

type Serialize = (e: WatchEvent<KubeObject>) => string;

export class WatchHub {
  private readonly watchers = new Set<Watcher>();
  private readonly off: () => void;
  /** lines written and watchers cut off for backlog (metrics) */
  readonly counts = { events: 0, cutoffs: 0 };

  constructor(
    private readonly store: ResourceStore,
    private readonly defs: readonly NodeResource[],
    private readonly limits: WatchLimits,
    private readonly now: () => Date,
  ) {
    // status writes only while a watch is open
    this.off = store.onChange(
      (c) => this.onChange(c),
      () => this.watchers.size > 0,
    );
  }

  get size(): number {
    return this.watchers.size;
  }

  full(): boolean {
    return this.watchers.size >= this.limits.maxWatchers;
  }

  private serializer(req: WatchRequest): Serialize {
    const { choice, include, def } = req;
    if (choice.kind === 'table') return (e) => watchLine({ type: e.type, object: toTable(def, [e.object], { now: this.now(), include, version: choice.version, headers: false }) });
    if (choice.kind === 'partial') return (e) => watchLine({ type: e.type, object: toPartial(e.object, choice.version) });
    return watchLine;
  }

  /** Start a watch on an open response (headers are written and flushed at once). */
  open(req: WatchRequest, res: ServerResponse): void {
    const { def, namespace, match } = req;
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
    const ser = this.serializer(req);
    let timers: NodeJS.Timeout[] = [];
    const w: Watcher = {
      req,
      res,
      end: () => {
        if (!this.watchers.delete(w)) return;
        for (const t of timers) clearTimeout(t);
        timers = [];
        res.end();
      },
    };
    this.watchers.add(w);
    res.once('close', w.end);
    const inScope = (r: { namespace: string }) => namespace === undefined || r.namespace === namespace;
    const revision = this.store.revision();
    try {
      if (req.from === undefined) {
        for (const r of this.store.list(def.storeKind, def.namespaced ? namespace : undefined)) {
          const o = toKube(def, r);
          if (match(o)) this.write(w, ser({ type: 'ADDED', object: o }));
        }
      } else {
        for (const c of this.store.changesSince(req.from, def.storeKind)) {
          if (!inScope(c.resource)) continue;
          const o = toKube(def, c.resource);
          const v = visible({ type: c.op === 'delete' ? 'DELETED' : c.created ? 'ADDED' : 'MODIFIED', object: o }, match);
          if (v) this.write(w, ser(v));
        }
      }
    } catch (e) {
      if (!(e instanceof StoreGoneError)) throw e;
      res.write(watchLine({ type: 'ERROR', object: expired(`too old resource version: ${e.requested} (${e.oldest})`).status }));
      w.end();
      return;
    }
    const mark = (): void => this.write(w, ser(bookmark(def.kind, apiVersionOf(def), this.store.revision())));
    if (req.bookmarks) {
      const every = (): void => {
        mark();
        timers.push(setTimeout(every, this.limits.bookmarkSeconds * 1000).unref());
      };
      timers.push(setTimeout(every, this.limits.bookmarkSeconds * 1000).unref());
      // the revision the watch is at, at once (an informer marks its list done by it)
      if (req.from === undefined && revision > 0) mark();
    }
    const t = Math.min(req.timeoutSeconds && req.timeoutSeconds > 0 ? req.timeoutSeconds : this.limits.maxTimeoutSeconds, this.limits.maxTimeoutSeconds);
    timers.push(
      setTimeout(() => {
        if (req.bookmarks) mark();
        w.end();
      }, t * 1000).unref(),
    );
  }

  private write(w: Watcher, line: string): void {
    if (!this.watchers.has(w)) return;
    w.res.write(line);
    this.counts.events++;
    if (w.res.writableLength > this.limits.maxBacklogBytes) {
      this.counts.cutoffs++;
      w.end();
    }
  }

  private onChange(c: ResourceChange): void {
    if (!this.watchers.size) return;
    const def = this.defs.find((d) => d.storeKind === c.resource.kind);
    if (!def) return;
    const object = toKube(def, c.resource);
    const prev = c.op !== 'delete' && c.previous ? toKube(def, c.previous) : undefined;
    const change: ObjectChange = { type: c.op === 'delete' ? 'DELETED' : c.op === 'upsert' && !c.previous ? 'ADDED' : 'MODIFIED', object, ...(prev ? { prev } : {}) };
    // one serialized line per (event, representation) for every watcher that sees the same
    const lines = new Map<string, string>();
    for (const w of [...this.watchers]) {
      const r = w.req;
      if (r.def !== def || (r.namespace !== undefined && r.namespace !== c.resource.namespace)) continue;
      const v = visible(change, r.match);
      if (!v) continue;
      const key = `${v.type}|${r.choice.kind}|${'version' in r.choice ? r.choice.version : ''}|${r.include}`;
      let line = lines.get(key);
      if (line === undefined) lines.set(key, (line = this.serializer(r)(v)));
      this.write(w, line);
    }
  }

  close(): void {
    this.off();
    for (const w of [...this.watchers]) w.end();
  }
}
