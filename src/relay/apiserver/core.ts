/**
 * The one path every API write takes, whoever makes it (kubectl over HTTP, a controller or the
 * node link through ApiClient): authorization, decoding, defaulting, validation with
 * fieldValidation, admission, managedFields, optimistic concurrency, then one store commit.
 * Deletion lives in delete.ts, watches in watch.ts; both are reached through this class.
 */
import { randomUUID } from 'node:crypto';
import { alreadyExists, badRequest, conflict, forbidden, methodNotAllowed, notFound, pathNotFound, unsupportedMediaType } from '../../contract/kube/status.js';
import type { DeleteOptions, KubeList, KubeObject } from '../../contract/kube/types.js';
import { stableStringify } from '../../lib/json.js';
import type { KindContext, ResourceDef, Verb } from '../kinds/types.js';
import { StoreConflictError, StoreExistsError, StoreNotFoundError, type ObjectStore, type StoreOp } from '../store/objects.js';
import { admitNamespace } from './admission.js';
import { authorize, forbiddenMessage, type Identity } from './authz.js';
import { deleteCollection, deleteObject, type DeleteResult } from './delete.js';
import { invalidObject, toStatusError } from './errors.js';
import { clone, deletePath, generatedName, isUnknownField, keepServerFields, metadataIssues, pruneNulls, specPart, timestamp } from './meta.js';
import type { PatchEngine, PatchType } from './patching.js';
import { apiVersionOf, objectKey, scopeOf, subjectOf, type ResourceRegistry } from './registry.js';
import { after, compileSelectors, decodeContinue, encodeContinue } from './selection.js';
import { openWatch, type ApiWatch, type ApiWatchEvent } from './watch.js';

export type FieldValidation = 'Strict' | 'Warn' | 'Ignore';

export interface CallContext {
  identity: Identity;
  /** collected for the client (HTTP: `Warning: 299` headers) */
  warnings: string[];
  /** the manager name when none is given (HTTP: the User-Agent's program name) */
  defaultManager?: string;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: FieldValidation;
  /** 'status' (or another writable subresource) */
  subresource?: string;
  /** in-process callers only: more store ops committed with this write, all or nothing */
  alsoCommit?: StoreOp[];
}

export interface PatchOptions extends WriteOptions {
  force?: boolean;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface WatchOptions {
  labelSelector?: string;
  fieldSelector?: string;
  resourceVersion?: string;
}

/**
 * What the server assigns on the write path of one resource, after validation and before the
 * commit (kube-apiserver's registry hooks): a Service's ClusterIP and node ports. It may set
 * fields in place and returns store ops committed with the object, all or nothing; it throws a
 * StatusError (an Invalid object) when the object asks for what cannot be given.
 */
export interface WriteHook {
  group: string;
  resource: string;
  beforeCommit(next: KubeObject, cur: KubeObject | undefined, o: { dryRun: boolean }): Promise<StoreOp[]>;
}

export interface ApiCoreDeps {
  store: ObjectStore;
  registry: ResourceRegistry;
  /** server-assigned fields, per resource (the Service allocator) */
  hooks?: WriteHook[];
  /** the patch/apply algorithms; without them PATCH answers 415 and managedFields are not kept */
  patch?: PatchEngine;
  now: () => Date;
}

/** Internal conflicts (another writer won between read and write) are retried this often. */
const RETRIES = 8;

export class ApiCore {
  readonly kindContext: KindContext;

  constructor(readonly d: ApiCoreDeps) {
    this.kindContext = { get: (k) => d.store.get(k), now: d.now };
  }

  get registry(): ResourceRegistry {
    return this.d.registry;
  }

  private async hooked(def: ResourceDef, next: KubeObject, cur: KubeObject | undefined, opts: WriteOptions): Promise<StoreOp[]> {
    const ops: StoreOp[] = [];
    for (const h of this.d.hooks ?? []) if (h.group === def.group && h.resource === def.plural) ops.push(...(await h.beforeCommit(next, cur, { dryRun: !!opts.dryRun })));
    return [...ops, ...(opts.alsoCommit ?? [])];
  }

