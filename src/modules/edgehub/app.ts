/**
 * edgehub's half of the application channel (docs/appchannel.md):
 *
 * - `app/routes` from the relay: which node-local topics leave the node and the node's quota,
 *   kept in the store (the node forwards the right topics while the relay is away).
 * - Pacing: the app class of the outbox goes up no faster than the quota the relay enforces
 *   (a token bucket on messages and bytes), so an honest node catching up after a week offline
 *   is never cut by the relay's limit; the daemon's own rows always go first.
 * - `app/down`: one message for an app, handled in the order the relay numbered them: past its
 *   expiry → `expired`; seen already (a resend) → acknowledged again, not delivered twice;
 *   else published on the node-local broker (eventbus) or called into the app (servicebus).
 *   The outcome (and a call's answer, when the sender waits for it) goes back on `app/ack`.
 */
import { appDownSchema, appRoutesSchema, decodeBody, encodeBody, type AppAck, type AppDown, type AppQuota } from '../../contract/appchan.js';
import { parsePayload } from '../../contract/payloads.js';
import { topics } from '../../contract/topics.js';
import { errorMessage } from '../../core/errors.js';
import type { NodeContext } from '../../node/services.js';

/** Until the relay sends a quota: generous, the relay's own default. */
const DEFAULT_QUOTA: AppQuota = { messagesPerSecond: 200, burst: 2000, bytesPerSecond: 2 * 1024 * 1024, maxMessageBytes: 256 * 1024 };
/** the node paces a little under the relay's rate, so clock skew and batching never trip it */
const PACE = 0.9;

/** A token bucket over messages and bytes. Pure apart from the clock it is given. */
export class Pacer {
  private msgs: number;
  private bytes: number;
  private at: number;

  constructor(
    private quota: AppQuota,
    private readonly now: () => number,
  ) {
    this.msgs = quota.burst;
    this.bytes = this.byteBurst();
    this.at = now();
  }

  private byteBurst(): number {
    return Math.max(this.quota.bytesPerSecond, this.quota.maxMessageBytes);
  }

  setQuota(q: AppQuota): void {
    this.refill();
    this.quota = q;
    this.msgs = Math.min(this.msgs, q.burst);
    this.bytes = Math.min(this.bytes, this.byteBurst());
  }

  private refill(): void {
    const t = this.now();
    const dt = Math.max(0, t - this.at) / 1000;
    this.at = t;
    this.msgs = Math.min(this.quota.burst, this.msgs + dt * this.quota.messagesPerSecond * PACE);
    this.bytes = Math.min(this.byteBurst(), this.bytes + dt * this.quota.bytesPerSecond * PACE);
  }

  /** How many of these message sizes (in order) may go now. */
  allow(sizes: readonly number[]): number {
    this.refill();
    let n = 0;
    let m = this.msgs;
    let b = this.bytes;
    for (const s of sizes) {
      if (m < 1 || b < s) break;
      m -= 1;
      b -= s;
      n++;
    }
    return n;
  }

  spend(count: number, bytes: number): void {
    this.msgs -= count;
    this.bytes -= bytes;
  }

  /** ms until one more message of `size` bytes may go */
  waitFor(size: number): number {
    this.refill();
    const rate = this.quota.messagesPerSecond * PACE;
    const brate = this.quota.bytesPerSecond * PACE;
    const needM = this.msgs >= 1 ? 0 : ((1 - this.msgs) / rate) * 1000;
    const needB = this.bytes >= size ? 0 : ((size - this.bytes) / brate) * 1000;
    return Math.max(1, Math.ceil(Math.max(needM, needB)));
  }
}

export type Publish = (topic: string, payload: string) => Promise<void>;

