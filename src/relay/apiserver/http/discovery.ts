/**
 * Discovery documents from the registered ResourceDefs: aggregated (apidiscovery.k8s.io v2 and
 * v2beta1: one APIGroupDiscoveryList for /api, one for /apis) and the legacy ones (APIVersions,
 * APIGroupList, APIGroup, APIResourceList per group-version) that older clients walk.
 */
import type { ResourceDef, Verb } from '../../kinds/types.js';
import type { ResourceRegistry } from '../registry.js';

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

const verbsOf = (d: ResourceDef): Verb[] => [...d.verbs].sort();

function aggregatedResource(d: ResourceDef) {
  const responseKind = { group: d.group, version: d.version, kind: d.kind };
  return {
    resource: d.plural,
    responseKind,
    scope: d.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: d.singular,
    verbs: verbsOf(d),
    ...(d.shortNames.length ? { shortNames: d.shortNames } : {}),
    ...(d.categories.length ? { categories: d.categories } : {}),
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
export function aggregatedDiscovery(registry: ResourceRegistry, prefix: 'api' | 'apis', version: 'v2' | 'v2beta1', extra: unknown[] = []): unknown {
  const groups = registry.groups().filter((g) => (prefix === 'api' ? g.group === '' : g.group !== ''));
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion: `apidiscovery.k8s.io/${version}`,
    metadata: {},
    items: groups.map((g) => ({
      metadata: g.group ? { name: g.group } : {},
      versions: g.versions.map((v) => ({ version: v, freshness: 'Current', resources: registry.inGroupVersion(g.group, v).map(aggregatedResource) })),
    })).concat(extra as never[]),
  };
}

export function apiVersions(serverAddress: string): unknown {
  return { kind: 'APIVersions', versions: ['v1'], serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }] };
}

function apiGroup(g: { group: string; versions: string[] }) {
  const versions = g.versions.map((v) => ({ groupVersion: `${g.group}/${v}`, version: v }));
  return { name: g.group, versions, preferredVersion: versions[0] };
}

/** `extra`: groups served beside the registry's (metrics.k8s.io), already in APIGroup form */
export function apiGroupList(registry: ResourceRegistry, extra: unknown[] = []): unknown {
  return { kind: 'APIGroupList', apiVersion: 'v1', groups: [...registry.groups().filter((g) => g.group !== '').map(apiGroup), ...extra] };
}

export function apiGroupDoc(registry: ResourceRegistry, group: string): unknown | undefined {
  const g = registry.groups().find((x) => x.group === group && group !== '');
  return g ? { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(g) } : undefined;
}

export function apiResourceList(registry: ResourceRegistry, group: string, version: string): unknown | undefined {
  const defs = registry.inGroupVersion(group, version);
  if (!defs.length) return undefined;
  const resources = [];
  for (const d of defs) {
    resources.push({
      name: d.plural,
      singularName: d.singular,
      namespaced: d.namespaced,
      kind: d.kind,
      verbs: verbsOf(d),
      ...(d.shortNames.length ? { shortNames: d.shortNames } : {}),
      ...(d.categories.length ? { categories: d.categories } : {}),
    });
    for (const s of d.subresources) {
      resources.push({ name: `${d.plural}/${s}`, singularName: '', namespaced: d.namespaced, kind: s === 'status' ? d.kind : s === 'scale' ? 'Scale' : s === 'binding' ? 'Binding' : 'Status', ...(s === 'scale' ? { group: 'autoscaling', version: 'v1' } : {}), verbs: SUBRESOURCE_VERBS[s] ?? ['get'] });
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}
