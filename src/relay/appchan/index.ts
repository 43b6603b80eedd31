/**
 * The relay's side of the application channel (docs/appchannel.md): Rules and RuleEndpoints
 * (API objects, watched) compiled into routes; each node told which of its topics to forward
 * and its quota (`app/routes`); its apps' messages taken (ingest.ts) and delivered (deliver.ts)
 * to the relay's broker, an HTTP endpoint or storage; messages for apps on nodes queued and sent
 * (downlink.ts) from the router listener (router.ts) or a consumer's publish; rule status
 * written back (status.ts); storage readable as a subresource (messages-api.ts). Constructors do
 * no I/O; `start()` opens the store, lists, and listens.
 */
import type { Server as HttpsServer } from 'node:https';
import { join } from 'node:path';
import { appAckSchema, type AppQuota, type AppRoutes } from '../../contract/appchan.js';
import { oversize } from '../../contract/limits.js';
import { parsePayload } from '../../contract/payloads.js';
import { presenceSchema } from '../../contract/payloads.js';
import { topics, type NodeChannel } from '../../contract/topics.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { KeyedCoalescer } from '../../lib/coalescer.js';
import { controllerIdentity } from '../apiserver/authz.js';
import { ApiClient } from '../apiserver/client.js';
import type { ApiCore } from '../apiserver/core.js';
import type { ApiServer, Authenticate } from '../apiserver/http/server.js';
import type { RelayConfig } from '../config.js';
import { Informer } from '../controllers/informer.js';
import { RULE_GROUP, ruleDef, ruleEndpointDef } from '../kinds/rule.js';
import type { MessageStore } from '../store/messages.js';
import { SqliteMessageStore } from '../store/messages-sqlite.js';
import type { ObjectStore } from '../store/objects.js';
import { Counters } from './counters.js';
import { DeliveryEngine, type Senders } from './deliver.js';
import { Downlink } from './downlink.js';
import { Ingest } from './ingest.js';
import { messagesHandler } from './messages-api.js';
import { NodeQuota } from './quota.js';
import { routerHandler } from './router.js';
import { compileRoutes, filtersFor, matchDown, type RouteTable, type UpRoute } from './routes.js';
import { RuleStatusWriter } from './status.js';
import { createApiServer, listenApi, type ApiServer as Listener } from '../tls/server.js';
import { parseDownTopic } from './topics.js';
import { SYNC_REPUBLISH } from '../nodelink/ingress.js';

export interface AppChannelDeps {
  config: RelayConfig['appchannel'];
  dataDir: string;
  core: ApiCore;
  objects: ObjectStore;
  /** publish on the relay's broker */
  publish(topic: string, payload: Buffer | string): Promise<void>;
  /** the joined nodes (routes go to each) */
  nodes(): string[];
  /** the router listener's authentication (the API's tokens) */
  authenticate: Authenticate;
  /** the router listener's certificate (the API's serving certificate); undefined = plain HTTP, as the API */
  tls?: { cert: string; key: string };
  log: Logger;
  now: () => Date;
  /** tests: faster status writes and sweeps */
  intervals?: { statusMs?: number; pruneMs?: number; saveMs?: number };
}

export class AppChannel {
  readonly counters: Counters;
  readonly quota: NodeQuota;
  /**
   * A node's `app/ack`s on the same per-node figures as its messages (an honest node acknowledges
   * no faster than the relay sends); one over them is dropped and counted (`dropped.rate`), and
   * its message stays queued, sent again on the node's next connect (the node acknowledges a
   * resend without delivering it twice).
   */
  readonly ackQuota: NodeQuota;
  private store?: MessageStore;
  private table: RouteTable = { up: [], down: [], states: new Map() };
  private rules?: Informer;
  private endpoints?: Informer;
  private engine?: DeliveryEngine;
  private ingest?: Ingest;
  private downlink?: Downlink;
  private status?: RuleStatusWriter;
  private router?: Listener;
  private routerAt?: string;
  private timers: NodeJS.Timeout[] = [];
  private readonly published = new Map<string, string>();
  private version = 0;
  private epoch = '';
  private recompiling?: Promise<void>;
  private recompileAgain = false;