  /** Request-level authorization; returns the object-level check when the decision depends on the object. */
  authorize(ctx: CallContext, def: ResourceDef, verb: Verb, namespace: string | undefined, name?: string, subresource?: string): ((o: KubeObject) => void) | undefined {
    const attrs = { verb, group: def.group, resource: def.plural, ...(subresource ? { subresource } : {}), ...(def.namespaced && namespace ? { namespace } : {}), ...(name ? { name } : {}) };
    const v = authorize(ctx.identity, attrs, def);
    if (v.allowed === false) throw forbidden(forbiddenMessage(ctx.identity, attrs), subjectOf(def, name));
    if (v.allowed === true) return undefined;
    return (o) => {
      if (!v.check(o)) throw forbidden(forbiddenMessage(ctx.identity, { ...attrs, name: o.metadata.name ?? name }), subjectOf(def, o.metadata.name ?? name));
    };
  }

  private verb(def: ResourceDef, verb: Verb, subresource?: string): void {
    if (subresource) {
      if (!def.subresources.includes(subresource as never)) throw pathNotFound();
      return;
    }
    if (!def.verbs.includes(verb)) throw methodNotAllowed(`the server does not allow this method on the requested resource (${verb} ${def.plural})`);
  }

  async get(ctx: CallContext, def: ResourceDef, namespace: string | undefined, name: string, subresource?: string): Promise<KubeObject> {
    this.verb(def, 'get', subresource);
    const check = this.authorize(ctx, def, 'get', namespace, name, subresource);
    const o = await this.d.store.get(objectKey(def, namespace, name));
    if (!o) throw notFound(subjectOf(def, name));
    check?.(o);
    return o;
  }

  async list(ctx: CallContext, def: ResourceDef, namespace: string | undefined, opts: ListOptions = {}): Promise<KubeList> {
    this.verb(def, 'list');
    this.authorize(ctx, def, 'list', namespace);
    const match = compileSelectors(def, opts.labelSelector, opts.fieldSelector);
    const { items, revision } = await this.d.store.list(scopeOf(def, namespace));
    let out = items.filter(match);
    const token = opts.continue ? decodeContinue(opts.continue) : undefined;
    if (token) out = after(out, token);
    const meta: KubeList['metadata'] = { resourceVersion: String(token?.rv ?? revision) };
    if (opts.limit && opts.limit > 0 && out.length > opts.limit) {
      const last = out[opts.limit - 1]!;
      meta.remainingItemCount = out.length - opts.limit;
      out = out.slice(0, opts.limit);
      meta.continue = encodeContinue({ rv: token?.rv ?? revision, namespace: last.metadata.namespace ?? '', name: last.metadata.name ?? '' });
    }
    return { apiVersion: apiVersionOf(def), kind: `${def.kind}List`, metadata: meta, items: out };
  }

  async watch(ctx: CallContext, def: ResourceDef, namespace: string | undefined, opts: WatchOptions, onEvent: (e: ApiWatchEvent) => void): Promise<ApiWatch> {
    this.verb(def, 'watch');
    this.authorize(ctx, def, 'watch', namespace);
    const match = compileSelectors(def, opts.labelSelector, opts.fieldSelector);
    return openWatch(this.d.store, def, namespace, opts.resourceVersion, match, onEvent);
  }

  /** The body as an object of this kind in this namespace (nulls dropped), or 400. */
  decode(def: ResourceDef, body: unknown, namespace: string | undefined): KubeObject {
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw badRequest(`the body of the request must be a ${def.kind} object`);
    const obj = pruneNulls(clone(body)) as KubeObject;
    const apiVersion = apiVersionOf(def);
    if (obj.apiVersion !== undefined && obj.apiVersion !== apiVersion) {
      throw badRequest(`the API version in the data (${String(obj.apiVersion)}) does not match the expected API version (${apiVersion})`);
    }
    if (obj.kind !== undefined && obj.kind !== def.kind) throw badRequest(`${String(obj.kind)} in version "${def.version}" cannot be handled as a ${def.kind}: the kind does not match`);
    obj.apiVersion = apiVersion;
    obj.kind = def.kind;
    if (!obj.metadata || typeof obj.metadata !== 'object' || Array.isArray(obj.metadata)) obj.metadata = {};
    const m = obj.metadata;
    if (def.namespaced) {
      if (m.namespace && namespace && m.namespace !== namespace) throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      if (namespace) m.namespace = namespace;
    } else delete m.namespace;
    return obj;
  }

