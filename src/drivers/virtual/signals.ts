/**
 * Simulated signals, pure functions of time (and a seed): deterministic for tests and demos.
 */

/** Mulberry32: a small seeded PRNG; same seed → same sequence. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface SineParams {
  amplitude: number;
  periodMs: number;
  offset: number;
  phase: number;
}

export function sine(p: SineParams, tMs: number): number {
  return p.offset + p.amplitude * Math.sin((2 * Math.PI * tMs) / p.periodMs + p.phase);
}

export interface WalkParams {
  start: number;
  step: number;
  min: number;
  max: number;
  seed: number;
}

/**
 * A bounded random walk: each call moves by a uniform step in [-step, step], reflected
 * at min/max. The same seed replays the same sequence.
 */
export class RandomWalk {
  private value: number;
  private readonly rand: () => number;
  constructor(private readonly p: WalkParams) {
    this.value = Math.min(p.max, Math.max(p.min, p.start));
    this.rand = prng(p.seed);
  }

  next(): number {
    let v = this.value + (this.rand() * 2 - 1) * this.p.step;
    if (v > this.p.max) v = this.p.max - (v - this.p.max);
    if (v < this.p.min) v = this.p.min + (this.p.min - v);
    this.value = Math.min(this.p.max, Math.max(this.p.min, v));
    return this.value;
  }
}
