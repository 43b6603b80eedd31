/**
 * Events expire, as in Kubernetes (kube-apiserver's --event-ttl, 1 h by default): a periodic
 * sweep deletes every Event last seen longer ago than the TTL, through the API. Without it the
 * events nodes report would grow without bound.
 */
import type { KubeObject } from '../../contract/kube/types.js';
import type { Logger } from '../../core/logger.js';
import type { ApiClient } from '../apiserver/client.js';

const EVENTS = { group: '', resource: 'events' };

export function lastSeen(e: KubeObject): number {
  const x = e as { lastTimestamp?: string; eventTime?: string; series?: { lastObservedTime?: string } };
  const t = x.series?.lastObservedTime ?? x.lastTimestamp ?? x.eventTime ?? e.metadata.creationTimestamp;
  const ms = t ? Date.parse(t) : NaN;
  return Number.isNaN(ms) ? 0 : ms;
}

export class EventTtl {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly client: ApiClient,
    private readonly log: Logger,
    private readonly now: () => Date,
    private readonly ttlMs = 3600_000,
    private readonly everyMs = 60_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.everyMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  /** resolves when no sweep is running (after stop: the delete in flight has finished) */
  async idle(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  /** Delete the expired events now; returns how many went. */
  async sweep(): Promise<number> {
    if (this.running) return 0;
    let n = 0;
    this.running = (async () => {
      const cutoff = this.now().getTime() - this.ttlMs;
      for (const e of (await this.client.list(EVENTS)).items) {
        if (this.stopped) break;
        if (lastSeen(e) >= cutoff) continue;
        try {
          await this.client.delete(EVENTS, e.metadata.namespace, e.metadata.name ?? '', { preconditions: { uid: e.metadata.uid ?? '' } });
          n++;
        } catch (err) {
          const c = (err as { code?: number }).code;
          if (c !== 404 && c !== 409) this.log.warn('could not expire an event', { name: e.metadata.name, error: String(err) });
        }
      }
    })();
    try {
      await this.running;
    } finally {
      this.running = undefined;
    }
    return n;
  }
}
