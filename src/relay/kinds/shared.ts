/** Small pieces the kind definitions share: contract-schema validation of a whole object, row helpers. */
import type { KubeObject } from '../../contract/kube/types.js';
import type { FieldIssue } from '../../core/errors.js';
import type * as z from 'zod';
import { toFieldIssues } from '../../lib/schema.js';

/**
 * Validate an object's kind-specific part with a contract schema (strict: unknown fields come
 * back as `unknown field` issues). Metadata was checked by the API machinery already, so the
 * schema sees only the fields it knows: name, namespace, labels, annotations.
 */
export function schemaIssues(schema: z.ZodType, obj: KubeObject): FieldIssue[] {
  const m = obj.metadata;
  const metadata = {
    name: m.name,
    ...(m.namespace ? { namespace: m.namespace } : {}),
    ...(m.labels ? { labels: m.labels } : {}),
    ...(m.annotations ? { annotations: m.annotations } : {}),
  };
  const r = schema.safeParse({ ...obj, metadata });
  // metadata issues are the machinery's (it checked the whole metadata already)
  return r.success ? [] : toFieldIssues(r.error).filter((i) => i.path !== 'metadata' && !i.path.startsWith('metadata.'));
}

export const isRecord = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Bytes of a ConfigMap/Secret payload (k8s caps the total at 1 MiB). */
export function payloadBytes(...maps: (Record<string, unknown> | undefined)[]): number {
  let n = 0;
  for (const m of maps) for (const [k, v] of Object.entries(m ?? {})) n += k.length + (typeof v === 'string' ? v.length : 0);
  return n;
}

export const MAX_PAYLOAD_BYTES = 1024 * 1024;
