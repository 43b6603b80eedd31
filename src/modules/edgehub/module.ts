/**
 * edgehub: the node's uplink to the relay over MQTT.
 *
 * - Connects with a persistent session (clean=false), a retained presence birth message and a
 *   retained Last Will ("offline"); reconnects with jittered exponential backoff (1 s → 60 s).
 * - Desired documents (retained, versioned) are checked, written to SQLite through metamanager
 *   (`desired.replace`, origin 'cloud') BEFORE anything acts on them, then the uplink records
 *   their version as applied; stale versions are rejected. On every connect the node
 *   asks for the current document (`sync`), so nothing depends on the broker's queue.
 * - What the uplink queued (the outbox) is published in order with QoS1; a row is removed only
 *   after its PUBACK. The node's own status goes up through the uplink too.
 * - Heartbeats (QoS0) and relay calls (logs, twin) served through the bus.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import mqtt, { type MqttClient } from 'mqtt';
import type { Heartbeat, NodeReportedStatus, Presence, RpcRequest, SyncRequest } from '../../contract/payloads.js';
import { topics } from '../../contract/topics.js';
import { backoffDelay } from '../../core/backoff.js';
import { errorMessage } from '../../core/errors.js';
import type { NodeMessage } from '../../node/messages.js';
import type { NodeContext, NodeModule } from '../../node/services.js';
import { decideDesired } from './desired.js';
import type { HubStatus } from './messages.js';
import { nodeRpcHandlers, rpcErrorOf, type RpcHandler } from './rpc.js';

export class EdgeHub implements NodeModule {
  readonly name = 'edgehub';
  readonly group = 'hub';
  private ctx?: NodeContext;
  private client?: MqttClient;
  private stopped = false;
  private attempt = 0;
  private reconnectTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  private flushing = false;
  private flushAgain = false;
  private applyChain: Promise<void> = Promise.resolve();
  private lastError?: string;
  private readonly bootId = randomUUID();
  private readonly calls = new Map<string, AbortController>();
  private handlers: Record<string, RpcHandler> = {};
  private unsubs: (() => void)[] = [];

  async start(ctx: NodeContext): Promise<void> {
    this.ctx = ctx;
    this.stopped = false;
    const { config, uplink } = ctx.services;
    const hub = config.modules.edgehub;
    if (!hub.relay.url) throw new Error('modules.edgehub.relay.url is empty: run `edgecore join` first');
    this.handlers = nodeRpcHandlers(ctx);
    ctx.bus.serve((msg: NodeMessage) => {
      if (msg.type === 'edgehub.flush') return void this.flush();
      if (msg.type === 'edgehub.status') return this.status();
      return undefined;
    });
    this.unsubs.push(uplink.onQueued(() => setImmediate(() => void this.flush())));
    this.connect();
    this.heartbeatTimer = setInterval(() => this.heartbeat(), hub.heartbeatSeconds * 1000);
    this.heartbeatTimer.unref();
  }

  status(): HubStatus {
    const { uplink, config } = this.ctx!.services;
    const s = uplink.backlog();
    const a = uplink.applied();
    return {
      connected: this.client?.connected ?? false,
      url: config.modules.edgehub.relay.url,
      appliedVersion: a.version,
      epoch: a.epoch,
      reconnectAttempt: this.attempt,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      outbox: { rows: s.rows, dropped: s.dropped },
    };
  }

  private connect(): void {
    const ctx = this.ctx!;
    const { config } = ctx.services;
    const hub = config.modules.edgehub;
    const node = config.node.name;
    const will: Presence = { online: false, bootId: this.bootId, agentVersion: ctx.services.version, timestamp: Date.now() };
    const client = mqtt.connect(hub.relay.url, {
      clientId: node,
      clean: false,
      keepalive: hub.keepaliveSeconds,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      resubscribe: false,
      ...(hub.relay.username ? { username: hub.relay.username, password: hub.relay.password } : {}),
      ...(hub.relay.caFile ? { ca: readFileSync(hub.relay.caFile) } : {}),
      will: { topic: topics.presence(node), payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true },
    });
    this.client = client;
    client.on('connect', (ack) => {
      ctx.log.info('connected to relay', { url: hub.relay.url, sessionPresent: ack.sessionPresent, attempt: this.attempt });
      this.attempt = 0;
      this.onConnected(client).catch((e) => ctx.log.warn('post-connect steps failed', { error: errorMessage(e) }));
    });
    client.on('message', (topic, payload) => this.onMessage(topic, payload));
    client.on('error', (e) => {
      this.lastError = e.message;
      ctx.log.debug('relay connection error', { error: e.message });
    });
    client.on('close', () => this.scheduleReconnect());
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    const r = this.ctx!.services.config.modules.edgehub.reconnect;
    const delay = backoffDelay({ initialMs: r.initialMs, maxMs: r.maxMs, factor: 2, jitter: r.jitter }, this.attempt++);
    this.ctx!.log.info('relay unreachable; the node keeps running from its store', { retryInMs: delay, lastError: this.lastError });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.stopped && this.client && !this.client.connected) this.client.reconnect();
    }, delay);
  }

  private async onConnected(client: MqttClient): Promise<void> {
    const ctx = this.ctx!;
    const node = ctx.services.config.node.name;
    await client.subscribeAsync([topics.desired(node), topics.rpcRequest(node)], { qos: 1 });
    const birth: Presence = { online: true, bootId: this.bootId, agentVersion: ctx.services.version, timestamp: Date.now() };
    await client.publishAsync(topics.presence(node), JSON.stringify(birth), { qos: 1, retain: true });
    await this.requestSync();
    this.reportNode();
    void this.flush();
  }

  /** Ask the relay for the current desired document. */
  private async requestSync(): Promise<void> {
    const c = this.client;
    if (!c?.connected || this.stopped) return;
    const a = this.ctx!.services.uplink.applied();
    const sync: SyncRequest = { epoch: a.epoch, appliedVersion: a.version, bootId: this.bootId, timestamp: Date.now() };
    await c.publishAsync(topics.sync(this.ctx!.services.config.node.name), JSON.stringify(sync), { qos: 1 });
  }

  private onMessage(topic: string, payload: Buffer): void {
    const node = this.ctx!.services.config.node.name;
    if (topic === topics.desired(node)) {
      this.applyChain = this.applyChain
        .then(() => this.onDesired(payload))
        .catch((e) => {
          // not written: ask again later (the relay answers a sync with the current document)
          this.ctx!.log.error('desired document not applied; retrying', { error: errorMessage(e) });
          const t = setTimeout(() => void this.requestSync().catch(() => undefined), 5000);
          t.unref();
        });
    } else if (topic === topics.rpcRequest(node)) {
      this.onRpc(payload);
    }
  }

  private async onDesired(payload: Buffer): Promise<void> {
    const ctx = this.ctx!;
    const { store, config, uplink } = ctx.services;
    let raw: unknown;
    try {
      raw = JSON.parse(payload.toString('utf8'));
    } catch {
      this.reject('desired document is not JSON');
      return;
    }
    const d = decideDesired(raw, config.node.name, uplink.applied());
    if (d.action === 'stale') {
      ctx.log.debug('desired document ignored', { reason: d.reason });
      return;
    }
    if (d.action === 'invalid') {
      this.reject(`desired document refused: ${d.issues.map((i) => `${i.path || '(root)'}: ${i.reason}`).join('; ')}`);
      return;
    }
    const doc = d.doc;
    const kinds = [...new Set([...doc.kinds, ...store.resources.kinds()])];
    const r = await ctx.bus.request(
      'metamanager',
      {
        type: 'desired.replace',
        origin: 'cloud',
        kinds,
        items: doc.items.map((i) => ({ key: { kind: i.kind, namespace: i.namespace, name: i.name }, spec: i.spec, resourceVersion: i.generation, uid: i.uid })),
      },
      30_000,
    );
    uplink.setApplied({ epoch: doc.epoch, version: doc.version });
    this.lastError = undefined;
    ctx.log.info('desired document applied', { version: doc.version, items: doc.items.length, changes: r.changes });
    this.reportNode();
  }

  private reject(reason: string): void {
    this.lastError = reason;
    this.ctx!.log.warn(reason);
    this.reportNode();
  }

  /** Node status upstream (coalesced in the outbox: only the latest is sent). */
  private reportNode(): void {
    const ctx = this.ctx!;
    const { uplink } = ctx.services;
    const a = uplink.applied();
    const s = uplink.backlog();
    const status: NodeReportedStatus = {
      appliedVersion: a.version,
      epoch: a.epoch,
      agentVersion: ctx.services.version,
      bootId: this.bootId,
      arch: arch(),
      platform: platform(),
      ...(this.lastError ? { lastError: this.lastError } : {}),
      outbox: { rows: s.rows, dropped: s.dropped },
    };
    uplink.reportNode(status);
  }

  private heartbeat(): void {
    const c = this.client;
    if (!c?.connected) return;
    const node = this.ctx!.services.config.node.name;
    const { uplink } = this.ctx!.services;
    const hb: Heartbeat = { v: uplink.applied().version, q: uplink.backlog().rows, t: Date.now() };
    c.publish(topics.heartbeat(node), JSON.stringify(hb), { qos: 0 });
  }

  /**
   * Publish the outbox in order, a window at a time; each row is removed only after the broker
   * acknowledged it. On a disconnect mqtt.js keeps the unacknowledged packets and resends them
   * first on reconnect; a crash before `ack` resends them after restart (the relay drops
   * duplicates by sequence number).
   */
  async flush(): Promise<void> {
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    const ctx = this.ctx;
    if (!ctx) return;
    this.flushing = true;
    try {
      const { uplink } = ctx.services;
      const batchSize = ctx.services.config.modules.edgehub.flushBatch;
      for (;;) {
        const client = this.client;
        if (!client?.connected || this.stopped) break;
        const batch = uplink.pending(batchSize);
        if (batch.length === 0) break;
        await Promise.all(
          batch.map(async (e) => {
            await client.publishAsync(e.topic, e.payload, { qos: 1 });
            if (!this.stopped) uplink.ack([e.seq]);
          }),
        );
      }
    } catch (e) {
      ctx.log.debug('flush interrupted', { error: errorMessage(e) });
    } finally {
      this.flushing = false;
      if (this.flushAgain && !this.stopped) {
        this.flushAgain = false;
        setImmediate(() => void this.flush());
      }
    }
  }

  private onRpc(payload: Buffer): void {
    const ctx = this.ctx!;
    let req: RpcRequest | { id: string; cancel: true };
    try {
      req = JSON.parse(payload.toString('utf8')) as RpcRequest;
    } catch {
      return;
    }
    if ('cancel' in req) {
      this.calls.get(req.id)?.abort();
      return;
    }
    if (typeof req.id !== 'string' || (typeof req.deadline === 'number' && req.deadline < Date.now())) return;
    const node = ctx.services.config.node.name;
    let n = 0;
    const ac = new AbortController();
    this.calls.set(req.id, ac);
    const emit = (r: { data?: unknown; done: boolean; error?: { code: string; message: string } }): void => {
      this.client?.publish(topics.rpcResponse(node), JSON.stringify({ id: req.id, n: n++, ...r }), { qos: 1 });
    };
    const handler = this.handlers[(req as RpcRequest).method];
    const run = handler ? handler(req as RpcRequest, emit, ac.signal) : Promise.resolve(emit({ done: true, error: { code: "Invalid", message: `unknown method ${(req as RpcRequest).method}` } }));
    run
      .catch((e) => emit({ done: true, error: rpcErrorOf(e) }))
      .finally(() => this.calls.delete(req.id));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    clearInterval(this.heartbeatTimer);
    for (const u of this.unsubs) u();
    this.unsubs = [];
    for (const ac of this.calls.values()) ac.abort();
    this.calls.clear();
    await this.applyChain.catch(() => undefined);
    const c = this.client;
    this.client = undefined;
    if (c) {
      // a clean stop: say offline ourselves (the Will fires only on an abrupt loss)
      const node = this.ctx!.services.config.node.name;
      if (c.connected) {
        const off: Presence = { online: false, bootId: this.bootId, agentVersion: this.ctx!.services.version, timestamp: Date.now() };
        await Promise.race([c.publishAsync(topics.presence(node), JSON.stringify(off), { qos: 1, retain: true }).catch(() => undefined), new Promise((r) => setTimeout(r, 1000))]);
      }
      await c.endAsync(true).catch(() => undefined);
    }
  }
}
