/**
 * The OpenAPI v3 documents kubectl reads (GET /openapi/v3 and /openapi/v3/<api|apis/g>/<v>):
 * per group-version, the paths of the served resources (kubectl looks for a PATCH carrying the
 * kind's x-kubernetes-group-version-kind and a `fieldValidation` query parameter to move
 * validation to the server) and the component schemas of the kinds with everything they
 * reference (`kubectl explain`). Documents are deterministic; the root links each by its hash.
 */
import { createHash } from 'node:crypto';
import type { ResourceDef, Subresource } from '../kinds/types.js';
import { builtinCatalog } from './catalog.js';
import type { Schema, SchemaCatalog } from './typeinfo.js';

export interface OpenApiDocument {
  openapi: '3.0.0';
  info: { title: string; version: string };
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, Schema> };
}

/** What a document needs of a served kind: a registered ResourceDef, or a read-only kind served beside the registry (metrics.k8s.io). */
export type DocumentedResource = Pick<ResourceDef, 'group' | 'version' | 'kind' | 'plural' | 'namespaced' | 'verbs' | 'subresources' | 'strategicMerge' | 'schemaName'>;

export interface OpenApiRoot {
  paths: Record<string, { serverRelativeURL: string }>;
}

/** `v1` → `api/v1`; `apps/v1` → `apis/apps/v1` (the keys of the root and the document URLs). */
export function openapiPathKey(groupVersion: string): string {
  return groupVersion.includes('/') ? `apis/${groupVersion}` : `api/${groupVersion}`;
}

export function groupVersionOf(r: Pick<ResourceDef, 'group' | 'version'>): string {
  return r.group ? `${r.group}/${r.version}` : r.version;
}

/** The served resources grouped by group-version, as openapiV3Root takes them. */
export function byGroupVersion<R extends DocumentedResource>(resources: R[]): Record<string, R[]> {
  const out: Record<string, R[]> = {};
  for (const r of resources) (out[groupVersionOf(r)] ??= []).push(r);
  return out;
}

const query = (name: string, description: string) => ({ name, in: 'query', description, schema: { type: 'string', uniqueItems: true } });
const WRITE_PARAMS = [
  query('dryRun', 'When present (All), the write is checked and not persisted.'),
  query('fieldManager', 'The name of the actor making the change, for field ownership.'),
  query('fieldValidation', 'How unknown and duplicate fields are treated: Ignore, Warn or Strict.'),
];
const PATCH_TYPES = ['application/json-patch+json', 'application/merge-patch+json', 'application/apply-patch+yaml'];
const SMP = 'application/strategic-merge-patch+json';
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function ok(schemaName: string, code = '200') {
  return { [code]: { description: code === '201' ? 'Created' : 'OK', content: { 'application/json': { schema: ref(schemaName) } } } };
}

/** The subresources that are plain object writes (streams have no body schema kubectl needs). */
const WRITABLE: Subresource[] = ['status', 'scale'];
const SCALE = { group: 'autoscaling', version: 'v1', kind: 'Scale', schema: 'io.k8s.api.autoscaling.v1.Scale' };

function operations(r: DocumentedResource, gvk: { group: string; version: string; kind: string }, schemaName: string, action: string) {
  const ext = { 'x-kubernetes-group-version-kind': gvk };
  const ops: Record<string, unknown> = {};
  const verbs = new Set(r.verbs);
  if (verbs.has('get')) ops.get = { operationId: `read${gvk.kind}${action}`, 'x-kubernetes-action': 'get', ...ext, responses: ok(schemaName) };
  if (verbs.has('update')) {
    ops.put = { operationId: `replace${gvk.kind}${action}`, 'x-kubernetes-action': 'put', ...ext, parameters: WRITE_PARAMS, requestBody: { content: { '*/*': { schema: ref(schemaName) } }, required: true }, responses: { ...ok(schemaName), ...ok(schemaName, '201') } };
  }
  if (verbs.has('patch')) {
    const types = r.strategicMerge ? [...PATCH_TYPES, SMP] : PATCH_TYPES;
    ops.patch = {
      operationId: `patch${gvk.kind}${action}`,
      'x-kubernetes-action': 'patch',
      ...ext,
      parameters: [...WRITE_PARAMS, query('force', 'Apply only: take fields other managers own.')],
      requestBody: { content: Object.fromEntries(types.map((t) => [t, { schema: { type: 'object' } }])), required: true },
      responses: { ...ok(schemaName), ...ok(schemaName, '201') },
    };
  }
  if (verbs.has('delete') && !action) ops.delete = { operationId: `delete${gvk.kind}`, 'x-kubernetes-action': 'delete', ...ext, parameters: [query('dryRun', 'When present (All), nothing is deleted.')], responses: ok(schemaName) };
  return ops;
}

