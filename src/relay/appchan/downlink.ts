/**
 * Messages for apps on a named node (docs/appchannel.md): from a cloud HTTP request (the router)
 * or a consumer's publish on the relay's broker. Each is queued in the message store for its
 * node, numbered, and sent on `app/down` while the node is connected, in order, a window at a
 * time; it stays until the node acknowledges it (`app/ack`) or it expires. A node that is away
 * gets what is still valid when it returns (its `sync` sends the queue again from the start;
 * the node drops what it handled already). A rule without a hold TTL takes messages only for a
 * connected node (503 otherwise, as KubeEdge's router fails then).
 *
 * A servicebus call whose caller waits gets the app's answer from the ack (KubeEdge's
 * rest → servicebus), or 504 when none comes in time.
 */
import { decodeBody, encodeBody, type AppAck, type AppDown, type AppTarget } from '../../contract/appchan.js';
import { topics } from '../../contract/topics.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { DownMessage, MessageStore } from '../store/messages.js';
import type { Counters } from './counters.js';
import { ruleKey, withSuffix, type DownRoute } from './routes.js';

export interface DownlinkConfig {
  maxPendingPerNode: number;
  maxBodyBytes: number;
  onlineTtlMs: number;
  replyTimeoutMs: number;
}

export interface DownlinkDeps {
  store: MessageStore;
  publish(topic: string, payload: string): Promise<void>;
  counters: Counters;
  log: Logger;
  now: () => number;
  config: DownlinkConfig;
}

export interface DownRequest {
  method: string;
  headers: Record<string, string>;
  body: Buffer;
  /** `?…` of the request, appended to a servicebus path */
  query: string;
  /** a shorter hold than the rule's (X-Edgecore-TTL) */
  ttlMs?: number;
  /** the caller waits for a servicebus app's answer */
  wantReply: boolean;
}

export type DownResult =
  | { kind: 'queued'; held: boolean; id: number; expires: number }
  | { kind: 'reply'; status: number; headers: Record<string, string>; body: Buffer }
  | { kind: 'refused'; status: number; reason: string };

/** messages a node has unacknowledged at once */
const WINDOW = 200;

export class Downlink {
  private stream = '';
  private readonly online = new Set<string>();
  private readonly inflight = new Map<string, Set<number>>();
  private readonly kicks = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly waiters = new Map<number, (a: AppAck | undefined) => void>();
  private timer?: NodeJS.Timeout;

  constructor(private readonly d: DownlinkDeps) {}

