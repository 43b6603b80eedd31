/**
 * discovery.k8s.io/v1 EndpointSlice and core/v1 Endpoints: validation as kube-apiserver words
 * it, field selectors and the kubectl tables (`kubectl get endpointslices`, `kubectl get ep`).
 * The relay's endpoint controller (src/relay/controllers/endpoints.ts) writes both for every
 * Service with a selector; a Service without one (a cloud-side backend) gets slices written by
 * whoever runs it. kubectl ≤ 1.32 reads Endpoints for `describe svc`, 1.33 reads the slices.
 */
import { isIP } from 'node:net';
import { AGE_COLUMN, ageOf, column, NAME_COLUMN } from '../../contract/kube/table.js';
import type { KubeObject } from '../../contract/kube/types.js';
import { DNS_SUBDOMAIN } from '../../contract/resources/common.js';
import { endpointSliceSchema, isDnsLabel, LABEL_SERVICE_NAME, type EndpointSlice } from '../../contract/resources/service.js';
import type { FieldIssue } from '../../core/errors.js';
import * as z from 'zod';
import { arr, pruneNulls, rec, schemaIssues, str } from './common.js';
import { NOT_SUPPORTED } from './pod-fields.js';
import type { ResourceDef } from './types.js';

const quote = (v: unknown): string => JSON.stringify(v);

/** kubectl's listWithMoreString: the first 3, then "+ N more...", `<unset>` when empty. */
function listWithMore(items: string[], max = 3): string {
  const head = items.slice(0, max).join(',');
  if (items.length > max) return `${head} + ${items.length - max} more...`;
  return head || '<unset>';
}

export function validateEndpointSlice(obj: KubeObject, old: KubeObject | undefined): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const { metadata: _m, ...body } = obj;
  const shape = schemaIssues(endpointSliceSchema.omit({ metadata: true }), body);
  if (shape.length) return shape;
  const s = obj as unknown as EndpointSlice;
  if (old && old.addressType !== s.addressType) issues.push({ path: 'addressType', reason: `Invalid value: ${quote(s.addressType)}: field is immutable` });
  if (s.addressType === 'IPv6') issues.push({ path: 'addressType', reason: NOT_SUPPORTED });
  (s.endpoints ?? []).forEach((e, i) => {
    e.addresses.forEach((a, j) => {
      const ok = s.addressType === 'FQDN' ? a.length <= 253 && DNS_SUBDOMAIN.test(a) : isIP(a) === 4;
      if (!ok) issues.push({ path: `endpoints[${i}].addresses[${j}]`, reason: `Invalid value: ${quote(a)}: must be a valid ${s.addressType === 'FQDN' ? 'FQDN' : 'IPv4 address'}` });
    });
    if (e.nodeName !== undefined && !(e.nodeName.length <= 253 && DNS_SUBDOMAIN.test(e.nodeName))) {
      issues.push({ path: `endpoints[${i}].nodeName`, reason: `Invalid value: ${quote(e.nodeName)}: a lowercase RFC 1123 subdomain` });
    }
    if (e.hostname !== undefined && !isDnsLabel(e.hostname)) issues.push({ path: `endpoints[${i}].hostname`, reason: `Invalid value: ${quote(e.hostname)}: a lowercase RFC 1123 label` });
  });
  const names = new Set<string>();
  (s.ports ?? []).forEach((p, i) => {
    const n = p.name ?? '';
    if (n && !isDnsLabel(n)) issues.push({ path: `ports[${i}].name`, reason: `Invalid value: ${quote(n)}: a lowercase RFC 1123 label` });
    if (names.has(n)) issues.push({ path: `ports[${i}].name`, reason: `Duplicate value: ${quote(n)}` });
    names.add(n);
    if (p.protocol === 'SCTP') issues.push({ path: `ports[${i}].protocol`, reason: NOT_SUPPORTED });
  });
  return issues;
}

