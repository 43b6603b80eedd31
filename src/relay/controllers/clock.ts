/**
 * The controllers' time: `now()` for every decision and `timer()` for every wake-up they plan
 * (a CronJob's next run, a Job's deadline, a pod becoming available after minReadySeconds), so a
 * test drives time with a ManualClock instead of waiting. Retries after errors are not planned
 * wake-ups and use real timers (WorkQueue).
 */
export interface Timer {
  cancel(): void;
}

export interface Clock {
  now(): Date;
  /** call `fn` once `ms` of this clock's time have passed */
  timer(ms: number, fn: () => void): Timer;
}

/** Real time (or `now` as given: the relay's clock), with real timers. */
export function systemClock(now: () => Date = () => new Date()): Clock {
  return {
    now,
    timer(ms, fn) {
      const t = setTimeout(fn, Math.max(0, ms));
      t.unref();
      return { cancel: () => clearTimeout(t) };
    },
  };
}

/** A clock that moves only when told (tests, benches): `advance` fires the timers that fall due, in order. */
export class ManualClock implements Clock {
  private current: number;
  private readonly timers = new Set<{ at: number; fn: () => void }>();

  constructor(start: Date | string = '2026-01-01T00:00:00Z') {
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  timer(ms: number, fn: () => void): Timer {
    const t = { at: this.current + Math.max(0, ms), fn };
    this.timers.add(t);
    return { cancel: () => this.timers.delete(t) };
  }

  /** Move time forward by `ms`, firing each timer due on the way at its own time. */
  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      const due = [...this.timers].filter((t) => t.at <= end).sort((a, b) => a.at - b.at)[0];
      if (!due) break;
      this.timers.delete(due);
      this.current = Math.max(this.current, due.at);
      due.fn();
    }
    this.current = end;
  }

  set(to: Date | string): void {
    const t = new Date(to).getTime();
    if (t > this.current) this.advance(t - this.current);
  }
}