  /**
   * A node's connects (its `sync`): its routes again and its downlink queue from the start,
   * folded and paced per node as the node link paces the documents a sync asks for (a node
   * repeating `sync` costs one resend a second, never one per request).
   */
  private readonly connects: KeyedCoalescer;

  constructor(private readonly d: AppChannelDeps) {
    this.counters = new Counters(d.now);
    this.quota = new NodeQuota(this.quotaDoc(), () => d.now().getTime());
    this.ackQuota = new NodeQuota(this.quotaDoc(), () => d.now().getTime());
    this.connects = new KeyedCoalescer({
      ...SYNC_REPUBLISH,
      now: () => d.now().getTime(),
      run: async (node) => {
        this.downlink?.nodeUp(node);
        const error = await this.publishRoutes(node, true);
        if (error !== undefined) this.d.log.warn('routes not sent; the node gets them on its next connect', { node, error });
      },
    });
  }

  private quotaDoc(): AppQuota {
    const q = this.d.config.quota;
    return { messagesPerSecond: q.messagesPerSecond, burst: q.burst, bytesPerSecond: q.bytesPerSecond, maxMessageBytes: q.maxMessageBytes };
  }

  /** where the router listens (undefined when it is off) */
  routerUrl(): string | undefined {
    return this.routerAt;
  }

  /** A renewed serving certificate for the router listener (as the API's). */
  setCertificate(pair: { cert: string; key: string }): void {
    if (this.router && 'setSecureContext' in this.router) (this.router as HttpsServer).setSecureContext({ ...pair, minVersion: 'TLSv1.2' });
  }

  routes(): RouteTable {
    return this.table;
  }

  async start(): Promise<void> {
    const d = this.d;
    const cfg = d.config;
    const now = (): number => d.now().getTime();
    const store = (this.store = SqliteMessageStore.open(join(d.dataDir, 'messages.db'), now));
    this.counters.load(await store.loadCounters());
    this.epoch = await d.objects.epoch();
    const senders: Senders = {
      mqtt: (topic, payload) => d.publish(topic, payload),
      http: async (url, body, headers, timeoutMs) => (await fetch(url, { method: 'POST', body, headers, signal: AbortSignal.timeout(timeoutMs) })).status,
    };
    this.engine = new DeliveryEngine({
      store,
      route: (uid) => this.upRoute(uid),
      senders,
      counters: this.counters,
      log: d.log.child('deliver'),
      now,
      config: { concurrency: cfg.delivery.concurrency, httpTimeoutMs: cfg.delivery.httpTimeoutSeconds * 1000, retryInitialMs: cfg.delivery.retryInitialMs, retryMaxMs: cfg.delivery.retryMaxMs },
    });
    this.ingest = new Ingest({ store, routes: () => this.table, quota: this.quota, engine: this.engine, counters: this.counters, maxPendingPerNode: cfg.quota.maxPendingDeliveries, log: d.log.child('ingest') });
    this.downlink = new Downlink({
      store,
      publish: (topic, payload) => d.publish(topic, payload),
      counters: this.counters,
      log: d.log.child('downlink'),
      now,
      config: { maxPendingPerNode: cfg.down.maxPendingPerNode, maxBodyBytes: cfg.down.maxBodyBytes, onlineTtlMs: cfg.down.onlineTtlSeconds * 1000, replyTimeoutMs: cfg.down.replyTimeoutSeconds * 1000 },
    });
    await this.downlink.start();
    const client = new ApiClient(d.core, controllerIdentity('appchannel'), 'edgerelay-appchannel');
    this.rules = new Informer(client, ruleDef, d.log.child('rules'));
    this.endpoints = new Informer(client, ruleEndpointDef, d.log.child('ruleendpoints'));
    await this.endpoints.start();
    await this.rules.start();
    // only once both lists are in: a table built from half of them would forget live rules' messages
    this.rules.onChange(() => void this.recompile());
    this.endpoints.onChange(() => void this.recompile());
    await this.recompile();
    this.status = new RuleStatusWriter({
      client,
      rules: () => this.rules?.list() ?? [],
      states: () => this.table.states,
      pending: (uid) => this.engine?.pendingForRule(uid) ?? 0,
      counters: this.counters,
      log: d.log.child('status'),
      now: d.now,
    });
    const iv = d.intervals ?? {};
    this.status.start(iv.statusMs ?? 2000);
    this.timers.push(setInterval(() => void this.prune(), iv.pruneMs ?? 30_000), setInterval(() => void this.saveCounters(), iv.saveMs ?? 5000));
    for (const t of this.timers) t.unref();
    if (cfg.router.enabled) {
      const handler = routerHandler({ routes: () => this.table, downlink: this.downlink, ...(cfg.router.allowAnonymous ? {} : { authenticate: d.authenticate }), maxBodyBytes: cfg.down.maxBodyBytes, log: d.log.child('router') });
      // HTTPS with the API's certificate (bearer tokens never cross the network in clear), HTTP only when the API is
      const server = createApiServer({ tls: d.tls, onRequest: handler });
      this.routerAt = await listenApi(server, cfg.router.port, cfg.router.host);
      this.router = server;
    }
    d.log.info('application channel ready', { rules: this.rules.list().length, router: this.routerUrl() ?? 'off' });
  }

