/**
 * Rules and endpoints compiled into a routing table (pure): which rules an uplink message
 * matches, which rule a cloud request or a consumer's publish reaches, each node's forwarded
 * topics, and each rule's readiness (its endpoints exist and fit). Rebuilt whenever a Rule or
 * RuleEndpoint changes; level-triggered.
 */
import { ruleTopicFilter, topicMatches } from '../../contract/appchan.js';
import type { KubeObject } from '../../contract/kube/types.js';
import { ANNOTATIONS, ENDPOINT_TYPES, parseDuration, resourceIssues, RULE_PAIRS, type EndpointType } from '../kinds/rule.js';

export interface RuleRef {
  uid: string;
  namespace: string;
  name: string;
}

export const ruleKey = (r: Pick<RuleRef, 'namespace' | 'name'>): string => `${r.namespace}/${r.name}`;

export type UpTarget =
  | { type: 'rest'; url: string }
  | { type: 'mqtt'; topic: string; format: 'raw' | 'envelope' }
  | { type: 'storage'; keepMs: number; maxMessages: number };

export interface UpRoute {
  rule: RuleRef;
  /** a node name, or '*' for every node */
  node: string;
  /** the node-local filter (`<namespace>/<topic>`, or an upload space as is) */
  filter: string;
  target: UpTarget;
  retryForMs: number;
}

export type DownTarget = { type: 'eventbus'; topic: string } | { type: 'servicebus'; port: number; path: string };

export interface DownRoute {
  rule: RuleRef;
  source: 'rest' | 'mqtt';
  /** the path (rest) or topic (mqtt) segments the request must start with; `{x}` matches any one segment */
  segments: string[];
  target: DownTarget;
  /** hold for an offline node this long; undefined: the node must be online */
  ttlMs?: number;
}

export interface RuleState {
  rule: RuleRef;
  ready: boolean;
  reason: string;
  message: string;
}

export interface RouteDefaults {
  retryForMs: number;
  keepMs: number;
  maxMessages: number;
}

export interface RouteTable {
  up: UpRoute[];
  down: DownRoute[];
  states: Map<string, RuleState>;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const map = (v: unknown): Record<string, string> => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
  return Object.fromEntries(Object.entries(v as Record<string, unknown>).filter(([, x]) => typeof x === 'string')) as Record<string, string>;
};
const segmentsOf = (p: string): string[] => p.split('/').filter((s) => s.length > 0);

