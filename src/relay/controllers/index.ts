/**
 * The relay's controllers: the API machinery ones (namespace lifecycle, garbage collection, event
 * expiry, the endpoints of Services: EndpointSlices and Endpoints) and the workload controllers
 * (ReplicaSet, Deployment, DaemonSet, Job, CronJob, the scheduler, taint eviction), all run by the
 * ControllerManager while this relay leads (one relay: always; a fleet: the Lease holder,
 * leader.ts). Each is an in-process API client with its own identity; all state is in the store,
 * so a restart or a new leader rebuilds them from a list.
 */
import type { Logger } from '../../core/logger.js';
import type { ApiCore } from '../apiserver/core.js';
import type { EndpointController } from './endpoints.js';
import type { EventTtl } from './event-ttl.js';
import type { GarbageCollector } from './gc.js';
import type { NamespaceController } from './namespace.js';
import { systemClock, type Clock } from './clock.js';
import type { JobOptions } from './job-plan.js';
import { ControllerManager, type Leadership } from './manager.js';

export interface Controllers {
  /** the running API machinery controllers (these getters throw on a replica that does not lead) */
  readonly namespaces: NamespaceController;
  readonly gc: GarbageCollector;
  readonly events: EventTtl;
  readonly endpoints: EndpointController;
  workloads: ControllerManager;
  /** resolves when no controller has work queued (tests) */
  idle(): Promise<void>;
  /** end the campaign (a leader releases its Lease) and stop every controller cleanly */
  stop(): Promise<void>;
}

export interface ControllerOptions {
  /** how long an Event lives after it was last seen (Kubernetes: 1 h) */
  eventTtlMs?: number;
  /** the workload controllers' time (default: the API's clock) */
  clock?: Clock;
  job?: JobOptions;
  /** who runs the controllers (fleet mode: a Lease holder); default: this relay, started before this resolves */
  leadership?: Leadership;
}

export async function startControllers(core: ApiCore, log: Logger, o: ControllerOptions = {}): Promise<Controllers> {
  const workloads = new ControllerManager(core, log.child('workloads'), {
    clock: o.clock ?? systemClock(core.d.now),
    now: core.d.now,
    ...(o.eventTtlMs !== undefined ? { eventTtlMs: o.eventTtlMs } : {}),
    ...(o.job ? { job: o.job } : {}),
    ...(o.leadership ? { leadership: o.leadership } : {}),
  });
  workloads.start();
  // one relay leads at once: its controllers run before this resolves (a candidate does not wait)
  if (!o.leadership) await workloads.started;
  return {
    get namespaces() {
      return workloads.api.namespaces;
    },
    get gc() {
      return workloads.api.gc;
    },
    get events() {
      return workloads.api.events;
    },
    get endpoints() {
      return workloads.api.endpoints;
    },
    workloads,
    idle: () => workloads.idle(),
    stop: () => workloads.stop(),
  };
}
