/**
 * Deciding what to do with a desired document (pure): apply it, or reject it as stale or
 * malformed. The caller writes an accepted document to SQLite (metamanager `desired.replace`)
 * before anything acts on it, then records its version as applied (the uplink).
 */
import type { DesiredDocument } from '../../contract/payloads.js';
import type { FieldIssue } from '../../core/errors.js';

import type { Applied } from '../../store/uplink.js';

export type DesiredDecision =
  | { action: 'apply'; doc: DesiredDocument }
  | { action: 'stale'; reason: string }
  | { action: 'invalid'; issues: FieldIssue[] };

function checkShape(v: unknown, node: string): FieldIssue[] {
  const issues: FieldIssue[] = [];
  if (!v || typeof v !== 'object') return [{ path: '', reason: 'must be an object' }];
  const d = v as Record<string, unknown>;
  if (d.node !== node) issues.push({ path: 'node', reason: `is "${String(d.node)}", this node is "${node}"` });
  if (typeof d.epoch !== 'string' || !d.epoch) issues.push({ path: 'epoch', reason: 'must be a non-empty string' });
  if (!Number.isInteger(d.version) || (d.version as number) < 1) issues.push({ path: 'version', reason: 'must be a positive integer' });
  if (!Array.isArray(d.kinds) || d.kinds.some((k) => typeof k !== 'string')) issues.push({ path: 'kinds', reason: 'must be a list of strings' });
  if (!Array.isArray(d.items)) issues.push({ path: 'items', reason: 'must be a list' });
  else {
    const seen = new Set<string>();
    d.items.forEach((it: unknown, i) => {
      const o = (it ?? {}) as Record<string, unknown>;
      for (const f of ['kind', 'name'] as const) if (typeof o[f] !== 'string' || !o[f]) issues.push({ path: `items[${i}].${f}`, reason: 'required' });
      if (typeof o.namespace !== 'string') issues.push({ path: `items[${i}].namespace`, reason: 'must be a string' });
      if (!o.spec || typeof o.spec !== 'object' || Array.isArray(o.spec)) issues.push({ path: `items[${i}].spec`, reason: 'must be an object' });
      const key = `${String(o.kind)}/${String(o.namespace)}/${String(o.name)}`;
      if (seen.has(key)) issues.push({ path: `items[${i}]`, reason: `duplicate ${key}` });
      seen.add(key);
    });
  }
  return issues;
}

export function decideDesired(raw: unknown, node: string, applied: Applied): DesiredDecision {
  const issues = checkShape(raw, node);
  if (issues.length) return { action: 'invalid', issues };
  const doc = raw as DesiredDocument;
  if (doc.epoch === applied.epoch && doc.version <= applied.version) {
    return { action: 'stale', reason: `version ${doc.version} is not newer than the applied ${applied.version}` };
  }
  return { action: 'apply', doc };
}
