/**
 * The cronjob controller's decisions, pure, as Kubernetes' CronJob controller (v2) makes them:
 * the most recent scheduled time since the last one (or creation) that is due, skipped when it
 * is past startingDeadlineSeconds; concurrencyPolicy Allow / Forbid (skip while a job runs) /
 * Replace (delete the running ones first); one Job per scheduled time, named
 * `<cronjob>-<minutes since the epoch>` so a retried pass cannot make two; status.active,
 * lastScheduleTime and lastSuccessfulTime; finished jobs beyond the history limits deleted,
 * oldest first; and the next time to look again. Times come from the controller's clock.
 */
import type { KubeObject } from '../../contract/kube/types.js';
import { arr, rec, str } from '../kinds/common.js';
import { cronOf } from '../kinds/cronjob.js';
import { num } from '../kinds/workload.js';
import { iso } from './pods.js';

export const SCHEDULED_TIMESTAMP = 'batch.kubernetes.io/cronjob-scheduled-timestamp';
const MAX_MISSED = 100;

export interface CronJobPlan {
  /** a Job to create (its scheduled time is `at`) */
  create?: { job: KubeObject; at: Date };
  /** jobs to delete (Replace, history limits) */
  delete: KubeObject[];
  status: Record<string, unknown>;
  events: { type: 'Normal' | 'Warning'; reason: string; message: string }[];
  wakeAt?: Date;
}

const finishedAs = (job: KubeObject): 'Complete' | 'Failed' | undefined => {
  for (const c of arr(rec(job.status)?.conditions)) {
    const o = rec(c);
    if (o?.status === 'True' && (o.type === 'Complete' || o.type === 'Failed')) return o.type;
  }
  return undefined;
};

const ref = (j: KubeObject) => ({ kind: 'Job', namespace: j.metadata.namespace, name: j.metadata.name, uid: j.metadata.uid, apiVersion: 'batch/v1', resourceVersion: j.metadata.resourceVersion });

/** The Job for scheduled time `at`: the template's labels and annotations, the CronJob as its controller. */
export function jobFor(cj: KubeObject, at: Date): KubeObject {
  const jt = rec(rec(cj.spec)?.jobTemplate) ?? {};
  const meta = rec(jt.metadata) ?? {};
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: {
      name: `${cj.metadata.name ?? ''}-${Math.floor(at.getTime() / 60_000)}`,
      namespace: cj.metadata.namespace,
      labels: { ...((rec(meta.labels) as Record<string, string> | undefined) ?? {}) },
      annotations: { ...((rec(meta.annotations) as Record<string, string> | undefined) ?? {}), [SCHEDULED_TIMESTAMP]: iso(at) },
      ownerReferences: [{ apiVersion: 'batch/v1', kind: 'CronJob', name: cj.metadata.name ?? '', uid: cj.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    spec: structuredClone(jt.spec ?? {}),
  };
}

export function planCronJob(cj: KubeObject, jobs: KubeObject[], now: Date): CronJobPlan {
  const spec = rec(cj.spec) ?? {};
  const old = rec(cj.status) ?? {};
  const plan: CronJobPlan = { delete: [], status: {}, events: [] };
  const running = jobs.filter((j) => !finishedAs(j) && !j.metadata.deletionTimestamp);
  const done = jobs.filter((j) => finishedAs(j));
  const wasActive = new Set(arr(old.active).map((r) => str(rec(r)?.uid)));
  for (const j of done) if (wasActive.has(j.metadata.uid ?? '')) plan.events.push({ type: 'Normal', reason: 'SawCompletedJob', message: `Saw completed job: ${j.metadata.name ?? ''}, condition: ${finishedAs(j)}` });
  let lastSuccess = str(old.lastSuccessfulTime);
  for (const j of done) {
    const t = str(rec(j.status)?.completionTime);
    if (finishedAs(j) === 'Complete' && t && (!lastSuccess || t > lastSuccess)) lastSuccess = t;
  }
  const status: Record<string, unknown> = {};
  let active = running;
  let lastSchedule = str(old.lastScheduleTime);

  // history: finished jobs beyond the limits, oldest first
  const byAge = (a: KubeObject, b: KubeObject) => (a.metadata.creationTimestamp ?? '').localeCompare(b.metadata.creationTimestamp ?? '');
  for (const [kind, limit] of [
    ['Complete', num(spec, 'successfulJobsHistoryLimit')],
    ['Failed', num(spec, 'failedJobsHistoryLimit')],
  ] as const) {
    const list = done.filter((j) => finishedAs(j) === kind && !j.metadata.deletionTimestamp).sort(byAge);
    plan.delete.push(...list.slice(0, Math.max(0, list.length - limit)));
  }

  const tz = str(spec.timeZone) || undefined;
  let cron;
  try {
    cron = cronOf(str(spec.schedule), tz);
  } catch (e) {
    plan.events.push({ type: 'Warning', reason: 'UnparseableSchedule', message: `unparseable schedule: ${str(spec.schedule)}: ${e instanceof Error ? e.message : String(e)}` });
  }
  if (cron && spec.suspend !== true) {
    let earliest = Date.parse(lastSchedule || cj.metadata.creationTimestamp || '') || now.getTime();
    const deadline = typeof spec.startingDeadlineSeconds === 'number' ? spec.startingDeadlineSeconds : undefined;
    if (deadline !== undefined) earliest = Math.max(earliest, now.getTime() - deadline * 1000);
    // the most recent scheduled time in (earliest, now], counting how many were missed
    let latest: Date | undefined;
    let missed = 0;
    for (let t = cron.nextRun(new Date(earliest)); t && t.getTime() <= now.getTime(); t = cron.nextRun(t)) {
      latest = t;
      if (++missed > MAX_MISSED) {
        latest = cron.previousRuns(1, new Date(now.getTime() + 1))[0] ?? latest;
        plan.events.push({ type: 'Warning', reason: 'TooManyMissedTimes', message: `too many missed start times: ${missed}. Set or decrease .spec.startingDeadlineSeconds or check clock skew` });
        break;
      }
    }
    if (latest) {
      const policy = str(spec.concurrencyPolicy) || 'Allow';
      if (policy === 'Forbid' && running.length) {
        // skipped: the time passes without a job (Kubernetes does the same)
      } else {
        if (policy === 'Replace') {
          for (const j of running) plan.delete.push(j);
          active = [];
        }
        const job = jobFor(cj, latest);
        plan.create = { job, at: latest };
        lastSchedule = iso(latest);
        plan.events.push({ type: 'Normal', reason: 'SuccessfulCreate', message: `Created job ${job.metadata.name ?? ''}` });
      }
    }
    const next = cron.nextRun(now);
    if (next) plan.wakeAt = next;
  }
  if (active.length || plan.create) status.active = active.map(ref);
  if (lastSchedule) status.lastScheduleTime = lastSchedule;
  if (lastSuccess) status.lastSuccessfulTime = lastSuccess;
  plan.status = status;
  return plan;
}
