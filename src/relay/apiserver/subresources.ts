/**
 * The object-write subresources other than status, as kube-apiserver serves them:
 * - `/scale` (Deployment, ReplicaSet): an autoscaling/v1 Scale read from and written to the
 *   object's replica count (`kubectl scale`: a merge PATCH, or GET then PUT with the
 *   resourceVersion under --current-replicas / --resource-version);
 * - `pods/binding`: a Binding that assigns a pod to a node (what a scheduler writes). It sets
 *   spec.nodeName — which no pod update may change — and the PodScheduled condition; a pod bound
 *   already is a 409.
 * Both go through the API core's authorization and one conditional store commit.
 */
import { badRequest, conflict, unsupportedMediaType } from '../../contract/kube/status.js';
import type { KubeObject } from '../../contract/kube/types.js';
import { nodeNameSchema } from '../../contract/resources/kinds.js';
import type { ResourceDef, ScaleDef } from '../kinds/types.js';
import type { ApiCore, CallContext, WriteOptions } from './core.js';
import { invalidObject } from './errors.js';
import { clone, timestamp } from './meta.js';
import type { PatchType } from './patching.js';
import { objectKey, subjectOf } from './registry.js';

export const SCALE_API_VERSION = 'autoscaling/v1';

function scaleDef(def: ResourceDef): ScaleDef {
  if (!def.scale || !def.subresources.includes('scale')) throw badRequest(`${def.plural} have no scale subresource`);
  return def.scale;
}

/** The Scale of an object with replicas. */
export function scaleOf(def: ResourceDef, obj: KubeObject): KubeObject {
  const s = scaleDef(def);
  const m = obj.metadata;
  return {
    kind: 'Scale',
    apiVersion: SCALE_API_VERSION,
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: s.replicas(obj) },
    status: { replicas: s.statusReplicas(obj), selector: s.selector(obj) },
  };
}

export async function getScale(core: ApiCore, ctx: CallContext, def: ResourceDef, namespace: string | undefined, name: string): Promise<KubeObject> {
  scaleDef(def);
  const check = core.authorize(ctx, def, 'get', namespace, name, 'scale');
  const cur = await core.current(def, namespace, name);
  check?.(cur);
  return scaleOf(def, cur);
}

/** The replicas a Scale body asks for, checked as Kubernetes checks a Scale. */
function wantedReplicas(def: ResourceDef, scale: unknown, name: string): { replicas: number; resourceVersion?: string; uid?: string } {
  if (!scale || typeof scale !== 'object' || Array.isArray(scale)) throw badRequest('the body of the request must be a Scale object');
  const s = scale as { kind?: unknown; metadata?: { name?: unknown; resourceVersion?: unknown; uid?: unknown }; spec?: { replicas?: unknown } };
  if (s.kind !== undefined && s.kind !== 'Scale') throw badRequest(`${String(s.kind)} cannot be handled as a Scale`);
  if (s.metadata?.name !== undefined && s.metadata.name !== name) throw badRequest(`the name of the object (${String(s.metadata.name)}) does not match the name on the URL (${name})`);
  const r = s.spec?.replicas ?? 0;
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 0) {
    throw invalidObject({ ...def, kind: 'Scale', group: 'autoscaling' }, name, [{ path: 'spec.replicas', reason: `Invalid value: ${JSON.stringify(r)}: must be greater than or equal to 0` }]);
  }
  return {
    replicas: r,
    ...(typeof s.metadata?.resourceVersion === 'string' && s.metadata.resourceVersion ? { resourceVersion: s.metadata.resourceVersion } : {}),
    ...(typeof s.metadata?.uid === 'string' && s.metadata.uid ? { uid: s.metadata.uid } : {}),
  };
}

async function writeScale(core: ApiCore, ctx: CallContext, def: ResourceDef, cur: KubeObject, body: unknown, opts: WriteOptions, check?: (o: KubeObject) => void): Promise<KubeObject> {
  const name = cur.metadata.name ?? '';
  const want = wantedReplicas(def, body, name);
  const next = clone(scaleDef(def).withReplicas(cur, want.replicas));
  if (want.resourceVersion) next.metadata.resourceVersion = want.resourceVersion;
  else delete next.metadata.resourceVersion;
  if (want.uid) next.metadata.uid = want.uid;
  const out = await core.commitUpdate(ctx, def, cur, next, { ...opts, subresource: 'scale' }, check);
  return scaleOf(def, out);
}

