/**
 * apps/v1 ReplicaSet: replicas of one pod template. Deployments make them (one per template
 * revision, named and labelled with the pod-template-hash); they can be used alone too. /scale
 * and `kubectl get replicasets` as Kubernetes serves them.
 */
import { AGE_COLUMN, ageOf, column, NAME_COLUMN } from '../../contract/kube/table.js';
import type { KubeObject } from '../../contract/kube/types.js';
import type { FieldIssue } from '../../core/errors.js';
import * as z from 'zod';
import { pruneNulls, rec, sameJson, schemaIssues } from './common.js';
import { replicasScale, WIDE_TEMPLATE_COLUMNS, wideTemplateCells, workloadSelectorIssues } from './deployment.js';
import type { ResourceDef } from './types.js';
import { conditionSchema, count, defaultTemplate, num, templateIssues, topLevelIssues } from './workload.js';

const specSchema = z.strictObject({
  replicas: count.optional(),
  minReadySeconds: count.optional(),
  selector: z.unknown().optional(),
  template: z.unknown().optional(),
});

const statusSchema = z.strictObject({
  replicas: count,
  fullyLabeledReplicas: count.optional(),
  readyReplicas: count.optional(),
  availableReplicas: count.optional(),
  terminatingReplicas: count.optional(),
  observedGeneration: count.optional(),
  conditions: z.array(conditionSchema).max(16).optional(),
});

export function validateReplicaSet(obj: KubeObject, old: KubeObject | undefined): FieldIssue[] {
  const issues = topLevelIssues(obj);
  const spec = rec(obj.spec);
  if (!spec) return [...issues, { path: 'spec', reason: 'Required value' }];
  issues.push(...schemaIssues(specSchema, spec, 'spec'));
  issues.push(...workloadSelectorIssues(spec, old, 'ReplicaSet'));
  issues.push(...templateIssues(spec.template, 'spec.template', ['Always']));
  if (obj.status !== undefined && (!old || !sameJson(obj.status, old.status))) issues.push(...schemaIssues(statusSchema, obj.status, 'status'));
  return issues;
}

export const replicaSetDef: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'ReplicaSet',
  plural: 'replicasets',
  singular: 'replicaset',
  shortNames: ['rs'],
  categories: ['all'],
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: ['status', 'scale'],
  strategicMerge: true,
  statusSubresource: true,
  prepareForCreate: (obj) => {
    obj.status = { replicas: 0 };
  },
  defaults(obj) {
    pruneNulls(obj);
    const spec = rec(obj.spec);
    if (!spec) return;
    if (spec.replicas === undefined) spec.replicas = 1;
    defaultTemplate(spec.template);
    if (obj.status === undefined) obj.status = { replicas: 0 };
  },
  validate: (obj, old) => validateReplicaSet(obj, old),
  columns: [
    NAME_COLUMN,
    column('Desired', 'Number of desired pods.', 0, 'integer'),
    column('Current', 'Number of actual replicas.', 0, 'integer'),
    column('Ready', 'Number of ready replicas.', 0, 'integer'),
    AGE_COLUMN,
    ...WIDE_TEMPLATE_COLUMNS,
  ],
  row(o, now) {
    const spec = rec(o.spec);
    const status = rec(o.status);
    return [o.metadata.name, num(spec, 'replicas'), num(status, 'replicas'), num(status, 'readyReplicas'), ageOf(o.metadata.creationTimestamp, now), ...wideTemplateCells(spec, spec?.template)];
  },
  schemaName: 'io.k8s.api.apps.v1.ReplicaSet',
  scale: replicasScale,
};