export function compileRoutes(rules: readonly KubeObject[], endpoints: readonly KubeObject[], d: RouteDefaults): RouteTable {
  const eps = new Map<string, { type: EndpointType; properties: Record<string, string> }>();
  for (const e of endpoints) {
    const spec = (e.spec ?? {}) as Record<string, unknown>;
    const type = str(spec.ruleEndpointType) as EndpointType;
    if (ENDPOINT_TYPES.includes(type)) eps.set(`${e.metadata.namespace ?? 'default'}/${e.metadata.name}`, { type, properties: map(spec.properties) });
  }
  const out: RouteTable = { up: [], down: [], states: new Map() };
  for (const r of rules) {
    const ns = r.metadata.namespace ?? 'default';
    const rule: RuleRef = { uid: r.metadata.uid ?? '', namespace: ns, name: r.metadata.name ?? '' };
    const spec = (r.spec ?? {}) as Record<string, unknown>;
    const state = (ready: boolean, reason: string, message: string): void => void out.states.set(rule.uid, { rule, ready, reason, message });
    const src = eps.get(`${ns}/${str(spec.source)}`);
    const dst = eps.get(`${ns}/${str(spec.target)}`);
    if (!src || !dst) {
      const missing = [!src ? str(spec.source) : '', !dst ? str(spec.target) : ''].filter(Boolean);
      state(false, 'EndpointNotFound', `RuleEndpoint ${missing.join(' and ')} not found in namespace ${ns}`);
      continue;
    }
    const dir = RULE_PAIRS[`${src.type}>${dst.type}`];
    if (!dir) {
      state(false, 'UnsupportedPair', `a ${src.type} source cannot feed a ${dst.type} target`);
      continue;
    }
    const sr = map(spec.sourceResource);
    const tr = map(spec.targetResource);
    const issues = [...resourceIssues(src.type, 'source', sr, 'spec.sourceResource'), ...resourceIssues(dst.type, 'target', tr, 'spec.targetResource')];
    if (issues.length) {
      state(false, 'InvalidResource', issues.map((i) => `${i.path}: ${i.reason}`).join('; '));
      continue;
    }
    const ann = r.metadata.annotations ?? {};
    if (dir === 'up') {
      const target: UpTarget =
        dst.type === 'rest'
          ? { type: 'rest', url: tr.resource! }
          : dst.type === 'mqtt'
            ? { type: 'mqtt', topic: tr.topic!, format: tr.format === 'envelope' ? 'envelope' : 'raw' }
            : { type: 'storage', keepMs: parseDuration(dst.properties.keep ?? '') ?? d.keepMs, maxMessages: Number(dst.properties.maxMessages ?? d.maxMessages) };
      out.up.push({ rule, node: sr.node_name!, filter: ruleTopicFilter(ns, sr.topic!), target, retryForMs: parseDuration(ann[ANNOTATIONS.retryFor] ?? '') ?? d.retryForMs });
    } else {
      const target: DownTarget = dst.type === 'eventbus' ? { type: 'eventbus', topic: tr.topic! } : { type: 'servicebus', port: Number(dst.properties.service_port), path: tr.path! };
      const ttl = parseDuration(ann[ANNOTATIONS.ttl] ?? '');
      const source = src.type === 'rest' ? 'rest' : 'mqtt';
      const raw = source === 'rest' ? sr.path! : sr.topic!.replace(/\/#$/, '');
      out.down.push({ rule, source, segments: segmentsOf(raw), target, ...(ttl ? { ttlMs: ttl } : {}) });
    }
    state(true, 'Routing', dir === 'up' ? `messages from ${sr.node_name === '*' ? 'every node' : `node ${sr.node_name}`} on ${ruleTopicFilter(ns, sr.topic!)}` : `requests for /${segmentsOf(src.type === 'rest' ? sr.path! : sr.topic!).join('/')}`);
  }
  return out;
}

/** The part of `topic` under a `/#` filter ('' for an exact filter or the subtree's root). */
export function suffixOf(filter: string, topic: string): string {
  if (!filter.endsWith('/#')) return '';
  const root = filter.slice(0, -2);
  return topic.length > root.length ? topic.slice(root.length + 1) : '';
}

/** The uplink routes a message from `node` on `topic` takes. */
export function matchUp(t: RouteTable, node: string, topic: string): UpRoute[] {
  return t.up.filter((r) => (r.node === node || r.node === '*') && topicMatches(r.filter, topic));
}

/** The node-local filters `node` forwards (besides the fixed upload spaces). */
export function filtersFor(t: RouteTable, node: string): string[] {
  return [...new Set(t.up.filter((r) => r.node === node || r.node === '*').map((r) => r.filter))].sort();
}

/**
 * The downlink route a request reaches: rules of `namespace` and `source` whose segments start
 * the request's path (whole segments; `{x}` matches any one). The most specific wins (more
 * literal segments, then more segments). The rest of the path is the suffix.
 */
export function matchDown(t: RouteTable, source: 'rest' | 'mqtt', namespace: string, path: string): { route: DownRoute; suffix: string } | undefined {
  const segs = segmentsOf(path);
  let best: { route: DownRoute; literal: number } | undefined;
  for (const r of t.down) {
    if (r.source !== source || r.rule.namespace !== namespace || r.segments.length > segs.length) continue;
    if (!r.segments.every((s, i) => /^\{[^/]*\}$/.test(s) || s === segs[i])) continue;
    const literal = r.segments.filter((s) => !s.startsWith('{')).length;
    if (!best || literal > best.literal || (literal === best.literal && r.segments.length > best.route.segments.length)) best = { route: r, literal };
  }
  return best ? { route: best.route, suffix: segs.slice(best.route.segments.length).join('/') } : undefined;
}

/** A target topic or path with a request's suffix appended. */
export function withSuffix(base: string, suffix: string): string {
  if (!suffix) return base;
  return base.endsWith('/') ? base + suffix : `${base}/${suffix}`;
}
