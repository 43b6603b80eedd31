/**
 * Node readiness changes in the relay's log. Each change is logged as it happens, node by node,
 * up to `perNode` changes in a window; past that, the rest of the window is counted and said in
 * one line when it ends. A fleet changes all at once — a reconnect storm turns every node Unknown
 * and then True again: 40,000 lines at 20,000 nodes, each a blocking write to the journal's pipe,
 * which held the relay's event loop for seconds (docs/benchmarks.md, relay scale). Every change
 * is still logged at debug level.
 */
import type { Logger } from '../../core/logger.js';

export interface ReadinessLogOptions {
  /** changes logged one by one per window (default 20) */
  perNode?: number;
  /** the window, ms (default 5000) */
  windowMs?: number;
  /** how a window's end is scheduled (tests pass their own) */
  schedule?: (fn: () => void, ms: number) => { cancel(): void };
}

const timer = (fn: () => void, ms: number) => {
  const t = setTimeout(fn, ms);
  t.unref();
  return { cancel: () => clearTimeout(t) };
};

export class ReadinessLog {
  private logged = 0;
  private readonly summed = new Map<string, number>();
  private readonly examples: string[] = [];
  private window: { cancel(): void } | undefined;
  private readonly perNode: number;
  private readonly windowMs: number;
  private readonly schedule: NonNullable<ReadinessLogOptions['schedule']>;

  constructor(
    private readonly log: Logger,
    o: ReadinessLogOptions = {},
  ) {
    this.perNode = o.perNode ?? 20;
    this.windowMs = o.windowMs ?? 5000;
    this.schedule = o.schedule ?? timer;
  }

  change(node: string, ready: string, reason: string | undefined): void {
    this.log.debug('node readiness', { node, ready, reason });
    if (!this.window) this.window = this.schedule(() => this.flush(), this.windowMs);
    if (this.logged < this.perNode) {
      this.logged++;
      this.log.info('node readiness', { node, ready, reason });
      return;
    }
    this.summed.set(ready, (this.summed.get(ready) ?? 0) + 1);
    if (this.examples.length < 5) this.examples.push(node);
  }

  /** End the window: say what was counted (if anything), start counting afresh. */
  flush(): void {
    this.window?.cancel();
    this.window = undefined;
    this.logged = 0;
    if (!this.summed.size) return;
    const counts = Object.fromEntries([...this.summed].sort());
    const total = [...this.summed.values()].reduce((a, b) => a + b, 0);
    this.log.info('node readiness: more nodes changed than are logged one by one', { nodes: total, ready: counts, examples: [...this.examples], windowSeconds: this.windowMs / 1000 });
    this.summed.clear();
    this.examples.length = 0;
  }
}
