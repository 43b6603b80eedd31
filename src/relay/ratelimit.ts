/**
 * A per-source limit on failed attempts (the join route): each source has `burst` credits, one
 * comes back every `refillMs`. An attempt takes a credit when it starts (so concurrent attempts
 * cannot all slip through) and gets it back if it succeeds. With none left every attempt from
 * that source is refused (429) until a credit is back — a valid token too, so a guesser gains
 * nothing by mixing in a good one. IPv6 sources count per /64 (one host usually holds a whole /64).
 * Memory is bounded: beyond `maxSources` the least recently failing source is forgotten.
 */
import { isIPv6 } from 'node:net';

export interface LimiterOptions {
  burst: number;
  refillMs: number;
  maxSources: number;
}

interface Bucket {
  credits: number;
  at: number;
}

/** The key a source address counts under. */
export function sourceKey(address: string | undefined): string {
  const a = (address ?? '').replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
  if (!isIPv6(a)) return a || 'unknown';
  // expand "::" enough to take the first four groups
  const [head = '', tail = ''] = a.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = a.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

export class FailureLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly o: LimiterOptions,
    private readonly now: () => number,
  ) {}

  private bucket(key: string): Bucket {
    const t = this.now();
    const b = this.buckets.get(key);
    if (!b) return { credits: this.o.burst, at: t };
    const back = Math.floor((t - b.at) / this.o.refillMs);
    if (back <= 0) return b;
    const credits = Math.min(this.o.burst, b.credits + back);
    return { credits, at: credits === this.o.burst ? t : b.at + back * this.o.refillMs };
  }

  /** Take a credit for an attempt: undefined when taken; else the seconds until one is back. */
  take(key: string): number | undefined {
    const b = this.bucket(key);
    if (b.credits <= 0) return Math.max(1, Math.ceil((b.at + this.o.refillMs - this.now()) / 1000));
    this.put(key, { credits: b.credits - 1, at: b.at });
    return undefined;
  }

  /** The attempt succeeded (or failed on the server's side): its credit comes back. */
  refund(key: string): void {
    const b = this.bucket(key);
    this.put(key, { credits: Math.min(this.o.burst, b.credits + 1), at: b.at });
  }

  private put(key: string, b: Bucket): void {
    this.buckets.delete(key);
    this.buckets.set(key, b);
    if (this.buckets.size > this.o.maxSources) this.buckets.delete(this.buckets.keys().next().value!);
  }

  sources(): number {
    return this.buckets.size;
  }
}