  /** Once the broker runs: deliveries queued before a restart go out again. */
  async beginDelivery(): Promise<void> {
    const n = await this.engine!.load();
    if (n) this.d.log.info('deliveries resumed', { pending: n });
  }

  async stop(): Promise<void> {
    this.connects.clear();
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.rules?.stop();
    this.endpoints?.stop();
    this.status?.stop();
    this.downlink?.stop();
    this.engine?.stop();
    if (this.router) {
      this.router.closeAllConnections();
      await new Promise<void>((r) => this.router!.close(() => r()));
    }
    await this.engine?.idle();
    await this.saveCounters();
    await this.store?.close();
  }

  /** The storage rules' messages, as the Rule's `messages` subresource. */
  mount(api: ApiServer): void {
    api.subresource(RULE_GROUP, 'rules', 'messages', {
      verb: 'get',
      http: (ctx, req, res) => {
        if (!this.store) throw new Error('the application channel is not started');
        return messagesHandler(this.store).http!(ctx, req, res);
      },
    });
  }

  private upRoute(uid: string): UpRoute | 'gone' | undefined {
    const state = this.table.states.get(uid);
    if (!state) return 'gone';
    return this.table.up.find((r) => r.rule.uid === uid);
  }

  /** Rules or endpoints changed: rebuild the table, tell nodes whose topics changed, forget deleted rules. */
  private recompile(): Promise<void> {
    if (this.recompiling) {
      this.recompileAgain = true;
      return this.recompiling;
    }
    this.recompiling = (async () => {
      do {
        this.recompileAgain = false;
        const cfg = this.d.config;
        this.table = compileRoutes(this.rules?.list() ?? [], this.endpoints?.list() ?? [], {
          retryForMs: cfg.delivery.retryForSeconds * 1000,
          keepMs: cfg.storage.keepSeconds * 1000,
          maxMessages: cfg.storage.maxMessages,
        });
        this.version = await this.d.objects.revision();
        await this.store?.forgetRules(new Set((this.rules?.list() ?? []).map((r) => r.metadata.uid ?? '')));
        // one record for the nodes whose routes could not go out (before the broker starts: all of them)
        const failed: string[] = [];
        let error = '';
        for (const node of this.d.nodes()) {
          const e = await this.publishRoutes(node, false);
          if (e !== undefined) {
            failed.push(node);
            error = e;
          }
        }
        if (failed.length) this.d.log.warn('routes not sent; the nodes get them on their next connect', { nodes: failed.length, first: failed.slice(0, 5), error });
      } while (this.recompileAgain);
    })()
      .catch((e) => this.d.log.error('routes not rebuilt', { error: errorMessage(e) }))
      .finally(() => {
        this.recompiling = undefined;
      });
    return this.recompiling;
  }

