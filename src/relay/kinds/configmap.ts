/** core/v1 ConfigMap: the contract's schema (src/contract/resources/configmap.ts), immutability, the 1 MiB cap. */
import { AGE_COLUMN, ageOf, column, NAME_COLUMN } from '../../contract/kube/table.js';
import { configMapSchema } from '../../contract/resources/configmap.js';
import type { FieldIssue } from '../../core/errors.js';
import { stableStringify } from '../../lib/json.js';
import { isRecord, MAX_PAYLOAD_BYTES, payloadBytes, schemaIssues } from './shared.js';
import type { ResourceDef } from './types.js';

const keys = (v: unknown): number => (isRecord(v) ? Object.keys(v).length : 0);

export const configMapDef: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'ConfigMap',
  plural: 'configmaps',
  singular: 'configmap',
  shortNames: ['cm'],
  categories: [],
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: [],
  strategicMerge: true,
  statusSubresource: false,
  validate(obj, old) {
    const issues: FieldIssue[] = schemaIssues(configMapSchema, obj);
    const data = obj.data as Record<string, unknown> | undefined;
    const bin = obj.binaryData as Record<string, unknown> | undefined;
    if (payloadBytes(data, bin) > MAX_PAYLOAD_BYTES) issues.push({ path: 'data', reason: `Too long: must have at most ${MAX_PAYLOAD_BYTES} bytes` });
    if (old?.immutable === true) {
      if (obj.immutable !== true) issues.push({ path: 'immutable', reason: 'Forbidden: field is immutable when `immutable` is set' });
      if (stableStringify(obj.data ?? {}) !== stableStringify(old.data ?? {})) issues.push({ path: 'data', reason: 'Forbidden: field is immutable when `immutable` is set' });
      if (stableStringify(obj.binaryData ?? {}) !== stableStringify(old.binaryData ?? {})) issues.push({ path: 'binaryData', reason: 'Forbidden: field is immutable when `immutable` is set' });
    }
    return issues;
  },
  columns: [NAME_COLUMN, column('Data', 'Number of data entries', 0, 'integer'), AGE_COLUMN],
  row: (o, now) => [o.metadata.name, keys(o.data) + keys(o.binaryData), ageOf(o.metadata.creationTimestamp, now)],
  schemaName: 'io.k8s.api.core.v1.ConfigMap',
};
