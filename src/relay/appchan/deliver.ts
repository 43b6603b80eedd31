/**
 * Delivery of uplink messages to what their rules name (docs/appchannel.md): an MQTT topic on
 * the relay's broker, or an HTTP endpoint. One lane per (rule, node, node-local topic): a lane
 * delivers one message at a time, in order, so a failing endpoint holds back only its own lane;
 * lanes run side by side up to `concurrency`. A failed attempt is retried with capped, jittered
 * back-off; once a message has failed for the rule's `retry-for`, it becomes a dead letter
 * (kept, bounded, readable with `?dead=true`) and is counted as dropped.
 *
 * At least once: a delivery is removed after its target took it; a crash in between sends it
 * again, with the same message id (`X-Edgecore-Message-Id`, the envelope's `id`) for the
 * consumer to drop.
 */
import { encodeBody } from '../../contract/appchan.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { Delivery, MessageStore } from '../store/messages.js';
import type { Counters } from './counters.js';
import { suffixOf, withSuffix, type UpRoute } from './routes.js';
import { appTopics } from './topics.js';

export interface Senders {
  /** publish on the relay's broker, QoS 1 */
  mqtt(topic: string, payload: Buffer): Promise<void>;
  /** an HTTP POST: the answer's status (any), or a rejection when nothing answered */
  http(url: string, body: Buffer, headers: Record<string, string>, timeoutMs: number): Promise<number>;
}

export interface DeliveryConfig {
  concurrency: number;
  httpTimeoutMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
}

export interface DeliveryDeps {
  store: MessageStore;
  /** the rule's route now: undefined while it is not ready, 'gone' once the rule is deleted */
  route(ruleUid: string): UpRoute | 'gone' | undefined;
  senders: Senders;
  counters: Counters;
  log: Logger;
  now: () => number;
  config: DeliveryConfig;
}

interface Lane {
  queue: Delivery[];
  busy: boolean;
  timer?: NodeJS.Timeout;
}

/** What a consumer gets with `format: envelope`. */
export function envelope(route: UpRoute, d: Delivery): Buffer {
  const m = d.message;
  return Buffer.from(JSON.stringify({ id: m.id, node: m.node, namespace: route.rule.namespace, rule: route.rule.name, topic: m.topic, time: m.time, ...encodeBody(m.payload) }));
}

export class DeliveryEngine {
  private readonly lanes = new Map<string, Lane>();
  private readonly ready = new Set<string>();
  private readonly perNode = new Map<string, number>();
  private readonly perRule = new Map<string, number>();
  private inflight = 0;
  private done: number[] = [];
  private flushing?: Promise<void>;
  private stopped = false;

  constructor(private readonly d: DeliveryDeps) {}

  /** Rebuild the lanes from the store (after a start). */
  async load(): Promise<number> {
    const all = await this.d.store.pendingDeliveries();
    this.add(all);
    return all.length;
  }

  pendingFor(node: string): number {
    return this.perNode.get(node) ?? 0;
  }

  pendingForRule(uid: string): number {
    return this.perRule.get(uid) ?? 0;
  }

  add(ds: readonly Delivery[]): void {
    for (const d of ds) {
      const key = d.lane;
      let lane = this.lanes.get(key);
      if (!lane) this.lanes.set(key, (lane = { queue: [], busy: false }));
      lane.queue.push(d);
      this.bump(d, 1);
      if (!lane.busy && !lane.timer) this.ready.add(key);
    }
    this.pump();
  }

  private bump(d: Delivery, n: number): void {
    this.perNode.set(d.message.node, (this.perNode.get(d.message.node) ?? 0) + n);
    this.perRule.set(d.ruleUid, (this.perRule.get(d.ruleUid) ?? 0) + n);
  }

  private pump(): void {
    if (this.stopped) return;
    for (const key of this.ready) {
      if (this.inflight >= this.d.config.concurrency) return;
      this.ready.delete(key);
      const lane = this.lanes.get(key);
      if (!lane || lane.busy || lane.timer) continue;
      const head = lane.queue[0];
      if (!head) {
        this.lanes.delete(key);
        continue;
      }
      const wait = head.nextAt - this.d.now();
      if (wait > 0) {
        this.wake(key, lane, wait);
        continue;
      }
      lane.busy = true;
      this.inflight++;
      void this.attempt(head).then((outcome) => {
        this.inflight--;
        lane.busy = false;
        if (outcome !== 'retry') {
          lane.queue.shift();
          this.bump(head, -1);
        }
        if (lane.queue.length === 0) this.lanes.delete(key);
        else if (outcome === 'retry') this.wake(key, lane, Math.max(1, lane.queue[0]!.nextAt - this.d.now()));
        else this.ready.add(key);
        this.pump();
      });
    }
  }

