/**
 * Schema helpers on top of zod: strict objects (unknown keys are refused), sections whose
 * defaults fill in when the section is absent, and zod issues turned into field-path issues.
 */
import * as z from 'zod';
import { ValidationError, type FieldIssue } from '../core/errors.js';

/** An object whose unknown keys are refused and which defaults to `{}` (so inner defaults apply). */
export function section<T extends z.ZodRawShape>(shape: T) {
  return z.strictObject(shape).prefault({} as never);
}

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

export function toFieldIssues(err: z.ZodError, prefix = ''): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const join = (p: string): string => (prefix ? (p ? (p.startsWith('[') ? prefix + p : `${prefix}.${p}`) : prefix) : p);
  for (const i of err.issues) {
    const base = formatPath(i.path);
    if (i.code === 'unrecognized_keys') {
      for (const k of i.keys) issues.push({ path: join(base ? `${base}.${k}` : k), reason: 'unknown field' });
    } else {
      issues.push({ path: join(base), reason: i.message });
    }
  }
  return collapse(issues);
}

/**
 * One line per problem: exact repeats go, and so does a check on an object that failed only because
 * one of its keys is unknown ("exactly one of ..." beside "valueFrom.fieldRef: unknown field").
 */
function collapse(issues: FieldIssue[]): FieldIssue[] {
  const seen = new Set<string>();
  const unknown = issues.filter((i) => i.reason === 'unknown field').map((i) => i.path);
  return issues.filter((i) => {
    const k = `${i.path}\u0000${i.reason}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return i.reason === 'unknown field' || !unknown.some((u) => u.startsWith(`${i.path}.`) || u.startsWith(`${i.path}[`) || (i.path === '' && u !== ''));
  });
}

/** Parse or throw a ValidationError naming every bad field. */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, subject: string, prefix = ''): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw new ValidationError(toFieldIssues(r.error, prefix), subject);
  return r.data;
}

