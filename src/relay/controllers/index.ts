/**
 * The relay's controllers that are pure API machinery: namespace lifecycle, garbage collection,
 * event expiry, and the endpoints of Services (EndpointSlices and Endpoints). Each is an in-process API client with its own identity; all state is in the store,
 * so a restart rebuilds them from a list.
 */
import type { Logger } from '../../core/logger.js';
import { controllerIdentity } from '../apiserver/authz.js';
import { ApiClient } from '../apiserver/client.js';
import type { ApiCore } from '../apiserver/core.js';
import { EndpointController } from './endpoints.js';
import { EventTtl } from './event-ttl.js';
import { GarbageCollector } from './gc.js';
import { NamespaceController } from './namespace.js';

export interface Controllers {
  namespaces: NamespaceController;
  gc: GarbageCollector;
  events: EventTtl;
  endpoints: EndpointController;
  /** resolves when no controller has work queued (tests) */
  idle(): Promise<void>;
  stop(): void;
}

export interface ControllerOptions {
  /** how long an Event lives after it was last seen (Kubernetes: 1 h) */
  eventTtlMs?: number;
}

export async function startControllers(core: ApiCore, log: Logger, o: ControllerOptions = {}): Promise<Controllers> {
  const client = (name: string): ApiClient => new ApiClient(core, controllerIdentity(name), `edgerelay-${name}-controller`);
  const namespaces = new NamespaceController(client('namespace'), () => core.registry.all(), log.child('namespace'));
  const gc = new GarbageCollector(client('garbage-collector'), core.registry, log.child('gc'));
  const events = new EventTtl(client('event-ttl'), log.child('event-ttl'), core.d.now, o.eventTtlMs);
  const endpoints = new EndpointController(client('endpointslice'), log.child('endpoints'));
  await namespaces.start();
  await gc.start();
  events.start();
  await endpoints.start();
  return {
    namespaces,
    gc,
    events,
    endpoints,
    idle: async () => {
      await namespaces.idle();
      await gc.idle();
      await endpoints.idle();
    },
    stop: () => {
      namespaces.stop();
      gc.stop();
      events.stop();
      endpoints.stop();
    },
  };
}
