/**
 * apps/v1 Deployment: Kubernetes' defaults (1 replica, RollingUpdate 25 %/25 %, 10 revisions
 * kept, a 600 s progress deadline), validation (selector matching the template's labels and
 * fixed once set, strategy rules, the template as a pod spec), the /scale subresource and the
 * `kubectl get deployments` table. The rollout itself is the deployment controller's
 * (src/relay/controllers/deployment.ts).
 */
import { AGE_COLUMN, ageOf, column, NAME_COLUMN } from '../../contract/kube/table.js';
import type { KubeObject } from '../../contract/kube/types.js';
import type { FieldIssue } from '../../core/errors.js';
import * as z from 'zod';
import { pruneNulls, rec, sameJson, schemaIssues, type Obj } from './common.js';
import type { ResourceDef, ScaleDef } from './types.js';
import {
  conditionSchema,
  containerCells,
  count,
  defaultTemplate,
  intOrPercent,
  num,
  percentOver100,
  selectorIssues,
  selectorMatches,
  selectorString,
  templateIssues,
  templateLabels,
  topLevelIssues,
  type LabelSelector,
} from './workload.js';

const strategySchema = z.strictObject({
  type: z.enum(['RollingUpdate', 'Recreate']).optional(),
  rollingUpdate: z.strictObject({ maxUnavailable: intOrPercent.optional(), maxSurge: intOrPercent.optional() }).optional(),
});

const specSchema = z.strictObject({
  replicas: count.optional(),
  selector: z.unknown().optional(),
  template: z.unknown().optional(),
  strategy: strategySchema.optional(),
  minReadySeconds: count.optional(),
  revisionHistoryLimit: count.optional(),
  paused: z.boolean().optional(),
  progressDeadlineSeconds: z.number().int().min(1).optional(),
});

const statusSchema = z.strictObject({
  observedGeneration: count.optional(),
  replicas: count.optional(),
  updatedReplicas: count.optional(),
  readyReplicas: count.optional(),
  availableReplicas: count.optional(),
  unavailableReplicas: count.optional(),
  terminatingReplicas: count.optional(),
  conditions: z.array(conditionSchema).max(16).optional(),
  collisionCount: count.optional(),
});

/** The selector (and template labels) of a workload whose spec holds `selector` and `template`. */
export function workloadSelectorIssues(spec: Obj, old: KubeObject | undefined, kind: string): FieldIssue[] {
  const issues = selectorIssues(spec.selector, 'spec.selector');
  if (!issues.length && spec.template !== undefined && !selectorMatches(spec.selector as LabelSelector, templateLabels(spec.template))) {
    issues.push({ path: 'spec.template.metadata.labels', reason: `Invalid value: ${JSON.stringify(templateLabels(spec.template))}: \`selector\` does not match template \`labels\`` });
  }
  const before = rec(old?.spec)?.selector;
  if (old && before !== undefined && !sameJson(before, spec.selector)) {
    issues.push({ path: 'spec.selector', reason: `Invalid value: ${JSON.stringify(spec.selector)}: field is immutable (a ${kind}'s selector cannot change)` });
  }
  return issues;
}

export function validateDeployment(obj: KubeObject, old: KubeObject | undefined): FieldIssue[] {
  const issues = topLevelIssues(obj);
  const spec = rec(obj.spec);
  if (!spec) return [...issues, { path: 'spec', reason: 'Required value' }];
  issues.push(...schemaIssues(specSchema, spec, 'spec'));
  issues.push(...workloadSelectorIssues(spec, old, 'Deployment'));
  issues.push(...templateIssues(spec.template, 'spec.template', ['Always']));
  const strategy = rec(spec.strategy) ?? {};
  const ru = rec(strategy.rollingUpdate);
  if (strategy.type === 'Recreate' && ru) issues.push({ path: 'spec.strategy.rollingUpdate', reason: "Forbidden: may not be specified when strategy `type` is 'Recreate'" });
  if (ru) {
    if (percentOver100(ru.maxUnavailable)) issues.push({ path: 'spec.strategy.rollingUpdate.maxUnavailable', reason: `Invalid value: "${String(ru.maxUnavailable)}": must not be greater than 100%` });
    const zero = (v: unknown) => v === 0 || v === '0%';
    if (zero(ru.maxUnavailable) && zero(ru.maxSurge)) {
      issues.push({ path: 'spec.strategy.rollingUpdate.maxUnavailable', reason: `Invalid value: ${JSON.stringify(ru.maxUnavailable)}: may not be 0 when \`maxSurge\` is 0` });
    }
  }
  const deadline = spec.progressDeadlineSeconds;
  if (typeof deadline === 'number' && deadline <= num(spec, 'minReadySeconds')) {
    issues.push({ path: 'spec.progressDeadlineSeconds', reason: `Invalid value: ${deadline}: must be greater than minReadySeconds` });
  }
  if (obj.status !== undefined && (!old || !sameJson(obj.status, old.status))) issues.push(...schemaIssues(statusSchema, obj.status, 'status'));
  return issues;
}

