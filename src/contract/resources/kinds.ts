/**
 * The kinds the fleet syncs, and the generic checks every manifest passes before a kind's own
 * schema (pod.ts, configmap.ts, secret.ts, device.ts) looks at it. Shared by the relay (which
 * refuses bad objects with field paths), edgectl (which names kinds and their aliases) and the
 * node, which stores and reads every object as its whole manifest (`parseStored`).
 */
import type { FieldIssue } from '../../core/errors.js';
import { ValidationError } from '../../core/errors.js';
import * as z from 'zod';
import { toFieldIssues } from '../../lib/schema.js';

export interface KindInfo {
  kind: string;
  /** names accepted on the command line (`get pods`, `get po`, `get pod`) */
  aliases: string[];
  /** the apiVersions accepted */
  apiVersions: string[];
  /** true when the object must be placed on one node (spec.nodeName or --node); else it goes to every node */
  nodeBound: boolean;
  /** top-level fields besides apiVersion/kind/metadata */
  fields: string[];
}

export const KINDS: readonly KindInfo[] = [
  { kind: 'Pod', aliases: ['pods', 'pod', 'po'], apiVersions: ['v1'], nodeBound: true, fields: ['spec'] },
  { kind: 'ConfigMap', aliases: ['configmaps', 'configmap', 'cm'], apiVersions: ['v1'], nodeBound: false, fields: ['data', 'binaryData', 'immutable'] },
  { kind: 'Secret', aliases: ['secrets', 'secret'], apiVersions: ['v1'], nodeBound: false, fields: ['data', 'stringData', 'type', 'immutable'] },
  {
    kind: 'DeviceModel',
    aliases: ['devicemodels', 'devicemodel', 'dm'],
    apiVersions: ['devices.kubeedge.io/v1beta1'],
    nodeBound: false,
    fields: ['spec'],
  },
  {
    kind: 'Device',
    aliases: ['devices', 'device', 'dev'],
    apiVersions: ['devices.kubeedge.io/v1beta1'],
    nodeBound: true,
    fields: ['spec'],
  },
];

export const SYNCED_KINDS: readonly string[] = KINDS.map((k) => k.kind);

export function kindInfo(kind: string): KindInfo | undefined {
  return KINDS.find((k) => k.kind === kind);
}

/** `pods`, `po`, `Pod` → 'Pod'. */
export function resolveKind(name: string): string | undefined {
  const n = name.toLowerCase();
  return KINDS.find((k) => k.kind.toLowerCase() === n || k.aliases.includes(n))?.kind;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const nameSchema = z.string().min(1, 'required').max(253).regex(DNS_SUBDOMAIN, 'must be lower-case letters, digits, - and .');
export const namespaceSchema = z.string().max(63).regex(DNS_LABEL, 'must be a DNS label: lower-case letters, digits and -');
export const nodeNameSchema = z.string().max(63).regex(DNS_LABEL, 'must be a DNS label: lower-case letters, digits and -');

const metadataSchema = z.strictObject({
  name: nameSchema,
  namespace: namespaceSchema.optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  // accepted and ignored when a manifest is re-applied from `get -o yaml`
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.number().optional(),
  creationTimestamp: z.string().optional(),
});

/** A manifest that passed the generic checks: namespace filled in, status and server fields removed. */
export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** A kind's own validator: throws ValidationError (paths relative to the manifest root). */
export type KindValidator = (manifest: Manifest) => void;

/** Validators per kind, plugged in by whoever owns that kind's schema (see registry.ts). */
export class KindRegistry {
  private readonly validators = new Map<string, KindValidator>();

  register(kind: string, v: KindValidator): this {
    this.validators.set(kind, v);
    return this;
  }

  has(kind: string): boolean {
    return this.validators.has(kind);
  }

  /** Generic checks, then the kind's own. Returns the normalised manifest; throws ValidationError. */
  validate(input: unknown, subject = 'object'): Manifest {
    const issues: FieldIssue[] = [];
    if (!input || typeof input !== 'object' || Array.isArray(input)) {
      throw new ValidationError([{ path: '', reason: 'must be an object with apiVersion, kind and metadata' }], subject);
    }
    const obj = input as Record<string, unknown>;
    const kind = typeof obj.kind === 'string' ? obj.kind : undefined;
    const info = kind ? kindInfo(kind) : undefined;
    if (!kind) issues.push({ path: 'kind', reason: 'required' });
    else if (!info) issues.push({ path: 'kind', reason: `unsupported kind "${kind}" (supported: ${SYNCED_KINDS.join(', ')})` });
    if (typeof obj.apiVersion !== 'string' || !obj.apiVersion) issues.push({ path: 'apiVersion', reason: 'required' });
    else if (info && !info.apiVersions.includes(obj.apiVersion)) {
      issues.push({ path: 'apiVersion', reason: `must be one of ${info.apiVersions.join(', ')} for ${info.kind}` });
    }
    const meta = metadataSchema.safeParse(obj.metadata);
    if (obj.metadata === undefined) issues.push({ path: 'metadata', reason: 'required' });
    else if (!meta.success) issues.push(...toFieldIssues(meta.error, 'metadata'));
    if (info) {
      for (const k of Object.keys(obj)) {
        if (['apiVersion', 'kind', 'metadata', 'status'].includes(k) || info.fields.includes(k)) continue;
        issues.push({ path: k, reason: 'unknown field' });
      }
    }
    const sub = kind && obj.metadata && typeof obj.metadata === 'object' ? `${kind} ${String((obj.metadata as { name?: unknown }).name ?? '')}`.trim() : subject;
    if (issues.length > 0) throw new ValidationError(issues, sub);
    const m = meta.data!;
    const out: Manifest = {
      ...obj,
      apiVersion: obj.apiVersion as string,
      kind: kind!,
      metadata: {
        name: m.name,
        namespace: m.namespace ?? 'default',
        ...(m.labels ? { labels: m.labels } : {}),
        ...(m.annotations ? { annotations: m.annotations } : {}),
      },
    };
    delete out.status;
    this.validators.get(kind!)?.(out);
    return out;
  }
}

/**
 * An object as the node stores it: the whole manifest, parsed by its kind's schema, whose
 * metadata must name the object's store key (a manifest without a namespace is in "default").
 * Throws ValidationError with field paths.
 */
export function parseStored<T extends { metadata: { name: string; namespace?: string | undefined } }>(
  parse: (value: unknown) => T,
  value: unknown,
  key: { kind: string; namespace: string; name: string },
): T {
  const m = parse(value);
  const issues: FieldIssue[] = [];
  if (m.metadata.name !== key.name) issues.push({ path: 'metadata.name', reason: `must be "${key.name}" (the object's key)` });
  if ((m.metadata.namespace ?? 'default') !== key.namespace) issues.push({ path: 'metadata.namespace', reason: `must be "${key.namespace}" (the object's key)` });
  if (issues.length) throw new ValidationError(issues, key.kind);
  return m;
}
