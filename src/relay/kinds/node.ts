/**
 * core/v1 Node: one per joined edgecore node. Users edit labels, annotations, taints and
 * spec.unschedulable (`kubectl label/annotate/taint/cordon`); podCIDR(s) and providerID may be
 * set once; status is written only through /status by the relay's node sync (node-lifecycle.ts
 * computes it). `kubectl get nodes` columns as kubectl prints them.
 */
import { isIP } from 'node:net';
import { AGE_COLUMN, ageOf, column, NAME_COLUMN } from '../../contract/kube/table.js';
import type { KubeObject } from '../../contract/kube/types.js';
import { DNS_SUBDOMAIN, labelValue, qualifiedName } from '../../contract/resources/common.js';
import { nodeNameSchema } from '../../contract/resources/kinds.js';
import { printable } from '../../contract/node-status.js';
import type { FieldIssue } from '../../core/errors.js';
import * as z from 'zod';
import { arr, orNone, pruneNulls, rec, sameJson, schemaIssues, str } from './common.js';
import type { ResourceDef } from './types.js';

const time = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an RFC 3339 time');

const taint = z.strictObject({
  key: qualifiedName,
  value: labelValue.optional(),
  effect: z.enum(['NoSchedule', 'PreferNoSchedule', 'NoExecute']),
  timeAdded: time.optional(),
});

export const nodeSpecSchema = z
  .strictObject({
    podCIDR: z.string().optional(),
    podCIDRs: z.array(z.string()).max(2).optional(),
    providerID: z.string().optional(),
    unschedulable: z.boolean().optional(),
    taints: z.array(taint).optional(),
  })
  .superRefine((spec, ctx) => {
    const seen = new Set<string>();
    (spec.taints ?? []).forEach((t, i) => {
      const k = `${t.key}:${t.effect}`;
      if (seen.has(k)) ctx.addIssue({ code: 'custom', path: ['taints', i], message: `taint ${k} is listed twice (taints are unique by key and effect)` });
      seen.add(k);
    });
  });

const quantity = z.string().regex(/^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+|[numkMGTPE]|[KMGTPE]i)?$/, 'must be a quantity like 4, 500m or 3882708Ki');
const text = printable(1024);

const NODE_INFO_KEYS = ['machineID', 'systemUUID', 'bootID', 'kernelVersion', 'osImage', 'containerRuntimeVersion', 'kubeletVersion', 'kubeProxyVersion', 'operatingSystem', 'architecture'] as const;

export const nodeStatusSchema = z.strictObject({
  phase: z.string().optional(),
  conditions: z
    .array(
      z.strictObject({
        type: z.string().min(1).max(316),
        status: z.enum(['True', 'False', 'Unknown']),
        lastHeartbeatTime: time.optional(),
        lastTransitionTime: time.optional(),
        reason: text.optional(),
        message: text.optional(),
      }),
    )
    .max(32)
    .optional(),
  addresses: z
    .array(
      z
        .strictObject({ type: z.enum(['Hostname', 'InternalIP', 'ExternalIP', 'InternalDNS', 'ExternalDNS']), address: z.string().min(1).max(253) })
        .refine((a) => !a.type.endsWith('IP') || isIP(a.address) !== 0, { message: 'must be an IP address', path: ['address'] }),
    )
    .max(32)
    .optional(),
  capacity: z.record(z.string(), quantity).optional(),
  allocatable: z.record(z.string(), quantity).optional(),
  nodeInfo: z
    .strictObject(Object.fromEntries(NODE_INFO_KEYS.map((k) => [k, text.optional()])) as Record<(typeof NODE_INFO_KEYS)[number], z.ZodOptional<typeof text>>)
    .optional(),
  daemonEndpoints: z.strictObject({ kubeletEndpoint: z.strictObject({ Port: z.number().int().min(0).max(65535) }) }).optional(),
});

const TOP_LEVEL = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);

