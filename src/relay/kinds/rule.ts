/**
 * rules.kubeedge.io/v1 Rule and RuleEndpoint: KubeEdge's router objects (docs/appchannel.md).
 * A user's existing KubeEdge YAML applies unchanged: the same fields (maps of strings), the same
 * endpoint types (rest, eventbus, servicebus) and pairs (rest→eventbus, rest→servicebus,
 * eventbus→rest), plus edgecore's: `mqtt` (a topic on the relay's broker, for cloud consumers)
 * and `storage` (kept by the relay, read through the `messages` subresource) as endpoint types,
 * and delivery options as annotations. A Rule may name endpoints that do not exist yet (KubeEdge's
 * samples put the Rule first in a file): it is accepted and its status says what is missing.
 * Updates are allowed (KubeEdge's webhook refuses every update, #7173). Pure.
 */
import { AGE_COLUMN, ageOf, column, NAME_COLUMN } from '../../contract/kube/table.js';
import type { KubeObject } from '../../contract/kube/types.js';
import { appTopicProblem } from '../../contract/appchan.js';
import type { FieldIssue } from '../../core/errors.js';
import * as z from 'zod';
import { int, orNone, pruneNulls, rec, schemaIssues, str } from './common.js';
import type { KindContext, ResourceDef, Verb } from './types.js';

export const RULE_GROUP = 'rules.kubeedge.io';
export const RULE_VERSION = 'v1';
export const RULE_API_VERSION = `${RULE_GROUP}/${RULE_VERSION}`;
const VERBS: Verb[] = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const ENDPOINT_TYPES = ['rest', 'eventbus', 'servicebus', 'mqtt', 'storage'] as const;
export type EndpointType = (typeof ENDPOINT_TYPES)[number];

/** The pairs a Rule may join: KubeEdge's three, and edgecore's. Up = from a node; down = to a node. */
export const RULE_PAIRS: Record<string, 'up' | 'down'> = {
  'eventbus>rest': 'up',
  'eventbus>mqtt': 'up',
  'eventbus>storage': 'up',
  'rest>eventbus': 'down',
  'rest>servicebus': 'down',
  'mqtt>eventbus': 'down',
  'mqtt>servicebus': 'down',
};

/** Rule annotations (edgecore's delivery options; KubeEdge ignores them). */
export const ANNOTATIONS = {
  /** downlink: hold a message for an offline node this long (absent: the node must be online) */
  ttl: 'appchannel.edgecore.io/ttl',
  /** uplink to rest: keep retrying a failing endpoint this long before dead-lettering */
  retryFor: 'appchannel.edgecore.io/retry-for',
} as const;

/** Go-style durations (`90s`, `1h30m`, `500ms`) and days (`7d`): milliseconds, or undefined. */
export function parseDuration(s: string): number | undefined {
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  if (!s) return undefined;
  let total = 0;
  let at = 0;
  while (at < s.length) {
    re.lastIndex = at;
    const m = re.exec(s);
    if (!m) return undefined;
    total += Number(m[1]) * unit[m[2]!]!;
    at = re.lastIndex;
  }
  return Math.round(total);
}

const stringMap = z.record(z.string(), z.string());

const ruleSpecSchema = z.strictObject({
  source: z.string().min(1).max(253),
  sourceResource: stringMap,
  target: z.string().min(1).max(253),
  targetResource: stringMap,
});
export type RuleSpec = z.output<typeof ruleSpecSchema>;

const endpointSpecSchema = z.strictObject({
  ruleEndpointType: z.enum(ENDPOINT_TYPES),
  properties: stringMap.optional(),
});
export type RuleEndpointSpec = z.output<typeof endpointSpecSchema>;

const count = z.number().int().min(0);
export const ruleStatusSchema = z.strictObject({
  /** KubeEdge's: messages delivered, failed delivery attempts, the latest errors */
  successMessages: count.optional(),
  failMessages: count.optional(),
  errors: z.array(z.string().max(4096)).max(20).optional(),
  /** edgecore's: messages the rule matched, their bytes, dropped (and why), waiting now */
  messages: count.optional(),
  bytes: count.optional(),
  drops: count.optional(),
  dropped: z.record(z.string(), count).optional(),
  pending: count.optional(),
  lastMessageTime: z.string().optional(),
  conditions: z
    .array(z.strictObject({ type: z.string(), status: z.enum(['True', 'False', 'Unknown']), reason: z.string().optional(), message: z.string().optional(), lastTransitionTime: z.string().optional() }))
    .optional(),
});

const TOP_LEVEL = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);

