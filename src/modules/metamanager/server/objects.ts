/**
 * Stored objects as Kubernetes objects: the stored manifest, with the metadata the node owns
 * (uid, creation time, and `resourceVersion` = the node store's revision of its last write —
 * the node's own counter, not the relay's) and the observed status beside it.
 */
import { apiVersionOf } from '../../../contract/kube/resources.js';
import type { KubeObject, ObjectMeta } from '../../../contract/kube/types.js';
import type { StoredResource } from '../../../store/resources.js';
import type { NodeResource } from './kinds.js';

/** Kubernetes times: RFC 3339, whole seconds. */
export const rfc3339 = (iso: string): string => iso.replace(/\.\d+Z$/, 'Z');

export function toKube(def: NodeResource, r: StoredResource): KubeObject {
  const manifest = (r.spec && typeof r.spec === 'object' && !Array.isArray(r.spec) ? r.spec : {}) as Record<string, unknown>;
  const meta = (manifest.metadata && typeof manifest.metadata === 'object' ? manifest.metadata : {}) as ObjectMeta;
  const metadata: ObjectMeta = {
    ...meta,
    name: r.name,
    ...(def.namespaced ? { namespace: r.namespace } : {}),
    uid: r.uid,
    resourceVersion: String(r.revision),
    creationTimestamp: meta.creationTimestamp ?? rfc3339(r.createdAt),
  };
  if (!def.namespaced) delete metadata.namespace;
  const out: KubeObject = { ...manifest, apiVersion: apiVersionOf(def), kind: def.kind, metadata };
  if (r.status !== null && r.status !== undefined) out.status = r.status;
  return out;
}
