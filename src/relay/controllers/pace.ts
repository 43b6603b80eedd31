/**
 * A pace for a controller's writes: at most `perSecond` a second on average and `perSecond` at
 * once (a token bucket), each caller waiting its turn. As a Kubernetes controller's client QPS
 * does, it bounds what one controller may ask of the store when everything changes at once.
 * With `busy`, the writes also give way to more urgent work: while `busy()` says so, one goes per
 * `busyGapMs` at most (the bucket fills meanwhile, up to its size).
 */
export interface PaceClock {
  /** ms, monotonic */
  now(): number;
  sleep(ms: number): Promise<void>;
}

const REAL: PaceClock = { now: () => performance.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

export interface PaceYield {
  /** whether more urgent work is waiting now */
  busy(): boolean;
  /** while it is, one write per this many ms at most */
  busyGapMs: number;
}

/** how often a write held back by `busy` looks again */
const BUSY_POLL_MS = 50;

export class Pace {
  private tokens: number;
  private last: number;
  private lastBusyWrite = Number.NEGATIVE_INFINITY;

  /** `perSecond` 0: no pace (and no yielding). */
  constructor(
    private readonly perSecond: number,
    private readonly clock: PaceClock = REAL,
    private readonly yieldTo?: PaceYield,
  ) {
    this.tokens = perSecond;
    this.last = clock.now();
  }

  /** Resolves when one more write may go (at once while the bucket holds a token and nothing is busy). */
  async take(): Promise<void> {
    if (this.perSecond <= 0) return;
    if (this.yieldTo) await this.giveWay(this.yieldTo);
    for (;;) {
      const now = this.clock.now();
      this.tokens = Math.min(this.perSecond, this.tokens + ((now - this.last) * this.perSecond) / 1000);
      this.last = now;
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      await this.clock.sleep(Math.ceil(((1 - this.tokens) * 1000) / this.perSecond));
    }
  }

  private async giveWay(y: PaceYield): Promise<void> {
    for (;;) {
      if (!y.busy()) return;
      const wait = this.lastBusyWrite + y.busyGapMs - this.clock.now();
      if (wait <= 0) {
        this.lastBusyWrite = this.clock.now();
        return;
      }
      await this.clock.sleep(Math.min(wait, BUSY_POLL_MS));
    }
  }
}
