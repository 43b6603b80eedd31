/**
 * What a Kubernetes-wire server tells about the resources it serves, and the representations
 * built from that alone (pure): discovery documents — aggregated (apidiscovery.k8s.io v2 and
 * v2beta1) and legacy (APIVersions, APIGroupList, APIGroup, APIResourceList) — and Table /
 * PartialObjectMetadata output. The relay's ResourceDef and the node MetaServer's resource
 * table both satisfy `ServedResource`, so both servers build these the same way.
 */
import { partialMetadata } from './table.js';
import type { KubeObject, Table, TableColumnDefinition, TableRow } from './types.js';

export type Verb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete' | 'deletecollection';

/** The part of a resource definition discovery and tables need. */
export interface ServedResource {
  /** API group ('' = core) and its served version */
  group: string;
  version: string;
  kind: string;
  plural: string;
  singular: string;
  shortNames: readonly string[];
  categories: readonly string[];
  namespaced: boolean;
  verbs: readonly Verb[];
  subresources: readonly string[];
  /** the values a fieldSelector can name (metadata.name and metadata.namespace are added by the server) */
  fields?(obj: KubeObject): Record<string, string>;
  columns: TableColumnDefinition[];
  row(obj: KubeObject, now: Date): unknown[];
}

export const apiVersionOf = (r: Pick<ServedResource, 'group' | 'version'>): string => (r.group ? `${r.group}/${r.version}` : r.version);

const SUBRESOURCE_VERBS: Record<string, Verb[]> = {
  status: ['get', 'patch', 'update'],
  scale: ['get', 'patch', 'update'],
  log: ['get'],
  exec: ['create', 'get'],
  attach: ['create', 'get'],
  portforward: ['create', 'get'],
  binding: ['create'],
  eviction: ['create'],
};

const verbsOf = (d: ServedResource): Verb[] => [...d.verbs].sort();

/** Groups in the order first served, core ('') first, each with its versions. */
export function groupsOf(resources: readonly ServedResource[]): { group: string; versions: string[] }[] {
  const out: { group: string; versions: string[] }[] = [];
  for (const d of resources) {
    let g = out.find((x) => x.group === d.group);
    if (!g) out.push((g = { group: d.group, versions: [] }));
    if (!g.versions.includes(d.version)) g.versions.push(d.version);
  }
  return out.sort((a, b) => (a.group === '' ? -1 : b.group === '' ? 1 : 0));
}

function aggregatedResource(d: ServedResource) {
  const responseKind = { group: d.group, version: d.version, kind: d.kind };
  return {
    resource: d.plural,
    responseKind,
    scope: d.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: d.singular,
    verbs: verbsOf(d),
    ...(d.shortNames.length ? { shortNames: [...d.shortNames] } : {}),
    ...(d.categories.length ? { categories: [...d.categories] } : {}),
    ...(d.subresources.length
      ? {
          subresources: d.subresources.map((s) => ({
            subresource: s,
            responseKind: s === 'status' ? responseKind : s === 'scale' ? { group: 'autoscaling', version: 'v1', kind: 'Scale' } : { group: '', version: 'v1', kind: s === 'binding' ? 'Binding' : 'Status' },
            verbs: SUBRESOURCE_VERBS[s] ?? ['get'],
          })),
        }
      : {}),
  };
}

/** The aggregated document for /api (core only) or /apis (every other group). */
export function aggregatedDiscovery(resources: readonly ServedResource[], prefix: 'api' | 'apis', version: 'v2' | 'v2beta1'): unknown {
  const groups = groupsOf(resources).filter((g) => (prefix === 'api' ? g.group === '' : g.group !== ''));
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: groups.map((g) => ({
      metadata: g.group ? { name: g.group } : {},
      versions: g.versions.map((v) => ({
        version: v,
        freshness: 'Current',
        resources: resources.filter((d) => d.group === g.group && d.version === v).map(aggregatedResource),
      })),
    })),
  };
}