  private wake(key: string, lane: Lane, ms: number): void {
    lane.timer = setTimeout(() => {
      lane.timer = undefined;
      this.ready.add(key);
      this.pump();
    }, ms);
    lane.timer.unref();
  }

  /** One attempt at a lane's head: delivered, dropped (rule gone, dead letter), or retry. */
  private async attempt(d: Delivery): Promise<'done' | 'retry'> {
    const route = this.d.route(d.ruleUid);
    if (route === 'gone') return 'done'; // its rows go with the rule (forgetRules)
    if (!route) {
      d.nextAt = this.d.now() + 2000; // not ready (an endpoint missing): wait, not an attempt
      return 'retry';
    }
    try {
      await this.send(route, d);
      this.d.counters.delivered(d.ruleUid);
      this.markDone(d.seq);
      return 'done';
    } catch (e) {
      return this.failed(route, d, errorMessage(e));
    }
  }

  private async send(route: UpRoute, d: Delivery): Promise<void> {
    const t = route.target;
    const m = d.message;
    if (t.type === 'mqtt') {
      const topic = appTopics.up(route.rule.namespace, m.node, withSuffix(t.topic, suffixOf(route.filter, m.topic)));
      await this.d.senders.mqtt(topic, t.format === 'envelope' ? envelope(route, d) : m.payload);
      return;
    }
    if (t.type !== 'rest') return;
    const headers = {
      'content-type': 'application/octet-stream',
      'x-edgecore-message-id': m.id,
      'idempotency-key': m.id,
      'x-edgecore-node': m.node,
      NodeName: m.node,
      'x-edgecore-topic': encodeURIComponent(m.topic),
      'x-edgecore-rule': `${route.rule.namespace}/${route.rule.name}`,
      'x-edgecore-time': new Date(m.time).toISOString(),
    };
    const status = await this.d.senders.http(t.url, m.payload, headers, this.d.config.httpTimeoutMs);
    if (status < 200 || status > 299) throw new Error(`${t.url} answered ${status}`);
  }

  private async failed(route: UpRoute, d: Delivery, error: string): Promise<'done' | 'retry'> {
    const now = this.d.now();
    this.d.counters.failed(d.ruleUid, error);
    d.attempts++;
    d.firstTry ||= now;
    d.lastError = error;
    if (now - d.firstTry >= route.retryForMs) {
      this.d.counters.dropped(d.ruleUid, 'deadLetter', `gave up after ${d.attempts} attempts: ${error}`);
      this.d.log.warn('delivery gave up; kept as a dead letter', { rule: `${route.rule.namespace}/${route.rule.name}`, node: d.message.node, id: d.message.id, attempts: d.attempts, error });
      await this.d.store.deadLetter(d.seq, error);
      return 'done';
    }
    const c = this.d.config;
    const base = Math.min(c.retryMaxMs, c.retryInitialMs * 2 ** Math.min(30, d.attempts - 1));
    d.nextAt = now + Math.round(base * (0.8 + Math.random() * 0.4));
    await this.d.store.retryLater(d.seq, d.attempts, d.nextAt, error, d.firstTry);
    return 'retry';
  }

  /** Delivered rows go in batches (a crash before the batch is saved delivers them again: at least once). */
  private markDone(seq: number): void {
    this.done.push(seq);
    if (this.flushing) return;
    this.flushing = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
      const batch = this.done;
      this.done = [];
      this.flushing = undefined;
      await this.d.store.delivered(batch).catch((e) => this.d.log.error('could not record deliveries (they may be sent again)', { error: errorMessage(e) }));
    });
  }

  /** Resolves once nothing is in flight and every delivered row is recorded (tests, stop). */
  async idle(): Promise<void> {
    while (this.inflight > 0 || this.flushing) {
      await (this.flushing ?? new Promise((r) => setTimeout(r, 5)));
    }
  }

  stop(): void {
    this.stopped = true;
    for (const lane of this.lanes.values()) clearTimeout(lane.timer);
  }
}