function shape(obj: KubeObject, spec: z.ZodType): FieldIssue[] {
  const issues: FieldIssue[] = [];
  for (const k of Object.keys(obj)) if (!TOP_LEVEL.has(k)) issues.push({ path: k, reason: 'unknown field' });
  if (obj.spec === undefined) issues.push({ path: 'spec', reason: 'Required value' });
  else issues.push(...schemaIssues(spec, obj.spec, 'spec'));
  return issues;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** What a source or target resource must hold for its endpoint type. */
export function resourceIssues(type: EndpointType, side: 'source' | 'target', r: Record<string, string>, base: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const need = (k: string): string | undefined => {
    const v = r[k];
    if (v === undefined || v === '') issues.push({ path: `${base}.${k}`, reason: `Required value (${side} endpoint type ${type})` });
    return v || undefined;
  };
  if (type === 'rest' && side === 'source') {
    const p = need('path');
    if (p !== undefined && !p.replace(/^\/+|\/+$/g, '')) issues.push({ path: `${base}.path`, reason: 'must name a path, not only slashes' });
  } else if (type === 'rest') {
    const u = need('resource');
    if (u !== undefined) {
      let ok = false;
      try {
        ok = ['http:', 'https:'].includes(new URL(u).protocol);
      } catch {
        ok = false;
      }
      if (!ok) issues.push({ path: `${base}.resource`, reason: 'must be an http:// or https:// URL' });
    }
  } else if (type === 'eventbus' || type === 'mqtt') {
    const t = need('topic');
    if (t !== undefined) {
      const wild = side === 'source' && t.endsWith('/#') ? t.slice(0, -2) : t;
      const p = t === '#' && side === 'source' ? 'must name more than #' : appTopicProblem(wild);
      if (p) issues.push({ path: `${base}.topic`, reason: side === 'source' ? `${p} (a trailing /# covers a subtree)` : p });
    }
    if (type === 'eventbus' && side === 'source') {
      const n = need('node_name');
      if (n !== undefined && n !== '*' && !DNS_LABEL.test(n)) issues.push({ path: `${base}.node_name`, reason: 'must be a node name (a DNS label) or * (every node)' });
    }
    if (type === 'mqtt' && side === 'target' && r.format !== undefined && !['raw', 'envelope'].includes(r.format)) issues.push({ path: `${base}.format`, reason: 'must be raw or envelope' });
  } else if (type === 'servicebus') {
    if (side === 'source') issues.push({ path: base, reason: 'a servicebus source (a node app calling the cloud) is not supported by edgecore' });
    else {
      const p = need('path');
      if (p !== undefined && !p.startsWith('/')) issues.push({ path: `${base}.path`, reason: 'must start with /' });
    }
  }
  return issues;
}

function endpointIssues(spec: RuleEndpointSpec): FieldIssue[] {
  const p = spec.properties ?? {};
  const issues: FieldIssue[] = [];
  if (spec.ruleEndpointType === 'servicebus') {
    const port = p.service_port;
    if (port === undefined) issues.push({ path: 'spec.properties.service_port', reason: 'Required value (servicebus endpoints name the port the app listens on)' });
    else if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) issues.push({ path: 'spec.properties.service_port', reason: 'must be a port number from 1 to 65535, as a string' });
  }
  if (spec.ruleEndpointType === 'storage') {
    if (p.keep !== undefined && !parseDuration(p.keep)) issues.push({ path: 'spec.properties.keep', reason: 'must be a duration such as 168h or 7d' });
    if (p.maxMessages !== undefined && (!/^\d+$/.test(p.maxMessages) || Number(p.maxMessages) < 1)) issues.push({ path: 'spec.properties.maxMessages', reason: 'must be a positive integer, as a string' });
  }
  return issues;
}

export function validateRuleEndpoint(obj: KubeObject): FieldIssue[] {
  const issues = shape(obj, endpointSpecSchema);
  if (issues.length) return issues;
  return endpointIssues(endpointSpecSchema.parse(obj.spec));
}

async function endpointType(namespace: string, name: string, ctx: KindContext): Promise<EndpointType | undefined> {
  const ep = await ctx.get({ group: RULE_GROUP, resource: 'ruleendpoints', namespace, name });
  const r = endpointSpecSchema.safeParse(ep?.spec);
  return r.success ? r.data.ruleEndpointType : undefined;
}

/**
 * A Rule: the schema, its annotations, and — for the endpoints that exist — the pair and the keys
 * each side needs. A missing endpoint is not an error here (the rule waits for it; status says so).
 */
