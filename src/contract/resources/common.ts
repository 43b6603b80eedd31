/**
 * Pieces shared by the Kubernetes v1 subset schemas (Pod, ConfigMap, Secret): object metadata,
 * names and quantities. Strict objects: a field we do not support is refused with its path.
 */
import * as z from 'zod';

export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** ConfigMap/Secret data keys (file names in volumes, env names in envFrom) */
export const DATA_KEY = /^[-._a-zA-Z0-9]+$/;

export const dnsLabel = z.string().max(63).regex(DNS_LABEL, 'must be a DNS label: lower-case letters, digits and -');
export const dnsSubdomain = z.string().max(253).regex(DNS_SUBDOMAIN, 'must be a DNS subdomain: lower-case letters, digits, - and .');

export const metadataSchema = z.strictObject({
  name: dnsSubdomain,
  namespace: dnsLabel.default('default'),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: z.string().nullable().optional(),
  generation: z.number().int().optional(),
  /** set by the API server when the object is being deleted (graceful deletion) */
  deletionTimestamp: z.string().optional(),
  deletionGracePeriodSeconds: z.number().int().min(0).optional(),
  /** bookkeeping of the API server and controllers: kept, no meaning on the node */
  generateName: z.string().optional(),
  ownerReferences: z
    .array(z.strictObject({ apiVersion: z.string(), kind: z.string(), name: z.string(), uid: z.string(), controller: z.boolean().optional(), blockOwnerDeletion: z.boolean().optional() }))
    .optional(),
  finalizers: z.array(z.string()).optional(),
  managedFields: z.array(z.record(z.string(), z.unknown())).optional(),
  selfLink: z.string().optional(),
});
export type ObjectMeta = z.output<typeof metadataSchema>;

const CPU = /^(\d+(\.\d+)?|\.\d+)(m)?$/;
const MEM = /^(\d+(\.\d+)?)(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/;
const MEM_UNITS: Record<string, number> = { '': 1, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };

/** CPU quantity ("500m", "1", "0.25", or a number) → nano-CPUs. Undefined when malformed. */
export function cpuToNano(q: string | number): number | undefined {
  const s = String(q);
  const m = CPU.exec(s);
  if (!m) return undefined;
  const v = Number(m[1]);
  return Math.round(m[3] ? v * 1e6 : v * 1e9);
}

/** Memory quantity ("128Mi", "1G", bytes) → bytes. Undefined when malformed. */
export function memoryToBytes(q: string | number): number | undefined {
  const m = MEM.exec(String(q));
  if (!m) return undefined;
  return Math.round(Number(m[1]) * MEM_UNITS[m[3] ?? '']!);
}

export const cpuQuantity = z.union([z.string(), z.number()]).refine((q) => (cpuToNano(q) ?? 0) > 0, 'must be a positive CPU quantity like 500m or 1.5');
export const memoryQuantity = z
  .union([z.string(), z.number()])
  .refine((q) => (memoryToBytes(q) ?? 0) >= 4 * 1024 * 1024, 'must be a memory quantity of at least 4Mi, like 64Mi or 1G');

/** Base64 text (Secret data, ConfigMap binaryData). */
export const base64 = z.string().regex(/^[A-Za-z0-9+/]*={0,2}$/, 'must be base64');

/** A file mode given as a number (YAML octal 0644 reads as 420) between 0 and 0777. */
export const fileMode = z.number().int().min(0).max(0o777);

/** A map keyed by ConfigMap/Secret data keys; a bad key is named in the issue path. */
export function dataRecord<V extends z.ZodType>(value: V) {
  return z.record(z.string(), value).superRefine((r, ctx) => {
    for (const k of Object.keys(r)) {
      if (k.length > 253 || !DATA_KEY.test(k)) ctx.addIssue({ code: 'custom', path: [k], message: 'must be letters, digits, -, _ or .' });
    }
  });
}

const QUALIFIED_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
/** Label values: empty, or at most 63 letters, digits, -, _ and . that start and end alphanumeric. */
export const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

/**
 * Why `s` is not a Kubernetes qualified name (label keys, taint and toleration keys): an optional
 * DNS-subdomain prefix and `/`, then a name of at most 63 characters. Undefined when it is one.
 */
export function qualifiedNameProblem(s: string): string | undefined {
  const parts = s.split('/');
  if (parts.length > 2) return 'must be a qualified name: an optional DNS prefix and "/", then a name';
  const name = parts[parts.length - 1]!;
  const prefix = parts.length === 2 ? parts[0]! : undefined;
  if (prefix !== undefined && (prefix.length === 0 || prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return 'the prefix must be a DNS subdomain';
  if (name.length === 0 || name.length > 63 || !QUALIFIED_PART.test(name)) {
    return 'the name part must be at most 63 letters, digits, -, _ or . and start and end with a letter or digit';
  }
  return undefined;
}

export const qualifiedName = z.string().superRefine((s, ctx) => {
  const why = qualifiedNameProblem(s);
  if (why) ctx.addIssue({ code: 'custom', message: why });
});
export const labelValue = z.string().max(63).regex(LABEL_VALUE, 'must be at most 63 letters, digits, -, _ or . and start and end with a letter or digit');