function pathsFor(r: DocumentedResource): Record<string, Record<string, unknown>> {
  const gvk = { group: r.group, version: r.version, kind: r.kind };
  const base = `/${openapiPathKey(groupVersionOf(r))}${r.namespaced ? '/namespaces/{namespace}' : ''}/${r.plural}`;
  const params = [
    ...(r.namespaced ? [{ name: 'namespace', in: 'path', required: true, description: 'object name and auth scope, such as for teams and projects', schema: { type: 'string', uniqueItems: true } }] : []),
    { name: 'name', in: 'path', required: true, description: `name of the ${r.kind}`, schema: { type: 'string', uniqueItems: true } },
  ];
  const out: Record<string, Record<string, unknown>> = {};
  const collection: Record<string, unknown> = {};
  if (r.verbs.includes('create')) {
    collection.post = { operationId: `create${r.kind}`, 'x-kubernetes-action': 'post', 'x-kubernetes-group-version-kind': gvk, parameters: WRITE_PARAMS, requestBody: { content: { '*/*': { schema: ref(r.schemaName) } }, required: true }, responses: { ...ok(r.schemaName), ...ok(r.schemaName, '201') } };
  }
  if (r.verbs.includes('list')) collection.get = { operationId: `list${r.kind}`, 'x-kubernetes-action': 'list', 'x-kubernetes-group-version-kind': gvk, responses: { '200': { description: 'OK' } } };
  if (Object.keys(collection).length) out[base] = { ...collection, ...(r.namespaced ? { parameters: params.slice(0, 1) } : {}) };
  out[`${base}/{name}`] = { ...operations(r, gvk, r.schemaName, ''), parameters: params };
  for (const sub of r.subresources.filter((s) => WRITABLE.includes(s))) {
    const scale = sub === 'scale';
    const subGvk = scale ? { group: SCALE.group, version: SCALE.version, kind: SCALE.kind } : gvk;
    const def = { ...r, verbs: r.verbs.filter((v) => v === 'get' || v === 'update' || v === 'patch'), strategicMerge: r.strategicMerge || scale };
    out[`${base}/{name}/${sub}`] = { ...operations(def, subGvk, scale ? SCALE.schema : r.schemaName, sub[0]!.toUpperCase() + sub.slice(1)), parameters: params };
  }
  return out;
}

/** A schema and everything it references, by component name. */
function closure(catalog: SchemaCatalog, names: string[]): Record<string, Schema> {
  const out: Record<string, Schema> = {};
  const todo = [...names];
  while (todo.length) {
    const name = todo.pop()!;
    if (out[name]) continue;
    const s = catalog.schemas[name];
    if (!s) throw new Error(`openapi: no schema named ${name}`);
    out[name] = s;
    JSON.stringify(s, (k, v: unknown) => {
      if (k === '$ref' && typeof v === 'string') todo.push(v.replace('#/components/schemas/', ''));
      return v;
    });
  }
  return Object.fromEntries(Object.keys(out).sort().map((k) => [k, out[k]!]));
}

/** The document for one group-version (all `resources` must be of it). */
export function openapiV3Document(groupVersion: string, resources: readonly DocumentedResource[], catalog: SchemaCatalog = builtinCatalog()): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  const names: string[] = [];
  for (const r of [...resources].sort((a, b) => a.plural.localeCompare(b.plural))) {
    if (groupVersionOf(r) !== groupVersion) throw new Error(`openapi: ${r.plural} is ${groupVersionOf(r)}, not ${groupVersion}`);
    Object.assign(paths, pathsFor(r));
    names.push(r.schemaName);
    if (r.subresources.includes('scale')) names.push(SCALE.schema);
  }
  return { openapi: '3.0.0', info: { title: 'Kubernetes', version: groupVersion }, paths, components: { schemas: closure(catalog, names) } };
}

/** A document's content hash, as the root links it (upper-case hex SHA-512, like Kubernetes). */
export function documentHash(doc: OpenApiDocument): string {
  return createHash('sha512').update(JSON.stringify(doc)).digest('hex').toUpperCase();
}

/** GET /openapi/v3: one entry per served group-version, its URL carrying the document's hash. */
export function openapiV3Root(groupVersions: Record<string, readonly DocumentedResource[]>, catalog: SchemaCatalog = builtinCatalog()): OpenApiRoot {
  const paths: OpenApiRoot['paths'] = {};
  for (const gv of Object.keys(groupVersions).sort()) {
    const key = openapiPathKey(gv);
    paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${documentHash(openapiV3Document(gv, groupVersions[gv]!, catalog))}` };
  }
  return { paths };
}
