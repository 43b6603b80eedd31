/**
 * apps/v1 DaemonSet: one pod per node that matches its template's nodeSelector, required node
 * affinity and tolerations (the daemonset controller places them). Defaults as Kubernetes:
 * RollingUpdate with maxUnavailable 1 and maxSurge 0, 10 revisions; OnDelete replaces a pod only
 * once someone deletes it. `kubectl get daemonsets` columns as kubectl prints them.
 */
import { AGE_COLUMN, ageOf, column, NAME_COLUMN } from '../../contract/kube/table.js';
import type { KubeObject } from '../../contract/kube/types.js';
import type { FieldIssue } from '../../core/errors.js';
import * as z from 'zod';
import { pruneNulls, rec, sameJson, schemaIssues } from './common.js';
import { WIDE_TEMPLATE_COLUMNS, wideTemplateCells, workloadSelectorIssues } from './deployment.js';
import type { ResourceDef } from './types.js';
import { conditionSchema, count, defaultTemplate, intOrPercent, num, percentOver100, templateIssues, topLevelIssues } from './workload.js';

const specSchema = z.strictObject({
  selector: z.unknown().optional(),
  template: z.unknown().optional(),
  updateStrategy: z
    .strictObject({
      type: z.enum(['RollingUpdate', 'OnDelete']).optional(),
      rollingUpdate: z.strictObject({ maxUnavailable: intOrPercent.optional(), maxSurge: intOrPercent.optional() }).optional(),
    })
    .optional(),
  minReadySeconds: count.optional(),
  revisionHistoryLimit: count.optional(),
});

const statusSchema = z.strictObject({
  currentNumberScheduled: count,
  numberMisscheduled: count,
  desiredNumberScheduled: count,
  numberReady: count,
  observedGeneration: count.optional(),
  updatedNumberScheduled: count.optional(),
  numberAvailable: count.optional(),
  numberUnavailable: count.optional(),
  collisionCount: count.optional(),
  conditions: z.array(conditionSchema).max(16).optional(),
});

export function validateDaemonSet(obj: KubeObject, old: KubeObject | undefined): FieldIssue[] {
  const issues = topLevelIssues(obj);
  const spec = rec(obj.spec);
  if (!spec) return [...issues, { path: 'spec', reason: 'Required value' }];
  issues.push(...schemaIssues(specSchema, spec, 'spec'));
  issues.push(...workloadSelectorIssues(spec, old, 'DaemonSet'));
  issues.push(...templateIssues(spec.template, 'spec.template', ['Always']));
  const strategy = rec(spec.updateStrategy) ?? {};
  const ru = rec(strategy.rollingUpdate);
  if (strategy.type === 'OnDelete' && ru) issues.push({ path: 'spec.updateStrategy.rollingUpdate', reason: "Forbidden: may not be specified when strategy `type` is 'OnDelete'" });
  if (ru) {
    if (percentOver100(ru.maxUnavailable)) issues.push({ path: 'spec.updateStrategy.rollingUpdate.maxUnavailable', reason: `Invalid value: "${String(ru.maxUnavailable)}": must not be greater than 100%` });
    const zero = (v: unknown) => v === undefined || v === 0 || v === '0%';
    if (zero(ru.maxUnavailable) && zero(ru.maxSurge)) {
      issues.push({ path: 'spec.updateStrategy.rollingUpdate.maxUnavailable', reason: `Invalid value: ${JSON.stringify(ru.maxUnavailable ?? 0)}: may not be 0 when \`maxSurge\` is 0` });
    }
    if (!zero(ru.maxSurge)) issues.push({ path: 'spec.updateStrategy.rollingUpdate.maxSurge', reason: 'not supported by edgecore: a node runs one pod of a DaemonSet at a time (surge would need two on one board)' });
  }
  if (obj.status !== undefined && (!old || !sameJson(obj.status, old.status))) issues.push(...schemaIssues(statusSchema, obj.status, 'status'));
  return issues;
}

export function defaultDaemonSet(obj: KubeObject): void {
  pruneNulls(obj);
  const spec = rec(obj.spec);
  if (!spec) return;
  const strategy = rec(spec.updateStrategy) ?? {};
  spec.updateStrategy = strategy;
  if (strategy.type === undefined) strategy.type = 'RollingUpdate';
  if (strategy.type === 'RollingUpdate') {
    const ru = rec(strategy.rollingUpdate) ?? {};
    strategy.rollingUpdate = ru;
    if (ru.maxUnavailable === undefined) ru.maxUnavailable = 1;
    if (ru.maxSurge === undefined) ru.maxSurge = 0;
  }
  if (spec.revisionHistoryLimit === undefined) spec.revisionHistoryLimit = 10;
  defaultTemplate(spec.template);
}

/** A map of labels as kubectl prints it: sorted `k=v` pairs, or `<none>`. */
export function formatLabels(m: Record<string, string> | undefined): string {
  const keys = Object.keys(m ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${m![k]}`).join(',') : '<none>';
}

export const daemonSetDef: ResourceDef = {
  group: 'apps',
  version: 'v1',
  kind: 'DaemonSet',
  plural: 'daemonsets',
  singular: 'daemonset',
  shortNames: ['ds'],
  categories: ['all'],
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: ['status'],
  strategicMerge: true,
  statusSubresource: true,
  prepareForCreate: (obj) => {
    obj.status = { currentNumberScheduled: 0, numberMisscheduled: 0, desiredNumberScheduled: 0, numberReady: 0 };
  },
  defaults: defaultDaemonSet,
  validate: (obj, old) => validateDaemonSet(obj, old),
  columns: [
    NAME_COLUMN,
    column('Desired', 'The total number of nodes that should be running the daemon pod.', 0, 'integer'),
    column('Current', 'The number of nodes that are running at least 1 daemon pod and are supposed to run the daemon pod.', 0, 'integer'),
    column('Ready', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and ready.', 0, 'integer'),
    column('Up-to-date', 'The total number of nodes that are running updated daemon pod', 0, 'integer'),
    column('Available', 'The number of nodes that should be running the daemon pod and have one or more of the daemon pod running and available (ready for at least spec.minReadySeconds)', 0, 'integer'),
    column('Node Selector', 'NodeSelector is a selector which must be true for the pod to fit on a node.'),
    AGE_COLUMN,
    ...WIDE_TEMPLATE_COLUMNS,
  ],
  row(o, now) {
    const spec = rec(o.spec);
    const s = rec(o.status);
    const nodeSelector = rec(rec(rec(spec?.template)?.spec)?.nodeSelector) as Record<string, string> | undefined;
    return [
      o.metadata.name,
      num(s, 'desiredNumberScheduled'),
      num(s, 'currentNumberScheduled'),
      num(s, 'numberReady'),
      num(s, 'updatedNumberScheduled'),
      num(s, 'numberAvailable'),
      formatLabels(nodeSelector),
      ageOf(o.metadata.creationTimestamp, now),
      ...wideTemplateCells(spec, spec?.template),
    ];
  },
  schemaName: 'io.k8s.api.apps.v1.DaemonSet',
};
