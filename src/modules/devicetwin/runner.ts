/**
 * Drives one device through its built-in driver: connect, collect each property on its cycle,
 * write with read-back. Every driver call is serialised (one transaction at a time on the wire).
 * Failures never escape: they are counted and reported through `hooks.onError`; on an
 * unavailable device, or after `offlineAfter` consecutive errors, the driver is closed and
 * reconnected with capped backoff.
 */
import { backoffDelay, type BackoffPolicy } from '../../core/backoff.js';
import { CycleClock } from '../../lib/cycle.js';
import { errorMessage } from '../../core/errors.js';
import { isDeviceUnavailable } from '../../drivers/errors.js';
import type { DeviceDriver, DriverEnv, DriverFactory, PropertyVisitor, RawValue } from '../../drivers/types.js';
import { OneAtATime } from '../../lib/one-at-a-time.js';

export interface RunnerProperty {
  name: string;
  visitor: PropertyVisitor;
  collectMs: number;
  /** collect by polling (false for write-only use) */
  poll: boolean;
}

export interface RunnerHooks {
  /** `pushed`: the driver reported it by itself (watch), not a poll */
  onSample(property: string, value: RawValue, at: number, pushed: boolean): void;
  /** `offline`: the driver was dropped and will be reconnected */
  onError(err: Error, offline: boolean): void;
  /** connected, or the first success after errors */
  onHealthy(): void;
}

export interface RunnerOptions {
  factory: DriverFactory;
  protocolConfig: Record<string, unknown>;
  env: DriverEnv;
  properties: RunnerProperty[];
  offlineAfter: number;
  backoff: BackoffPolicy;
  readBackDelayMs: number;
  now: () => number;
  hooks: RunnerHooks;
  /** the cycles' timers, shared with the node's other devices (default: one of its own) */
  clock?: CycleClock;
}

const toError = (e: unknown): Error => (e instanceof Error ? e : new Error(errorMessage(e)));

export class DriverRunner {
  private driver?: DeviceDriver;
  private connected = false;
  private stopped = false;
  private attempt = 0;
  private consecutive = 0;
  private failing = true;
  private readonly queue = new OneAtATime();
  private timers = new Set<NodeJS.Timeout>();
  private unwatch: (() => void)[] = [];
  private readonly props: Map<string, RunnerProperty>;
  private readonly clock: CycleClock;
  /** collect cycles registered on the clock (cancelled when the driver is dropped) */
  private cycles: (() => void)[] = [];

  constructor(private readonly o: RunnerOptions) {
    this.props = new Map(o.properties.map((p) => [p.name, p]));
    this.clock = o.clock ?? new CycleClock(o.now);
  }

  get isConnected(): boolean {
    return this.connected;
  }

  start(): void {
    this.later(0, () => this.connect());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    await this.queue.run(async () => undefined);
    await this.drop();
  }

  /** Write a value and read it back; resolves with what the hardware reports after the write. */
  write(property: string, value: RawValue): Promise<RawValue> {
    const p = this.props.get(property);
    if (!p) return Promise.reject(new Error(`property ${property} has no visitor`));
    return this.queue.run(async () => {
      if (!this.connected || !this.driver) throw new Error('device is offline');
      const d = this.driver;
      try {
        await d.write(p.visitor, value);
        if (this.o.readBackDelayMs > 0) await new Promise((r) => setTimeout(r, this.o.readBackDelayMs));
        const back = await d.read(p.visitor);
        this.succeeded();
        return back;
      } catch (e) {
        this.failed(e);
        throw e;
      }
    });
  }

  private later(ms: number, fn: () => void): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      if (!this.stopped) fn();
    }, ms);
    this.timers.add(t);
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const c of this.cycles.splice(0)) c();
    for (const u of this.unwatch.splice(0)) {
      try {
        u();
      } catch {
        /* ignore */
      }
    }
  }

  private async connect(): Promise<void> {
    try {
      const d = this.o.factory.create(this.o.protocolConfig, this.o.env);
      this.driver = d;
      await d.connect();
    } catch (e) {
      await this.drop();
      this.o.hooks.onError(toError(e), true);
      this.later(backoffDelay(this.o.backoff, this.attempt++), () => this.connect());
      return;
    }
    if (this.stopped) return void (await this.drop());
    this.connected = true;
    this.consecutive = 0;
    this.failing = false;
    this.o.hooks.onHealthy();
    // the properties polled on the same cycle are read in one job: at once, then on the
    // clock's boundaries of their cycle (every device with that cycle in the same wake-up:
    // 100 reads/s of 50 devices are one wake-up a second, not 100)
    const cycles = new Map<number, RunnerProperty[]>();
    for (const p of this.props.values()) if (p.poll) cycles.set(p.collectMs, [...(cycles.get(p.collectMs) ?? []), p]);
    for (const [ms, group] of cycles) {
      const busy = { now: false };
      const collect = (): void => this.collect(group, busy);
      this.later(0, collect);
      this.cycles.push(this.clock.every(ms, collect));
    }
    for (const p of this.props.values()) {
      if (this.driver?.watch && (this.driver.canWatch?.(p.visitor) ?? true)) {
        try {
          const off = this.driver.watch(
            p.visitor,
            (v) => {
              this.succeeded();
              this.o.hooks.onSample(p.name, v, this.o.now(), true);
            },
            (err) => this.failed(err),
          );
          this.unwatch.push(off);
        } catch (e) {
          this.failed(e);
        }
      }
    }
  }

  /** Read `group` (properties with one collect cycle) in order, as one job on the queue; a boundary that finds the last one still running is skipped. */
  private collect(group: readonly RunnerProperty[], busy: { now: boolean }): void {
    if (busy.now || !this.connected) return;
    busy.now = true;
    void this.queue.run(() => this.readAll(group)).finally(() => {
      busy.now = false;
    });
  }

  private async readAll(group: readonly RunnerProperty[]): Promise<void> {
    for (let i = 0; i < group.length; i++) {
      if (!this.connected || !this.driver) return;
      const p = group[i]!;
      try {
        const v = await this.driver.read(p.visitor);
        this.succeeded();
        this.o.hooks.onSample(p.name, v, this.o.now(), false);
      } catch (e) {
        this.failed(e);
      }
    }
  }

  private succeeded(): void {
    this.consecutive = 0;
    this.attempt = 0;
    if (this.failing) {
      this.failing = false;
      this.o.hooks.onHealthy();
    }
  }

  private failed(e: unknown): void {
    if (!this.connected) return;
    this.consecutive++;
    this.failing = true;
    // an absent device (unplugged, no answer) is offline at once; wrong answers count up first
    const offline = isDeviceUnavailable(e) || this.consecutive >= this.o.offlineAfter;
    this.o.hooks.onError(toError(e), offline);
    if (!offline) return;
    this.connected = false;
    this.clearTimers();
    void this.drop().finally(() => this.later(backoffDelay(this.o.backoff, this.attempt++), () => this.connect()));
  }

  private async drop(): Promise<void> {
    this.connected = false;
    const d = this.driver;
    this.driver = undefined;
    if (!d) return;
    try {
      await d.close();
    } catch {
      /* closing a broken transport may fail; it is gone either way */
    }
  }
}
