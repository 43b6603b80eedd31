/**
 * Deciding what to do with a desired document (pure): apply it, or reject it as stale or
 * malformed. The document is parsed against the contract's schema here, at the node's edge;
 * the caller writes an accepted document to SQLite (metamanager `desired.replace`) before
 * anything acts on it, then records its version as applied (the uplink).
 */
import { desiredDocumentSchema, type DesiredDocument } from '../../contract/payloads.js';
import type { FieldIssue } from '../../core/errors.js';
import { toFieldIssues } from '../../lib/schema.js';
import type { Applied } from '../../store/uplink.js';

export type DesiredDecision =
  | { action: 'apply'; doc: DesiredDocument }
  | { action: 'stale'; reason: string }
  | { action: 'invalid'; issues: FieldIssue[] };

export function decideDesired(raw: unknown, node: string, applied: Applied): DesiredDecision {
  const r = desiredDocumentSchema.safeParse(raw);
  const issues: FieldIssue[] = r.success ? [] : toFieldIssues(r.error);
  const target = raw && typeof raw === 'object' ? (raw as { node?: unknown }).node : undefined;
  if (target !== node) issues.unshift({ path: 'node', reason: `is "${String(target)}", this node is "${node}"` });
  if (!r.success || issues.length) return { action: 'invalid', issues };
  const doc = r.data;
  if (doc.epoch === applied.epoch && doc.version <= applied.version) {
    return { action: 'stale', reason: `version ${doc.version} is not newer than the applied ${applied.version}` };
  }
  return { action: 'apply', doc };
}
