/**
 * The resource verbs over HTTP: query parameters and bodies in, the API core's answers out in
 * the representation the client asked for (JSON, YAML, Table, PartialObjectMetadata).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, pathNotFound, success, unsupportedMediaType } from '../../../contract/kube/status.js';
import type { DeleteOptions, KubeList, KubeObject } from '../../../contract/kube/types.js';
import type { ResourceDef } from '../../kinds/types.js';
import type { ApiCore, CallContext, FieldValidation, ListOptions, PatchOptions, WriteOptions } from '../core.js';
import { deleteResponse } from '../delete.js';
import { PATCH_CONTENT_TYPES, patchTypeOf } from '../patching.js';
import { bindPod, getScale, patchScale, updateScale } from '../subresources.js';
import { readValue, send } from './io.js';
import { chooseObject, contentTypeOf } from '../../../contract/kube/negotiate.js';
import { includeObjectOf, toPartial, toPartialList, toTable } from '../../../contract/kube/resources.js';
import { serveWatch, type WatchStreamOptions } from './watch-stream.js';

export interface ResourceRequest {
  verb: string;
  def: ResourceDef;
  namespace?: string;
  name?: string;
  subresource?: string;
}

function writeOptions(q: URLSearchParams): WriteOptions {
  const dry = q.getAll('dryRun');
  if (dry.some((v) => v !== 'All')) throw badRequest(`dryRun: Unsupported value: "${dry.join(',')}": supported values: "All"`);
  const fv = q.get('fieldValidation');
  if (fv !== null && fv !== '' && !['Strict', 'Warn', 'Ignore'].includes(fv)) {
    throw badRequest(`fieldValidation: Unsupported value: "${fv}": supported values: "Ignore", "Strict", "Warn"`);
  }
  const manager = q.get('fieldManager') ?? undefined;
  if (manager !== undefined && (manager.length > 128 || /[^\x20-\x7e]/.test(manager))) {
    throw badRequest('fieldManager: Invalid value: must be at most 128 printable ASCII characters');
  }
  return {
    ...(dry.length ? { dryRun: true } : {}),
    ...(fv ? { fieldValidation: fv as FieldValidation } : {}),
    ...(manager ? { fieldManager: manager } : {}),
  };
}

function listOptions(q: URLSearchParams): ListOptions {
  const limit = q.get('limit');
  const n = limit === null || limit === '' ? undefined : Number(limit);
  if (n !== undefined && (!Number.isInteger(n) || n < 0)) throw badRequest(`limit: Invalid value: "${limit}": must be a non-negative integer`);
  return {
    ...(q.get('labelSelector') ? { labelSelector: q.get('labelSelector')! } : {}),
    ...(q.get('fieldSelector') ? { fieldSelector: q.get('fieldSelector')! } : {}),
    ...(n ? { limit: n } : {}),
    ...(q.get('continue') ? { continue: q.get('continue')! } : {}),
  };
}

function deleteOptions(body: unknown, q: URLSearchParams): DeleteOptions {
  if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) throw badRequest('the body of a DELETE must be a DeleteOptions object');
  const o = { ...((body ?? {}) as DeleteOptions & { kind?: string; apiVersion?: string }) };
  delete o.kind;
  delete o.apiVersion;
  const grace = q.get('gracePeriodSeconds');
  if (grace !== null) o.gracePeriodSeconds = Number(grace);
  const policy = q.get('propagationPolicy');
  if (policy) o.propagationPolicy = policy as DeleteOptions['propagationPolicy'];
  const orphan = q.get('orphanDependents');
  if (orphan !== null) o.orphanDependents = orphan === 'true';
  const dry = q.getAll('dryRun');
  if (dry.length) o.dryRun = dry;
  if (o.gracePeriodSeconds !== undefined && o.gracePeriodSeconds !== null && typeof o.gracePeriodSeconds !== 'number') throw badRequest('gracePeriodSeconds must be a number');
  return o;
}

export async function serveResource(
  req: IncomingMessage,
  res: ServerResponse,
  core: ApiCore,
  ctx: CallContext,
  r: ResourceRequest,
  q: URLSearchParams,
  watchOptions: WatchStreamOptions,
): Promise<void> {
  const { def, namespace, name, subresource } = r;
  const accept = req.headers.accept;
  const now = watchOptions.now();
  const include = includeObjectOf(q.get('includeObject'));
  const warnings = ctx.warnings;
  const answer = (code: number, obj: KubeObject): void => {
    const c = chooseObject(accept, false);
    send(res, code, obj, { warnings, contentType: contentTypeOf(c), yaml: c.kind === 'yaml' });
  };
  switch (r.verb) {
    case 'get': {
      const c = chooseObject(accept);
      const obj = await core.get(ctx, def, namespace, name!, subresource);
      if (c.kind === 'table') return send(res, 200, toTable(def, [obj], { now, include, version: c.version, resourceVersion: obj.metadata.resourceVersion ?? '' }), { contentType: contentTypeOf(c) });
      if (c.kind === 'partial') return send(res, 200, toPartial(obj, c.version), { contentType: contentTypeOf(c) });
      return send(res, 200, obj, { contentType: contentTypeOf(c), yaml: c.kind === 'yaml' });
    }
    case 'list': {
      const c = chooseObject(accept);
      const list: KubeList = await core.list(ctx, def, namespace, listOptions(q));
      const m = list.metadata;
      if (c.kind === 'table') {
        const t = toTable(def, list.items, { now, include, version: c.version, resourceVersion: m.resourceVersion ?? '', ...(m.continue ? { continue: m.continue } : {}), ...(m.remainingItemCount !== undefined ? { remainingItemCount: m.remainingItemCount } : {}) });
        return send(res, 200, t, { contentType: contentTypeOf(c) });
      }
      if (c.kind === 'partial') return send(res, 200, toPartialList(list.items, c.version, m.resourceVersion), { contentType: contentTypeOf(c) });
      return send(res, 200, list, { contentType: contentTypeOf(c), yaml: c.kind === 'yaml' });
    }
    case 'watch':
      return serveWatch(req, res, core, ctx, def, namespace, q, chooseObject(accept), include, watchOptions, name);
    case 'create': {
      const body = await readValue(req);
      return answer(201, await core.create(ctx, def, namespace, body, writeOptions(q)));
    }
    case 'update': {
      const body = await readValue(req);
      return answer(200, await core.update(ctx, def, namespace, name!, body, { ...writeOptions(q), ...(subresource ? { subresource } : {}) }));
    }
    case 'patch': {
      const type = patchTypeOf(req.headers['content-type']);
      if (!type) throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: ${PATCH_CONTENT_TYPES.join(', ')}`);
      const body = await readValue(req);
      const force = q.get('force');
      if (force !== null && type !== 'apply') throw badRequest('force: Invalid value: may not be specified for non-apply patch');
      const opts: PatchOptions = { ...writeOptions(q), ...(subresource ? { subresource } : {}), ...(force === 'true' ? { force: true } : {}) };
      const out = await core.patch(ctx, def, namespace, name!, type, body, opts);
      return answer(out.created ? 201 : 200, out.object);
    }
    case 'delete': {
      const body = await readValue(req, { allowEmpty: true });
      const out = await core.delete(ctx, def, namespace, name!, deleteOptions(body, q));
      const resp = deleteResponse(def, out);
      return send(res, 200, resp, { warnings });
    }
    case 'deletecollection': {
      const body = await readValue(req, { allowEmpty: true });
      return send(res, 200, await core.deleteCollection(ctx, def, namespace, listOptions(q), deleteOptions(body, q)), { warnings });
    }
  }
}

/** /scale (get, update, patch) and pods/binding (create): Scale and Binding bodies, not the object's. */
export async function serveSubresource(req: IncomingMessage, res: ServerResponse, core: ApiCore, ctx: CallContext, r: ResourceRequest, q: URLSearchParams): Promise<void> {
  const { def, namespace, name, subresource } = r;
  if (!name) throw pathNotFound();
  const answer = (code: number, obj: unknown): void => {
    const c = chooseObject(req.headers.accept, false);
    send(res, code, obj, { warnings: ctx.warnings, contentType: contentTypeOf(c), yaml: c.kind === 'yaml' });
  };
  if (subresource === 'binding') {
    if (r.verb !== 'create') throw pathNotFound();
    await bindPod(core, ctx, def, namespace, name, await readValue(req), writeOptions(q));
    return answer(201, { ...success(), code: 201 });
  }
  switch (r.verb) {
    case 'get':
      return answer(200, await getScale(core, ctx, def, namespace, name));
    case 'update':
      return answer(200, await updateScale(core, ctx, def, namespace, name, await readValue(req), writeOptions(q)));
    case 'patch': {
      const type = patchTypeOf(req.headers['content-type']);
      if (!type) throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: ${PATCH_CONTENT_TYPES.join(', ')}`);
      return answer(200, await patchScale(core, ctx, def, namespace, name, type, await readValue(req), writeOptions(q)));
    }
    default:
      throw pathNotFound();
  }
}
