/**
 * The job controller's decisions, pure, as Kubernetes' job controller makes them:
 * - finished pods are counted through the `batch.kubernetes.io/job-tracking` finalizer: a pod
 *   that finished goes into status.uncountedTerminatedPods, then loses the finalizer, then moves
 *   into succeeded/failed — so a count survives a crash and a deleted pod is never lost or
 *   counted twice;
 * - up to `parallelism` pods run, never more than the completions still wanted; a failed pod is
 *   replaced after a backoff (10 s, doubling, at most 6 min);
 * - failures (failed pods; with restartPolicy OnFailure also container restarts) past
 *   backoffLimit fail the job (BackoffLimitExceeded); running past activeDeadlineSeconds fails
 *   it (DeadlineExceeded); `completions` successes complete it (CompletionsReached); the
 *   conditions are Kubernetes' (SuccessCriteriaMet + Complete, FailureTarget + Failed,
 *   Suspended); a finished job is deleted ttlSecondsAfterFinished later.
 */
import type { KubeObject } from '../../contract/kube/types.js';
import { arr, rec, str } from '../kinds/common.js';
import { num, type Condition } from '../kinds/workload.js';
import { setCondition } from './deployment-status.js';
import { isReady, isTerminal, iso, phaseOf, podCondition } from './pods.js';

export const TRACKING_FINALIZER = 'batch.kubernetes.io/job-tracking';

export interface JobOptions {
  /** the first delay before a failed pod is replaced (Kubernetes: 10 s), doubling per failure */
  backoffBaseSeconds?: number;
  backoffMaxSeconds?: number;
}

export interface JobPlan {
  /** pods to create now */
  create: number;
  delete: KubeObject[];
  /** pods whose tracking finalizer goes (counted already) */
  untrack: KubeObject[];
  status: Record<string, unknown>;
  /** delete the job itself (ttlSecondsAfterFinished) */
  deleteJob: boolean;
  events: { type: 'Normal' | 'Warning'; reason: string; message: string }[];
  wakeAt?: Date;
}

const conditionTrue = (status: Record<string, unknown>, type: string): boolean => arr(status.conditions).some((c) => rec(c)?.type === type && rec(c)?.status === 'True');

/** When a failed pod finished (its containers' finish time, else when it stopped being ready). */
function finishedAt(p: KubeObject): number {
  let t = 0;
  for (const cs of arr(rec(p.status)?.containerStatuses)) t = Math.max(t, Date.parse(str(rec(rec(rec(cs)?.state)?.terminated)?.finishedAt)) || 0);
  return t || Date.parse(podCondition(p, 'Ready')?.lastTransitionTime ?? '') || Date.parse(p.metadata.creationTimestamp ?? '') || 0;
}

