/**
 * core/v1 Event. `kubectl describe` lists a pod's events with the field selector
 * involvedObject.namespace/uid/name, so those are selectable (with the rest kube-apiserver offers).
 */
import { ageOf, column } from '../../contract/kube/table.js';
import type { KubeObject } from '../../contract/kube/types.js';
import type { FieldIssue } from '../../core/errors.js';
import * as z from 'zod';
import { toFieldIssues } from '../../lib/schema.js';
import type { ResourceDef } from './types.js';

const time = z.string().nullable().optional();

const eventSchema = z.strictObject({
  apiVersion: z.string(),
  kind: z.string(),
  metadata: z.unknown(),
  involvedObject: z.strictObject({
    kind: z.string().min(1, 'Required value'),
    name: z.string().min(1, 'Required value'),
    namespace: z.string().optional(),
    uid: z.string().optional(),
    apiVersion: z.string().optional(),
    resourceVersion: z.string().optional(),
    fieldPath: z.string().optional(),
  }),
  reason: z.string().max(128).optional(),
  message: z.string().max(4096).optional(),
  source: z.strictObject({ component: z.string().optional(), host: z.string().optional() }).optional(),
  firstTimestamp: time,
  lastTimestamp: time,
  eventTime: time,
  count: z.number().int().min(0).optional(),
  type: z.enum(['Normal', 'Warning']).optional(),
  action: z.string().max(128).optional(),
  related: z
    .strictObject({ kind: z.string().optional(), name: z.string().optional(), namespace: z.string().optional(), uid: z.string().optional(), apiVersion: z.string().optional(), fieldPath: z.string().optional() })
    .optional(),
  reportingComponent: z.string().optional(),
  reportingInstance: z.string().optional(),
  series: z.strictObject({ count: z.number().int().min(0).optional(), lastObservedTime: time }).optional(),
});

interface EventShape {
  involvedObject?: { kind?: string; name?: string; namespace?: string; uid?: string; apiVersion?: string; resourceVersion?: string; fieldPath?: string };
  reason?: string;
  message?: string;
  source?: { component?: string; host?: string };
  firstTimestamp?: string | null;
  lastTimestamp?: string | null;
  eventTime?: string | null;
  count?: number;
  type?: string;
  reportingComponent?: string;
  series?: { count?: number; lastObservedTime?: string | null };
}

const ev = (o: KubeObject): EventShape => o as unknown as EventShape;

function lastSeen(o: KubeObject, now: Date): string {
  const e = ev(o);
  const last = e.series?.lastObservedTime ?? e.lastTimestamp ?? e.eventTime ?? o.metadata.creationTimestamp;
  const seen = ageOf(last ?? undefined, now);
  const count = e.series?.count ?? e.count ?? 1;
  if (count > 1) {
    const first = e.firstTimestamp ?? e.eventTime ?? o.metadata.creationTimestamp;
    return `${seen} (x${count} over ${ageOf(first ?? undefined, now)})`;
  }
  return seen;
}

export const eventDef: ResourceDef = {
  group: '',
  version: 'v1',
  kind: 'Event',
  plural: 'events',
  singular: 'event',
  shortNames: ['ev'],
  categories: [],
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: [],
  strategicMerge: true,
  statusSubresource: false,
  validate(obj) {
    const r = eventSchema.safeParse(obj);
    const issues: FieldIssue[] = r.success ? [] : toFieldIssues(r.error);
    const inv = ev(obj).involvedObject;
    if (inv?.namespace && obj.metadata.namespace && inv.namespace !== obj.metadata.namespace) {
      issues.push({ path: 'involvedObject.namespace', reason: `Invalid value: "${inv.namespace}": does not match event.namespace` });
    }
    return issues;
  },
  fields(o) {
    const e = ev(o);
    const i = e.involvedObject ?? {};
    return {
      'involvedObject.kind': i.kind ?? '',
      'involvedObject.namespace': i.namespace ?? '',
      'involvedObject.name': i.name ?? '',
      'involvedObject.uid': i.uid ?? '',
      'involvedObject.apiVersion': i.apiVersion ?? '',
      'involvedObject.resourceVersion': i.resourceVersion ?? '',
      'involvedObject.fieldPath': i.fieldPath ?? '',
      reason: e.reason ?? '',
      reportingComponent: e.reportingComponent ?? '',
      source: e.source?.component ?? '',
      type: e.type ?? '',
    };
  },
  columns: [
    column('Last Seen', 'Time since the event was last observed'),
    column('Type', 'Normal or Warning'),
    column('Reason', 'Why the event happened'),
    column('Object', 'The object the event is about'),
    column('Subobject', 'The part of the object (e.g. a container)', 1),
    column('Source', 'Who reported it', 1),
    column('Message', 'What happened'),
    column('First Seen', 'Time since the event was first observed', 1),
    column('Count', 'How often it happened', 1, 'integer'),
    column('Name', 'The event object', 1),
  ],
  row(o, now) {
    const e = ev(o);
    const i = e.involvedObject ?? {};
    const first = e.firstTimestamp ?? e.eventTime ?? o.metadata.creationTimestamp;
    return [
      lastSeen(o, now),
      e.type ?? '',
      e.reason ?? '',
      `${(i.kind ?? '').toLowerCase()}/${i.name ?? ''}`,
      i.fieldPath ?? '',
      [e.source?.component ?? e.reportingComponent, e.source?.host].filter(Boolean).join(', '),
      e.message ?? '',
      ageOf(first ?? undefined, now),
      e.series?.count ?? e.count ?? 1,
      o.metadata.name,
    ];
  },
  schemaName: 'io.k8s.api.core.v1.Event',
};