  /** Validation with fieldValidation: unknown fields refused (Strict), dropped with a warning (Warn, the default) or silently (Ignore). */
  async validate(ctx: CallContext, def: ResourceDef, obj: KubeObject, old: KubeObject | undefined, mode: FieldValidation = 'Warn'): Promise<void> {
    const issues = [...metadataIssues(obj.metadata, { namespaced: def.namespaced }), ...(await def.validate(obj, old, this.kindContext))];
    const unknown = issues.filter(isUnknownField);
    const rest = issues.filter((i) => !isUnknownField(i));
    if (unknown.length && mode === 'Strict') {
      throw badRequest(`${def.kind} in version "${def.version}" cannot be handled as a ${def.kind}: strict decoding error: ${unknown.map((u) => `unknown field "${u.path}"`).join(', ')}`);
    }
    for (const u of unknown) {
      deletePath(obj, u.path);
      if (mode === 'Warn') ctx.warnings.push(`unknown field "${u.path}"`);
    }
    if (rest.length) throw invalidObject(def, obj.metadata.name ?? '', rest);
  }

  manager(ctx: CallContext, opts: WriteOptions): string {
    return opts.fieldManager || ctx.defaultManager || 'unknown';
  }

  /** Top-level fields a write through `subresource` does not own: status on the main resource, the rest on /status. */
  ignoredFields(def: ResourceDef, subresource: string | undefined, ...objs: (KubeObject | undefined)[]): string[] {
    if (subresource === 'status') {
      const keys = new Set(objs.flatMap((o) => (o ? Object.keys(o) : [])));
      return [...keys].filter((k) => !['apiVersion', 'kind', 'metadata', 'status'].includes(k));
    }
    return def.statusSubresource ? ['status'] : [];
  }

  private track(ctx: CallContext, def: ResourceDef, old: KubeObject | undefined, next: KubeObject, opts: WriteOptions): void {
    if (!this.d.patch) return;
    next.metadata.managedFields = this.d.patch.trackUpdate(old, next, {
      manager: this.manager(ctx, opts),
      operation: 'Update',
      apiVersion: apiVersionOf(def),
      ...(opts.subresource ? { subresource: opts.subresource } : {}),
      ignoredFields: this.ignoredFields(def, opts.subresource, old, next),
      now: this.d.now(),
      typeInfo: this.d.patch.typeInfoFor(def.group, def.version, def.kind),
    });
  }

  async create(ctx: CallContext, def: ResourceDef, namespace: string | undefined, body: unknown, opts: WriteOptions = {}, applied = false): Promise<KubeObject> {
    this.verb(def, 'create', opts.subresource);
    const check = this.authorize(ctx, def, 'create', namespace);
    const obj = this.decode(def, body, namespace);
    const m = obj.metadata;
    if (!m.name && m.generateName) m.name = generatedName(m.generateName);
    if (m.resourceVersion) throw badRequest('resourceVersion should not be set on objects to be created');
    for (const k of ['uid', 'creationTimestamp', 'deletionTimestamp', 'deletionGracePeriodSeconds', 'generation', 'selfLink'] as const) delete (m as Record<string, unknown>)[k];
    if (!applied) delete m.managedFields;
    m.uid = randomUUID();
    m.creationTimestamp = timestamp(this.d.now());
    m.generation = 1;
    if (def.statusSubresource && !def.statusOnCreate) delete obj.status;
    def.prepareForCreate?.(obj);
    def.defaults?.(obj);
    check?.(obj);
    await this.validate(ctx, def, obj, undefined, opts.fieldValidation);
    await admitNamespace(this.d.store, def, namespace);
    const extra = await this.hooked(def, obj, undefined, opts);
    if (!applied) this.track(ctx, def, undefined, obj, opts);
    if (opts.dryRun) return obj;
    const key = objectKey(def, namespace, m.name!);
    try {
      const events = await this.d.store.commit([{ op: 'create', key, object: obj }, ...extra]);
      return events[0]!.object;
    } catch (e) {
      if (e instanceof StoreExistsError && e.key.name === key.name && e.key.resource === key.resource) throw alreadyExists(subjectOf(def, m.name));
      throw toStatusError(e, def, m.name);
    }
  }