export function apiVersions(serverAddress: string): unknown {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function apiGroup(g: { group: string; versions: string[] }) {
  const versions = g.versions.map((v) => ({ groupVersion: `${g.group}/${v}`, version: v }));
  return { name: g.group, versions, preferredVersion: versions[0] };
}

export function apiGroupList(resources: readonly ServedResource[]): unknown {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: groupsOf(resources).filter((g) => g.group !== '').map(apiGroup) };
}

export function apiGroupDoc(resources: readonly ServedResource[], group: string): unknown | undefined {
  const g = groupsOf(resources).find((x) => x.group === group && group !== '');
  return g ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(g) } : undefined;
}

export function apiResourceList(resources: readonly ServedResource[], group: string, version: string): unknown | undefined {
  const defs = resources.filter((d) => d.group === group && d.version === version);
  if (!defs.length) return undefined;
  const out = [];
  for (const d of defs) {
    out.push({
      name: d.plural,
      singularName: d.singular,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: verbsOf(d),
      ...(d.shortNames.length ? { shortNames: [...d.shortNames] } : {}),
      ...(d.categories.length ? { categories: [...d.categories] } : {}),
    });
    for (const s of d.subresources) {
      out.push({
        name: `${d.plural}/${s}`,
        singularName: '',
        namespaced: d.namespaced,
        kind: s === 'status' ? d.kind : s === 'scale' ? 'Scale' : s === 'binding' ? 'Binding' : 'Status',
        ...(s === 'scale' ? { group: 'autoscaling', version: 'v1' } : {}),
        verbs: SUBRESOURCE_VERBS[s] ?? ['get'],
      });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources: out };
}

// ------------------------------------------------------------------ tables

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export function includeObjectOf(v: string | null): IncludeObject {
  return v === 'None' || v === 'Object' ? v : 'Metadata';
}

function rowOf(def: ServedResource, o: KubeObject, now: Date, include: IncludeObject, metaApiVersion: string): TableRow {
  let cells: unknown[];
  try {
    cells = def.row(o, now);
  } catch {
    cells = def.columns.map((_, i) => (i === 0 ? o.metadata.name : '<error>'));
  }
  const row: TableRow = { cells };
  if (include === 'Metadata') row.object = partialMetadata(o, metaApiVersion);
  else if (include === 'Object') row.object = o;
  return row;
}

/** `kubectl get` output: the kind's columns and one row per object (with its metadata, or the object). */
export function toTable(
  def: ServedResource,
  items: readonly KubeObject[],
  opts: { now: Date; include: IncludeObject; version: 'v1' | 'v1beta1'; resourceVersion?: string; continue?: string; remainingItemCount?: number; headers?: boolean },
): Table {
  const metaApiVersion = `meta.k8s.io/${opts.version}`;
  return {
    kind: 'Table',
    apiVersion: metaApiVersion as Table['apiVersion'],
    metadata: {
      ...(opts.resourceVersion !== undefined ? { resourceVersion: opts.resourceVersion } : {}),
      ...(opts.continue ? { continue: opts.continue } : {}),
      ...(opts.remainingItemCount !== undefined ? { remainingItemCount: opts.remainingItemCount } : {}),
    },
    columnDefinitions: opts.headers === false ? [] : def.columns,
    rows: items.map((o) => rowOf(def, o, opts.now, opts.include, metaApiVersion)),
  };
}

export function toPartial(o: KubeObject, version: 'v1' | 'v1beta1'): unknown {
  return partialMetadata(o, `meta.k8s.io/${version}`);
}

export function toPartialList(items: readonly KubeObject[], version: 'v1' | 'v1beta1', resourceVersion?: string): unknown {
  return {
    kind: 'PartialObjectMetadataList',
    apiVersion: `meta.k8s.io/${version}`,
    metadata: resourceVersion !== undefined ? { resourceVersion } : {},
    items: items.map((o) => toPartial(o, version)),
  };
}
