/**
 * Requests anyone may repeat, answered at a bounded cost: per key, at most one run in flight and
 * one more pending (any number of requests while one runs fold into that one), and runs no more
 * often than a token bucket allows (`burst` at once, then one per `intervalMs`). A request that
 * finds no token is not dropped: its run starts when the next token is due. Level-triggered
 * work (republish the current state) loses nothing by folding; a flood costs one run per
 * interval.
 */

export interface CoalescerOptions {
  burst: number;
  intervalMs: number;
  now: () => number;
  /** the work for one key; its promise's end frees the key for the next run */
  run: (key: string) => Promise<void>;
  /** timer, injectable for tests: run `fn` after `ms`; returns a cancel */
  setTimer?: (fn: () => void, ms: number) => () => void;
}

interface KeyState {
  running: boolean;
  pending: boolean;
  /** a run is waiting for its token */
  cancelWait?: () => void;
  tokens: number;
  at: number;
}

const defaultTimer = (fn: () => void, ms: number): (() => void) => {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
};

export class KeyedCoalescer {
  private readonly keys = new Map<string, KeyState>();
  private readonly timer: NonNullable<CoalescerOptions['setTimer']>;
  readonly counters = { requested: 0, runs: 0, coalesced: 0, delayed: 0 };

  constructor(private readonly o: CoalescerOptions) {
    this.timer = o.setTimer ?? defaultTimer;
  }

  /** Ask for a run of `key`: started now, folded into one in flight or waiting, or started when a token is due. */
  request(key: string): 'started' | 'coalesced' | 'delayed' {
    this.counters.requested++;
    const s = this.state(key);
    if (s.running || s.cancelWait) {
      s.pending = true;
      this.counters.coalesced++;
      return 'coalesced';
    }
    return this.start(key, s);
  }

  /** Forget a key (its node left); a run in flight finishes, nothing follows it. */
  forget(key: string): void {
    this.keys.get(key)?.cancelWait?.();
    this.keys.delete(key);
  }

  /** Forget every key (the owner stops): nothing waiting runs. */
  clear(): void {
    for (const k of [...this.keys.keys()]) this.forget(k);
  }

  /** keys with state (tests: bounded by the keys that asked) */
  size(): number {
    return this.keys.size;
  }

  private state(key: string): KeyState {
    let s = this.keys.get(key);
    if (!s) this.keys.set(key, (s = { running: false, pending: false, tokens: this.o.burst, at: this.o.now() }));
    return s;
  }

  private refill(s: KeyState): void {
    const now = this.o.now();
    const back = Math.floor((now - s.at) / this.o.intervalMs);
    if (back <= 0) return;
    s.tokens = Math.min(this.o.burst, s.tokens + back);
    s.at = s.tokens === this.o.burst ? now : s.at + back * this.o.intervalMs;
  }

  private start(key: string, s: KeyState): 'started' | 'delayed' {
    this.refill(s);
    if (s.tokens < 1) {
      const wait = Math.max(1, s.at + this.o.intervalMs - this.o.now());
      this.counters.delayed++;
      s.cancelWait = this.timer(() => {
        s.cancelWait = undefined;
        if (this.keys.get(key) === s) this.start(key, s);
      }, wait);
      return 'delayed';
    }
    s.tokens--;
    s.running = true;
    // requests that arrived while this run waited for its token are answered by it
    s.pending = false;
    this.counters.runs++;
    const done = (): void => {
      s.running = false;
      if (this.keys.get(key) !== s) return;
      if (s.pending) {
        s.pending = false;
        this.start(key, s);
      }
    };
    let ran: Promise<void>;
    try {
      ran = this.o.run(key);
    } catch (e) {
      ran = Promise.reject(e);
    }
    ran.then(done, done);
    return 'started';
  }
}
