/**
 * The in-process client of the API: controllers and the node link read and write through it,
 * with their own identity, and take exactly the path an HTTP request takes (authorization,
 * validation, admission, managedFields) — nothing writes the store behind the API's back.
 * Errors are StatusErrors (code, reason, causes), as an HTTP client would see them.
 */
import { pathNotFound } from '../../contract/kube/status.js';
import type { DeleteOptions, KubeList, KubeObject } from '../../contract/kube/types.js';
import type { ResourceDef } from '../kinds/types.js';
import type { Identity } from './authz.js';
import type { ApiCore, CallContext, ListOptions, PatchOptions, WatchOptions, WriteOptions } from './core.js';
import type { DeleteResult } from './delete.js';
import type { PatchType } from './patching.js';
import { bindPod, getScale, patchScale, updateScale } from './subresources.js';
import type { ApiWatch, ApiWatchEvent } from './watch.js';

/** A resource by its API group and plural name (`{group: '', resource: 'pods'}`), or its definition. */
export type ResourceRef = ResourceDef | { group: string; resource: string };

export class ApiClient {
  constructor(
    private readonly core: ApiCore,
    readonly identity: Identity,
    /** the field manager of this client's writes */
    readonly manager: string,
  ) {}

  def(ref: ResourceRef): ResourceDef {
    if ('plural' in ref) return ref;
    const d = this.core.registry.all().find((x) => x.group === ref.group && x.plural === ref.resource);
    if (!d) throw pathNotFound();
    return d;
  }

  private ctx(): CallContext {
    // warnings (unknown fields dropped under fieldValidation=Warn) matter to people, not to controllers
    return { identity: this.identity, warnings: [], defaultManager: this.manager };
  }

  get(ref: ResourceRef, namespace: string | undefined, name: string): Promise<KubeObject> {
    return this.core.get(this.ctx(), this.def(ref), namespace, name);
  }

  /** The object, or undefined when it does not exist. */
  async find(ref: ResourceRef, namespace: string | undefined, name: string): Promise<KubeObject | undefined> {
    try {
      return await this.get(ref, namespace, name);
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw e;
    }
  }

  list(ref: ResourceRef, namespace?: string, opts: ListOptions = {}): Promise<KubeList> {
    return this.core.list(this.ctx(), this.def(ref), namespace, opts);
  }

  watch(ref: ResourceRef, namespace: string | undefined, opts: WatchOptions, onEvent: (e: ApiWatchEvent) => void): Promise<ApiWatch> {
    return this.core.watch(this.ctx(), this.def(ref), namespace, opts, onEvent);
  }

  create(ref: ResourceRef, obj: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    return this.core.create(this.ctx(), this.def(ref), obj.metadata.namespace, obj, opts);
  }

  update(ref: ResourceRef, obj: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    return this.core.update(this.ctx(), this.def(ref), obj.metadata.namespace, obj.metadata.name ?? '', obj, opts);
  }

  updateStatus(ref: ResourceRef, obj: KubeObject, opts: WriteOptions = {}): Promise<KubeObject> {
    return this.update(ref, obj, { ...opts, subresource: 'status' });
  }

  async patch(ref: ResourceRef, namespace: string | undefined, name: string, type: PatchType, patch: unknown, opts: PatchOptions = {}): Promise<KubeObject> {
    return (await this.core.patch(this.ctx(), this.def(ref), namespace, name, type, patch, opts)).object;
  }

  delete(ref: ResourceRef, namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<DeleteResult> {
    return this.core.delete(this.ctx(), this.def(ref), namespace, name, opts);
  }

  /** GET …/scale: the object's autoscaling/v1 Scale */
  getScale(ref: ResourceRef, namespace: string | undefined, name: string): Promise<KubeObject> {
    return getScale(this.core, this.ctx(), this.def(ref), namespace, name);
  }

  /** PUT …/scale (a Scale carrying metadata.resourceVersion is conditional) */
  updateScale(ref: ResourceRef, namespace: string | undefined, name: string, scale: unknown, opts: WriteOptions = {}): Promise<KubeObject> {
    return updateScale(this.core, this.ctx(), this.def(ref), namespace, name, scale, opts);
  }

  patchScale(ref: ResourceRef, namespace: string | undefined, name: string, type: PatchType, patch: unknown, opts: WriteOptions = {}): Promise<KubeObject> {
    return patchScale(this.core, this.ctx(), this.def(ref), namespace, name, type, patch, opts);
  }

  /** POST pods/NAME/binding: assign the pod to `node`; answers the bound pod */
  bind(namespace: string, name: string, node: string, opts: WriteOptions = {}): Promise<KubeObject> {
    const binding = { apiVersion: 'v1', kind: 'Binding', metadata: { name, namespace }, target: { apiVersion: 'v1', kind: 'Node', name: node } };
    return bindPod(this.core, this.ctx(), this.def({ group: '', resource: 'pods' }), namespace, name, binding, opts);
  }

  deleteCollection(ref: ResourceRef, namespace: string | undefined, list: ListOptions = {}, opts: DeleteOptions = {}): Promise<KubeList> {
    return this.core.deleteCollection(this.ctx(), this.def(ref), namespace, list, opts);
  }
}

/**
 * The hook the node link calls when a node reports that a gracefully deleted object's containers
 * are gone: the node's own final delete (grace 0, on that uid only), as a kubelet's. Authorized
 * only for objects bound to the calling node; an object recreated under the same name is safe.
 */
export function confirmTerminated(node: ApiClient, ref: ResourceRef, namespace: string | undefined, name: string, uid: string): Promise<DeleteResult> {
  return node.delete(ref, namespace, name, { gracePeriodSeconds: 0, preconditions: { uid } });
}
