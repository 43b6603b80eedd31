/**
 * Deletion as Kubernetes does it. Preconditions (uid, resourceVersion) and dryRun first. Then:
 * - propagationPolicy Orphan / Foreground add the `orphan` / `foregroundDeletion` finalizer (the
 *   garbage collector finishes them), a kind may add its own (Namespace: `kubernetes`);
 * - a kind with graceful deletion (a Pod bound to a node) gets deletionTimestamp = now + grace and
 *   deletionGracePeriodSeconds = grace, and stays until its node confirms with a delete of
 *   gracePeriodSeconds 0 (or an admin forces one);
 * - an object with finalizers gets deletionTimestamp and deletionGracePeriodSeconds 0 and stays
 *   until they are removed (core.commitUpdate then removes it);
 * - otherwise it is removed now (Background: the garbage collector deletes its dependents later).
 */
import { badRequest, conflict, success } from '../../contract/kube/status.js';
import type { DeleteOptions, KubeList, KubeObject, Status } from '../../contract/kube/types.js';
import type { ResourceDef } from '../kinds/types.js';
import { admitNamespaceDelete } from './admission.js';
import type { ApiCore, CallContext, ListOptions } from './core.js';
import { clone, timestamp } from './meta.js';
import { apiVersionOf, objectKey, subjectOf } from './registry.js';

export const ORPHAN_FINALIZER = 'orphan';
export const FOREGROUND_FINALIZER = 'foregroundDeletion';

export interface DeleteResult {
  /** the object as it is now (still there: being deleted), or its last state (gone) */
  object: KubeObject;
  /** true when the object is no longer stored */
  gone: boolean;
}

/** What a DELETE answers: the object while it is still there, else a Success Status. */
export function deleteResponse(def: ResourceDef, r: DeleteResult): KubeObject | Status {
  if (!r.gone) return r.object;
  return success({ name: r.object.metadata.name ?? '', group: def.group, kind: def.plural, ...(r.object.metadata.uid ? { uid: r.object.metadata.uid } : {}) });
}

export function checkDeleteOptions(opts: DeleteOptions): void {
  if (opts.dryRun && opts.dryRun.some((v) => v !== 'All')) throw badRequest(`dryRun: Unsupported value: "${opts.dryRun.join(',')}": supported values: "All"`);
  if (opts.gracePeriodSeconds !== undefined && (!Number.isInteger(opts.gracePeriodSeconds) || opts.gracePeriodSeconds < 0)) {
    throw badRequest('gracePeriodSeconds: Invalid value: must be a non-negative integer');
  }
  if (opts.propagationPolicy !== undefined && !['Orphan', 'Background', 'Foreground'].includes(opts.propagationPolicy)) {
    throw badRequest(`propagationPolicy: Unsupported value: "${String(opts.propagationPolicy)}": supported values: "Orphan", "Background", "Foreground"`);
  }
  if (opts.orphanDependents !== undefined && opts.propagationPolicy !== undefined) {
    throw badRequest('propagationPolicy: Invalid value: orphanDependents and propagationPolicy cannot both be set');
  }
}

export async function deleteObject(
  core: ApiCore,
  def: ResourceDef,
  namespace: string | undefined,
  name: string,
  opts: DeleteOptions,
  check?: (o: KubeObject) => void,
): Promise<DeleteResult> {
  checkDeleteOptions(opts);
  admitNamespaceDelete(def, name);
  const cur = await core.current(def, namespace, name);
  check?.(cur);
  const pre = opts.preconditions;
  if (pre?.uid && pre.uid !== cur.metadata.uid) {
    throw conflict(subjectOf(def, name), `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid ?? ''}`);
  }
  if (pre?.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) {
    throw conflict(subjectOf(def, name), `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion ?? ''}`);
  }
  const dryRun = !!opts.dryRun?.length;
  const now = core.d.now();
  const next = clone(cur);
  const m = next.metadata;
  const finalizers = [...(m.finalizers ?? [])];
  const deleting = !!cur.metadata.deletionTimestamp;
  const policy = opts.propagationPolicy ?? (opts.orphanDependents === true ? 'Orphan' : 'Background');
  if (!deleting) {
    const add = [...(policy === 'Orphan' ? [ORPHAN_FINALIZER] : policy === 'Foreground' ? [FOREGROUND_FINALIZER] : []), ...(def.deletionFinalizers ?? [])];
    for (const f of add) if (!finalizers.includes(f)) finalizers.push(f);
  }
  const graceful = def.gracefulDeletion?.(cur);
  let grace = graceful === undefined ? 0 : (opts.gracePeriodSeconds ?? graceful);
  if (deleting) {
    // a second delete may only shorten the wait (a force delete ends it)
    const pending = cur.metadata.deletionGracePeriodSeconds ?? 0;
    if (grace >= pending) return { object: cur, gone: false };
  }
  if (grace === 0 && finalizers.length === 0) {
    if (dryRun) return { object: cur, gone: true };
    const [e] = await core.d.store.commit([{ op: 'delete', key: objectKey(def, namespace, name), expect: Number(cur.metadata.resourceVersion) }]);
    return { object: e!.object, gone: true };
  }
  grace = Math.max(0, grace);
  m.finalizers = finalizers;
  m.deletionGracePeriodSeconds = grace;
  m.deletionTimestamp = timestamp(new Date(now.getTime() + grace * 1000));
  if (dryRun) return { object: next, gone: false };
  const [e] = await core.d.store.commit([{ op: 'update', key: objectKey(def, namespace, name), object: next, expect: Number(cur.metadata.resourceVersion) }]);
  return { object: e!.object, gone: false };
}

/** Delete every object a list selects (each one as a single delete would), and list what was deleted. */
export async function deleteCollection(
  core: ApiCore,
  ctx: CallContext,
  def: ResourceDef,
  namespace: string | undefined,
  list: ListOptions,
  opts: DeleteOptions,
): Promise<KubeList> {
  checkDeleteOptions(opts);
  const { items, metadata } = await core.list(ctx, def, namespace, { ...(list.labelSelector ? { labelSelector: list.labelSelector } : {}), ...(list.fieldSelector ? { fieldSelector: list.fieldSelector } : {}) });
  const out: KubeObject[] = [];
  for (const o of items) {
    try {
      const r = await core.delete(ctx, def, o.metadata.namespace, o.metadata.name ?? '', { ...opts, preconditions: undefined });
      out.push(r.object);
    } catch (e) {
      if ((e as { code?: number }).code === 404) continue;
      throw e;
    }
  }
  return { apiVersion: apiVersionOf(def), kind: `${def.kind}List`, metadata: { resourceVersion: metadata.resourceVersion ?? '' }, items: out };
}
