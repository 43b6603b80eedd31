/** Kubernetes v1 ConfigMap, the subset edgecore supports. Shared by node, relay and edgectl. */
import * as z from 'zod';
import { parseOrThrow } from '../../lib/schema.js';
import { base64, dataRecord, metadataSchema } from './common.js';

export const configMapSchema = z
  .strictObject({
    apiVersion: z.literal('v1').default('v1'),
    kind: z.literal('ConfigMap').default('ConfigMap'),
    metadata: metadataSchema,
    data: dataRecord(z.string()).default({}),
    binaryData: dataRecord(base64).default({}),
    immutable: z.boolean().optional(),
  })
  .superRefine((cm, ctx) => {
    for (const k of Object.keys(cm.binaryData)) {
      if (k in cm.data) ctx.addIssue({ code: 'custom', path: ['binaryData', k], message: 'key also present in data' });
    }
  });

export type ConfigMap = z.output<typeof configMapSchema>;

/** Validate a ConfigMap manifest; throws ValidationError with field paths. */
export function parseConfigMap(value: unknown): ConfigMap {
  return parseOrThrow(configMapSchema, value, 'ConfigMap');
}

/** Every key's content as bytes (data as UTF-8, binaryData decoded). */
export function configMapFiles(cm: ConfigMap): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const [k, v] of Object.entries(cm.data)) out.set(k, Buffer.from(v, 'utf8'));
  for (const [k, v] of Object.entries(cm.binaryData)) out.set(k, Buffer.from(v, 'base64'));
  return out;
}
