/**
 * Admission rules that belong to no one kind (kube-apiserver's NamespaceLifecycle): objects are
 * created only in a namespace that exists and is not being deleted, and the namespaces the
 * system needs cannot be deleted.
 */
import { forbidden, notFound } from '../../contract/kube/status.js';
import type { ResourceDef } from '../kinds/types.js';
import type { ObjectStore } from '../store/objects.js';

export const PROTECTED_NAMESPACES: readonly string[] = ['default', 'kube-system', 'kube-public'];

export async function admitNamespace(store: ObjectStore, def: ResourceDef, namespace: string | undefined): Promise<void> {
  if (!def.namespaced || !namespace) return;
  const ns = await store.get({ group: '', resource: 'namespaces', namespace: '', name: namespace });
  if (!ns) throw notFound({ group: '', resource: 'namespaces', name: namespace });
  if (ns.metadata.deletionTimestamp) {
    const e = forbidden(`${def.plural} is forbidden: unable to create new content in namespace ${namespace} because it is being terminated`, { group: def.group, resource: def.plural });
    e.status.details = { ...e.status.details, causes: [{ reason: 'NamespaceTerminating', message: `namespace ${namespace} is being terminated`, field: 'metadata.namespace' }] };
    throw e;
  }
}

export function admitNamespaceDelete(def: ResourceDef, name: string): void {
  if (def.group === '' && def.plural === 'namespaces' && PROTECTED_NAMESPACES.includes(name)) {
    throw forbidden(`namespaces "${name}" is forbidden: this namespace may not be deleted`, { group: '', resource: 'namespaces', name });
  }
}