/** PUT …/scale: the Scale's resourceVersion (when given) must be the object's. */
export async function updateScale(core: ApiCore, ctx: CallContext, def: ResourceDef, namespace: string | undefined, name: string, body: unknown, opts: WriteOptions = {}): Promise<KubeObject> {
  scaleDef(def);
  const check = core.authorize(ctx, def, 'update', namespace, name, 'scale');
  const conditional = !!(body as { metadata?: { resourceVersion?: string } } | undefined)?.metadata?.resourceVersion;
  return core.retrying(def, name, conditional, async () => {
    const cur = await core.current(def, namespace, name);
    check?.(cur);
    return writeScale(core, ctx, def, cur, body, opts, check);
  });
}

/** PATCH …/scale: the patch applies to the Scale, whose replicas then go to the object. */
export async function patchScale(core: ApiCore, ctx: CallContext, def: ResourceDef, namespace: string | undefined, name: string, type: PatchType, body: unknown, opts: WriteOptions = {}): Promise<KubeObject> {
  scaleDef(def);
  const check = core.authorize(ctx, def, 'patch', namespace, name, 'scale');
  const engine = core.d.patch;
  if (!engine || type === 'apply') throw unsupportedMediaType('the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json');
  return core.retrying(def, name, false, async () => {
    const cur = await core.current(def, namespace, name);
    check?.(cur);
    const scale = scaleOf(def, cur);
    const patched =
      type === 'json' ? engine.jsonPatch(scale, body) : type === 'merge' ? engine.mergePatch(scale, body) : engine.strategicMergePatch(scale, body, engine.typeInfoFor('autoscaling', 'v1', 'Scale'));
    return writeScale(core, ctx, def, cur, patched, opts, check);
  });
}

/** POST pods/NAME/binding: bind the pod to `target.name`; answers the bound pod. */
export async function bindPod(core: ApiCore, ctx: CallContext, def: ResourceDef, namespace: string | undefined, name: string, body: unknown, opts: WriteOptions = {}): Promise<KubeObject> {
  if (!def.subresources.includes('binding')) throw badRequest(`${def.plural} have no binding subresource`);
  const check = core.authorize(ctx, def, 'create', namespace, name, 'binding');
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest('the body of the request must be a Binding object');
  const b = body as { kind?: unknown; metadata?: { name?: unknown }; target?: { kind?: unknown; name?: unknown } };
  if (b.kind !== undefined && b.kind !== 'Binding') throw badRequest(`${String(b.kind)} cannot be handled as a Binding`);
  if (b.metadata?.name !== undefined && b.metadata.name !== name) throw badRequest(`the name of the object (${String(b.metadata.name)}) does not match the name on the URL (${name})`);
  const issues = [];
  if (b.target?.kind !== undefined && b.target.kind !== '' && b.target.kind !== 'Node') issues.push({ path: 'target.kind', reason: `Invalid value: "${String(b.target.kind)}": must be empty or 'Node'` });
  const node = b.target?.name;
  if (typeof node !== 'string' || node === '') issues.push({ path: 'target.name', reason: 'Required value' });
  else if (!nodeNameSchema.safeParse(node).success) issues.push({ path: 'target.name', reason: `Invalid value: "${node}": node names are DNS labels` });
  if (issues.length) throw invalidObject({ ...def, kind: 'Binding' }, name, issues);
  return core.retrying(def, name, false, async () => {
    const cur = await core.current(def, namespace, name);
    check?.(cur);
    const spec = (cur.spec ?? {}) as { nodeName?: string };
    if (cur.metadata.deletionTimestamp) throw conflict(subjectOf(def, name), `pod ${name} is being deleted, cannot be assigned to a host`);
    if (spec.nodeName) throw conflict(subjectOf(def, name), `pod ${name} is already assigned to node "${spec.nodeName}"`);
    const next = clone(cur);
    (next.spec as { nodeName?: string }).nodeName = node as string;
    const status = (next.status ?? {}) as { conditions?: { type: string; status: string; lastTransitionTime?: string }[] };
    const conditions = (status.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
    conditions.push({ type: 'PodScheduled', status: 'True', lastTransitionTime: timestamp(core.d.now()) });
    next.status = { ...status, conditions };
    if (opts.dryRun) return next;
    const [e] = await core.d.store.commit([{ op: 'update', key: objectKey(def, namespace, name), object: next, expect: Number(cur.metadata.resourceVersion) }]);
    return e!.object;
  });
}
