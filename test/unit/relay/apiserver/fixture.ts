/**
 * An API core over an in-memory SQLite store with the built-in kinds, the real patch engine,
 * and one test-only kind (`widgets.test.edgerelay.io`) that has what the built-in ones here lack:
 * a status subresource, spec.nodeName, and graceful deletion while bound to a node.
 */
import { ageOf, AGE_COLUMN, NAME_COLUMN } from '../../../../src/contract/kube/table.js';
import type { KubeObject } from '../../../../src/contract/kube/types.js';
import { ADMIN, type Identity } from '../../../../src/relay/apiserver/authz.js';
import { ApiClient } from '../../../../src/relay/apiserver/client.js';
import { ApiCore, type WriteHook } from '../../../../src/relay/apiserver/core.js';
import { ResourceRegistry } from '../../../../src/relay/apiserver/registry.js';
import { builtinKinds } from '../../../../src/relay/kinds/index.js';
import type { ResourceDef } from '../../../../src/relay/kinds/types.js';
import * as patch from '../../../../src/relay/patch/index.js';
import { SqliteObjectStore } from '../../../../src/relay/store/objects-sqlite.js';

const spec = (o: KubeObject): { nodeName?: string; size?: unknown } => (o.spec ?? {}) as { nodeName?: string; size?: unknown };

export const widgetDef: ResourceDef = {
  group: 'test.edgerelay.io',
  version: 'v1',
  kind: 'Widget',
  plural: 'widgets',
  singular: 'widget',
  shortNames: ['wd'],
  categories: ['all'],
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: ['status'],
  strategicMerge: false,
  statusSubresource: true,
  defaults(o) {
    const s = spec(o);
    if (s.size === undefined) o.spec = { ...s, size: 1 };
  },
  validate(o) {
    const issues = [];
    for (const k of Object.keys(o)) if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(k)) issues.push({ path: k, reason: 'unknown field' });
    const s = spec(o);
    if (typeof s.size !== 'number' || s.size < 0) issues.push({ path: 'spec.size', reason: 'Invalid value: must be a non-negative number' });
    for (const k of Object.keys(s)) if (!['nodeName', 'size'].includes(k)) issues.push({ path: `spec.${k}`, reason: 'unknown field' });
    return issues;
  },
  fields: (o) => ({ 'spec.nodeName': spec(o).nodeName ?? '' }),
  columns: [NAME_COLUMN, { name: 'Node', type: 'string', format: '', description: '', priority: 1 }, AGE_COLUMN],
  row: (o, now) => [o.metadata.name, spec(o).nodeName ?? '<none>', ageOf(o.metadata.creationTimestamp, now)],
  schemaName: 'io.edgerelay.test.v1.Widget',
  gracefulDeletion: (o) => (spec(o).nodeName ? 30 : undefined),
};

export interface Fixture {
  store: SqliteObjectStore;
  core: ApiCore;
  client(identity?: Identity, manager?: string): ApiClient;
  admin: ApiClient;
  clock: { now: Date };
}

export async function fixture(opts: { window?: number; hooks?: (store: SqliteObjectStore, registry: ResourceRegistry) => WriteHook[] } = {}): Promise<Fixture> {
  const store = SqliteObjectStore.open(':memory:', opts);
  const clock = { now: new Date('2026-01-01T00:00:00Z') };
  const registry = new ResourceRegistry([...builtinKinds(), widgetDef]);
  const core = new ApiCore({ store, registry, patch, now: () => clock.now, hooks: opts.hooks?.(store, registry) ?? [] });
  const client = (identity: Identity = ADMIN, manager = 'test'): ApiClient => new ApiClient(core, identity, manager);
  const admin = client();
  await admin.create({ group: '', resource: 'namespaces' }, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } });
  return { store, core, client, admin, clock };
}

export const widget = (name: string, extra: Partial<KubeObject> & { spec?: Record<string, unknown> } = {}, namespace = 'default'): KubeObject => ({
  apiVersion: 'test.edgerelay.io/v1',
  kind: 'Widget',
  ...extra,
  metadata: { name, namespace, ...(extra.metadata ?? {}) },
});

export const configMap = (name: string, data: Record<string, string> = {}, namespace = 'default', meta: Record<string, unknown> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, namespace, ...meta },
  data,
});

export const CM = { group: '', resource: 'configmaps' };
export const NS = { group: '', resource: 'namespaces' };