  async start(sweepMs = 1000): Promise<void> {
    this.stream = await this.d.store.downStream();
    this.timer = setInterval(() => void this.sweep(), sweepMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    for (const w of this.waiters.values()) w(undefined);
    this.waiters.clear();
  }

  isOnline(node: string): boolean {
    return this.online.has(node);
  }

  /** The node (re)connected or asked for its state: send its queue from the start. */
  nodeUp(node: string): void {
    this.online.add(node);
    this.inflight.set(node, new Set());
    this.kick(node);
  }

  /** Heard from a node the relay did not know to be connected (a heartbeat after a relay restart). */
  heard(node: string): void {
    if (!this.online.has(node)) this.nodeUp(node);
  }

  nodeDown(node: string): void {
    this.online.delete(node);
    this.inflight.delete(node);
  }

  async submit(route: DownRoute, node: string, suffix: string, req: DownRequest): Promise<DownResult> {
    const rule = ruleKey(route.rule);
    const online = this.online.has(node);
    if (req.body.length > this.d.config.maxBodyBytes) return { kind: 'refused', status: 413, reason: `the body is over ${this.d.config.maxBodyBytes} bytes` };
    if (!online && route.ttlMs === undefined) {
      this.d.counters.matched(route.rule.uid, req.body.length);
      this.d.counters.dropped(route.rule.uid, 'offline');
      return { kind: 'refused', status: 503, reason: `node ${node} is not connected and rule ${rule} does not hold messages (annotation appchannel.edgecore.io/ttl)` };
    }
    if ((await this.d.store.countDown(node)) >= this.d.config.maxPendingPerNode) {
      this.d.counters.matched(route.rule.uid, req.body.length);
      this.d.counters.dropped(route.rule.uid, 'queueFull');
      return { kind: 'refused', status: 429, reason: `${this.d.config.maxPendingPerNode} messages already wait for node ${node}` };
    }
    const t = route.target;
    const target: AppTarget =
      t.type === 'eventbus'
        ? { type: 'eventbus', topic: withSuffix(t.topic, suffix) }
        : { type: 'servicebus', port: t.port, path: withSuffix(t.path, suffix) + req.query, method: req.method, headers: req.headers };
    const ttl = Math.min(route.ttlMs ?? this.d.config.onlineTtlMs, req.ttlMs ?? Number.POSITIVE_INFINITY);
    const now = this.d.now();
    const wantReply = req.wantReply && t.type === 'servicebus' && online;
    const m = await this.d.store.enqueueDown({ node, ruleUid: route.rule.uid, rule, target: JSON.stringify(target), payload: req.body, expires: now + ttl, reply: wantReply, created: now });
    this.d.counters.matched(route.rule.uid, req.body.length);
    const reply = wantReply ? this.waitReply(m.id) : undefined;
    this.kick(node);
    if (!reply) return { kind: 'queued', held: !online, id: m.id, expires: m.expires };
    const a = await reply;
    if (!a) return { kind: 'refused', status: 504, reason: `no answer from the app on node ${node} within ${Math.round(this.d.config.replyTimeoutMs / 1000)} s` };
    if (a.outcome !== 'delivered' || !a.reply) return { kind: 'refused', status: 502, reason: `the node could not reach the app: ${a.outcome}${a.error ? `: ${a.error}` : ''}` };
    return { kind: 'reply', status: a.reply.status, headers: a.reply.headers, body: decodeBody(a.reply) };
  }

  private waitReply(id: number): Promise<AppAck | undefined> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiters.delete(id);
        resolve(undefined);
      }, this.d.config.replyTimeoutMs);
      this.waiters.set(id, (a) => {
        clearTimeout(t);
        this.waiters.delete(id);
        resolve(a);
      });
    });
  }

  /** Send what the node has queued beyond what is in flight, in order (one sender per node). */
  private kick(node: string): void {
    if (!this.online.has(node)) return;
    if (this.kicks.has(node)) {
      this.again.add(node);
      return;
    }
    const run = this.send(node)
      .catch((e) => this.d.log.warn('downlink send failed; the node gets it on its next connect', { node, error: errorMessage(e) }))
      .finally(() => {
        this.kicks.delete(node);
        if (this.again.delete(node)) this.kick(node);
      });
    this.kicks.set(node, run);
  }

  private async send(node: string): Promise<void> {
    const flying = this.inflight.get(node);
    if (!flying) return;
    const last = flying.size ? Math.max(...flying) : 0;
    const room = WINDOW - flying.size;
    if (room <= 0) return;
    const rows = await this.d.store.pendingDown(node, last, room);
    for (const r of rows) {
      if (this.inflight.get(node) !== flying) return; // the node went away meanwhile
      flying.add(r.id);
      await this.d.publish(topics.appDown(node), JSON.stringify(this.wire(r)));
    }
  }

  private wire(r: DownMessage): AppDown {
    const body = encodeBody(r.payload);
    return { stream: this.stream, id: r.id, expires: r.expires, rule: r.rule, target: JSON.parse(r.target) as AppTarget, ...body, reply: r.reply };
  }

  /** An `app/ack` from `node`: only for its own messages of this relay's stream. */
  async ack(node: string, a: AppAck): Promise<void> {
    if (a.stream !== this.stream) return;
    const [m] = await this.d.store.removeDown([a.id]).then((rows) => rows.filter((r) => r.node === node));
    this.inflight.get(node)?.delete(a.id);
    if (m) {
      if (a.outcome === 'delivered') this.d.counters.delivered(m.ruleUid);
      else if (a.outcome === 'expired') this.d.counters.dropped(m.ruleUid, 'expired');
      else {
        this.d.counters.failed(m.ruleUid, a.error ?? 'the node could not deliver it');
        this.d.counters.dropped(m.ruleUid, 'failed');
      }
    }
    this.waiters.get(a.id)?.(a);
    this.kick(node);
  }

  private async sweep(): Promise<void> {
    try {
      for (const m of await this.d.store.expireDown(this.d.now())) {
        this.d.counters.dropped(m.ruleUid, 'expired');
        this.waiters.get(m.id)?.(undefined);
      }
    } catch (e) {
      this.d.log.warn('downlink expiry sweep failed', { error: errorMessage(e) });
    }
  }
}
