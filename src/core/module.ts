/**
 * The module contract (KubeEdge Beehive's Module, typed). A module is constructed cheaply
 * (no I/O in constructors); all work starts in `start(ctx)` and ends in `stop()`.
 */
import type { BackoffPolicy } from './backoff.js';
import type { BusMessage, ModuleBus } from './bus.js';
import type { Logger } from './logger.js';

export interface ModuleContext<M extends BusMessage, R, S> {
  bus: ModuleBus<M, R>;
  /** the application's shared services (store, config...) — opaque to core */
  services: S;
  log: Logger;
  /** aborted when the module is being stopped or restarted */
  signal: AbortSignal;
  /**
   * Report a failure discovered outside a bus handler (a timer, a stream, a socket).
   * The supervisor stops the module and restarts it with backoff.
   */
  fail(err: unknown): void;
}

export interface Module<M extends BusMessage, R, S> {
  readonly name: string;
  readonly group: string;
  /** Resolve when the module is serving. Throwing fails the start (restarted with backoff). */
  start(ctx: ModuleContext<M, R, S>): Promise<void>;
  /** Release everything; must finish within the shutdown timeout. */
  stop(): Promise<void>;
  /** Optional liveness for the watchdog; a false/throw marks the module unhealthy. */
  healthy?(): boolean | Promise<boolean>;
}

export interface ModuleSpec<M extends BusMessage, R, S> {
  module: Module<M, R, S>;
  enabled: boolean;
  restart: BackoffPolicy & {
    /** give up after this many consecutive failures (0 = never); the supervisor then reports unhealthy */
    maxRestarts: number;
    /** a run longer than this resets the failure count */
    resetAfterMs: number;
  };
}

export type ModuleState = 'disabled' | 'idle' | 'starting' | 'running' | 'backoff' | 'stopping' | 'stopped' | 'failed';

export interface ModuleStatus {
  name: string;
  group: string;
  state: ModuleState;
  restarts: number;
  lastError?: string;
  since: string;
}
