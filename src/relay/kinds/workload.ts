/**
 * What the workload kinds (Deployment, ReplicaSet, DaemonSet, Job, CronJob) share: label
 * selectors as objects, the pod template (defaulted and validated as a pod's spec is), int-or-
 * percent values, the template hash, conditions, and the kubectl cells for containers, images
 * and selectors. Pure.
 */
import { labelKeyProblem, labelValueProblem, matchLabels, type LabelRequirement } from '../../contract/kube/selectors.js';
import type { KubeObject } from '../../contract/kube/types.js';
import type { FieldIssue } from '../../core/errors.js';
import { stableStringify } from '../../lib/json.js';
import * as z from 'zod';
import { arr, rec, schemaIssues, str, type Obj } from './common.js';
import { defaultPodSpec } from './pod.js';
import { validatePod } from './pod-validate.js';

export interface SelectorRequirement {
  key: string;
  operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
  values?: string[];
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: SelectorRequirement[];
}

export const labelSelectorSchema = z.strictObject({
  matchLabels: z.record(z.string(), z.string()).optional(),
  matchExpressions: z
    .array(
      z.strictObject({
        key: z.string(),
        operator: z.enum(['In', 'NotIn', 'Exists', 'DoesNotExist']),
        values: z.array(z.string()).optional(),
      }),
    )
    .optional(),
});

/** Problems with a LabelSelector object at `path` (Kubernetes' rules: keys, values, operators; not empty). */
export function selectorIssues(sel: unknown, path: string): FieldIssue[] {
  if (sel === undefined) return [{ path, reason: 'Required value' }];
  const issues = schemaIssues(labelSelectorSchema, sel, path);
  if (issues.length) return issues;
  const s = sel as LabelSelector;
  for (const [k, v] of Object.entries(s.matchLabels ?? {})) {
    const kp = labelKeyProblem(k);
    if (kp) issues.push({ path: `${path}.matchLabels`, reason: `Invalid value: "${k}": ${kp}` });
    const vp = labelValueProblem(v);
    if (vp) issues.push({ path: `${path}.matchLabels`, reason: `Invalid value: "${v}": a valid label value ${vp}` });
  }
  (s.matchExpressions ?? []).forEach((e, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    const kp = labelKeyProblem(e.key);
    if (kp) issues.push({ path: `${p}.key`, reason: `Invalid value: "${e.key}": ${kp}` });
    const n = e.values?.length ?? 0;
    if ((e.operator === 'In' || e.operator === 'NotIn') && n === 0) issues.push({ path: `${p}.values`, reason: 'Required value: must be specified when `operator` is \'In\' or \'NotIn\'' });
    if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && n > 0) issues.push({ path: `${p}.values`, reason: 'Forbidden: may not be specified when `operator` is \'Exists\' or \'DoesNotExist\'' });
  });
  if (!Object.keys(s.matchLabels ?? {}).length && !(s.matchExpressions ?? []).length) issues.push({ path, reason: 'Invalid value: {}: empty selector is invalid' });
  return issues;
}

/** A LabelSelector object as the requirements the selector matcher takes. */
export function selectorRequirements(sel: LabelSelector | undefined): LabelRequirement[] {
  const out: LabelRequirement[] = [];
  for (const [key, v] of Object.entries(sel?.matchLabels ?? {})) out.push({ key, op: 'in', values: [v] });
  for (const e of sel?.matchExpressions ?? []) {
    const op = e.operator === 'In' ? 'in' : e.operator === 'NotIn' ? 'notin' : e.operator === 'Exists' ? 'exists' : 'absent';
    out.push({ key: e.key, op, values: e.values ?? [] });
  }
  return out;
}

/** Does `labels` match the selector? An absent or empty selector matches nothing (no workload may own everything). */
export function selectorMatches(sel: LabelSelector | undefined, labels: Record<string, string> | undefined): boolean {
  const reqs = selectorRequirements(sel);
  return reqs.length > 0 && matchLabels(reqs, labels);
}

/** The selector as kubectl prints it (requirements sorted by key; `<none>` when empty). */
export function selectorString(sel: LabelSelector | undefined): string {
  const parts = selectorRequirements(sel)
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((r) => {
      if (r.op === 'exists') return r.key;
      if (r.op === 'absent') return `!${r.key}`;
      if (r.values.length === 1) return `${r.key}${r.op === 'in' ? '=' : '!='}${r.values[0]}`;
      return `${r.key} ${r.op} (${[...r.values].sort().join(',')})`;
    });
  return parts.length ? parts.join(',') : '<none>';
}

// ------------------------------------------------------------------ int or percent

export const intOrPercent = z.union([
  z.number().int().min(0, 'must be greater than or equal to 0'),
  z.string().regex(/^\d+%$/, "a valid percent string must be a numeric string followed by an ending '%' (e.g. '1%',  or '93%')"),
]);

/** An int-or-percent against `total`, rounded up or down as Kubernetes does (percent of replicas). */
export function scaledValue(v: unknown, total: number, roundUp: boolean): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(str(v));
  if (!m) return 0;
  const x = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

export function percentOver100(v: unknown): boolean {
  const m = /^(\d+)%$/.exec(str(v));
  return !!m && Number(m[1]) > 100;
}

