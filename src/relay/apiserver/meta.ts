/**
 * The object-metadata rules every kind shares: what a client may set (labels, annotations,
 * finalizers, ownerReferences...), what only the server sets (uid, resourceVersion,
 * creationTimestamp, generation, deletionTimestamp), nulls read as absent (as Kubernetes' JSON
 * decoding does), generated names, and removing unknown fields by their path.
 */
import { randomBytes } from 'node:crypto';
import { labelKeyProblem, labelValueProblem } from '../../contract/kube/selectors.js';
import type { KubeObject, ObjectMeta } from '../../contract/kube/types.js';
import type { FieldIssue } from '../../core/errors.js';
import { DNS_SUBDOMAIN } from '../../contract/resources/common.js';

export const UNKNOWN_FIELD = 'unknown field';
export const isUnknownField = (i: FieldIssue): boolean => i.reason === UNKNOWN_FIELD;

const META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
  'selfLink',
]);
const MAX_ANNOTATIONS_BYTES = 256 * 1024;

/** RFC 3339 with seconds, as Kubernetes writes timestamps. */
export const timestamp = (d: Date): string => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';
export function generatedName(prefix: string): string {
  const b = randomBytes(5);
  let s = '';
  for (const x of b) s += NAME_CHARS[x % NAME_CHARS.length];
  return prefix.slice(0, 253 - 5) + s;
}

/** Remove every key whose value is null, at every depth (lists keep their length). */
export function pruneNulls<T>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => pruneNulls(x)) as T;
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== null && x !== undefined) out[k] = pruneNulls(x);
    return out as T;
  }
  return v;
}

const isStringMap = (v: unknown): v is Record<string, string> =>
  !!v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');

/** Every problem with `metadata` a client sent (paths from the object's root). */
export function metadataIssues(meta: unknown, opts: { namespaced: boolean }): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (!meta || typeof meta !== 'object' || Array.isArray(meta)) return [{ path: 'metadata', reason: 'Required value' }];
  const m = meta as Record<string, unknown>;
  for (const k of Object.keys(m)) if (!META_FIELDS.has(k)) issues.push({ path: `metadata.${k}`, reason: UNKNOWN_FIELD });
  const name = m.name;
  if (typeof name !== 'string' || name === '') issues.push({ path: 'metadata.name', reason: 'Required value: name or generateName is required' });
  else if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
    issues.push({
      path: 'metadata.name',
      reason: `Invalid value: "${name}": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
    });
  }
  if (m.labels !== undefined) {
    if (!isStringMap(m.labels)) issues.push({ path: 'metadata.labels', reason: 'Invalid value: must map strings to strings' });
    else
      for (const [k, v] of Object.entries(m.labels)) {
        const kp = labelKeyProblem(k);
        if (kp) issues.push({ path: 'metadata.labels', reason: `Invalid value: "${k}": ${kp}` });
        const vp = labelValueProblem(v);
        if (vp) issues.push({ path: `metadata.labels`, reason: `Invalid value: "${v}": a valid label ${vp}` });
      }
  }
  if (m.annotations !== undefined) {
    if (!isStringMap(m.annotations)) issues.push({ path: 'metadata.annotations', reason: 'Invalid value: must map strings to strings' });
    else {
      let size = 0;
      for (const [k, v] of Object.entries(m.annotations)) {
        size += k.length + v.length;
        const kp = labelKeyProblem(k);
        if (kp) issues.push({ path: 'metadata.annotations', reason: `Invalid value: "${k}": ${kp}` });
      }
      if (size > MAX_ANNOTATIONS_BYTES) issues.push({ path: 'metadata.annotations', reason: `Too long: must have at most ${MAX_ANNOTATIONS_BYTES} bytes` });
    }
  }
  if (m.finalizers !== undefined) {
    if (!Array.isArray(m.finalizers)) issues.push({ path: 'metadata.finalizers', reason: 'Invalid value: must be a list of strings' });
    else
      m.finalizers.forEach((f, i) => {
        if (typeof f !== 'string' || f === '' || f.length > 316) issues.push({ path: `metadata.finalizers[${i}]`, reason: 'Invalid value: must be a non-empty qualified name' });
      });
  }
  if (m.ownerReferences !== undefined) {
    if (!Array.isArray(m.ownerReferences)) issues.push({ path: 'metadata.ownerReferences', reason: 'Invalid value: must be a list' });
    else {
      let controllers = 0;
      m.ownerReferences.forEach((r: unknown, i) => {
        const p = `metadata.ownerReferences[${i}]`;
        if (!r || typeof r !== 'object') return issues.push({ path: p, reason: 'Invalid value: must be an object' });
        const o = r as Record<string, unknown>;
        for (const f of ['apiVersion', 'kind', 'name', 'uid']) if (typeof o[f] !== 'string' || o[f] === '') issues.push({ path: `${p}.${f}`, reason: 'Required value' });
        for (const k of Object.keys(o)) if (!['apiVersion', 'kind', 'name', 'uid', 'controller', 'blockOwnerDeletion'].includes(k)) issues.push({ path: `${p}.${k}`, reason: UNKNOWN_FIELD });
        if (o.controller === true) controllers++;
      });
      if (controllers > 1) issues.push({ path: 'metadata.ownerReferences', reason: 'Invalid value: Only one reference can have Controller set to true' });
    }
  }
  void opts;
  return issues;
}

/** A path such as `spec.containers[0].bogus` as segments. */
export function pathSegments(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

/** Delete the value at `path` (unknown fields under fieldValidation=Warn/Ignore). */
export function deletePath(obj: unknown, path: string): void {
  const segs = pathSegments(path);
  let cur: unknown = obj;
  for (let i = 0; i < segs.length - 1; i++) {
    if (!cur || typeof cur !== 'object') return;
    cur = (cur as Record<string | number, unknown>)[segs[i]!];
  }
  if (cur && typeof cur === 'object' && segs.length) delete (cur as Record<string | number, unknown>)[segs[segs.length - 1]!];
}

/** The server-owned metadata of `from` copied onto `to` (an update keeps them). */
export function keepServerFields(to: ObjectMeta, from: ObjectMeta): void {
  to.uid = from.uid;
  to.creationTimestamp = from.creationTimestamp;
  if (from.generation !== undefined) to.generation = from.generation;
  if (from.deletionTimestamp) to.deletionTimestamp = from.deletionTimestamp;
  else delete to.deletionTimestamp;
  if (from.deletionGracePeriodSeconds !== undefined) to.deletionGracePeriodSeconds = from.deletionGracePeriodSeconds;
  else delete to.deletionGracePeriodSeconds;
  delete to.generateName;
  if (from.generateName) to.generateName = from.generateName;
  delete (to as Record<string, unknown>).selfLink;
}

/** Everything but metadata and status: what `generation` counts changes of. */
export function specPart(o: KubeObject): Record<string, unknown> {
  const rest: Record<string, unknown> = { ...o };
  delete rest.metadata;
  delete rest.status;
  delete rest.apiVersion;
  delete rest.kind;
  return rest;
}

export const clone = <T>(v: T): T => structuredClone(v);
