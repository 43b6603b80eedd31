/**
 * Runs modules: starts them in order, restarts a failed one with capped exponential backoff
 * (its own policy) without touching the others, and stops them in reverse order with a bounded
 * timeout. One Supervisor per process, created and passed in by the entry point.
 */
import { backoffDelay } from './backoff.js';
import type { Bus, BusMessage, ModuleBus } from './bus.js';
import { errorMessage } from './errors.js';
import type { Logger } from './logger.js';
import type { Module, ModuleSpec, ModuleState, ModuleStatus } from './module.js';

interface Slot<M extends BusMessage, R, S> {
  spec: ModuleSpec<M, R, S>;
  state: ModuleState;
  restarts: number;
  consecutive: number;
  lastError?: string;
  since: number;
  startedAt: number;
  abort?: AbortController;
  bus?: ModuleBus<M, R>;
  timer?: NodeJS.Timeout;
  /** the current run; stopping waits for it */
  run?: Promise<void>;
}

export interface SupervisorOptions {
  stopTimeoutMs: number;
  now?: () => number;
}

export type SupervisorEvent = { kind: 'state'; module: string; state: ModuleState; error?: string };

export class Supervisor<M extends BusMessage, R, S> {
  private readonly slots: Slot<M, R, S>[] = [];
  private stopping = false;
  private readonly listeners: ((e: SupervisorEvent) => void)[] = [];
  private readonly now: () => number;

  constructor(
    private readonly bus: Bus<M, R>,
    private readonly services: S,
    private readonly log: Logger,
    private readonly opts: SupervisorOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  add(spec: ModuleSpec<M, R, S>): this {
    if (this.slots.some((s) => s.spec.module.name === spec.module.name)) {
      throw new Error(`module ${spec.module.name} registered twice`);
    }
    const t = this.now();
    this.slots.push({ spec, state: spec.enabled ? 'idle' : 'disabled', restarts: 0, consecutive: 0, since: t, startedAt: t });
    return this;
  }

  on(listener: (e: SupervisorEvent) => void): void {
    this.listeners.push(listener);
  }

  /** Start every enabled module in order. Resolves once each has been tried once. */
  async startAll(): Promise<void> {
    for (const slot of this.slots) {
      if (slot.state === 'disabled') {
        this.log.info('module disabled', { module: slot.spec.module.name });
        continue;
      }
      await this.startOne(slot);
    }
  }

  /** Stop in reverse order; each module gets `stopTimeoutMs`. Never throws. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const slot of [...this.slots].reverse()) {
      if (slot.timer) clearTimeout(slot.timer);
      if (slot.state === 'disabled') continue;
      await this.stopOne(slot, 'stopped');
    }
  }

  status(): ModuleStatus[] {
    return this.slots.map((s) => ({
      name: s.spec.module.name,
      group: s.spec.module.group,
      state: s.state,
      restarts: s.restarts,
      ...(s.lastError ? { lastError: s.lastError } : {}),
      since: new Date(s.since).toISOString(),
    }));
  }

  /** Every enabled module running, and each module's own health check (if any) passing. */
  async healthy(): Promise<boolean> {
    for (const s of this.slots) {
      if (s.state === 'disabled') continue;
      if (s.state !== 'running') return false;
      const h = s.spec.module.healthy;
      if (h) {
        try {
          if (!(await h.call(s.spec.module))) return false;
        } catch {
          return false;
        }
      }
    }
    return true;
  }

  private setState(slot: Slot<M, R, S>, state: ModuleState, error?: string): void {
    slot.state = state;
    slot.since = this.now();
    for (const l of this.listeners) l({ kind: 'state', module: slot.spec.module.name, state, ...(error ? { error } : {}) });
  }

  private async startOne(slot: Slot<M, R, S>): Promise<void> {
    const mod: Module<M, R, S> = slot.spec.module;
    const abort = new AbortController();
    slot.abort = abort;
    const log = this.log.child(mod.name);
    const bus = this.bus.attach(mod.name, mod.group, (err) => this.onFailure(slot, abort, err));
    slot.bus = bus;
    this.setState(slot, 'starting');
    slot.startedAt = this.now();
    const run = (async () => {
      await mod.start({ bus, services: this.services, log, signal: abort.signal, fail: (err) => this.onFailure(slot, abort, err) });
    })();
    slot.run = run.catch(() => undefined);
    try {
      await run;
      if (abort.signal.aborted) return;
      this.setState(slot, 'running');
      log.info('module started', { group: mod.group, restarts: slot.restarts });
    } catch (err) {
      this.onFailure(slot, abort, err);
    }
  }

  /** Called at most once per run (guarded by that run's AbortController). */
  private onFailure(slot: Slot<M, R, S>, runAbort: AbortController, err: unknown): void {
    if (runAbort.signal.aborted || this.stopping || slot.abort !== runAbort) return;
    const name = slot.spec.module.name;
    const msg = errorMessage(err);
    slot.lastError = msg;
    const policy = slot.spec.restart;
    if (this.now() - slot.startedAt > policy.resetAfterMs) slot.consecutive = 0;
    const attempt = slot.consecutive++;
    void this.stopOne(slot, 'backoff').then(() => {
      if (this.stopping) return;
      if (policy.maxRestarts > 0 && slot.consecutive > policy.maxRestarts) {
        this.setState(slot, 'failed', msg);
        this.log.error('module failed; restart limit reached', { module: name, error: msg, restarts: slot.restarts });
        return;
      }
      const delay = backoffDelay(policy, attempt);
      this.setState(slot, 'backoff', msg);
      this.log.error('module failed; restarting', { module: name, error: msg, inMs: delay, attempt: attempt + 1 });
      slot.timer = setTimeout(() => {
        slot.timer = undefined;
        if (this.stopping) return;
        slot.restarts++;
        void this.startOne(slot);
      }, delay);
    });
  }

  private async stopOne(slot: Slot<M, R, S>, next: ModuleState): Promise<void> {
    const mod = slot.spec.module;
    const wasActive = slot.state === 'running' || slot.state === 'starting';
    slot.abort?.abort(new Error(`module ${mod.name} stopping`));
    slot.bus?.close();
    slot.bus = undefined;
    if (!wasActive && next === 'stopped') {
      this.setState(slot, 'stopped');
      return;
    }
    this.setState(slot, 'stopping');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((r) => {
      timer = setTimeout(() => r('timeout'), this.opts.stopTimeoutMs);
    });
    try {
      const res = await Promise.race([
        (async () => {
          await slot.run;
          await mod.stop();
          return 'ok' as const;
        })(),
        timeout,
      ]);
      if (res === 'timeout') this.log.warn('module did not stop in time', { module: mod.name, timeoutMs: this.opts.stopTimeoutMs });
      else if (next === 'stopped') this.log.info('module stopped', { module: mod.name });
    } catch (err) {
      this.log.warn('module stop failed', { module: mod.name, error: errorMessage(err) });
    } finally {
      clearTimeout(timer);
    }
    this.setState(slot, next);
  }
}
