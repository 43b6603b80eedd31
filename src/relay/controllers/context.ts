/**
 * What every workload controller is built from: its API client (its own identity), the shared
 * informers, the clock, a logger and an event recorder under its component name. The controller
 * manager (manager.ts) makes one per controller.
 */
import type { Logger } from '../../core/logger.js';
import type { ApiClient } from '../apiserver/client.js';
import type { Clock } from './clock.js';
import type { EventRecorder } from './events.js';
import type { SharedInformers } from './informer.js';

export interface ControllerContext {
  client: ApiClient;
  informers: SharedInformers;
  clock: Clock;
  log: Logger;
  events: EventRecorder;
}

/** One controller as the manager runs it: it registers on the informers when built, then works its queue. */
export interface Controller {
  readonly name: string;
  /** resolves when its queue is empty (tests) */
  idle(): Promise<void>;
  stop(): void;
}

/** `namespace/name` of an object's controller reference of `kind`, or undefined. */
export function ownerKey(o: { metadata: { namespace?: string; ownerReferences?: { kind: string; name: string; controller?: boolean }[] } }, kind: string): string | undefined {
  const r = o.metadata.ownerReferences?.find((x) => x.controller === true && x.kind === kind);
  return r ? `${o.metadata.namespace ?? ''}/${r.name}` : undefined;
}
