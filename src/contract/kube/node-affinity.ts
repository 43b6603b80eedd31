/**
 * Node affinity as Kubernetes evaluates it, shared by the relay's scheduler (which places pods)
 * and the node's edged (which admits them, as the kubelet does): a NodeSelectorRequirement on a
 * node's labels or fields, and a NodeSelectorTerm (every requirement holds; an empty term
 * matches nothing). Terms of a required affinity are OR'ed by the callers.
 */

export interface NodeRequirement {
  key: string;
  operator: string;
  values?: readonly string[];
}

export interface NodeTerm {
  matchExpressions?: readonly NodeRequirement[];
  matchFields?: readonly NodeRequirement[];
}

/** `value` is the label's (or field's) value, undefined when the node has none. */
export function requirementHolds(r: NodeRequirement, value: string | undefined): boolean {
  const vals = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && vals.includes(value);
    case 'NotIn':
      return value === undefined || !vals.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      // one integer value; a label that is not an integer matches neither (strconv.ParseInt)
      if (value === undefined || !/^-?\d+$/.test(value) || vals.length !== 1 || !/^-?\d+$/.test(vals[0] ?? '')) return false;
      const a = Number(value);
      const b = Number(vals[0]);
      return r.operator === 'Gt' ? a > b : a < b;
    }
    default:
      return false;
  }
}

/** A term on a node with these labels and this name (the one field matchFields may name). */
export function termMatches(term: NodeTerm, labels: Readonly<Record<string, string>>, nodeName: string): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (!exprs.length && !fields.length) return false;
  return exprs.every((r) => requirementHolds(r, Object.hasOwn(labels, r.key) ? labels[r.key] : undefined)) && fields.every((r) => requirementHolds(r, r.key === 'metadata.name' ? nodeName : undefined));
}
