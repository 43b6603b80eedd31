/**
 * The controller manager: everything that must run once per store, started while this relay
 * leads and stopped when it no longer does — the API machinery's controllers (namespace
 * lifecycle, garbage collection, event expiry, EndpointSlices/Endpoints) and the workload
 * controllers (ReplicaSet, Deployment, DaemonSet, Job, CronJob, the scheduler, taint eviction)
 * over one set of shared informers, each with its own identity (`controller:<name>`). One relay
 * is always its own leader (SOLE_LEADER); in fleet mode several relays share a store and only
 * the holder of a Lease runs them (leader.ts). Stopping is clean: queues stop taking keys and
 * the step each controller is in finishes before `abdicate` resolves.
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
import { EndpointController } from './endpoints.js';
import { EventTtl } from './event-ttl.js';
import { GarbageCollector } from './gc.js';
import { NamespaceController } from './namespace.js';
import { Scheduler } from './scheduler/scheduler.js';
import { TaintEviction } from './taint-eviction.js';

/**
 * Who runs the controllers. `campaign` calls `lead` once this process leads and `abdicate` (awaited:
 * the controllers have stopped when it resolves) when it no longer does; `stop` ends the campaign.
 */
export interface Leadership {
  campaign(lead: () => Promise<void>, abdicate: () => Promise<void> | void): { stop(): Promise<void> | void };
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
  /** how long an Event lives after it was last seen (Kubernetes: 1 h) */
  eventTtlMs?: number;
  /** the relay's clock (event expiry) */
  now: () => Date;
}

/** The API machinery's controllers (they run with the workload controllers, on the leader). */
export interface MachineryControllers {
  namespaces: NamespaceController;
  gc: GarbageCollector;
  events: EventTtl;
  endpoints: EndpointController;
}

export class ControllerManager {
  private informers?: SharedInformers;
  private running: Controller[] = [];
  private machinery?: MachineryControllers;
  private campaign?: { stop(): Promise<void> | void };
  private leads = false;
  private readonly leadingListeners: (() => void)[] = [];
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

  /** Told each time this relay starts leading (after its controllers run; at once if it leads now). */
  onLeading(listener: () => void): void {
    this.leadingListeners.push(listener);
    if (this.leads) listener();
  }

  /** true while this relay runs the controllers */
  get leading(): boolean {
    return this.leads;
  }

  /** the API machinery's controllers (throws on a replica that does not lead) */
  get api(): MachineryControllers {
    if (!this.machinery) throw new Error('this relay does not lead: the controllers run on another replica');
    return this.machinery;
  }

  private async lead(): Promise<void> {
    this.leads = true;
    const client = (name: string): ApiClient => new ApiClient(this.core, controllerIdentity(name), `edgerelay-${name}-controller`);
    const m: MachineryControllers = {
      namespaces: new NamespaceController(client('namespace'), () => this.core.registry.all(), this.log.child('namespace')),
      gc: new GarbageCollector(client('garbage-collector'), this.core.registry, this.log.child('gc')),
      events: new EventTtl(client('event-ttl'), this.log.child('event-ttl'), this.o.now, this.o.eventTtlMs),
      endpoints: new EndpointController(client('endpointslice'), this.log.child('endpoints')),
    };
    this.machinery = m;
    await m.namespaces.start();
    await m.gc.start();
    m.events.start();
    await m.endpoints.start();
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
    for (const l of this.leadingListeners) l();
  }

  /** Stop every controller, then wait for the step each is in to finish (no half-applied step survives a handover). */
  private async abdicate(): Promise<void> {
    this.leads = false;
    const running = this.running;
    const m = this.machinery;
    for (const c of running) c.stop();
    this.informers?.stop();
    if (m) for (const c of [m.namespaces, m.gc, m.events, m.endpoints]) c.stop();
    this.running = [];
    this.informers = undefined;
    this.machinery = undefined;
    for (const c of running) await c.idle();
    if (m) for (const c of [m.namespaces, m.gc, m.events, m.endpoints]) await c.idle();
  }

  controller<T extends Controller>(name: string): T | undefined {
    return this.running.find((c) => c.name === name) as T | undefined;
  }

  async idle(): Promise<void> {
    for (let i = 0; i < 3; i++) {
      const m = this.machinery;
      if (m) for (const c of [m.namespaces, m.gc, m.endpoints]) await c.idle();
      for (const c of this.running) await c.idle();
    }
  }

  /** End the campaign (a leader releases its Lease) and stop the controllers. */
  async stop(): Promise<void> {
    await this.campaign?.stop();
    await this.abdicate();
  }
}