export function defaultDeployment(obj: KubeObject): void {
  pruneNulls(obj);
  const spec = rec(obj.spec);
  if (!spec) return;
  if (spec.replicas === undefined) spec.replicas = 1;
  const strategy = rec(spec.strategy) ?? {};
  spec.strategy = strategy;
  if (strategy.type === undefined) strategy.type = 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    const ru = rec(strategy.rollingUpdate) ?? {};
    strategy.rollingUpdate = ru;
    if (ru.maxUnavailable === undefined) ru.maxUnavailable = '25%';
    if (ru.maxSurge === undefined) ru.maxSurge = '25%';
  }
  if (spec.revisionHistoryLimit === undefined) spec.revisionHistoryLimit = 10;
  if (spec.progressDeadlineSeconds === undefined) spec.progressDeadlineSeconds = 600;
  defaultTemplate(spec.template);
}

/** spec.replicas/status.replicas/selector of a workload with `spec.replicas` (Deployment, ReplicaSet). */
export const replicasScale: ScaleDef = {
  replicas: (o) => num(rec(o.spec), 'replicas'),
  statusReplicas: (o) => num(rec(o.status), 'replicas'),
  selector: (o) => {
    const s = selectorString(rec(o.spec)?.selector as LabelSelector | undefined);
    return s === '<none>' ? '' : s;
  },
  withReplicas: (o, n) => ({ ...o, spec: { ...(rec(o.spec) ?? {}), replicas: n } }),
};

export const WIDE_TEMPLATE_COLUMNS = [
  column('Containers', 'Names of each container in the template.', 1),
  column('Images', 'Images referenced by each container in the template.', 1),
  column('Selector', 'Label selector of the pods this object manages.', 1),
];

export function wideTemplateCells(spec: Obj | undefined, template: unknown): string[] {
  return [...containerCells(template), selectorString(spec?.selector as LabelSelector | undefined)];
}

export const deploymentDef: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'Deployment',
  plural: 'deployments',
  singular: 'deployment',
  shortNames: ['deploy'],
  categories: ['all'],
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: ['status', 'scale'],
  strategicMerge: true,
  statusSubresource: true,
  prepareForCreate: (obj) => {
    delete obj.status;
  },
  defaults: defaultDeployment,
  validate: (obj, old) => validateDeployment(obj, old),
  columns: [
    NAME_COLUMN,
    column('Ready', 'Number of the pod with ready state'),
    column('Up-to-date', 'Total number of non-terminated pods targeted by this deployment that have the desired template spec.', 0, 'integer'),
    column('Available', 'Total number of available pods (ready for at least minReadySeconds) targeted by this deployment.', 0, 'integer'),
    AGE_COLUMN,
    ...WIDE_TEMPLATE_COLUMNS,
  ],
  row(o, now) {
    const spec = rec(o.spec);
    const status = rec(o.status);
    return [
      o.metadata.name,
      `${num(status, 'readyReplicas')}/${num(spec, 'replicas')}`,
      num(status, 'updatedReplicas'),
      num(status, 'availableReplicas'),
      ageOf(o.metadata.creationTimestamp, now),
      ...wideTemplateCells(spec, spec?.template),
    ];
  },
  schemaName: 'io.k8s.api.apps.v1.Deployment',
  scale: replicasScale,
};
