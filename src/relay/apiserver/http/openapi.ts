/**
 * OpenAPI v3 as kubectl needs it: `GET /openapi/v3` lists one document per group-version, each
 * fetched by its `?hash=` URL. kubectl looks in a document for the PATCH operation of a kind that
 * declares a `fieldValidation` parameter; finding it, it leaves validation to the server
 * (fieldValidation=Strict). Full schemas come from a `OpenApiSource` (src/relay/openapi); until
 * one is plugged in, `minimalOpenApi` builds the documents from the ResourceDefs alone.
 */
import { createHash } from 'node:crypto';
import type { ResourceDef } from '../../kinds/types.js';
import type { ResourceRegistry } from '../registry.js';

export interface OpenApiSource {
  /** the v3 document of a group-version path (`api/v1`, `apis/devices.kubeedge.io/v1beta1`), or undefined */
  document(gvPath: string): unknown | undefined;
  /** every group-version path served */
  paths(): string[];
}

export const gvPath = (group: string, version: string): string => (group ? `apis/${group}/${version}` : `api/${version}`);

function operations(d: ResourceDef, base: string) {
  const gvk = { group: d.group, version: d.version, kind: d.kind };
  const param = (name: string) => ({ name, in: 'query', schema: { type: 'string', uniqueItems: true } });
  const ref = { $ref: `#/components/schemas/${d.schemaName}` };
  const ok = { '200': { description: 'OK', content: { 'application/json': { schema: ref } } } };
  const item = d.namespaced ? `${base}/namespaces/{namespace}/${d.plural}/{name}` : `${base}/${d.plural}/{name}`;
  const collection = d.namespaced ? `${base}/namespaces/{namespace}/${d.plural}` : `${base}/${d.plural}`;
  const write = { 'x-kubernetes-group-version-kind': gvk, parameters: [param('dryRun'), param('fieldManager'), param('fieldValidation')], responses: ok };
  const paths: Record<string, unknown> = {
    [collection]: { post: { ...write, operationId: `create${d.kind}`, 'x-kubernetes-action': 'post' }, get: { 'x-kubernetes-group-version-kind': gvk, 'x-kubernetes-action': 'list', responses: { '200': { description: 'OK' } } } },
    [item]: {
      get: { 'x-kubernetes-group-version-kind': gvk, 'x-kubernetes-action': 'get', responses: ok },
      put: { ...write, operationId: `replace${d.kind}`, 'x-kubernetes-action': 'put' },
      patch: { ...write, operationId: `patch${d.kind}`, 'x-kubernetes-action': 'patch', parameters: [...write.parameters, param('force')] },
      delete: { 'x-kubernetes-group-version-kind': gvk, 'x-kubernetes-action': 'delete', responses: { '200': { description: 'OK' } } },
    },
  };
  if (d.statusSubresource) paths[`${item}/status`] = { patch: { ...write, 'x-kubernetes-action': 'patch' }, put: { ...write, 'x-kubernetes-action': 'put' } };
  return paths;
}

function schemaOf(d: ResourceDef) {
  return {
    type: 'object',
    description: `${d.kind} (${d.group || 'core'}/${d.version}).`,
    'x-kubernetes-group-version-kind': [{ group: d.group, version: d.version, kind: d.kind }],
    'x-kubernetes-preserve-unknown-fields': true,
    properties: {
      apiVersion: { type: 'string', description: 'APIVersion defines the versioned schema of this representation of an object.' },
      kind: { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' },
      metadata: { type: 'object', description: "Standard object's metadata." },
    },
  };
}

/** Documents built from the ResourceDefs: every operation, schemas without field detail. */
export function minimalOpenApi(registry: ResourceRegistry): OpenApiSource {
  return {
    paths: () => registry.groups().flatMap((g) => g.versions.map((v) => gvPath(g.group, v))),
    document(p) {
      const g = registry.groups().find((x) => x.versions.some((v) => gvPath(x.group, v) === p));
      if (!g) return undefined;
      const version = g.versions.find((v) => gvPath(g.group, v) === p)!;
      const defs = registry.inGroupVersion(g.group, version);
      const paths: Record<string, unknown> = {};
      const schemas: Record<string, unknown> = {};
      for (const d of defs) {
        Object.assign(paths, operations(d, `/${p}`));
        schemas[d.schemaName] = schemaOf(d);
      }
      return { openapi: '3.0.0', info: { title: 'edgerelay', version: p }, paths, components: { schemas } };
    },
  };
}

/** The serialized documents and their hashes, computed once per source. */
export class OpenApiCache {
  private readonly docs = new Map<string, { text: string; hash: string }>();

  constructor(private readonly source: OpenApiSource) {}

  private entry(p: string): { text: string; hash: string } | undefined {
    let e = this.docs.get(p);
    if (!e) {
      const doc = this.source.document(p);
      if (doc === undefined) return undefined;
      const text = JSON.stringify(doc);
      e = { text, hash: createHash('sha512').update(text).digest('hex').slice(0, 64).toUpperCase() };
      this.docs.set(p, e);
    }
    return e;
  }

  index(): unknown {
    const paths: Record<string, { serverRelativeURL: string }> = {};
    for (const p of this.source.paths()) {
      const e = this.entry(p);
      if (e) paths[p] = { serverRelativeURL: `/openapi/v3/${p}?hash=${e.hash}` };
    }
    return { paths };
  }

  document(p: string): { text: string; hash: string } | undefined {
    return this.entry(p);
  }
}