export const endpointSliceDef: ResourceDef = {
  group: 'discovery.k8s.io',
  version: 'v1',
  kind: 'EndpointSlice',
  plural: 'endpointslices',
  singular: 'endpointslice',
  shortNames: [],
  categories: [],
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: [],
  strategicMerge: true,
  statusSubresource: false,
  defaults: (o) => {
    pruneNulls(o);
    if (o.endpoints === undefined) o.endpoints = [];
    for (const p of arr(o.ports)) {
      const port = rec(p);
      if (port && port.protocol === undefined) port.protocol = 'TCP';
    }
  },
  validate: (obj, old) => validateEndpointSlice(obj, old),
  fields: (o) => ({ addressType: str(o.addressType) }),
  columns: [
    NAME_COLUMN,
    column('AddressType', 'The type of address carried by the endpoints.'),
    column('Ports', 'The ports of the endpoints.'),
    column('Endpoints', 'The addresses of the endpoints.'),
    AGE_COLUMN,
  ],
  row: (o, now) => [
    o.metadata.name ?? '',
    str(o.addressType),
    listWithMore(arr(o.ports).map((p) => (typeof rec(p)?.port === 'number' ? String(rec(p)!.port) : str(rec(p)?.name) || '*'))),
    listWithMore(arr(o.endpoints).flatMap((e) => arr(rec(e)?.addresses).map(str))),
    ageOf(o.metadata.creationTimestamp, now),
  ],
  schemaName: 'io.k8s.api.discovery.v1.EndpointSlice',
};

// ------------------------------------------------------------------ v1 Endpoints

const epAddress = z.strictObject({
  ip: z.string().refine((s) => isIP(s) === 4, 'must be a valid IPv4 address'),
  hostname: z.string().optional(),
  nodeName: z.string().optional(),
  targetRef: z.looseObject({}).optional(),
});
const endpointsSchema = z.strictObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  subsets: z
    .array(
      z.strictObject({
        addresses: z.array(epAddress).optional(),
        notReadyAddresses: z.array(epAddress).optional(),
        ports: z
          .array(z.strictObject({ name: z.string().optional(), port: z.number().int().min(1).max(65535), protocol: z.enum(['TCP', 'UDP', 'SCTP']).optional(), appProtocol: z.string().optional() }))
          .optional(),
      }),
    )
    .optional(),
});

/** kubectl's formatEndpoints: ip:port for every address and port, the first 3, then "+ N more...". */
export function endpointsText(o: KubeObject): string {
  const subsets = arr(o.subsets).map(rec);
  if (!subsets.length) return '<none>';
  const list: string[] = [];
  for (const ss of subsets) {
    const addrs = arr(ss?.addresses).map((a) => str(rec(a)?.ip));
    const ports = arr(ss?.ports).map(rec);
    if (!ports.length) list.push(...addrs);
    else for (const p of ports) for (const a of addrs) list.push(`${a}:${String(p?.port ?? '')}`);
  }
  const head = list.slice(0, 3).join(',');
  return list.length > 3 ? `${head} + ${list.length - 3} more...` : head;
}

export const endpointsDef: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Endpoints',
  plural: 'endpoints',
  singular: 'endpoints',
  shortNames: ['ep'],
  categories: [],
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: [],
  strategicMerge: true,
  statusSubresource: false,
  defaults: (o) => pruneNulls(o),
  validate: (obj) => {
    const { metadata: _m, ...body } = obj;
    return schemaIssues(endpointsSchema, body);
  },
  columns: [NAME_COLUMN, column('Endpoints', 'Endpoints of the service.'), AGE_COLUMN],
  row: (o, now) => [o.metadata.name ?? '', endpointsText(o), ageOf(o.metadata.creationTimestamp, now)],
  schemaName: 'io.k8s.api.core.v1.Endpoints',
};

/** The Service an EndpointSlice belongs to (its kubernetes.io/service-name label), or ''. */
export const sliceServiceName = (o: KubeObject): string => o.metadata.labels?.[LABEL_SERVICE_NAME] ?? '';
