/**
 * batch/v1 Job: pods run to completion. Kubernetes' defaults (completions and parallelism 1,
 * backoffLimit 6, NonIndexed), the selector Kubernetes generates from the job's uid (and the
 * labels it puts on the template), validation (restartPolicy Never or OnFailure; the template,
 * selector and completions fixed once created) and `kubectl get jobs` (STATUS, COMPLETIONS,
 * DURATION as kubectl 1.28+ prints them). The job controller runs it.
 */
import { AGE_COLUMN, ageOf, column, humanDuration, NAME_COLUMN } from '../../contract/kube/table.js';
import type { KubeObject } from '../../contract/kube/types.js';
import type { FieldIssue } from '../../core/errors.js';
import * as z from 'zod';
import { arr, pruneNulls, rec, sameJson, schemaIssues, str, type Obj } from './common.js';
import { WIDE_TEMPLATE_COLUMNS, wideTemplateCells } from './deployment.js';
import type { ResourceDef } from './types.js';
import { conditionSchema, count, defaultTemplate, num, selectorIssues, selectorMatches, templateIssues, templateLabels, topLevelIssues, type LabelSelector } from './workload.js';

export const JOB_UID_LABEL = 'batch.kubernetes.io/controller-uid';
export const JOB_NAME_LABEL = 'batch.kubernetes.io/job-name';
export const LEGACY_JOB_UID_LABEL = 'controller-uid';
export const LEGACY_JOB_NAME_LABEL = 'job-name';

const NOT_SUPPORTED = 'not supported by edgecore';

export const jobSpecSchema = z.strictObject({
  parallelism: count.optional(),
  completions: count.optional(),
  activeDeadlineSeconds: z.number().int().min(1).optional(),
  backoffLimit: count.optional(),
  selector: z.unknown().optional(),
  manualSelector: z.boolean().optional(),
  template: z.unknown().optional(),
  ttlSecondsAfterFinished: count.optional(),
  completionMode: z.enum(['NonIndexed', 'Indexed']).optional(),
  suspend: z.boolean().optional(),
  podReplacementPolicy: z.enum(['TerminatingOrFailed', 'Failed']).optional(),
  // Kubernetes fields edgecore refuses rather than drops
  podFailurePolicy: z.unknown().optional(),
  successPolicy: z.unknown().optional(),
  backoffLimitPerIndex: z.unknown().optional(),
  maxFailedIndexes: z.unknown().optional(),
  managedBy: z.unknown().optional(),
});

const statusSchema = z.strictObject({
  conditions: z.array(conditionSchema).max(16).optional(),
  startTime: z.string().optional(),
  completionTime: z.string().optional(),
  active: count.optional(),
  succeeded: count.optional(),
  failed: count.optional(),
  terminating: count.optional(),
  ready: count.optional(),
  completedIndexes: z.string().optional(),
  failedIndexes: z.string().optional(),
  uncountedTerminatedPods: z.strictObject({ succeeded: z.array(z.string()).optional(), failed: z.array(z.string()).optional() }).optional(),
});

/** The job spec's own rules at `path` (a Job's `spec`, a CronJob's `spec.jobTemplate.spec`). */
export function jobSpecIssues(spec: unknown, path: string, generated: boolean): FieldIssue[] {
  const s = rec(spec);
  if (!s) return [{ path, reason: 'Required value' }];
  const issues = schemaIssues(jobSpecSchema, s, path);
  for (const k of ['podFailurePolicy', 'successPolicy', 'backoffLimitPerIndex', 'maxFailedIndexes', 'managedBy']) {
    if (s[k] !== undefined) issues.push({ path: `${path}.${k}`, reason: NOT_SUPPORTED });
  }
  if (s.completionMode === 'Indexed') issues.push({ path: `${path}.completionMode`, reason: `Unsupported value: "Indexed": ${NOT_SUPPORTED} (NonIndexed only)` });
  issues.push(...templateIssues(s.template, `${path}.template`, ['OnFailure', 'Never']));
  if (generated) {
    issues.push(...selectorIssues(s.selector, `${path}.selector`));
    if (s.selector !== undefined && !selectorMatches(s.selector as LabelSelector, templateLabels(s.template))) {
      issues.push({ path: `${path}.template.metadata.labels`, reason: `Invalid value: ${JSON.stringify(templateLabels(s.template))}: \`selector\` does not match template \`labels\`` });
    }
  } else if (s.selector !== undefined && s.manualSelector !== true) {
    issues.push({ path: `${path}.selector`, reason: 'Invalid value: `selector` will be auto-generated (set manualSelector: true to give one)' });
  }
  return issues;
}