  async update(ctx: CallContext, def: ResourceDef, namespace: string | undefined, name: string, body: unknown, opts: WriteOptions = {}): Promise<KubeObject> {
    this.verb(def, 'update', opts.subresource);
    const check = this.authorize(ctx, def, 'update', namespace, name, opts.subresource);
    const wanted = this.decode(def, body, namespace);
    if (wanted.metadata.name !== undefined && wanted.metadata.name !== name) {
      throw badRequest(`the name of the object (${wanted.metadata.name}) does not match the name on the URL (${name})`);
    }
    wanted.metadata.name = name;
    const conditional = !!wanted.metadata.resourceVersion;
    return this.retrying(def, name, conditional, async () => {
      const cur = await this.current(def, namespace, name);
      check?.(cur);
      return this.commitUpdate(ctx, def, cur, clone(wanted), opts, check);
    });
  }

  async patch(ctx: CallContext, def: ResourceDef, namespace: string | undefined, name: string, type: PatchType, body: unknown, opts: PatchOptions = {}): Promise<{ object: KubeObject; created: boolean }> {
    this.verb(def, 'patch', opts.subresource);
    const check = this.authorize(ctx, def, 'patch', namespace, name, opts.subresource);
    const engine = this.d.patch;
    const accepted = `application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml${def.strategicMerge ? ', application/strategic-merge-patch+json' : ''}`;
    if (!engine || (type === 'strategic' && !def.strategicMerge)) {
      throw unsupportedMediaType(`the body of the request was in an unknown format - accepted media types include: ${accepted}`);
    }
    if (type === 'apply' && !opts.fieldManager) throw badRequest('PATCH requests for server-side apply must set fieldManager');
    const typeInfo = engine.typeInfoFor(def.group, def.version, def.kind);
    const applyOpts = (live: KubeObject | undefined, intent: KubeObject) => ({
      manager: opts.fieldManager!,
      force: !!opts.force,
      apiVersion: apiVersionOf(def),
      typeInfo,
      now: this.d.now(),
      ...(opts.subresource ? { subresource: opts.subresource } : {}),
      ignoredFields: this.ignoredFields(def, opts.subresource, live, intent),
    });
    return this.retrying(def, name, false, async () => {
      const cur = await this.d.store.get(objectKey(def, namespace, name));
      if (!cur) {
        if (type !== 'apply' || opts.subresource) throw notFound(subjectOf(def, name));
        const intent = this.decode(def, body, namespace);
        if (intent.metadata.name !== name) throw badRequest(`the name of the object (${intent.metadata.name ?? ''}) does not match the name on the URL (${name})`);
        const made = engine.serverSideApply(undefined, intent, applyOpts(undefined, intent));
        return { object: await this.create(ctx, def, namespace, made, opts, true), created: true };
      }
      check?.(cur);
      let next: KubeObject;
      if (type === 'json') next = engine.jsonPatch(cur, body);
      else if (type === 'merge') next = engine.mergePatch(cur, body);
      else if (type === 'strategic') next = engine.strategicMergePatch(cur, body, typeInfo);
      else {
        const intent = this.decode(def, body, namespace);
        if (intent.metadata.name !== name) throw badRequest(`the name of the object (${intent.metadata.name ?? ''}) does not match the name on the URL (${name})`);
        next = engine.serverSideApply(cur, intent, applyOpts(cur, intent));
      }
      next = this.decode(def, next, namespace);
      const object = await this.commitUpdate(ctx, def, cur, next, opts, check, type === 'apply');
      return { object, created: false };
    });
  }

  async delete(ctx: CallContext, def: ResourceDef, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<DeleteResult> {
    this.verb(def, 'delete');
    const check = this.authorize(ctx, def, 'delete', namespace, name);
    return this.retrying(def, name, !!opts.preconditions?.resourceVersion, () => deleteObject(this, def, namespace, name, opts, check));
  }

  async deleteCollection(ctx: CallContext, def: ResourceDef, namespace: string | undefined, list: ListOptions, opts: DeleteOptions = {}): Promise<KubeList> {
    this.verb(def, 'deletecollection');
    this.authorize(ctx, def, 'deletecollection', namespace);
    return deleteCollection(this, ctx, def, namespace, list, opts);
  }

  async current(def: ResourceDef, namespace: string | undefined, name: string): Promise<KubeObject> {
    const cur = await this.d.store.get(objectKey(def, namespace, name));
    if (!cur) throw notFound(subjectOf(def, name));
    return cur;
  }

  /** Re-run `fn` when another writer won the race (unconditional writes only); map errors to Status. */
  async retrying<T>(def: ResourceDef, name: string, conditional: boolean, fn: () => Promise<T>): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (e) {
        if (e instanceof StoreConflictError && !conditional && i < RETRIES) continue;
        if (e instanceof StoreConflictError) throw conflict(subjectOf(def, name));
        if (e instanceof StoreNotFoundError) throw notFound(subjectOf(def, name));
        throw toStatusError(e, def, name);
      }
    }
  }