export class AppLink {
  readonly pacer: Pacer;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: NodeContext) {
    this.pacer = new Pacer(ctx.services.app.routes()?.quota ?? DEFAULT_QUOTA, () => ctx.services.now().getTime());
  }

  /** `app/routes` from the relay: kept when newer than what the node has. */
  onRoutes(payload: Buffer): void {
    const r = parsePayload(appRoutesSchema, payload);
    if (!r.ok) {
      this.ctx.log.warn('app routes refused', { issues: r.issues.slice(0, 5).map((i) => `${i.path || '(root)'}: ${i.reason}`) });
      return;
    }
    if (this.ctx.services.app.setRoutes(r.value)) {
      this.pacer.setQuota(r.value.quota);
      this.ctx.log.info('app routes applied', { version: r.value.version, filters: r.value.filters.length, quota: r.value.quota });
    }
  }

  /** `app/down` from the relay: handled one at a time, in arrival order. */
  onDown(payload: Buffer, publish: Publish): void {
    this.chain = this.chain.then(() => this.down(payload, publish)).catch((e) => this.ctx.log.warn('downlink message not handled', { error: errorMessage(e) }));
  }

  idle(): Promise<void> {
    return this.chain;
  }

  private async down(payload: Buffer, publish: Publish): Promise<void> {
    const { app, metrics, now, config } = this.ctx.services;
    const r = parsePayload(appDownSchema, payload);
    if (!r.ok) {
      this.ctx.log.warn('downlink message refused', { issues: r.issues.slice(0, 5).map((i) => `${i.path || '(root)'}: ${i.reason}`) });
      const raw = (() => {
        try {
          return JSON.parse(payload.toString('utf8')) as { stream?: unknown; id?: unknown };
        } catch {
          return {};
        }
      })();
      if (typeof raw.stream === 'string' && Number.isInteger(raw.id) && (raw.id as number) > 0) {
        await this.ack(publish, { stream: raw.stream.slice(0, 128), id: raw.id as number, outcome: 'failed', error: 'malformed', time: now().getTime() });
      }
      return;
    }
    const m = r.value;
    const target = m.target.type;
    if (app.downSeen(m.stream, m.id)) {
      metrics.count('app_downlink_total', { target, outcome: 'duplicate' });
      return this.ack(publish, { stream: m.stream, id: m.id, outcome: 'delivered', time: now().getTime() });
    }
    if (m.expires < now().getTime()) {
      app.markDown(m.stream, m.id);
      metrics.count('app_downlink_total', { target, outcome: 'expired' });
      return this.ack(publish, { stream: m.stream, id: m.id, outcome: 'expired', time: now().getTime() });
    }
    let ack: AppAck;
    try {
      ack = await this.deliver(m, config.modules.servicebus.callTimeoutSeconds * 1000 + 5000);
    } catch (e) {
      ack = { stream: m.stream, id: m.id, outcome: 'failed', error: errorMessage(e).slice(0, 4096), time: now().getTime() };
    }
    app.markDown(m.stream, m.id);
    metrics.count('app_downlink_total', { target, outcome: ack.outcome });
    await this.ack(publish, ack);
  }

  private async deliver(m: AppDown, timeoutMs: number): Promise<AppAck> {
    const { bus } = this.ctx;
    const body = decodeBody(m);
    const time = (): number => this.ctx.services.now().getTime();
    if (m.target.type === 'eventbus') {
      const wait = this.ctx.services.config.modules.eventbus.appSubscriberWaitSeconds * 1000;
      await bus.request('eventbus', { type: 'app.publish', topic: m.target.topic, payload: body }, wait + 5000);
      return { stream: m.stream, id: m.id, outcome: 'delivered', time: time() };
    }
    const t = m.target;
    const res = await bus.request('servicebus', { type: 'app.call', port: t.port, path: t.path, method: t.method, headers: t.headers, payload: body }, timeoutMs);
    return {
      stream: m.stream,
      id: m.id,
      outcome: 'delivered',
      ...(m.reply ? { reply: { status: res.status, headers: res.headers, ...encodeBody(res.payload) } } : {}),
      time: time(),
    };
  }

  private async ack(publish: Publish, a: AppAck): Promise<void> {
    await publish(topics.appAck(this.ctx.services.config.node.name), JSON.stringify(a)).catch((e) => this.ctx.log.debug('app ack not sent; the relay will send the message again', { error: errorMessage(e) }));
  }
}