  /**
   * Send `node` its routes (always when asked; after a change only when its topics changed).
   * Resolves with the error when they could not be sent (the node gets them on its next connect).
   */
  private async publishRoutes(node: string, always: boolean): Promise<string | undefined> {
    const filters = filtersFor(this.table, node);
    const key = JSON.stringify(filters);
    if (!always && this.published.get(node) === key) return undefined;
    const doc: AppRoutes = { epoch: this.epoch, version: this.version, filters, quota: this.quotaDoc(), timestamp: this.d.now().getTime() };
    try {
      await this.d.publish(topics.appRoutes(node), JSON.stringify(doc));
      this.published.set(node, key);
      return undefined;
    } catch (e) {
      return errorMessage(e);
    }
  }

  /**
   * Every node → relay message passes here first (the transport's handler, before the
   * acknowledgement): app/up and app/ack are the channel's; sync, presence and heartbeat tell
   * it the node is connected (or gone). Undefined for messages it does not take.
   */
  nodeMessage(node: string, channel: NodeChannel, payload: Buffer): Promise<void> | undefined {
    // sizes first (src/contract/limits.ts): nothing over its channel's limit is parsed; acknowledged and dropped
    if (oversize(channel, payload.length)) {
      if (channel === 'app/up' || channel === 'app/ack') this.counters.node(node).rejected++;
      return undefined;
    }
    switch (channel) {
      case 'app/up':
        this.downlink?.heard(node);
        return this.ingest?.handle(node, payload);
      case 'app/ack': {
        if (this.ackQuota.take(node, payload.length) !== 'ok') {
          this.counters.nodeDropped(node, 'rate');
          return undefined;
        }
        const r = parsePayload(appAckSchema, payload);
        if (!r.ok) {
          this.counters.node(node).rejected++;
          return undefined;
        }
        return this.downlink?.ack(node, r.value);
      }
      case 'sync':
        // the node connected: its routes, and its downlink queue from the start (paced per node)
        this.connects.request(node);
        return undefined;
      case 'presence': {
        if (payload.length === 0) return undefined;
        const p = parsePayload(presenceSchema, payload);
        if (p.ok && !p.value.online) this.downlink?.nodeDown(node);
        return undefined;
      }
      case 'heartbeat':
        this.downlink?.heard(node);
        return undefined;
      default:
        return undefined;
    }
  }

  /** A node was deleted: its limits and connect pacing forgotten, its downlink stopped (its queued messages expire). */
  forget(node: string): void {
    this.connects.forget(node);
    this.quota.forget(node);
    this.ackQuota.forget(node);
    this.downlink?.nodeDown(node);
    this.published.delete(node);
  }

  /** A cloud consumer's publish on `edgecore/v1/apps/<ns>/down/<node>/<topic>` (already authorized for its namespace). */
  async cloudMessage(topic: string, payload: Buffer): Promise<void> {
    const t = parseDownTopic(topic);
    if (!t || !this.downlink) return;
    const hit = matchDown(this.table, 'mqtt', t.namespace, t.rest);
    if (!hit) {
      this.d.log.info('consumer message matched no rule; dropped', { topic });
      return;
    }
    const r = await this.downlink.submit(hit.route, t.node, hit.suffix, { method: 'POST', headers: {}, body: payload, query: '', wantReply: false });
    if (r.kind === 'refused') this.d.log.info('consumer message refused', { topic, status: r.status, reason: r.reason });
  }

  /** Retention of storage rules, per rule and node. */
  private async prune(): Promise<void> {
    const rules = new Map<string, { keepMs: number; maxMessages: number }>();
    for (const r of this.table.up) if (r.target.type === 'storage') rules.set(r.rule.uid, { keepMs: r.target.keepMs, maxMessages: r.target.maxMessages });
    try {
      await this.store?.prune(rules, this.d.now().getTime());
    } catch (e) {
      this.d.log.warn('storage retention failed', { error: errorMessage(e) });
    }
  }

  private async saveCounters(): Promise<void> {
    const dirty = this.counters.takeDirty();
    if (dirty.size) await this.store?.saveCounters(dirty).catch((e) => this.d.log.warn('counters not saved', { error: errorMessage(e) }));
  }

  /** Resolves when deliveries in flight are done and statuses written (tests). */
  async idle(): Promise<void> {
    await this.recompiling;
    await this.engine?.idle();
    await this.status?.tick();
  }

  /** The downlink, for tests and diagnostics. */
  get down(): Downlink | undefined {
    return this.downlink;
  }
}
