/**
 * The cronjob controller: makes each CronJob's Jobs on its schedule (cronjob-plan.ts decides),
 * keeps its status and history, and wakes at the next scheduled time by the controller clock —
 * a ManualClock in tests, so a test moves time instead of waiting for it.
 */
import type { KubeObject } from '../../contract/kube/types.js';
import { writeStatus } from './actions.js';
import { ownerKey, type Controller, type ControllerContext } from './context.js';
import { planCronJob } from './cronjob-plan.js';
import type { Informer } from './informer.js';
import { JOBS } from './job.js';
import { controllerRef } from './pods.js';
import { WorkQueue } from './queue.js';
import { BY_CONTROLLER } from './replicaset.js';

export const CRONJOBS = { group: 'batch', resource: 'cronjobs' };

export class CronJobController implements Controller {
  readonly name = 'cronjob';
  private readonly cronjobs: Informer;
  private readonly jobs: Informer;
  private readonly queue: WorkQueue;

  constructor(private readonly c: ControllerContext) {
    this.cronjobs = c.informers.for(CRONJOBS);
    this.jobs = c.informers.for(JOBS);
    this.jobs.addIndex(BY_CONTROLLER, (o) => {
      const r = controllerRef(o);
      return r ? [r.uid] : [];
    });
    this.queue = new WorkQueue((k) => this.sync(k), c.log);
    this.cronjobs.onChange((k) => this.queue.add(k));
    this.jobs.onChange((_k, obj, old) => {
      for (const j of [obj, old]) {
        const k = j && ownerKey(j, 'CronJob');
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
    const cj = this.cronjobs.get(key);
    if (!cj || cj.metadata.deletionTimestamp) return;
    const jobs = this.jobs.byIndex(BY_CONTROLLER, cj.metadata.uid ?? '');
    const plan = planCronJob(cj, jobs, this.c.clock.now());
    const c = this.c.client;
    for (const j of plan.delete) {
      try {
        await c.delete(JOBS, j.metadata.namespace, j.metadata.name ?? '', { propagationPolicy: 'Background', preconditions: { uid: j.metadata.uid ?? '' } });
        void this.c.events.emit(cj, 'Normal', 'SuccessfulDelete', `Deleted job ${j.metadata.name ?? ''}`);
      } catch (e) {
        if ((e as { code?: number }).code !== 404) throw e;
      }
    }
    const status = plan.status;
    if (plan.create) {
      let made: KubeObject;
      try {
        made = await c.create(JOBS, plan.create.job);
      } catch (e) {
        if ((e as { code?: number }).code !== 409) throw e;
        made = await c.get(JOBS, plan.create.job.metadata.namespace, plan.create.job.metadata.name ?? '');
      }
      this.jobs.observe(made);
      const refs = (status.active as unknown[] | undefined) ?? [];
      if (!refs.some((r) => (r as { uid?: string }).uid === made.metadata.uid)) {
        refs.push({ kind: 'Job', namespace: made.metadata.namespace, name: made.metadata.name, uid: made.metadata.uid, apiVersion: 'batch/v1', resourceVersion: made.metadata.resourceVersion });
      }
      status.active = refs;
    }
    const written = await writeStatus(c, CRONJOBS, this.cronjobs, cj, status);
    for (const e of plan.events) void this.c.events.emit(written, e.type, e.reason, e.message);
    if (plan.wakeAt) this.queue.wakeAt(key, plan.wakeAt, this.c.clock);
  }
}
