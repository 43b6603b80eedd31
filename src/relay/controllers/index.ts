/**
 * The relay's controllers that are pure API machinery: namespace lifecycle and garbage
 * collection. Each is an in-process API client with its own identity; all state is in the store,
 * so a restart rebuilds them from a list.
 */
import type { Logger } from '../../core/logger.js';
import { controllerIdentity } from '../apiserver/authz.js';
import { ApiClient } from '../apiserver/client.js';
import type { ApiCore } from '../apiserver/core.js';
import { GarbageCollector } from './gc.js';
import { NamespaceController } from './namespace.js';

export interface Controllers {
  namespaces: NamespaceController;
  gc: GarbageCollector;
  /** resolves when no controller has work queued (tests) */
  idle(): Promise<void>;
  stop(): void;
}

export async function startControllers(core: ApiCore, log: Logger): Promise<Controllers> {
  const client = (name: string): ApiClient => new ApiClient(core, controllerIdentity(name), `edgerelay-${name}-controller`);
  const namespaces = new NamespaceController(client('namespace'), () => core.registry.all(), log.child('namespace'));
  const gc = new GarbageCollector(client('garbage-collector'), core.registry, log.child('gc'));
  await namespaces.start();
  await gc.start();
  return {
    namespaces,
    gc,
    idle: async () => {
      await namespaces.idle();
      await gc.idle();
    },
    stop: () => {
      namespaces.stop();
      gc.stop();
    },
  };
}
