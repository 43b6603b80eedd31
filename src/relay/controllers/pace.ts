/**
 * A pace for a controller's writes: at most `perSecond` a second on average and `perSecond` at
 * once (a token bucket), each caller waiting its turn. As a Kubernetes controller's client QPS
 * does, it bounds what one controller may ask of the store when everything changes at once.
 */
export interface PaceClock {
  /** ms, monotonic */
  now(): number;
  sleep(ms: number): Promise<void>;
}

const REAL: PaceClock = { now: () => performance.now(), sleep: (ms) => new Promise((r) => setTimeout(r, ms)) };

export class Pace {
  private tokens: number;
  private last: number;

  /** `perSecond` 0: no pace. */
  constructor(
    private readonly perSecond: number,
    private readonly clock: PaceClock = REAL,
  ) {
    this.tokens = perSecond;
    this.last = clock.now();
  }

  /** Resolves when one more write may go (at once while the bucket holds a token). */
  async take(): Promise<void> {
    if (this.perSecond <= 0) return;
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
}
