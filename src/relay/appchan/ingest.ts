/**
 * A node's app messages arriving at the relay (`app/up`), handled before the broker acknowledges
 * them and one at a time per node, in order: parsed at the contract's edge, matched against the
 * rules (only what the sender's own routes allow: the sender is the authenticated node, never
 * a field of the message), checked against the node's size limit, rate quota and its share of
 * the delivery queue, and then taken exactly once — the (node, stream) mark moves in the same
 * transaction that queues the deliveries and stores the copies. A message at or below the mark
 * (a resend) is acknowledged and dropped; a message dropped over a limit still moves the mark.
 */
import { appUpSchema, decodeBody, type AppUp } from '../../contract/appchan.js';
import { parsePayload } from '../../contract/payloads.js';
import type { Logger } from '../../core/logger.js';
import type { MessageStore, NewDelivery } from '../store/messages.js';
import type { Counters, DropReason } from './counters.js';
import type { DeliveryEngine } from './deliver.js';
import type { NodeQuota } from './quota.js';
import { matchUp, type RouteTable } from './routes.js';

export interface IngestDeps {
  store: MessageStore;
  routes: () => RouteTable;
  quota: NodeQuota;
  engine: DeliveryEngine;
  counters: Counters;
  maxPendingPerNode: number;
  log: Logger;
}

/** 1, 2, 4, 8...: a flood is visible in the log without flooding it too */
const worthLogging = (n: number): boolean => (n & (n - 1)) === 0;

export class Ingest {
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly d: IngestDeps) {}

  /** One `app/up` message from `node`; resolves once it is taken (or refused). */
  handle(node: string, payload: Buffer): Promise<void> {
    const prev = this.chains.get(node) ?? Promise.resolve();
    const next = prev.then(() => this.take(node, payload));
    const tail = next.catch(() => undefined);
    this.chains.set(node, tail);
    void tail.then(() => {
      if (this.chains.get(node) === tail) this.chains.delete(node);
    });
    return next;
  }

  private async take(node: string, payload: Buffer): Promise<void> {
    const { counters } = this.d;
    const nc = counters.node(node);
    const r = parsePayload(appUpSchema, payload);
    if (!r.ok) {
      nc.rejected++;
      if (worthLogging(nc.rejected)) this.d.log.warn('refused a malformed app message', { node, issues: r.issues.slice(0, 5).map((i) => `${i.path || '(root)'}: ${i.reason}`), refusedSoFar: nc.rejected });
      return;
    }
    const m = r.value;
    const mark = m.seq !== undefined && m.stream !== undefined ? { stream: m.stream, seq: m.seq } : undefined;
    const body = decodeBody(m);
    const routes = matchUp(this.d.routes(), node, m.topic);
    if (routes.length === 0) {
      nc.unrouted++;
      if (worthLogging(nc.unrouted)) this.d.log.info('app message matched no rule; dropped', { node, topic: m.topic, unroutedSoFar: nc.unrouted });
      if (mark) await this.d.store.advance(node, mark.stream, mark.seq);
      return;
    }
    const limit = this.limit(node, body.length);
    if (limit) {
      if (mark && !(await this.d.store.advance(node, mark.stream, mark.seq))) return void nc.duplicates++;
      this.drop(node, routes.map((x) => x.rule.uid), limit, m);
      return;
    }
    const deliveries: NewDelivery[] = [];
    const stored: string[] = [];
    const full: string[] = [];
    for (const route of routes) {
      if (route.target.type === 'storage') stored.push(route.rule.uid);
      else if (this.d.engine.pendingFor(node) + deliveries.length >= this.d.maxPendingPerNode) full.push(route.rule.uid);
      else deliveries.push({ ruleUid: route.rule.uid, lane: `${route.rule.uid}|${node}|${m.topic}` });
    }
    const id = mark ? `${node}/${mark.stream}/${mark.seq}` : `${node}/-/${m.time}`;
    const res = await this.d.store.ingest({ node, topic: m.topic, payload: body, id, time: m.time }, mark, deliveries, stored);
    if (!res.fresh) return void nc.duplicates++;
    nc.messages++;
    nc.bytes += body.length;
    for (const route of routes) counters.matched(route.rule.uid, body.length);
    for (const uid of stored) counters.delivered(uid);
    if (full.length) this.drop(node, full, 'queueFull', m);
    this.d.engine.add(res.deliveries);
  }

  /** Which per-node limit the message is over, if any. */
  private limit(node: string, bytes: number): DropReason | undefined {
    if (bytes > this.d.quota.quota.maxMessageBytes) return 'tooLarge';
    const v = this.d.quota.take(node, bytes);
    return v === 'ok' ? undefined : v;
  }

  private drop(node: string, rules: string[], reason: DropReason, m: AppUp): void {
    this.d.counters.nodeDropped(node, reason);
    for (const uid of rules) this.d.counters.dropped(uid, reason);
    const n = this.d.counters.node(node).dropped[reason] ?? 0;
    if (worthLogging(n)) this.d.log.warn('app message over a node limit; dropped', { node, topic: m.topic, reason, droppedSoFar: n });
  }
}
