/**
 * Periodic work on the clock's boundaries: everything with the same cycle runs in the same turn
 * of the event loop, so a node reading 100 device properties a second wakes up once a second,
 * not 100 times (each wake-up costs a system call and a timer pass: docs/benchmarks.md).
 */

/** Milliseconds from `now` to the next multiple of `cycleMs` (a full cycle when exactly on one). */
export function untilBoundary(cycleMs: number, now: number): number {
  if (!(cycleMs > 0)) return 0;
  const rest = now % cycleMs;
  return rest === 0 ? cycleMs : cycleMs - rest;
}

/**
 * One timer per cycle length for everything on that cycle: 50 devices reading every second and
 * reporting every 5 s are two timers, not one per device and property re-armed after each run
 * (each a Timeout object and a list of its own in Node's timer queue, since the delays to the
 * next boundary all differ: docs/benchmarks.md, footprint, fourth round). Callbacks run on the
 * cycle's boundaries, in the order they were added; one that throws does not stop the others.
 */
export class CycleClock {
  private readonly cycles = new Map<number, { timer?: NodeJS.Timeout; fns: Set<{ fn: () => void }> }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Call `fn` on every boundary of `cycleMs` (> 0) until the returned function is called. */
  every(cycleMs: number, fn: () => void): () => void {
    let c = this.cycles.get(cycleMs);
    if (!c) this.cycles.set(cycleMs, (c = { fns: new Set() }));
    const entry = { fn };
    c.fns.add(entry);
    if (!c.timer) this.arm(cycleMs, c);
    const cycle = c;
    return () => {
      cycle.fns.delete(entry);
      if (cycle.fns.size === 0 && this.cycles.get(cycleMs) === cycle) {
        clearTimeout(cycle.timer);
        this.cycles.delete(cycleMs);
      }
    };
  }

  /** cycles with something on them (tests) */
  get size(): number {
    return this.cycles.size;
  }

  private arm(cycleMs: number, c: { timer?: NodeJS.Timeout; fns: Set<{ fn: () => void }> }): void {
    c.timer = setTimeout(() => {
      c.timer = undefined;
      for (const e of [...c.fns]) {
        if (!c.fns.has(e)) continue; // removed by an earlier callback of this boundary
        try {
          e.fn();
        } catch {
          // the callback's owner handles its own errors; the others still run
        }
      }
      if (c.fns.size > 0 && this.cycles.get(cycleMs) === c) this.arm(cycleMs, c);
    }, untilBoundary(cycleMs, this.now()));
  }
}
