import type { Migration } from '../../lib/sqlite.js';
import { stableStringify } from '../../lib/json.js';

/**
 * Every stored object becomes its whole manifest. Before, the node kept only `.spec` for Device
 * and DeviceModel (what the relay shipped then), and a Pod could be a bare PodSpec or a
 * ConfigMap/Secret lack its metadata; readers guessed which. Each such row is wrapped into the
 * manifest its key names; rows already in manifest form are left alone (no version bump, no
 * change event: nothing downstream notices). Self-contained on purpose: a migration must mean
 * the same thing whatever the code around it becomes.
 */
const DEVICE_API = 'devices.kubeedge.io/v1beta1';

function lifted(kind: string, namespace: string, name: string, v: unknown): Record<string, unknown> | undefined {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  const metadata = { name, namespace };
  if ((kind === 'Device' || kind === 'DeviceModel') && !('kind' in o) && !('metadata' in o) && !('apiVersion' in o)) {
    return { apiVersion: DEVICE_API, kind, metadata, spec: o };
  }
  if (kind === 'Pod' && 'containers' in o) return { apiVersion: 'v1', kind, metadata, spec: o };
  if ((kind === 'ConfigMap' || kind === 'Secret') && !('metadata' in o)) return { apiVersion: 'v1', kind, ...o, metadata };
  return undefined;
}

export const m003: Migration = {
  version: 3,
  name: 'manifests',
  up(db) {
    const rows = db.prepare('SELECT kind, namespace, name, spec FROM resources').all() as { kind: string; namespace: string; name: string; spec: string }[];
    const update = db.prepare('UPDATE resources SET spec = ? WHERE kind = ? AND namespace = ? AND name = ?');
    for (const r of rows) {
      let v: unknown;
      try {
        v = JSON.parse(r.spec);
      } catch {
        continue; // not JSON: the reader refuses it with its reason, as before
      }
      const m = lifted(r.kind, r.namespace, r.name, v);
      if (m) update.run(stableStringify(m), r.kind, r.namespace, r.name);
    }
  },
};
