/**
 * Small pure helpers shared by the kind definitions: reading untyped objects safely, `kubectl`-style
 * ages and cells, Kubernetes' null handling, and field-level differences between two objects.
 */
import type { TableColumnDefinition } from '../../contract/kube/types.js';
import type { FieldIssue } from '../../core/errors.js';
import { toFieldIssues, type z } from '../../lib/schema.js';

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

/** A Table column as Kubernetes declares it (priority 1 = shown only with `-o wide`). */
export function column(name: string, description: string, priority = 0, format = ''): TableColumnDefinition {
  return { name, type: 'string', format, description, priority };
}
export const NAME_COLUMN = column('Name', 'Name of the object, unique within its namespace.', 0, 'name');
export const AGE_COLUMN = column('Age', 'Time since the object was created.');

/**
 * A duration as kubectl prints ages: seconds up to 2 minutes, then minutes (with seconds under 10
 * minutes), hours (with minutes under 8 hours), days (with hours under 8 days) and years.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

/** Time since an RFC 3339 timestamp, or `<unknown>` when there is none. */
export function since(timestamp: unknown, now: Date): string {
  const t = typeof timestamp === 'string' && timestamp ? Date.parse(timestamp) : NaN;
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now.getTime() - t);
}

export function ageCell(obj: { metadata?: { creationTimestamp?: string } }, now: Date): string {
  return since(obj.metadata?.creationTimestamp, now);
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
