/**
 * Small pure helpers shared by the kind definitions: reading untyped objects safely, `kubectl`
 * cells, Kubernetes' null handling, and field-level differences between two objects. Ages and the
 * usual columns are src/contract/kube/table.ts.
 */
import type { FieldIssue } from '../../core/errors.js';
import type * as z from 'zod';
import { toFieldIssues } from '../../lib/schema.js';

export type Obj = Record<string, unknown>;

/** `v` when it is a plain object (not an array), else undefined. */
export function rec(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}
export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
export function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}
export function int(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : 0;
}

/** A cell that may be empty: kubectl's `<none>`. */
export function orNone(v: string | undefined): string {
  return v ? v : '<none>';
}

/** A list cell: the first `max` items, then "+ N more..." as kubectl prints endpoints. */
export function listCell(items: string[], max = 3): string {
  if (items.length === 0) return '<none>';
  const head = items.slice(0, max).join(',');
  return items.length > max ? `${head} + ${items.length - max} more...` : head;
}

/**
 * Kubernetes' null handling, in place: a property whose value is null means "absent" (built-in
 * types decode null to the zero value; custom resources prune nulls before defaulting). Under a
 * property named in `preserve` (free maps such as configData) values are kept as written, nulls
 * included. Array elements are left alone so validation names a null element by its index.
 */
export function pruneNulls(value: unknown, preserve: ReadonlySet<string> = new Set()): void {
  if (Array.isArray(value)) {
    for (const v of value) pruneNulls(v, preserve);
    return;
  }
  const o = rec(value);
  if (!o) return;
  for (const k of Object.keys(o)) {
    if (o[k] === null) delete o[k];
    else if (!preserve.has(k)) pruneNulls(o[k], preserve);
  }
}

/** Field paths (`spec.containers[0].image`) where `a` and `b` differ; at most `limit` of them. */
export function diffPaths(a: unknown, b: unknown, base: string, limit = 10): string[] {
  const out: string[] = [];
  const walk = (x: unknown, y: unknown, path: string): void => {
    if (out.length >= limit) return;
    if (Array.isArray(x) && Array.isArray(y)) {
      if (x.length !== y.length) out.push(path);
      else x.forEach((v, i) => walk(v, y[i], `${path}[${i}]`));
      return;
    }
    const ox = rec(x);
    const oy = rec(y);
    if (ox && oy) {
      for (const k of [...new Set([...Object.keys(ox), ...Object.keys(oy)])].sort()) walk(ox[k], oy[k], path ? `${path}.${k}` : k);
      return;
    }
    if (x !== y) out.push(path);
  };
  walk(a, b, base);
  return out;
}

export function sameJson(a: unknown, b: unknown): boolean {
  return diffPaths(a, b, '', 1).length === 0;
}

/** Parse with a schema and return its problems as field issues under `prefix` (none when it parses). */
export function schemaIssues(schema: z.ZodType, value: unknown, prefix = ''): FieldIssue[] {
  const r = schema.safeParse(value);
  return r.success ? [] : toFieldIssues(r.error, prefix);
}
