/**
 * The node's word on whether it can run pods (its container engine answers), kept in `meta` so it
 * survives a restart and so the module that reports the host (nodestatus, in the host report's
 * `runtime`) can carry what edged found without the two knowing each other. The relay turns it
 * into the Node's Ready condition (KubeletNotReady with this message).
 */
import type { NodeRuntime } from '../contract/node-status.js';
import type { MetaStore } from './meta.js';

const KEY = 'node.runtime';

/** Record the runtime state; returns whether it changed. */
export function setNodeRuntime(meta: MetaStore, r: NodeRuntime): boolean {
  const next = JSON.stringify(r);
  if (meta.get(KEY) === next) return false;
  meta.set(KEY, next);
  return true;
}

/** The runtime state last recorded (undefined: never; the relay reads absent as ready). */
export function nodeRuntime(meta: MetaStore): NodeRuntime | undefined {
  const v = meta.get(KEY);
  if (!v) return undefined;
  try {
    return JSON.parse(v) as NodeRuntime;
  } catch {
    return undefined;
  }
}