export function planJob(job: KubeObject, pods: KubeObject[], now: Date, o: JobOptions = {}): JobPlan {
  const spec = rec(job.spec) ?? {};
  const old = rec(job.status) ?? {};
  const status: Record<string, unknown> = { ...old };
  const plan: JobPlan = { create: 0, delete: [], untrack: [], status, deleteJob: false, events: [] };
  const t = iso(now);
  let conds = arr(old.conditions).map((c) => rec(c) as unknown as Condition);

  // counting finished pods (tracking finalizer, three steps)
  const uncounted = rec(old.uncountedTerminatedPods) ?? {};
  const pendingOk = new Set(arr(uncounted.succeeded).map(String));
  const pendingFail = new Set(arr(uncounted.failed).map(String));
  const tracked = (p: KubeObject) => (p.metadata.finalizers ?? []).includes(TRACKING_FINALIZER);
  let succeeded = num(old, 'succeeded');
  let failed = num(old, 'failed');
  const byUid = new Map(pods.map((p) => [p.metadata.uid ?? '', p]));
  for (const [set, isOk] of [
    [pendingOk, true],
    [pendingFail, false],
  ] as const) {
    for (const uid of [...set]) {
      const p = byUid.get(uid);
      if (p && tracked(p)) plan.untrack.push(p);
      else {
        set.delete(uid);
        if (isOk) succeeded++;
        else failed++;
      }
    }
  }
  for (const p of pods) {
    const uid = p.metadata.uid ?? '';
    if (!tracked(p) || pendingOk.has(uid) || pendingFail.has(uid)) continue;
    if (phaseOf(p) === 'Succeeded') pendingOk.add(uid);
    else if (phaseOf(p) === 'Failed') pendingFail.add(uid);
    // deleted before it finished, and gone from its node (or never on one): a failure, as Kubernetes counts it
    else if (p.metadata.deletionTimestamp && (p.metadata.deletionGracePeriodSeconds ?? 0) === 0) pendingFail.add(uid);
  }
  status.succeeded = succeeded;
  status.failed = failed;
  if (pendingOk.size || pendingFail.size) status.uncountedTerminatedPods = { ...(pendingOk.size ? { succeeded: [...pendingOk] } : {}), ...(pendingFail.size ? { failed: [...pendingFail] } : {}) };
  else status.uncountedTerminatedPods = {};
  const allOk = succeeded + pendingOk.size;
  const onFailure = rec(rec(spec.template)?.spec)?.restartPolicy === 'OnFailure';
  const active = pods.filter((p) => !isTerminal(p) && !p.metadata.deletionTimestamp);
  const restarts = onFailure ? active.reduce((n, p) => n + arr(rec(p.status)?.containerStatuses).reduce((m: number, c) => m + num(rec(c), 'restartCount'), 0), 0) : 0;
  const allFailed = failed + pendingFail.size + restarts;
  status.active = active.length;
  status.ready = active.filter(isReady).length;
  status.terminating = pods.filter((p) => p.metadata.deletionTimestamp && !isTerminal(p)).length;

  const finished = conditionTrue(status, 'Complete') || conditionTrue(status, 'Failed');
  if (finished) {
    plan.delete = active;
    const ttl = spec.ttlSecondsAfterFinished;
    if (typeof ttl === 'number') {
      const end = Date.parse(str(old.completionTime)) || Date.parse(conds.find((c) => c.type === 'Failed' || c.type === 'Complete')?.lastTransitionTime ?? '') || now.getTime();
      const at = end + ttl * 1000;
      if (now.getTime() >= at) plan.deleteJob = true;
      else plan.wakeAt = new Date(at);
    }
    status.conditions = conds;
    return plan;
  }

  if (spec.suspend === true) {
    plan.delete = active;
    if (!conditionTrue(status, 'Suspended')) {
      conds = setCondition(conds, { type: 'Suspended', status: 'True', reason: 'JobSuspended', message: 'Job suspended' }, now);
      plan.events.push({ type: 'Normal', reason: 'Suspended', message: 'Job suspended' });
    }
    status.conditions = conds;
    return plan;
  }
  if (conditionTrue(status, 'Suspended')) {
    conds = setCondition(conds, { type: 'Suspended', status: 'False', reason: 'JobResumed', message: 'Job resumed' }, now);
    plan.events.push({ type: 'Normal', reason: 'Resumed', message: 'Job resumed' });
    status.startTime = t;
  }
  if (!status.startTime) status.startTime = t;

  const fail = (reason: string, message: string) => {
    conds = setCondition(conds, { type: 'FailureTarget', status: 'True', reason, message }, now);
    conds = setCondition(conds, { type: 'Failed', status: 'True', reason, message }, now);
    plan.delete = active;
    plan.events.push({ type: 'Warning', reason, message });
    status.conditions = conds;
    return plan;
  };
  if (allFailed > num(spec, 'backoffLimit')) return fail('BackoffLimitExceeded', 'Job has reached the specified backoff limit');
  const deadline = spec.activeDeadlineSeconds;
  if (typeof deadline === 'number') {
    const at = (Date.parse(str(status.startTime)) || now.getTime()) + deadline * 1000;
    if (now.getTime() >= at) return fail('DeadlineExceeded', 'Job was active longer than specified deadline');
    plan.wakeAt = new Date(at);
  }
  const completions = typeof spec.completions === 'number' ? spec.completions : undefined;
  const done = completions !== undefined ? allOk >= completions : allOk > 0 && active.length === 0;
  if (done) {
    conds = setCondition(conds, { type: 'SuccessCriteriaMet', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' }, now);
    conds = setCondition(conds, { type: 'Complete', status: 'True', reason: 'CompletionsReached', message: 'Reached expected number of succeeded pods' }, now);
    status.completionTime = t;
    plan.delete = active;
    plan.events.push({ type: 'Normal', reason: 'Completed', message: 'Job completed' });
    status.conditions = conds;
    return plan;
  }

  const parallelism = num(spec, 'parallelism');
  const want = completions !== undefined ? Math.min(parallelism, completions - allOk) : allOk > 0 ? 0 : parallelism;
  if (active.length > want) plan.delete = [...active].sort((a, b) => Number(isReady(a)) - Number(isReady(b)) || (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '')).slice(0, active.length - want);
  else if (active.length < want) {
    const failures = failed + pendingFail.size;
    const lastFailure = Math.max(0, ...pods.filter((p) => phaseOf(p) === 'Failed').map(finishedAt));
    const base = (o.backoffBaseSeconds ?? 10) * 1000;
    const delay = failures > 0 ? Math.min(base * 2 ** (failures - 1), (o.backoffMaxSeconds ?? 360) * 1000) : 0;
    const readyAt = lastFailure + delay;
    if (failures > 0 && now.getTime() < readyAt) plan.wakeAt = plan.wakeAt && plan.wakeAt.getTime() < readyAt ? plan.wakeAt : new Date(readyAt);
    else plan.create = want - active.length;
  }
  if (conds.length) status.conditions = conds;
  return plan;
}
