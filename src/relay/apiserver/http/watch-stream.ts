/**
 * A watch over HTTP: 200 with headers flushed at once (kubectl wait/delete --wait hang
 * otherwise), then one JSON WatchEvent per line, chunked. Objects are converted as the Accept
 * header asked (a one-row Table per event for `kubectl get -w`). BOOKMARK events every
 * `bookmarkMs` when asked for, the stream ends at timeoutSeconds, and a client that stops reading
 * is cut off once its backlog passes `maxBacklogBytes` (it re-watches from the last revision seen).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KubeObject } from '../../../contract/kube/types.js';
import type { ResourceDef } from '../../kinds/types.js';
import type { ApiCore, CallContext } from '../core.js';
import { apiVersionOf } from '../registry.js';
import type { ApiWatchEvent } from '../watch.js';
import type { ObjectChoice } from '../../../contract/kube/negotiate.js';
import { toPartial, toTable, type IncludeObject } from '../../../contract/kube/resources.js';

export interface WatchStreamOptions {
  bookmarkMs: number;
  /** the longest a watch stays open (timeoutSeconds is capped to it; the default when absent) */
  maxTimeoutSeconds: number;
  maxBacklogBytes: number;
  now: () => Date;
}

export async function serveWatch(
  req: IncomingMessage,
  res: ServerResponse,
  core: ApiCore,
  ctx: CallContext,
  def: ResourceDef,
  namespace: string | undefined,
  q: URLSearchParams,
  choice: ObjectChoice,
  include: IncludeObject,
  o: WatchStreamOptions,
  /** a watch on one object's URL (the old form) is a watch with metadata.name=NAME */
  name?: string,
): Promise<void> {
  const fieldSelector = [q.get('fieldSelector'), name !== undefined ? `metadata.name=${name.replace(/[\\,=]/g, (c) => `\\${c}`)}` : ''].filter(Boolean).join(',');
  const requested = Number(q.get('timeoutSeconds') ?? '');
  const timeout = Number.isFinite(requested) && requested > 0 ? Math.min(requested, o.maxTimeoutSeconds) : o.maxTimeoutSeconds;
  const bookmarks = q.get('allowWatchBookmarks') === 'true' || q.get('allowWatchBookmarks') === '1';

  const convert = (e: ApiWatchEvent): ApiWatchEvent => {
    if (e.type === 'ERROR' || e.type === 'BOOKMARK') return e;
    const obj = e.object as KubeObject;
    if (choice.kind === 'table') return { type: e.type, object: toTable(def, [obj], { now: o.now(), include, version: choice.version }) as never };
    if (choice.kind === 'partial') return { type: e.type, object: toPartial(obj, choice.version) as never };
    return e;
  };
  let open = true;
  let stopWatch: (() => void) | undefined;
  let bookmarkTimer: NodeJS.Timeout | undefined;
  let timeoutTimer: NodeJS.Timeout | undefined;
  const finish = (): void => {
    if (!open) return;
    open = false;
    clearInterval(bookmarkTimer);
    clearTimeout(timeoutTimer);
    stopWatch?.();
    res.end();
  };
  const write = (e: ApiWatchEvent): void => {
    if (!open) return;
    res.write(`${JSON.stringify(convert(e))}\n`);
    if (res.writableLength > o.maxBacklogBytes) finish();
  };
  const bookmark = async (): Promise<void> => {
    const rv = await core.d.store.revision();
    write({ type: 'BOOKMARK', object: { kind: def.kind, apiVersion: apiVersionOf(def), metadata: { resourceVersion: String(rv) } } });
  };

  // the first failure (bad selector, forbidden, bad resourceVersion) is still a plain Status answer
  const watch = await core.watch(ctx, def, namespace, { ...(fieldSelector ? { fieldSelector } : {}), ...(q.get('labelSelector') ? { labelSelector: q.get('labelSelector')! } : {}), ...(q.has('resourceVersion') ? { resourceVersion: q.get('resourceVersion')! } : {}) }, (e) => {
    if (!res.headersSent) startStream();
    write(e);
    // an ERROR ends the watch (the store lost its place): the client relists
    if (e.type === 'ERROR' && stopWatch) finish();
  });
  function startStream(): void {
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private', 'transfer-encoding': 'chunked' });
    res.flushHeaders();
  }
  if (!res.headersSent) startStream();
  stopWatch = () => watch.stop();
  if (!watch.active) return finish();
  bookmarkTimer = bookmarks ? setInterval(() => void bookmark().catch(() => undefined), o.bookmarkMs) : undefined;
  timeoutTimer = setTimeout(() => {
    if (bookmarks) void bookmark().catch(() => undefined).finally(finish);
    else finish();
  }, timeout * 1000);
  bookmarkTimer?.unref();
  timeoutTimer.unref();
  req.once('close', finish);
  res.once('close', finish);
}