/** Every problem with a Node; `old` is the stored Node on update. */
export function validateNode(obj: KubeObject, old: KubeObject | undefined): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const k of Object.keys(obj)) if (!TOP_LEVEL.has(k)) issues.push({ path: k, reason: 'unknown field' });
  // a name that is no DNS subdomain is the machinery's to report; the stricter node rule is ours
  const name = obj.metadata?.name;
  if (typeof name === 'string' && DNS_SUBDOMAIN.test(name) && !nodeNameSchema.safeParse(name).success) {
    issues.push({ path: 'metadata.name', reason: "node names must be DNS labels (at most 63 characters, no dots): they name the node's MQTT topics" });
  }
  if (obj.metadata?.namespace) issues.push({ path: 'metadata.namespace', reason: 'must be empty: nodes are not namespaced' });
  issues.push(...schemaIssues(nodeSpecSchema, obj.spec ?? {}, 'spec'));
  const spec = rec(obj.spec) ?? {};
  const oldSpec = rec(old?.spec);
  if (oldSpec) {
    for (const k of ['podCIDR', 'podCIDRs', 'providerID']) {
      if (oldSpec[k] !== undefined && !sameJson(oldSpec[k], spec[k])) issues.push({ path: `spec.${k}`, reason: 'may not be changed once set' });
    }
  }
  if (obj.status !== undefined && (!old || !sameJson(obj.status, old.status))) issues.push(...schemaIssues(nodeStatusSchema, obj.status, 'status'));
  return issues;
}

/** Kubernetes' node defaults: nulls mean absent; allocatable defaults to capacity. */
export function defaultNode(obj: KubeObject): void {
  pruneNulls(obj);
  if (obj.spec === undefined) obj.spec = {};
  const status = rec(obj.status);
  if (status && rec(status.capacity) && status.allocatable === undefined) status.allocatable = { ...rec(status.capacity) };
}

export const NODE_COLUMNS = [
  NAME_COLUMN,
  column('Status', 'Ready, NotReady or Unknown, and SchedulingDisabled when cordoned.'),
  column('Roles', 'Roles from the node-role.kubernetes.io/<role> labels.'),
  AGE_COLUMN,
  column('Version', 'The edgecore version the node runs.'),
  column('Internal-IP', 'The first internal IP address.', 1),
  column('External-IP', 'The first external IP address.', 1),
  column('OS-Image', 'The operating system image.', 1),
  column('Kernel-Version', 'The kernel version.', 1),
  column('Container-Runtime', 'The container runtime and its version.', 1),
];

const ROLE_PREFIX = 'node-role.kubernetes.io/';

/** Roles from node-role.kubernetes.io/<role> labels (and the legacy kubernetes.io/role), sorted. */
export function nodeRoles(labels: Record<string, string> | undefined): string[] {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(labels ?? {})) {
    if (k.startsWith(ROLE_PREFIX) && k.length > ROLE_PREFIX.length) roles.add(k.slice(ROLE_PREFIX.length));
    else if (k === 'kubernetes.io/role' && v) roles.add(v);
  }
  return [...roles].sort();
}

/** STATUS as kubectl prints it: the Ready condition (NotReady for False or Unknown), Unknown without one, then SchedulingDisabled. */
export function nodeStatusText(node: KubeObject): string {
  const ready = arr(rec(node.status)?.conditions)
    .map(rec)
    .find((c) => c?.type === 'Ready');
  const out = [ready ? (ready.status === 'True' ? 'Ready' : 'NotReady') : 'Unknown'];
  if (rec(node.spec)?.unschedulable === true) out.push('SchedulingDisabled');
  return out.join(',');
}

function address(status: Record<string, unknown>, type: string): string {
  return orNone(str(arr(status.addresses).map(rec).find((a) => a?.type === type)?.address));
}

export function nodeRow(node: KubeObject, now: Date): unknown[] {
  const status = rec(node.status) ?? {};
  const info = rec(status.nodeInfo) ?? {};
  const unknown = (v: unknown) => str(v) || '<unknown>';
  return [
    node.metadata.name ?? '',
    nodeStatusText(node),
    orNone(nodeRoles(node.metadata.labels).join(',')),
    ageOf(node.metadata.creationTimestamp, now),
    str(info.kubeletVersion),
    address(status, 'InternalIP'),
    address(status, 'ExternalIP'),
    unknown(info.osImage),
    unknown(info.kernelVersion),
    unknown(info.containerRuntimeVersion),
  ];
}

export function nodeFields(node: KubeObject): Record<string, string> {
  return { 'spec.unschedulable': String(rec(node.spec)?.unschedulable === true) };
}

export const nodeDef: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Node',
  plural: 'nodes',
  singular: 'node',
  shortNames: ['no'],
  categories: [],
  namespaced: false,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: ['status'],
  strategicMerge: true,
  statusSubresource: true,
  statusOnCreate: true,
  defaults: defaultNode,
  validate: (obj, old) => validateNode(obj, old),
  fields: nodeFields,
  columns: NODE_COLUMNS,
  row: nodeRow,
  schemaName: 'io.k8s.api.core.v1.Node',
};
