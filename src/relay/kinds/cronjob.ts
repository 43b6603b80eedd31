/**
 * batch/v1 CronJob: a Job made on a cron schedule. The schedule is standard five-field cron (or
 * a descriptor such as @hourly), read by croner (see docs/workloads.md for why), in `timeZone`
 * (an IANA name) or the relay's UTC. Defaults as Kubernetes: concurrencyPolicy Allow, not
 * suspended, 3 successful and 1 failed job kept. `kubectl get cronjobs` as kubectl prints it.
 */
import { Cron } from 'croner';
import { AGE_COLUMN, ageOf, column, NAME_COLUMN } from '../../contract/kube/table.js';
import type { KubeObject } from '../../contract/kube/types.js';
import type { FieldIssue } from '../../core/errors.js';
import * as z from 'zod';
import { arr, pruneNulls, rec, sameJson, schemaIssues, str } from './common.js';
import { WIDE_TEMPLATE_COLUMNS } from './deployment.js';
import { defaultJobSpec, jobSpecIssues } from './job.js';
import type { ResourceDef } from './types.js';
import { containerCells, count, selectorString, topLevelIssues, type LabelSelector } from './workload.js';

const specSchema = z.strictObject({
  schedule: z.string().min(1, 'Required value'),
  timeZone: z.string().optional(),
  startingDeadlineSeconds: z.number().int().min(0).optional(),
  concurrencyPolicy: z.enum(['Allow', 'Forbid', 'Replace']).optional(),
  suspend: z.boolean().optional(),
  jobTemplate: z.unknown().optional(),
  successfulJobsHistoryLimit: count.optional(),
  failedJobsHistoryLimit: count.optional(),
});

const reference = z.strictObject({
  apiVersion: z.string().optional(),
  kind: z.string().optional(),
  name: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  fieldPath: z.string().optional(),
});

const statusSchema = z.strictObject({
  active: z.array(reference).optional(),
  lastScheduleTime: z.string().optional(),
  lastSuccessfulTime: z.string().optional(),
});

const DESCRIPTORS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly']);

/** A time zone the runtime knows (IANA), or undefined when it knows none by that name. */
export function knownTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/** The schedule parsed for computing times (throws with croner's reason when it is not valid cron). */
export function cronOf(schedule: string, timeZone: string | undefined): Cron {
  const s = schedule.trim();
  return new Cron(s, { paused: true, mode: DESCRIPTORS.has(s) ? 'auto' : '5-part', domAndDow: false, timezone: timeZone ?? 'UTC' });
}

/** Why a schedule is not one Kubernetes takes, or undefined when it is. */
export function scheduleProblem(schedule: string, timeZone: string | undefined): string | undefined {
  const s = schedule.trim();
  if (/^(CRON_)?TZ=/.test(s)) return 'cannot use TZ or CRON_TZ in schedule, use timeZone field instead';
  if (s.startsWith('@') && !DESCRIPTORS.has(s)) return `unrecognized descriptor: ${s}`;
  if (!s.startsWith('@') && /[LW#]/.test(s)) return 'L, W and # are not standard cron: use five fields of numbers, names, ranges, lists and steps';
  try {
    cronOf(s, timeZone && knownTimeZone(timeZone) ? timeZone : undefined);
    return undefined;
  } catch (e) {
    return (e instanceof Error ? e.message : String(e)).replace(/^CronPattern: /, '');
  }
}

export function validateCronJob(obj: KubeObject, old: KubeObject | undefined): FieldIssue[] {
  const issues = topLevelIssues(obj);
  const spec = rec(obj.spec);
  if (!spec) return [...issues, { path: 'spec', reason: 'Required value' }];
  issues.push(...schemaIssues(specSchema, spec, 'spec'));
  const tz = typeof spec.timeZone === 'string' ? spec.timeZone : undefined;
  if (tz !== undefined && (tz === '' || !knownTimeZone(tz))) issues.push({ path: 'spec.timeZone', reason: `Invalid value: "${tz}": unknown time zone ${tz}` });
  if (typeof spec.schedule === 'string' && spec.schedule) {
    const p = scheduleProblem(spec.schedule, tz);
    if (p) issues.push({ path: 'spec.schedule', reason: `Invalid value: "${spec.schedule}": ${p}` });
  }
  const jt = rec(spec.jobTemplate);
  if (!jt) issues.push({ path: 'spec.jobTemplate', reason: 'Required value' });
  else {
    for (const k of Object.keys(jt)) if (k !== 'metadata' && k !== 'spec') issues.push({ path: `spec.jobTemplate.${k}`, reason: 'unknown field' });
    issues.push(...jobSpecIssues(jt.spec, 'spec.jobTemplate.spec', false));
  }
  if (obj.status !== undefined && (!old || !sameJson(obj.status, old.status))) issues.push(...schemaIssues(statusSchema, obj.status, 'status'));
  return issues;
}

export const cronJobDef: ResourceDef = {
  group: 'batch',
  version: 'v1',
  kind: 'CronJob',
  plural: 'cronjobs',
  singular: 'cronjob',
  shortNames: ['cj'],
  categories: ['all'],
  namespaced: true,
  verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
  subresources: ['status'],
  strategicMerge: true,
  statusSubresource: true,
  prepareForCreate: (obj) => {
    delete obj.status;
  },
  defaults(obj) {
    pruneNulls(obj);
    const spec = rec(obj.spec);
    if (!spec) return;
    if (spec.concurrencyPolicy === undefined) spec.concurrencyPolicy = 'Allow';
    if (spec.suspend === undefined) spec.suspend = false;
    if (spec.successfulJobsHistoryLimit === undefined) spec.successfulJobsHistoryLimit = 3;
    if (spec.failedJobsHistoryLimit === undefined) spec.failedJobsHistoryLimit = 1;
    const jobSpec = rec(rec(spec.jobTemplate)?.spec);
    if (jobSpec) defaultJobSpec(jobSpec);
  },
  validate: (obj, old) => validateCronJob(obj, old),
  columns: [
    NAME_COLUMN,
    column('Schedule', 'The schedule in Cron format.'),
    column('Timezone', 'The time zone the schedule is read in.'),
    column('Suspend', 'Whether new jobs are suspended.'),
    column('Active', 'The number of running jobs.', 0, 'integer'),
    column('Last Schedule', 'When a job was last scheduled.'),
    AGE_COLUMN,
    ...WIDE_TEMPLATE_COLUMNS,
  ],
  row(o, now) {
    const spec = rec(o.spec) ?? {};
    const status = rec(o.status) ?? {};
    const jobSpec = rec(rec(spec.jobTemplate)?.spec);
    const last = str(status.lastScheduleTime);
    return [
      o.metadata.name,
      str(spec.schedule),
      str(spec.timeZone) || '<none>',
      typeof spec.suspend === 'boolean' ? (spec.suspend ? 'True' : 'False') : '<unset>',
      arr(status.active).length,
      last ? ageOf(last, now) : '<none>',
      ageOf(o.metadata.creationTimestamp, now),
      ...containerCells(jobSpec?.template),
      selectorString(jobSpec?.selector as LabelSelector | undefined),
    ];
  },
  schemaName: 'io.k8s.api.batch.v1.CronJob',
};
