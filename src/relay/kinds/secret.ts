/**
 * core/v1 Secret: the contract's schema (src/contract/resources/secret.ts). As in Kubernetes,
 * `stringData` is write-only: it is folded into `data` (base64) before the object is stored.
 * Edge deviation: `type` is one of the contract's types (Opaque, dockerconfigjson, basic-auth, tls).
 */
import { AGE_COLUMN, ageOf, column, NAME_COLUMN } from '../../contract/kube/table.js';
import { secretSchema } from '../../contract/resources/secret.js';
import type { FieldIssue } from '../../core/errors.js';
import { stableStringify } from '../../lib/json.js';
import { isRecord, MAX_PAYLOAD_BYTES, payloadBytes, schemaIssues } from './shared.js';
import type { ResourceDef } from './types.js';

const typeOf = (o: Record<string, unknown>): string => (typeof o.type === 'string' ? o.type : 'Opaque');

export const secretDef: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Secret',
  plural: 'secrets',
  singular: 'secret',
  shortNames: [],
  categories: [],
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: [],
  strategicMerge: true,
  statusSubresource: false,
  defaults(obj) {
    if (obj.type === undefined) obj.type = 'Opaque';
    if (isRecord(obj.stringData)) {
      const data = isRecord(obj.data) ? obj.data : {};
      for (const [k, v] of Object.entries(obj.stringData)) if (typeof v === 'string') data[k] = Buffer.from(v, 'utf8').toString('base64');
      obj.data = data;
      delete obj.stringData;
    }
  },
  validate(obj, old) {
    const issues: FieldIssue[] = schemaIssues(secretSchema, obj);
    if (payloadBytes(obj.data as Record<string, unknown> | undefined) > MAX_PAYLOAD_BYTES) issues.push({ path: 'data', reason: `Too long: must have at most ${MAX_PAYLOAD_BYTES} bytes` });
    if (old) {
      if (typeOf(obj) !== typeOf(old)) issues.push({ path: 'type', reason: `Invalid value: "${typeOf(obj)}": field is immutable` });
      if (old.immutable === true) {
        if (obj.immutable !== true) issues.push({ path: 'immutable', reason: 'Forbidden: field is immutable when `immutable` is set' });
        if (stableStringify(obj.data ?? {}) !== stableStringify(old.data ?? {})) issues.push({ path: 'data', reason: 'Forbidden: field is immutable when `immutable` is set' });
      }
    }
    return issues;
  },
  fields: (o) => ({ type: typeOf(o) }),
  columns: [NAME_COLUMN, column('Type', 'The type of the secret'), column('Data', 'Number of data entries', 0, 'integer'), AGE_COLUMN],
  row: (o, now) => [o.metadata.name, typeOf(o), isRecord(o.data) ? Object.keys(o.data).length : 0, ageOf(o.metadata.creationTimestamp, now)],
  schemaName: 'io.k8s.api.core.v1.Secret',
};
