/**
 * The resources the API serves: ResourceDefs looked up by URL (group, version, plural) or by
 * kind, and the store key of an object. Only what is registered here is reachable over the
 * API; the store's internal resources (../store/internal.ts) never are.
 */
import { groupsOf } from '../../contract/kube/resources.js';
import type { KubeObject } from '../../contract/kube/types.js';
import type { ResourceDef } from '../kinds/types.js';
import type { ObjectKey, ResourceScope } from '../store/objects.js';

export { apiVersionOf } from '../../contract/kube/resources.js';

export function splitApiVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

export class ResourceRegistry {
  private readonly defs: ResourceDef[] = [];

  constructor(defs: readonly ResourceDef[]) {
    for (const d of defs) this.add(d);
  }

  add(def: ResourceDef): void {
    if (this.byResource(def.group, def.version, def.plural)) throw new Error(`resource ${def.plural}.${def.group} is registered twice`);
    this.defs.push(def);
  }

  all(): readonly ResourceDef[] {
    return this.defs;
  }

  byResource(group: string, version: string, plural: string): ResourceDef | undefined {
    return this.defs.find((d) => d.group === group && d.version === version && d.plural === plural);
  }

  byKind(group: string, kind: string): ResourceDef | undefined {
    return this.defs.find((d) => d.group === group && d.kind === kind);
  }

  /** the def of an object's apiVersion + kind (an ownerReference's target) */
  forObject(ref: { apiVersion: string; kind: string }): ResourceDef | undefined {
    const { group, version } = splitApiVersion(ref.apiVersion);
    return this.defs.find((d) => d.group === group && d.version === version && d.kind === ref.kind);
  }

  /** groups in registration order, core ('') first, each with its versions */
  groups(): { group: string; versions: string[] }[] {
    return groupsOf(this.defs);
  }

  inGroupVersion(group: string, version: string): ResourceDef[] {
    return this.defs.filter((d) => d.group === group && d.version === version);
  }
}

export function objectKey(def: ResourceDef, namespace: string | undefined, name: string): ObjectKey {
  return { group: def.group, resource: def.plural, namespace: def.namespaced ? (namespace ?? '') : '', name };
}

export function scopeOf(def: ResourceDef, namespace: string | undefined): ResourceScope {
  return { group: def.group, resource: def.plural, ...(def.namespaced && namespace ? { namespace } : {}) };
}

export function keyOfObject(def: ResourceDef, o: KubeObject): ObjectKey {
  return objectKey(def, o.metadata.namespace, o.metadata.name ?? '');
}

/** The subject a Status names: plural resource, group, object name. */
export const subjectOf = (def: ResourceDef, name?: string): { group: string; resource: string; name?: string } => ({
  group: def.group,
  resource: def.plural,
  ...(name !== undefined ? { name } : {}),
});
