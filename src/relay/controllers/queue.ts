/**
 * A controller's work queue: keys, each pending at most once, worked one at a time (a key being
 * worked that is added again is worked again afterwards). A failed key is retried with capped
 * exponential backoff; `after` requeues a key later (a namespace still holding objects).
 *
 * The queue lets the event loop turn at least every `sliceMs` of work (issue 19). The relay's
 * writes complete without I/O (SQLite is synchronous, watches deliver in microtasks), so a long
 * queue — 20,000 Nodes going Unknown when every node's connection drops at once — would
 * otherwise drain as one chain of microtasks: no socket read, no CONNECT, no timer for as long
 * as it lasts (a reconnect storm had no node connected for minutes). Keys added while the loop
 * turns fold into the pending ones, so a node that is back before its turn costs no write.
 */
import { backoffDelay } from '../../core/backoff.js';
import type { Logger } from '../../core/logger.js';
import type { Clock, Timer } from './clock.js';

/** How long a queue works before it lets the event loop turn (I/O, timers), and how it lets it. */
export interface QueueTurns {
  sliceMs: number;
  /** resolves once the event loop has turned (default: after its I/O phase, setImmediate) */
  yieldTurn?: () => Promise<void>;
  /** ms clock for the slice (default performance.now) */
  now?: () => number;
}

export const QUEUE_TURNS: QueueTurns = { sliceMs: 10 };

const afterIo = (): Promise<void> => new Promise((r) => setImmediate(r));

export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly wakes = new Map<string, { at: number; timer: Timer }>();
  private running = false;
  private stopped = false;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly work: (key: string) => Promise<void>,
    private readonly log: Logger,
    private readonly backoff = { initialMs: 200, maxMs: 30_000 },
    private readonly turns: QueueTurns = QUEUE_TURNS,
  ) {}

  add(key: string): void {
    if (this.stopped) return;
    this.pending.add(key);
    void this.drain();
  }

  /** Work `key` again in `ms` (unless it is added sooner); of two such requests the earlier wins. */
  after(key: string, ms: number): void {
    if (this.stopped) return;
    const at = Date.now() + ms;
    const prev = this.timers.get(key);
    if (prev && prev.at <= at) return;
    if (prev) clearTimeout(prev.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, ms);
    timer.unref();
    this.timers.set(key, { at, timer });
  }

  /** Work `key` once `clock` reaches `when` (a planned wake-up: a deadline, a schedule); the earliest wins. */
  wakeAt(key: string, when: Date, clock: Clock): void {
    if (this.stopped) return;
    const at = when.getTime();
    const ms = at - clock.now().getTime();
    if (ms <= 0) return this.add(key);
    const prev = this.wakes.get(key);
    if (prev && prev.at <= at) return;
    prev?.timer.cancel();
    const timer = clock.timer(ms, () => {
      this.wakes.delete(key);
      this.add(key);
    });
    this.wakes.set(key, { at, timer });
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    const now = this.turns.now ?? (() => performance.now());
    let sliceStart = now();
    let worked = false; // a key was worked in this slice (each slice works at least one)
    try {
      while (this.pending.size && !this.stopped) {
        if (worked && now() - sliceStart >= this.turns.sliceMs) {
          await (this.turns.yieldTurn ?? afterIo)();
          sliceStart = now();
          worked = false;
          continue; // stopped meanwhile, or nothing left: look again
        }
        worked = true;
        const key = this.pending.values().next().value as string;
        this.pending.delete(key);
        try {
          await this.work(key);
          this.failures.delete(key);
        } catch (e) {
          const n = (this.failures.get(key) ?? 0) + 1;
          this.failures.set(key, n);
          const ms = backoffDelay({ initialMs: this.backoff.initialMs, maxMs: this.backoff.maxMs, factor: 2, jitter: 0.2 }, n - 1);
          this.log.debug('work failed; retrying', { key, attempt: n, inMs: ms, error: e instanceof Error ? e.message : String(e) });
          this.after(key, ms);
        }
      }
    } finally {
      this.running = false;
      if (!this.pending.size) for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  /** resolves when nothing is pending or running (tests, shutdown) */
  idle(): Promise<void> {
    if (!this.running && !this.pending.size) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
    for (const w of this.wakes.values()) w.timer.cancel();
    this.wakes.clear();
    this.pending.clear();
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