export function validateJob(obj: KubeObject, old: KubeObject | undefined): FieldIssue[] {
  const issues = topLevelIssues(obj);
  const spec = rec(obj.spec);
  if (!spec) return [...issues, { path: 'spec', reason: 'Required value' }];
  issues.push(...jobSpecIssues(spec, 'spec', true));
  const before = rec(old?.spec);
  if (before) {
    for (const k of ['selector', 'template', 'completions', 'completionMode', 'manualSelector']) {
      if (!sameJson(before[k], spec[k])) issues.push({ path: `spec.${k}`, reason: `Invalid value: ${JSON.stringify(spec[k] ?? null)}: field is immutable` });
    }
  }
  if (obj.status !== undefined && (!old || !sameJson(obj.status, old.status))) issues.push(...schemaIssues(statusSchema, obj.status, 'status'));
  return issues;
}

/** A job spec's defaults (a Job's and a CronJob's job template). */
export function defaultJobSpec(spec: Obj): void {
  if (spec.completions === undefined && spec.parallelism === undefined) {
    spec.completions = 1;
    spec.parallelism = 1;
  }
  if (spec.parallelism === undefined) spec.parallelism = 1;
  if (spec.backoffLimit === undefined) spec.backoffLimit = 6;
  if (spec.completionMode === undefined) spec.completionMode = 'NonIndexed';
  if (spec.suspend === undefined) spec.suspend = false;
  if (spec.podReplacementPolicy === undefined) spec.podReplacementPolicy = 'TerminatingOrFailed';
  if (spec.manualSelector === false) delete spec.manualSelector;
  defaultTemplate(spec.template);
}

/** Kubernetes' generated selector: the job's uid, which the template's labels then carry (with the job's name). */
export function generateJobSelector(obj: KubeObject): void {
  const spec = rec(obj.spec);
  const uid = obj.metadata.uid ?? '';
  if (!spec || spec.manualSelector === true) return;
  const t = rec(spec.template);
  if (!t) return;
  const meta = rec(t.metadata) ?? {};
  t.metadata = meta;
  const labels = { ...(rec(meta.labels) ?? {}) };
  labels[JOB_UID_LABEL] = uid;
  labels[JOB_NAME_LABEL] = obj.metadata.name ?? '';
  labels[LEGACY_JOB_UID_LABEL] = uid;
  labels[LEGACY_JOB_NAME_LABEL] = obj.metadata.name ?? '';
  meta.labels = labels;
  if (spec.selector === undefined) spec.selector = { matchLabels: { [JOB_UID_LABEL]: uid } };
}

const hasCondition = (o: KubeObject, type: string): boolean => arr(rec(o.status)?.conditions).some((c) => rec(c)?.type === type && rec(c)?.status === 'True');

/** STATUS as kubectl 1.28+ prints a job's. */
export function jobStatusText(o: KubeObject): string {
  if (hasCondition(o, 'Complete')) return 'Complete';
  if (hasCondition(o, 'Failed')) return 'Failed';
  if (o.metadata.deletionTimestamp) return 'Terminating';
  if (hasCondition(o, 'Suspended')) return 'Suspended';
  if (hasCondition(o, 'FailureTarget')) return 'FailureTarget';
  if (hasCondition(o, 'SuccessCriteriaMet')) return 'SuccessCriteriaMet';
  return 'Running';
}

export function jobCompletions(o: KubeObject): string {
  const spec = rec(o.spec);
  const succeeded = num(rec(o.status), 'succeeded');
  if (typeof spec?.completions === 'number') return `${succeeded}/${spec.completions}`;
  const parallelism = num(spec, 'parallelism');
  return parallelism > 1 ? `${succeeded}/1 of ${parallelism}` : `${succeeded}/1`;
}

export function jobDuration(o: KubeObject, now: Date): string {
  const s = rec(o.status);
  const start = Date.parse(str(s?.startTime));
  if (Number.isNaN(start)) return '';
  const end = Date.parse(str(s?.completionTime));
  return humanDuration((Number.isNaN(end) ? now.getTime() : end) - start);
}

export const jobDef: ResourceDef = {
  group: 'batch',
  version: 'v1',
  kind: 'Job',
  plural: 'jobs',
  singular: 'job',
  shortNames: [],
  categories: ['all'],
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: ['status'],
  strategicMerge: true,
  statusSubresource: true,
  prepareForCreate: (obj) => {
    delete obj.status;
    pruneNulls(obj);
    generateJobSelector(obj);
  },
  defaults(obj) {
    pruneNulls(obj);
    const spec = rec(obj.spec);
    if (spec) defaultJobSpec(spec);
  },
  validate: (obj, old) => validateJob(obj, old),
  columns: [
    NAME_COLUMN,
    column('Status', 'Status of the job.'),
    column('Completions', 'The completed pods of the job out of the wanted ones.'),
    column('Duration', 'Time required to complete the job.'),
    AGE_COLUMN,
    ...WIDE_TEMPLATE_COLUMNS,
  ],
  row(o, now) {
    const spec = rec(o.spec);
    return [o.metadata.name, jobStatusText(o), jobCompletions(o), jobDuration(o, now), ageOf(o.metadata.creationTimestamp, now), ...wideTemplateCells(spec, spec?.template)];
  },
  schemaName: 'io.k8s.api.batch.v1.Job',
};
