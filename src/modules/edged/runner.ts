/**
 * edged's pass runner: runs one reconcile pass at a time. Anything may `trigger` a pass (a desired
 * change, an engine event, a probe result, a pod's work ending, the periodic resync); triggers
 * arriving during a pass run one more pass right after it, and a burst of triggers makes one pass
 * (short debounce). A pass that throws retries with capped backoff; a pass may ask to be woken at
 * a time (a backoff expiry). Passes are short: they hand work to per-pod workers, never wait on it.
 */
import { backoffDelay, type BackoffPolicy } from '../../core/backoff.js';

export interface PassOutcome {
  /** ms since epoch when the planner wants to look again */
  wakeAt?: number;
}

/** The timer functions the runner uses (real ones by default; a fake clock in unit tests). */
export interface Timers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface RunnerDeps {
  pass(reason: string): Promise<PassOutcome>;
  /** a pass threw (the engine is unreachable, the store is closing): `attempt` counts consecutive failures */
  onThrow(reason: string, error: unknown, attempt: number): void;
  /** a pass ran to its end */
  onDone(reason: string, outcome: PassOutcome): void;
  retry: BackoffPolicy;
  /** triggers within this window make one pass */
  debounceMs: number;
  timers?: Timers;
  rand?: () => number;
}

export class PassRunner {
  private readonly t: Timers;
  private running?: Promise<void>;
  private again = false;
  private failures = 0;
  private stopped = false;
  private debounce?: unknown;
  private wake?: unknown;
  private retry?: unknown;

  constructor(private readonly d: RunnerDeps) {
    this.t = d.timers ?? realTimers;
  }

  /** Ask for a pass soon; passes never overlap (a request during one runs right after it). */
  trigger(reason: string): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.debounce !== undefined) return;
    this.debounce = this.t.setTimeout(() => {
      this.debounce = undefined;
      this.running = this.run(reason).finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.trigger('again');
        }
      });
    }, this.d.debounceMs);
  }

  /** Consecutive failed passes (0 after a clean one). */
  get failedPasses(): number {
    return this.failures;
  }

  private async run(reason: string): Promise<void> {
    this.clear('retry');
    let r: PassOutcome;
    try {
      r = await this.d.pass(reason);
    } catch (e) {
      this.failures++;
      this.d.onThrow(reason, e, this.failures);
      this.schedule('retry', backoffDelay(this.d.retry, this.failures - 1, this.d.rand), 'retry');
      return;
    }
    this.failures = 0;
    this.d.onDone(reason, r);
    this.clear('wake');
    if (r.wakeAt !== undefined) this.schedule('wake', Math.max(0, r.wakeAt - this.t.now()) + 20, 'backoff-expired');
  }

  private clear(which: 'retry' | 'wake'): void {
    if (this[which] !== undefined) this.t.clearTimeout(this[which]);
    this[which] = undefined;
  }

  private schedule(which: 'retry' | 'wake', ms: number, reason: string): void {
    this.clear(which);
    this[which] = this.t.setTimeout(() => {
      this[which] = undefined;
      this.trigger(reason);
    }, ms);
  }

  /** No pass starts after this; resolves when the running one (if any) ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const h of [this.debounce, this.wake, this.retry]) if (h !== undefined) this.t.clearTimeout(h);
    this.debounce = this.wake = this.retry = undefined;
    await this.running?.catch(() => undefined);
  }
}
