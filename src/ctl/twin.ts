/**
 * Twins of a Device as the API holds them (pure): `spec.properties[].desired` (what the node is
 * asked to reach) next to `status.twins[]` (what it reported, and the desired value it acted on).
 * `twin set` edits the desired values and nothing else.
 */
import { ValidationError, type FieldIssue } from '../core/errors.js';

type Obj = Record<string, unknown>;
const rec = (v: unknown): Obj => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.map(rec) : []);
const value = (v: unknown): string => {
  const x = rec(v).value;
  return typeof x === 'string' ? x : '';
};

export interface TwinRow {
  property: string;
  desired: string;
  reported: string;
  /** the desired value the node last acted on */
  observed: string;
}

export function twinRows(device: unknown): TwinRow[] {
  const d = rec(device);
  const status = new Map(list(rec(d.status).twins).map((t) => [String(t.propertyName), t]));
  return list(rec(d.spec).properties).map((p) => {
    const t = status.get(String(p.name)) ?? {};
    return { property: String(p.name), desired: value(p.desired), reported: value(t.reported), observed: value(t.observedDesired) };
  });
}

/** `PROP=VALUE` arguments as a map; a malformed one is a ValidationError naming it. */
export function parseAssignments(args: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  const issues: FieldIssue[] = [];
  for (const a of args) {
    const i = a.indexOf('=');
    if (i <= 0) issues.push({ path: a, reason: 'must be PROP=VALUE' });
    else out[a.slice(0, i)] = a.slice(i + 1);
  }
  if (issues.length || Object.keys(out).length === 0) throw new ValidationError(issues.length ? issues : [{ path: '', reason: 'at least one PROP=VALUE' }], 'twin set');
  return out;
}

/** The device's `spec.properties` with these desired values set (the API checks them against the model). */
export function withDesired(device: unknown, values: Record<string, string>): Obj[] {
  const props = list(rec(rec(device).spec).properties).map((p) => ({ ...p }));
  const issues: FieldIssue[] = [];
  for (const [name, v] of Object.entries(values)) {
    const p = props.find((x) => x.name === name);
    if (!p) issues.push({ path: name, reason: `the device has no property "${name}" (it has: ${props.map((x) => String(x.name)).join(', ') || 'none'})` });
    else p.desired = { ...rec(p.desired), value: v };
  }
  if (issues.length) throw new ValidationError(issues, 'twin set');
  return props;
}
