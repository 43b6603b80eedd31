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
