/**
 * The controller manager: builds the workload controllers (ReplicaSet, Deployment, DaemonSet,
 * Job, CronJob, the scheduler, taint eviction) over one set of shared informers, each with its
 * own identity (`controller:<name>`), and runs them while this relay leads. One relay is always
 * its own leader; in fleet mode several relays share a store and only the holder of a Lease may
 * run controllers — `Leadership` is that hook (issue 19's Lease plugs in here).
 */
import type { Logger } from '../../core/logger.js';
import { controllerIdentity } from '../apiserver/authz.js';
import { ApiClient } from '../apiserver/client.js';
import type { ApiCore } from '../apiserver/core.js';
import type { Clock } from './clock.js';
import type { Controller, ControllerContext } from './context.js';
import { DaemonSetController } from './daemonset.js';
import { DeploymentController } from './deployment.js';
import { EventRecorder } from './events.js';
import { SharedInformers } from './informer.js';
import { CronJobController } from './cronjob.js';
import { JobController, type JobOptions } from './job.js';
import { PODS } from './pods.js';
import { indexPods, ReplicaSetController } from './replicaset.js';
import { Scheduler } from './scheduler/scheduler.js';
import { TaintEviction } from './taint-eviction.js';

/** Who runs the controllers. `campaign` calls `lead` once this process leads and `abdicate` when it no longer does. */
export interface Leadership {
  campaign(lead: () => Promise<void>, abdicate: () => void): { stop(): void };
}

/** A single relay: always the leader. */
export const SOLE_LEADER: Leadership = {
  campaign(lead) {
    void lead();
    return { stop() {} };
  },
};

export interface WorkloadOptions {
  clock: Clock;
  job?: JobOptions;
  leadership?: Leadership;
}

export class ControllerManager {
  private informers?: SharedInformers;
  private running: Controller[] = [];
  private campaign?: { stop(): void };
  /** resolves when the controllers first run (the leader's start) */
  started: Promise<void>;
  private markStarted!: () => void;

  constructor(
    private readonly core: ApiCore,
    private readonly log: Logger,
    private readonly o: WorkloadOptions,
  ) {
    this.started = new Promise((r) => (this.markStarted = r));
  }

  private context(name: string, informers: SharedInformers): ControllerContext {
    const client = new ApiClient(this.core, controllerIdentity(name), `edgerelay-${name}-controller`);
    const log = this.log.child(name);
    return { client, informers, clock: this.o.clock, log, events: new EventRecorder(client, `${name}-controller`, this.o.clock, log) };
  }

  /** Campaign for leadership; controllers run while leading. */
  start(): void {
    this.campaign = (this.o.leadership ?? SOLE_LEADER).campaign(
      () => this.lead(),
      () => this.abdicate(),
    );
  }

  get controllers(): readonly Controller[] {
    return this.running;
  }

  private async lead(): Promise<void> {
    const informers = new SharedInformers(new ApiClient(this.core, controllerIdentity('informers'), 'edgerelay-informers'), this.log.child('informers'));
    indexPods(informers.for(PODS));
    const sctx = this.context('scheduler', informers);
    const scheduler = new Scheduler({ ...sctx, events: new EventRecorder(sctx.client, 'default-scheduler', this.o.clock, sctx.log) });
    this.running = [
      new ReplicaSetController(this.context('replicaset', informers)),
      new DeploymentController(this.context('deployment', informers)),
      new DaemonSetController(this.context('daemonset', informers)),
      new JobController(this.context('job', informers), this.o.job),
      new CronJobController(this.context('cronjob', informers)),
      new TaintEviction(this.context('taint-eviction', informers)),
      scheduler,
    ];
    this.informers = informers;
    await informers.start();
    this.log.info('workload controllers running', { controllers: this.running.map((c) => c.name) });
    this.markStarted();
  }

  private abdicate(): void {
    for (const c of this.running) c.stop();
    this.informers?.stop();
    this.running = [];
    this.informers = undefined;
  }

  controller<T extends Controller>(name: string): T | undefined {
    return this.running.find((c) => c.name === name) as T | undefined;
  }

  async idle(): Promise<void> {
    for (let i = 0; i < 3; i++) for (const c of this.running) await c.idle();
  }

  stop(): void {
    this.campaign?.stop();
    this.abdicate();
  }
}
