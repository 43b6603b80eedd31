/**
 * core/v1 Namespace. Deleting one adds the `kubernetes` finalizer and sets deletionTimestamp;
 * the namespace controller (../controllers/namespace.ts) marks it Terminating, deletes what it
 * holds, then removes the finalizer, and the namespace goes. Edge deviation: no spec.finalizers
 * and no /finalize subresource — the finalizer lives in metadata.finalizers.
 */
import { AGE_COLUMN, ageOf, column, NAME_COLUMN } from '../../contract/kube/table.js';
import type { KubeObject } from '../../contract/kube/types.js';
import type { FieldIssue } from '../../core/errors.js';
import { DNS_LABEL } from '../../contract/resources/common.js';
import { isRecord } from './shared.js';
import type { ResourceDef } from './types.js';

export const NAMESPACE_FINALIZER = 'kubernetes';
const PHASES = ['Active', 'Terminating'];

const phaseOf = (o: KubeObject): string => (o.metadata.deletionTimestamp ? 'Terminating' : ((o.status as { phase?: string } | undefined)?.phase ?? 'Active'));

export const namespaceDef: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Namespace',
  plural: 'namespaces',
  singular: 'namespace',
  shortNames: ['ns'],
  categories: [],
  namespaced: false,
  verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: ['status'],
  strategicMerge: true,
  statusSubresource: true,
  defaults(obj) {
    const status = isRecord(obj.status) ? obj.status : {};
    if (typeof status.phase !== 'string') status.phase = 'Active';
    obj.status = status;
  },
  validate(obj) {
    const issues: FieldIssue[] = [];
    const name = obj.metadata.name ?? '';
    if (name.length > 63 || !DNS_LABEL.test(name)) {
      issues.push({ path: 'metadata.name', reason: `Invalid value: "${name}": a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character` });
    }
    for (const k of Object.keys(obj)) if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(k)) issues.push({ path: k, reason: 'unknown field' });
    if (obj.spec !== undefined) {
      if (!isRecord(obj.spec)) issues.push({ path: 'spec', reason: 'must be an object' });
      else {
        for (const k of Object.keys(obj.spec)) if (k !== 'finalizers') issues.push({ path: `spec.${k}`, reason: 'unknown field' });
        const f = obj.spec.finalizers;
        if (f !== undefined && (!Array.isArray(f) || f.some((x) => typeof x !== 'string'))) issues.push({ path: 'spec.finalizers', reason: 'must be a list of strings' });
      }
    }
    if (obj.status !== undefined) {
      if (!isRecord(obj.status)) issues.push({ path: 'status', reason: 'must be an object' });
      else {
        for (const k of Object.keys(obj.status)) if (k !== 'phase' && k !== 'conditions') issues.push({ path: `status.${k}`, reason: 'unknown field' });
        const p = obj.status.phase;
        if (p !== undefined && !PHASES.includes(p as string)) issues.push({ path: 'status.phase', reason: `Unsupported value: "${String(p)}": supported values: "Active", "Terminating"` });
      }
    }
    return issues;
  },
  fields: (o) => ({ 'status.phase': phaseOf(o) }),
  columns: [NAME_COLUMN, column('Status', 'The status of the namespace'), AGE_COLUMN],
  row: (o, now) => [o.metadata.name, phaseOf(o), ageOf(o.metadata.creationTimestamp, now)],
  schemaName: 'io.k8s.api.core.v1.Namespace',
  deletionFinalizers: [NAMESPACE_FINALIZER],
};