  /**
   * `next` replaces `cur`: the request's resourceVersion is a precondition, server fields are
   * kept, a write to the main resource keeps the status and one to /status keeps the rest.
   * No change, no write. An object being deleted whose last finalizer goes is removed.
   */
  async commitUpdate(
    ctx: CallContext,
    def: ResourceDef,
    cur: KubeObject,
    next: KubeObject,
    opts: WriteOptions,
    check?: (o: KubeObject) => void,
    applied = false,
  ): Promise<KubeObject> {
    const name = cur.metadata.name ?? '';
    const rv = next.metadata.resourceVersion;
    if (rv && rv !== cur.metadata.resourceVersion) throw conflict(subjectOf(def, name));
    if (next.metadata.uid && next.metadata.uid !== cur.metadata.uid) {
      throw conflict(subjectOf(def, name), `Precondition failed: UID in precondition: ${next.metadata.uid}, UID in object meta: ${cur.metadata.uid ?? ''}`);
    }
    if (opts.subresource === 'status') {
      const statusOnly = clone(cur);
      if (next.status === undefined) delete statusOnly.status;
      else statusOnly.status = next.status;
      for (const k of ['labels', 'annotations'] as const) {
        if (next.metadata[k] === undefined) delete statusOnly.metadata[k];
        else statusOnly.metadata[k] = next.metadata[k] as never;
      }
      if (applied) statusOnly.metadata.managedFields = next.metadata.managedFields;
      next = statusOnly;
    } else if (def.statusSubresource) {
      if (cur.status === undefined) delete next.status;
      else next.status = clone(cur.status);
    }
    keepServerFields(next.metadata, cur.metadata);
    next.metadata.name = cur.metadata.name;
    if (def.namespaced) next.metadata.namespace = cur.metadata.namespace;
    if (!applied) next.metadata.managedFields = cur.metadata.managedFields;
    def.defaults?.(next);
    check?.(next);
    if (cur.metadata.deletionTimestamp) {
      const added = (next.metadata.finalizers ?? []).filter((f) => !(cur.metadata.finalizers ?? []).includes(f));
      if (added.length) throw invalidObject(def, name, [{ path: 'metadata.finalizers', reason: 'Forbidden: no new finalizers can be added if the object is being deleted' }]);
    }
    await this.validate(ctx, def, next, cur, opts.fieldValidation);
    const extra = await this.hooked(def, next, cur, opts);
    if (stableStringify(specPart(next)) !== stableStringify(specPart(cur))) next.metadata.generation = (cur.metadata.generation ?? 0) + 1;
    if (!applied) this.track(ctx, def, cur, next, opts);
    // managedFields count, their timestamps do not (re-applying the same intent writes nothing)
    const same = (o: KubeObject): string =>
      stableStringify({ ...o, metadata: { ...o.metadata, resourceVersion: undefined, managedFields: o.metadata.managedFields?.map((f) => ({ ...f, time: undefined })) } });
    if (same(next) === same(cur)) return cur;
    if (opts.dryRun) return next;
    const key = objectKey(def, cur.metadata.namespace, name);
    const expect = Number(cur.metadata.resourceVersion);
    const m = next.metadata;
    if (m.deletionTimestamp && (m.deletionGracePeriodSeconds ?? 0) === 0 && !(m.finalizers?.length)) {
      const events = await this.d.store.commit([{ op: 'delete', key, expect }, ...(opts.alsoCommit ?? [])]);
      return events[0]!.object;
    }
    const events = await this.d.store.commit([{ op: 'update', key, object: next, expect }, ...extra]);
    return events[0]!.object;
  }
}
