/**
 * Label and field selectors as Kubernetes parses and matches them (pure; the relay's API and
 * the node's MetaServer both use them). A parse error names the offending requirement.
 *
 * Labels: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x,y)`, `a` (exists), `!a` (absent),
 * comma-separated, all must hold. Fields: `a=b`, `a==b`, `a!=b`, comma-separated, with `\,`
 * `\=` `\\` escapes in values; the field names a kind supports are checked by the caller.
 */

export type LabelOperator = 'in' | 'notin' | 'exists' | 'absent';

export interface LabelRequirement {
  key: string;
  op: LabelOperator;
  values: string[];
}

export interface FieldRequirement {
  field: string;
  op: '=' | '!=';
  value: string;
}

export class SelectorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SelectorError';
  }
}

const NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why a label key is not valid, or undefined when it is (prefix/name, name ≤ 63, prefix a DNS subdomain ≤ 253). */
export function labelKeyProblem(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !PREFIX.test(prefix))) return 'prefix part must be a DNS subdomain (lower-case letters, digits, - and .)';
  if (name.length === 0) return 'name part must be non-empty';
  if (name.length > 63) return 'name part must be no more than 63 characters';
  if (!NAME.test(name)) return "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  return undefined;
}

/** Why a label value is not valid, or undefined when it is (empty allowed, ≤ 63). */
export function labelValueProblem(v: string): string | undefined {
  if (v === '') return undefined;
  if (v.length > 63) return 'must be no more than 63 characters';
  if (!NAME.test(v)) return "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
  return undefined;
}

/** Split on commas that are not inside parentheses. */
function splitTop(s: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of s) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

function checkKey(key: string, req: string): void {
  const p = labelKeyProblem(key);
  if (p) throw new SelectorError(`unable to parse requirement: invalid label key "${key}": ${p} (in "${req}")`);
}

function checkValue(v: string, req: string): void {
  const p = labelValueProblem(v);
  if (p) throw new SelectorError(`unable to parse requirement: invalid label value "${v}": ${p} (in "${req}")`);
}

export function parseLabelSelector(text: string | undefined | null): LabelRequirement[] {
  const s = (text ?? '').trim();
  if (!s) return [];
  const out: LabelRequirement[] = [];
  for (const raw of splitTop(s)) {
    const req = raw.trim();
    if (!req) throw new SelectorError(`found '', expected: identifier (in "${s}")`);
    let m = /^(\S+?)\s+(in|notin)\s*\((.*)\)$/.exec(req);
    if (m) {
      const key = m[1]!;
      checkKey(key, req);
      const values = m[3]!.split(',').map((v) => v.trim());
      if (values.length === 1 && values[0] === '') throw new SelectorError(`for 'in', 'notin' operators, values set can't be empty (in "${req}")`);
      for (const v of values) checkValue(v, req);
      out.push({ key, op: m[2] as 'in' | 'notin', values });
      continue;
    }
    m = /^([^=!\s]+)\s*(==|=|!=)\s*(.*)$/.exec(req);
    if (m) {
      const key = m[1]!;
      checkKey(key, req);
      const value = m[3]!.trim();
      checkValue(value, req);
      out.push({ key, op: m[2] === '!=' ? 'notin' : 'in', values: [value] });
      continue;
    }
    m = /^(!?)\s*([^=!\s()]+)$/.exec(req);
    if (m) {
      checkKey(m[2]!, req);
      out.push({ key: m[2]!, op: m[1] ? 'absent' : 'exists', values: [] });
      continue;
    }
    throw new SelectorError(`unable to parse requirement: "${req}"`);
  }
  return out;
}

export function matchLabels(reqs: readonly LabelRequirement[], labels: Readonly<Record<string, string>> | undefined): boolean {
  const l = labels ?? {};
  for (const r of reqs) {
    const has = Object.hasOwn(l, r.key);
    switch (r.op) {
      case 'exists':
        if (!has) return false;
        break;
      case 'absent':
        if (has) return false;
        break;
      case 'in':
        if (!has || !r.values.includes(l[r.key]!)) return false;
        break;
      case 'notin':
        if (has && r.values.includes(l[r.key]!)) return false;
        break;
    }
  }
  return true;
}

/** Split a field selector on unescaped commas, then each term on its operator; unescape the value. */
export function parseFieldSelector(text: string | undefined | null): FieldRequirement[] {
  const s = (text ?? '').trim();
  if (!s) return [];
  const terms: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const ch = s[i]!;
    if (ch === '\\' && i + 1 < s.length) {
      cur += ch + s[++i]!;
    } else if (ch === ',') {
      terms.push(cur);
      cur = '';
    } else cur += ch;
  }
  terms.push(cur);
  const out: FieldRequirement[] = [];
  for (const term of terms) {
    const m = /^([^=!\\]+?)\s*(==|=|!=)(.*)$/s.exec(term.trim());
    if (!m || !m[1]!.trim()) throw new SelectorError(`invalid selector: '${term}'; can't understand '${term}'`);
    let value = '';
    const rawValue = m[3]!;
    for (let i = 0; i < rawValue.length; i++) {
      const ch = rawValue[i]!;
      if (ch === '\\') {
        const next = rawValue[i + 1];
        if (next === undefined || !'\\,='.includes(next)) throw new SelectorError(`invalid field selector: invalid escape sequence in '${term}'`);
        value += next;
        i++;
      } else if (ch === '=' || ch === ',') {
        throw new SelectorError(`invalid field selector: unescaped '${ch}' in '${term}'`);
      } else value += ch;
    }
    out.push({ field: m[1]!.trim(), op: m[2] === '!=' ? '!=' : '=', value });
  }
  return out;
}

export function matchFields(reqs: readonly FieldRequirement[], fields: Readonly<Record<string, string>>): boolean {
  for (const r of reqs) {
    const v = fields[r.field] ?? '';
    if (r.op === '=' ? v !== r.value : v === r.value) return false;
  }
  return true;
}

/** A label selector's text from a LabelSelector object (matchLabels + matchExpressions), as Deployments carry it. */
export function labelSelectorText(sel: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] }): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) parts.push(`${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    const op = e.operator.toLowerCase();
    if (op === 'in' || op === 'notin') parts.push(`${e.key} ${op} (${(e.values ?? []).join(',')})`);
    else if (op === 'exists') parts.push(e.key);
    else if (op === 'doesnotexist') parts.push(`!${e.key}`);
  }
  return parts.join(',');
}
