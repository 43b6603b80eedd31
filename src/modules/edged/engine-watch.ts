/**
 * Does the container engine answer? Once something says it does not (a pass could not reach it,
 * its events stream ended as it does when dockerd shuts down), it is pinged every `intervalMs`
 * and at once when its socket reappears, so the node converges right after the engine answers
 * again instead of waiting out a retry backoff.
 */
import { watch, type FSWatcher } from 'node:fs';
import { basename, dirname } from 'node:path';
import { errorMessage } from '../../core/errors.js';
import type { Timers } from './runner.js';
import { realTimers } from './runner.js';

export interface EngineWatchDeps {
  ping(): Promise<void>;
  /** the engine's unix socket (watched for reappearing); empty: no watch */
  socketPath: string;
  intervalMs: number;
  onAway(reason: string): void;
  onBack(): void;
  timers?: Timers;
}

export class EngineWatch {
  private away?: string;
  private timer?: unknown;
  private watcher?: FSWatcher;
  private checking = false;
  private stopped = false;
  private waiters: (() => void)[] = [];
  private readonly t: Timers;

  constructor(private readonly d: EngineWatchDeps) {
    this.t = d.timers ?? realTimers;
  }

  get isUp(): boolean {
    return this.away === undefined;
  }

  /** Something found the engine unreachable. Returns false when it was known to be away already. */
  lost(reason: string): boolean {
    if (this.stopped || this.away !== undefined) return false;
    this.away = reason;
    this.d.onAway(reason);
    this.watchSocket();
    this.schedule();
    return true;
  }

  /** Resolves when the engine answers (at once if it does). */
  whenUp(): Promise<void> {
    if (this.away === undefined || this.stopped) return Promise.resolve();
    return new Promise((r) => this.waiters.push(r));
  }

  private schedule(): void {
    if (this.stopped || this.away === undefined) return;
    this.timer = this.t.setTimeout(() => void this.check(), this.d.intervalMs);
  }

  private watchSocket(): void {
    if (!this.d.socketPath || this.watcher) return;
    const name = basename(this.d.socketPath);
    try {
      this.watcher = watch(dirname(this.d.socketPath), (_ev, file) => {
        if (file === name) void this.check();
      });
      this.watcher.on('error', () => undefined);
    } catch {
      /* folder absent: pings alone */
    }
  }

  private async check(): Promise<void> {
    if (this.checking || this.stopped || this.away === undefined) return;
    this.checking = true;
    try {
      await this.d.ping();
    } catch (e) {
      this.away = errorMessage(e) || this.away;
      this.checking = false;
      if (this.timer !== undefined) this.t.clearTimeout(this.timer);
      this.schedule();
      return;
    }
    this.checking = false;
    this.back();
  }

  private back(): void {
    if (this.timer !== undefined) this.t.clearTimeout(this.timer);
    this.timer = undefined;
    this.watcher?.close();
    this.watcher = undefined;
    this.away = undefined;
    this.d.onBack();
    for (const w of this.waiters.splice(0)) w();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.t.clearTimeout(this.timer);
    this.watcher?.close();
    for (const w of this.waiters.splice(0)) w();
  }
}
