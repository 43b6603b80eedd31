/**
 * Per-node limits on what a node may push as telemetry (samples and events): a token bucket per
 * node — `burst` messages at once (a node catching up on what it queued offline), then
 * `ratePerSecond` — so one node cannot flood the relay's disk, CPU or every other node's
 * history. Retention is per node too (the store keeps each node's newest rows). Pure apart from
 * the clock it is given.
 */
export interface RateLimit {
  ratePerSecond: number;
  burst: number;
}

export class NodeRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  /** messages refused per node since start */
  readonly refused = new Map<string, number>();

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number,
  ) {}

  /** Take `n` tokens (one per row kept) for `node`: false when it is over its limit (the message is dropped whole). */
  take(node: string, n = 1): boolean {
    const now = this.now();
    const b = this.buckets.get(node) ?? { tokens: this.limit.burst, at: now };
    b.tokens = Math.min(this.limit.burst, b.tokens + ((now - b.at) / 1000) * this.limit.ratePerSecond);
    b.at = now;
    this.buckets.set(node, b);
    const need = Math.min(n, this.limit.burst); // a message bigger than the burst still passes when the bucket is full
    if (b.tokens >= need) {
      b.tokens -= need;
      return true;
    }
    this.refused.set(node, (this.refused.get(node) ?? 0) + 1);
    return false;
  }

  forget(node: string): void {
    this.buckets.delete(node);
    this.refused.delete(node);
  }
}
