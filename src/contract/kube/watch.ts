/**
 * Watch semantics both servers share (pure): the resourceVersion a watch starts from, which
 * event a selector-filtered watcher sees for one change (an object that stops matching leaves
 * as DELETED, one that starts matching arrives as ADDED), and the wire framing — one JSON
 * WatchEvent per line, never pretty-printed (client-node drops lines it cannot parse).
 */
import { badRequest } from './status.js';
import type { KubeObject, Status, WatchEvent } from './types.js';

export type Matcher = (o: KubeObject) => boolean;

/** undefined for "" and "0" (start with the current state), else the revision; a non-number is a 400. */
export function parseResourceVersion(rv: string | null | undefined): number | undefined {
  if (rv === undefined || rv === null || rv === '' || rv === '0') return undefined;
  if (!/^\d{1,15}$/.test(rv)) throw badRequest(`invalid resource version: "${rv}"`);
  return Number(rv);
}

/** One stored change: the object after it (for DELETED, the last state) and, when known, before it. */
export interface ObjectChange {
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
  prev?: KubeObject;
}

/** The event a watcher with `match` sees for one change (undefined: none). */
export function visible(e: ObjectChange, match: Matcher): WatchEvent<KubeObject> | undefined {
  const now = e.type !== 'DELETED' && match(e.object);
  const before = e.type === 'ADDED' ? false : e.prev ? match(e.prev) : e.type === 'DELETED' ? match(e.object) : true;
  if (e.type === 'ADDED') return now ? { type: 'ADDED', object: e.object } : undefined;
  if (e.type === 'DELETED') return before ? { type: 'DELETED', object: e.object } : undefined;
  if (now && before) return { type: 'MODIFIED', object: e.object };
  if (now) return { type: 'ADDED', object: e.object };
  if (before) return { type: 'DELETED', object: e.object };
  return undefined;
}

/** A BOOKMARK event: only the kind and the revision the watcher has seen up to. */
export function bookmark(kind: string, apiVersion: string, revision: number): WatchEvent<KubeObject> {
  return { type: 'BOOKMARK', object: { kind, apiVersion, metadata: { resourceVersion: String(revision) } } };
}

/** One event on the wire: a single line of JSON. */
export function watchLine(e: WatchEvent<KubeObject | Status | unknown>): string {
  return `${JSON.stringify(e)}\n`;
}
