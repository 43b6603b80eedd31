/**
 * coordination.k8s.io/v1 Lease: what relay replicas on one store elect their controller leader
 * with (controllers/leader.ts), and what any client may use for its own coordination. Validated
 * as kube-apiserver does: leaseDurationSeconds > 0, leaseTransitions >= 0, times as RFC 3339
 * with microseconds (MicroTime), strategy/preferredHolder refused (the CoordinatedLeaderElection
 * alpha is not served).
 */
import { AGE_COLUMN, ageOf, column, NAME_COLUMN } from '../../contract/kube/table.js';
import * as z from 'zod';
import { schemaIssues } from './shared.js';
import type { ResourceDef } from './types.js';

/** RFC 3339 with optional fraction (MicroTime writes 6 digits) */
const MICRO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const microTime = z.string().regex(MICRO_TIME, 'Invalid value: must be an RFC 3339 time (2006-01-02T15:04:05.000000Z)').nullable().optional();

export interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number | null;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number | null;
}

const leaseSchema = z.strictObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.unknown(),
  spec: z
    .strictObject({
      holderIdentity: z.string().max(253).nullable().optional(),
      leaseDurationSeconds: z.number().int().min(1, 'must be greater than 0').max(2 ** 31 - 1).nullable().optional(),
      acquireTime: microTime,
      renewTime: microTime,
      leaseTransitions: z.number().int().min(0, 'must be greater than or equal to 0').max(2 ** 31 - 1).nullable().optional(),
    })
    .optional(),
});

/** A time as a Lease carries it (MicroTime: microseconds, UTC). */
export function microTimeOf(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export const leaseDef: ResourceDef = {
  group: 'coordination.k8s.io',
  version: 'v1',
  kind: 'Lease',
  plural: 'leases',
  singular: 'lease',
  shortNames: [],
  categories: [],
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: [],
  strategicMerge: true,
  statusSubresource: false,
  validate: (obj) => schemaIssues(leaseSchema, obj),
  columns: [NAME_COLUMN, column('Holder', 'The identity of the current holder of the lease'), AGE_COLUMN],
  row: (o, now) => [o.metadata.name, (o.spec as LeaseSpec | undefined)?.holderIdentity ?? '', ageOf(o.metadata.creationTimestamp, now)],
  schemaName: 'io.k8s.api.coordination.v1.Lease',
};
