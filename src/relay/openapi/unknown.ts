/**
 * Fields an object carries that its schema does not declare, for `fieldValidation=Strict`
 * (refuse, 400) and `Warn` (a Warning header each). Paths are written as Kubernetes reports
 * them: `spec.containers[0].imagePullPolicyy`. Free-form places (maps, preserved unknown
 * fields) have no unknown fields.
 */
import type { TypeNode, TypeInfo } from './typeinfo.js';

export function unknownFields(obj: unknown, typeInfo: TypeInfo | undefined): string[] {
  if (!typeInfo) return [];
  const out: string[] = [];
  walk(obj, typeInfo.root, '', out);
  return out;
}

function walk(v: unknown, node: TypeNode, path: string, out: string[]): void {
  if (v === null || typeof v !== 'object') return;
  if (Array.isArray(v)) {
    if (node.kind !== 'list') return;
    const elem = node.elem();
    v.forEach((item, i) => walk(item, elem, `${path}[${i}]`, out));
    return;
  }
  if (node.kind === 'struct') {
    for (const [k, child] of Object.entries(v)) {
      const p = path ? `${path}.${k}` : k;
      const f = node.field(k);
      if (!f) out.push(p);
      else walk(child, f, p, out);
    }
  } else if (node.kind === 'map') {
    const elem = node.elem();
    for (const [k, child] of Object.entries(v)) walk(child, elem, path ? `${path}.${k}` : k, out);
  }
}
