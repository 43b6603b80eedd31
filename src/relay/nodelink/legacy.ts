/**
 * Objects applied through the old private object routes (edgectl apply, before the Kubernetes API
 * was the source of truth) are imported into the API once, on the first start after the upgrade:
 * each is created through the API like any other object (defaulted, validated), a Pod or Device
 * placed on the node it was on. Rows the API refuses stay and are logged on every start, so
 * nothing is lost silently.
 */
import type { KubeObject } from '../../contract/kube/types.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { ApiClient } from '../apiserver/client.js';
import type { RelayStore } from '../store/types.js';

const REFS: Record<string, { group: string; resource: string }> = {
  Pod: { group: '', resource: 'pods' },
  ConfigMap: { group: '', resource: 'configmaps' },
  Secret: { group: '', resource: 'secrets' },
  DeviceModel: { group: 'devices.kubeedge.io', resource: 'devicemodels' },
  Device: { group: 'devices.kubeedge.io', resource: 'devices' },
};
const NAMESPACES = { group: '', resource: 'namespaces' };

export async function importLegacyObjects(store: RelayStore, client: ApiClient, log: Logger): Promise<{ imported: number; refused: number }> {
  let imported = 0;
  let refused = 0;
  for (const o of store.legacyObjects()) {
    const ref = REFS[o.kind];
    const m = o.manifest as KubeObject & { spec?: Record<string, unknown> };
    const meta = (m.metadata ?? {}) as { labels?: Record<string, string>; annotations?: Record<string, string> };
    const obj: KubeObject = {
      ...m,
      metadata: { name: o.name, namespace: o.namespace, ...(meta.labels ? { labels: meta.labels } : {}), ...(meta.annotations ? { annotations: meta.annotations } : {}) },
    };
    delete obj.status;
    if ((o.kind === 'Pod' || o.kind === 'Device') && o.node !== '*' && !m.spec?.nodeName) obj.spec = { ...(m.spec ?? {}), nodeName: o.node };
    try {
      if (!ref) throw new Error(`kind ${o.kind} is not served`);
      if (!(await client.find(NAMESPACES, undefined, o.namespace))) {
        await client.create(NAMESPACES, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: o.namespace } }).catch((e: unknown) => {
          if ((e as { code?: number }).code !== 409) throw e;
        });
      }
      await client.create(ref, obj).catch((e: unknown) => {
        if ((e as { code?: number }).code !== 409) throw e; // already there: nothing to import
      });
      store.dropLegacyObject(o.kind, o.namespace, o.name);
      imported++;
    } catch (e) {
      refused++;
      log.warn('an object of the old object API could not be imported; it stays in legacy_objects', { kind: o.kind, namespace: o.namespace, name: o.name, error: errorMessage(e) });
    }
  }
  if (imported) log.info('objects of the old object API imported into the Kubernetes API', { imported, refused });
  return { imported, refused };
}