export async function validateRule(obj: KubeObject, _old: KubeObject | undefined, ctx: KindContext): Promise<FieldIssue[]> {
  const issues = shape(obj, ruleSpecSchema);
  if (obj.status !== undefined) issues.push(...schemaIssues(ruleStatusSchema, obj.status, 'status'));
  if (issues.length) return issues;
  const ann = obj.metadata.annotations ?? {};
  for (const k of [ANNOTATIONS.ttl, ANNOTATIONS.retryFor]) {
    if (ann[k] !== undefined && !parseDuration(ann[k])) issues.push({ path: `metadata.annotations[${k}]`, reason: 'must be a duration such as 30s, 1h or 7d' });
  }
  const spec = ruleSpecSchema.parse(obj.spec);
  const ns = obj.metadata.namespace ?? 'default';
  const src = await endpointType(ns, spec.source, ctx);
  const dst = await endpointType(ns, spec.target, ctx);
  if (src && dst && !RULE_PAIRS[`${src}>${dst}`]) {
    issues.push({ path: 'spec.target', reason: `a ${src} source cannot feed a ${dst} target (pairs: ${Object.keys(RULE_PAIRS).map((p) => p.replace('>', '→')).join(', ')})` });
  }
  if (src) issues.push(...resourceIssues(src, 'source', spec.sourceResource, 'spec.sourceResource'));
  if (dst) issues.push(...resourceIssues(dst, 'target', spec.targetResource, 'spec.targetResource'));
  return issues;
}

// ------------------------------------------------------------------ tables

const RULE_COLUMNS = [
  NAME_COLUMN,
  column('Source', 'The RuleEndpoint messages come from.'),
  column('Target', 'The RuleEndpoint messages go to.'),
  column('Ready', 'Whether the rule routes messages (its endpoints exist and fit).'),
  column('Messages', 'Messages the rule matched.', 0, 'integer'),
  column('Delivered', 'Messages delivered to the target.', 0, 'integer'),
  column('Failed', 'Failed delivery attempts (retried ones count each time).', 0, 'integer'),
  column('Dropped', 'Messages dropped (quota, size, expiry, dead letters).', 0, 'integer'),
  AGE_COLUMN,
  column('Pending', 'Messages waiting for delivery.', 1, 'integer'),
  column('Source-Resource', "The source's resource map.", 1),
  column('Target-Resource', "The target's resource map.", 1),
];

const flat = (m: unknown): string => {
  const o = rec(m);
  if (!o || Object.keys(o).length === 0) return '<none>';
  return Object.entries(o)
    .map(([k, v]) => `${k}=${str(v)}`)
    .join(',');
};

function ruleRow(obj: KubeObject, now: Date): unknown[] {
  const spec = rec(obj.spec) ?? {};
  const st = rec(obj.status) ?? {};
  const ready = (Array.isArray(st.conditions) ? st.conditions : []).map(rec).find((c) => c?.type === 'Ready');
  return [
    obj.metadata.name ?? '',
    str(spec.source),
    str(spec.target),
    ready ? (ready.status === 'True' ? 'True' : `False (${str(ready.reason)})`) : 'Unknown',
    int(st.messages),
    int(st.successMessages),
    int(st.failMessages),
    int(st.drops),
    ageOf(obj.metadata.creationTimestamp, now),
    int(st.pending),
    flat(spec.sourceResource),
    flat(spec.targetResource),
  ];
}

const ENDPOINT_COLUMNS = [NAME_COLUMN, column('Type', 'The endpoint type: rest, eventbus, servicebus, mqtt or storage.'), column('Properties', 'The endpoint properties.'), AGE_COLUMN];

function endpointRow(obj: KubeObject, now: Date): unknown[] {
  const spec = rec(obj.spec) ?? {};
  return [obj.metadata.name ?? '', orNone(str(spec.ruleEndpointType)), flat(spec.properties), ageOf(obj.metadata.creationTimestamp, now)];
}

// ------------------------------------------------------------------ definitions

const common = { group: RULE_GROUP, version: RULE_VERSION, categories: [] as string[], namespaced: true, verbs: VERBS, strategicMerge: false };

export const ruleDef: ResourceDef = {
  ...common,
  kind: 'Rule',
  plural: 'rules',
  singular: 'rule',
  shortNames: [],
  subresources: ['status', 'messages'],
  statusSubresource: true,
  // KubeEdge's manifests may carry a status: a custom resource with a status subresource ignores it on create
  prepareForCreate: (obj) => {
    delete obj.status;
  },
  defaults: (obj) => pruneNulls(obj),
  validate: validateRule,
  fields: (obj) => ({ 'spec.source': str(rec(obj.spec)?.source), 'spec.target': str(rec(obj.spec)?.target) }),
  columns: RULE_COLUMNS,
  row: ruleRow,
  schemaName: 'io.kubeedge.rules.v1.Rule',
};

export const ruleEndpointDef: ResourceDef = {
  ...common,
  kind: 'RuleEndpoint',
  plural: 'ruleendpoints',
  singular: 'ruleendpoint',
  shortNames: ['re'],
  subresources: [],
  statusSubresource: false,
  defaults: (obj) => pruneNulls(obj),
  validate: (obj) => validateRuleEndpoint(obj),
  fields: (obj) => ({ 'spec.ruleEndpointType': str(rec(obj.spec)?.ruleEndpointType) }),
  columns: ENDPOINT_COLUMNS,
  row: endpointRow,
  schemaName: 'io.kubeedge.rules.v1.RuleEndpoint',
};
