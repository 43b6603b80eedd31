/**
 * The job controller: runs a Job's pods to completion as job-plan.ts decides (tracking
 * finalizer, parallelism, backoff, deadline, completion, TTL after finished), writing pods,
 * finalizer removals and the status through the API. Woken by its Jobs and their pods, and at
 * the times the planner names (backoff over, deadline, TTL).
 */
import { rec } from '../kinds/common.js';
import { PodActions, writeStatus } from './actions.js';
import { ownerKey, type Controller, type ControllerContext } from './context.js';
import type { Informer } from './informer.js';
import { planJob, TRACKING_FINALIZER, type JobOptions } from './job-plan.js';
import { PODS, podFromTemplate } from './pods.js';
import { WorkQueue } from './queue.js';
import { BY_CONTROLLER } from './replicaset.js';

export const JOBS = { group: 'batch', resource: 'jobs' };
export type { JobOptions };

export class JobController implements Controller {
  readonly name = 'job';
  private readonly jobs: Informer;
  private readonly pods: Informer;
  private readonly queue: WorkQueue;
  private readonly actions: PodActions;

  constructor(
    private readonly c: ControllerContext,
    private readonly o: JobOptions = {},
  ) {
    this.jobs = c.informers.for(JOBS);
    this.pods = c.informers.for(PODS);
    this.queue = new WorkQueue((k) => this.sync(k), c.log);
    this.actions = new PodActions(c.client, this.pods, c.events);
    this.jobs.onChange((k) => this.queue.add(k));
    this.pods.onChange((_k, obj, old) => {
      for (const p of [obj, old]) {
        const k = p && ownerKey(p, 'Job');
        if (k) this.queue.add(k);
      }
    });
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  stop(): void {
    this.queue.stop();
  }

  private async sync(key: string): Promise<void> {
    const job = this.jobs.get(key);
    if (!job || job.metadata.deletionTimestamp) return;
    const pods = this.pods.byIndex(BY_CONTROLLER, job.metadata.uid ?? '');
    const plan = planJob(job, pods, this.c.clock.now(), this.o);
    const c = this.c.client;
    if (plan.deleteJob) {
      try {
        await c.delete(JOBS, job.metadata.namespace, job.metadata.name ?? '', { propagationPolicy: 'Background', preconditions: { uid: job.metadata.uid ?? '' } });
      } catch (e) {
        if ((e as { code?: number }).code !== 404) throw e;
      }
      return;
    }
    // the count first, then the finalizers it covers, then pods
    const written = await writeStatus(c, JOBS, this.jobs, job, plan.status);
    for (const e of plan.events) void this.c.events.emit(written, e.type, e.reason, e.message);
    for (const p of plan.untrack) {
      const finalizers = (p.metadata.finalizers ?? []).filter((f) => f !== TRACKING_FINALIZER);
      try {
        this.pods.observe(await c.patch(PODS, p.metadata.namespace, p.metadata.name ?? '', 'merge', { metadata: { finalizers, resourceVersion: p.metadata.resourceVersion } }));
      } catch (e) {
        const code = (e as { code?: number }).code;
        if (code !== 404 && code !== 409) throw e;
      }
    }
    for (const p of plan.delete) await this.actions.delete(job, p);
    if (plan.create) {
      const template = rec(job.spec)?.template;
      await this.actions.create(job, Array.from({ length: plan.create }, () => podFromTemplate(template, job, { finalizers: [TRACKING_FINALIZER] })));
    }
    if (plan.wakeAt) this.queue.wakeAt(key, plan.wakeAt, this.c.clock);
  }
}
