/**
 * Per-node limits on what a node's apps may send up: token buckets over messages and bytes —
 * `burst` messages at once, then `messagesPerSecond`; bytes at `bytesPerSecond` with a second's
 * worth (or one largest message) at once — so one node's flood cannot take the relay's disk,
 * CPU or delivery lanes from the others. The node paces itself to the same quota (it is sent
 * in its routes), so only a misbehaving node meets the limit. Pure apart from the clock.
 */
import type { AppQuota } from '../../contract/appchan.js';

export type QuotaVerdict = 'ok' | 'rate' | 'bytes';

export class NodeQuota {
  private readonly buckets = new Map<string, { msgs: number; bytes: number; at: number }>();
  /** messages refused per node since start */
  readonly refused = new Map<string, number>();

  constructor(
    private readonly q: AppQuota,
    private readonly now: () => number,
  ) {}

  get quota(): AppQuota {
    return this.q;
  }

  private byteBurst(): number {
    return Math.max(this.q.bytesPerSecond, this.q.maxMessageBytes);
  }

  /** Take one message of `bytes` for `node`, or say which limit it is over (then nothing is taken). */
  take(node: string, bytes: number): QuotaVerdict {
    const now = this.now();
    const b = this.buckets.get(node) ?? { msgs: this.q.burst, bytes: this.byteBurst(), at: now };
    const dt = Math.max(0, now - b.at) / 1000;
    b.msgs = Math.min(this.q.burst, b.msgs + dt * this.q.messagesPerSecond);
    b.bytes = Math.min(this.byteBurst(), b.bytes + dt * this.q.bytesPerSecond);
    b.at = now;
    this.buckets.set(node, b);
    const verdict: QuotaVerdict = b.msgs < 1 ? 'rate' : b.bytes < bytes ? 'bytes' : 'ok';
    if (verdict === 'ok') {
      b.msgs -= 1;
      b.bytes -= bytes;
    } else this.refused.set(node, (this.refused.get(node) ?? 0) + 1);
    return verdict;
  }

  forget(node: string): void {
    this.buckets.delete(node);
    this.refused.delete(node);
  }
}