// ------------------------------------------------------------------ pod template

const templateMeta = z.strictObject({
  name: z.string().optional(),
  generateName: z.string().optional(),
  namespace: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
});

/** Kubernetes' PodSpec defaults on a template (no default tolerations: those are the pod admission's). */
export function defaultTemplate(template: unknown): void {
  const t = rec(template);
  const spec = rec(t?.spec);
  if (spec) defaultPodSpec(spec);
}

/**
 * Every problem with a pod template at `path` (e.g. `spec.template`): its metadata, and its spec
 * as a pod's spec is validated (the node's schema), paths from the workload's root.
 */
export function templateIssues(template: unknown, path: string, restartPolicies: readonly string[]): FieldIssue[] {
  const t = rec(template);
  if (!t) return [{ path, reason: 'Required value' }];
  const issues: FieldIssue[] = [];
  for (const k of Object.keys(t)) if (k !== 'metadata' && k !== 'spec') issues.push({ path: `${path}.${k}`, reason: 'unknown field' });
  if (t.metadata !== undefined) {
    issues.push(...schemaIssues(templateMeta, t.metadata, `${path}.metadata`));
    for (const [k, v] of Object.entries(rec(rec(t.metadata)?.labels) ?? {})) {
      const kp = labelKeyProblem(k);
      if (kp) issues.push({ path: `${path}.metadata.labels`, reason: `Invalid value: "${k}": ${kp}` });
      const vp = typeof v === 'string' ? labelValueProblem(v) : undefined;
      if (vp) issues.push({ path: `${path}.metadata.labels`, reason: `Invalid value: "${String(v)}": a valid label value ${vp}` });
    }
  }
  if (t.spec === undefined) return [...issues, { path: `${path}.spec`, reason: 'Required value' }];
  const pod: KubeObject = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'template' }, spec: t.spec };
  for (const i of validatePod(pod, undefined)) {
    if (!i.path.startsWith('spec')) continue;
    issues.push({ ...i, path: `${path}.${i.path}` });
  }
  const policy = rec(t.spec)?.restartPolicy;
  if (typeof policy === 'string' && !restartPolicies.includes(policy)) {
    issues.push({ path: `${path}.spec.restartPolicy`, reason: `Unsupported value: "${policy}": supported values: ${restartPolicies.map((p) => `"${p}"`).join(', ')}` });
  }
  return issues;
}

export function templateLabels(template: unknown): Record<string, string> {
  return (rec(rec(template)?.metadata)?.labels as Record<string, string> | undefined) ?? {};
}

/**
 * A template as Kubernetes compares templates: an empty object or list is the same as none (Go
 * decodes both to the zero value; kubectl's `rollout undo` sends `resources: {}` a stored
 * template may not have).
 */
export function canonicalTemplate(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonicalTemplate);
  const o = rec(v);
  if (!o) return v;
  const out: Obj = {};
  for (const [k, x] of Object.entries(o)) {
    const c = canonicalTemplate(x);
    if (c === undefined || c === null || (Array.isArray(c) && !c.length) || (rec(c) && !Object.keys(c as Obj).length)) continue;
    out[k] = c;
  }
  return out;
}

const HASH_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/**
 * A pod template's hash as a label value (pod-template-hash, controller-revision-hash): FNV-1a
 * (32 bits) of the template's canonical JSON and the collision count, written with Kubernetes'
 * safe alphabet (no vowels, no look-alike digits).
 */
export function templateHash(template: unknown, collisionCount = 0): string {
  let h = 0x811c9dc5;
  const text = stableStringify(canonicalTemplate(template)) + (collisionCount ? `#${collisionCount}` : '');
  for (const b of Buffer.from(text, 'utf8')) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  let out = '';
  for (const ch of String(h)) out += HASH_ALPHABET[ch.charCodeAt(0) % HASH_ALPHABET.length];
  return out;
}

// ------------------------------------------------------------------ status

const time = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be an RFC 3339 time');

export const conditionSchema = z.strictObject({
  type: z.string().min(1).max(316),
  status: z.enum(['True', 'False', 'Unknown']),
  lastUpdateTime: time.optional(),
  lastTransitionTime: time.optional(),
  lastProbeTime: time.optional(),
  reason: z.string().max(1024).optional(),
  message: z.string().max(32_768).optional(),
});

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  lastProbeTime?: string;
  reason?: string;
  message?: string;
}

export const count = z.number().int().min(0);

// ------------------------------------------------------------------ kubectl cells

/** The template's container names and images, comma-separated (kubectl's wide CONTAINERS and IMAGES). */
export function containerCells(template: unknown): [string, string] {
  const cs = arr(rec(rec(template)?.spec)?.containers).map((c) => rec(c) ?? {});
  return [cs.map((c) => str(c.name)).join(','), cs.map((c) => str(c.image)).join(',')];
}

export const num = (o: Obj | undefined, k: string): number => (typeof o?.[k] === 'number' ? (o[k] as number) : 0);

/** Top-level fields a workload object may have. */
export function topLevelIssues(obj: KubeObject): FieldIssue[] {
  return Object.keys(obj)
    .filter((k) => !['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(k))
    .map((k) => ({ path: k, reason: 'unknown field' }));
}
