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
 * - Heartbeats (QoS0) and relay calls (twin) served through the bus.
 * - Stream sessions the relay opens (logs, exec, attach, port-forward; mesh tunnels, served by
 *   the mesh) carried by streams.ts; they end when the link drops. The mesh's tunnel requests go
 *   up on `mesh/request` (QoS 0).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { arch, platform } from 'node:os';
import mqtt, { type MqttClient } from 'mqtt';
import { wireErrorOf } from '../../contract/errors.js';
import type { TunnelRequest } from '../../contract/mesh.js';
import { rpcCancelSchema, rpcRequestSchema, type Heartbeat, type Presence, type SyncRequest } from '../../contract/payloads.js';
import { noDelay, noPacketNumberCache, retarget } from '../../lib/mqtt.js';
import { topics } from '../../contract/topics.js';
import { errorMessage, ValidationError } from '../../core/errors.js';
import { toFieldIssues } from '../../lib/schema.js';
import type { NodeMessage } from '../../node/messages.js';
import type { NodeContext, NodeModule } from '../../node/services.js';
import type { NodeHubStatus } from '../../store/uplink.js';
import { setRelayNodeLabels } from '../../store/meta.js';
import { AppLink } from './app.js';
import { brokerList, connected, currentUrl, nextAttempt, startRotation, type BrokerRotation } from '../../lib/brokers.js';
import { decideDesired } from './desired.js';
import type { HubStatus } from './messages.js';
import { nodeRpcHandlers, type Emit, type RpcHandlers } from './rpc.js';
import { NodeStreamServer } from './streams.js';

export class EdgeHub implements NodeModule {
  readonly name = 'edgehub';
  readonly group = 'hub';
  private ctx?: NodeContext;
  private client?: MqttClient;
  private stopped = false;
  /** the broker members and the one in use (brokers.ts) */
  private rotation?: BrokerRotation;
  /** connect attempts in this boot; each CONNECT's Will names its attempt (see willFor) */
  private connects = 0;
  private reconnectTimer?: NodeJS.Timeout;
  private flushTimer?: NodeJS.Timeout;
  private heartbeatTimer?: NodeJS.Timeout;
  private flushing = false;
  private flushAgain = false;
  private applyChain: Promise<void> = Promise.resolve();
  private lastError?: string;
  private readonly bootId = randomUUID();
  private readonly calls = new Map<string, AbortController>();
  private handlers?: RpcHandlers;
  private unsubs: (() => void)[] = [];
  private app?: AppLink;
  private paceTimer?: NodeJS.Timeout;
  private streams?: NodeStreamServer;

  async start(ctx: NodeContext): Promise<void> {
    this.ctx = ctx;
    this.stopped = false;
    const { config, uplink } = ctx.services;
    const hub = config.modules.edgehub;
    if (!hub.relay.url) throw new Error('modules.edgehub.relay.url is empty: run `edgecore join` first');
    this.handlers = nodeRpcHandlers(ctx);
    this.app = new AppLink(ctx);
    const up = topics.streamUp(config.node.name);
    this.streams = new NodeStreamServer({
      send: (frame) => void (this.client?.connected && this.client.publish(up, frame, { qos: 0 })),
      // pod sessions are edged's; mesh tunnels the mesh's
      open: (request) => (request.kind === 'tunnel' ? ctx.bus.request('mesh', { type: 'mesh.stream', request }, 30_000) : ctx.bus.request('edged', { type: 'pod.stream', request }, 30_000)),
      log: ctx.log.child('streams'),
    });
    ctx.bus.serve((msg: NodeMessage) => {
      if (msg.type === 'edgehub.flush') return void this.flush();
      if (msg.type === 'edgehub.status') return this.status();
      if (msg.type === 'edgehub.tunnel') return this.tunnel(msg.request);
      return undefined;
    });
    this.unsubs.push(uplink.onQueued(() => this.flushSoon()));
    this.connect();
    this.heartbeatTimer = setInterval(() => this.heartbeat(), hub.heartbeatSeconds * 1000);
    this.heartbeatTimer.unref();
  }

  /** the broker URL in use (or tried next) */
  private url(): string {
    return this.rotation ? currentUrl(this.rotation) : this.ctx!.services.config.modules.edgehub.relay.url;
  }

  /** A mesh tunnel request to the relay (QoS 0: it means nothing on a later connection). */
  private async tunnel(request: TunnelRequest): Promise<{ sent: boolean; reason?: string }> {
    const c = this.client;
    if (!c?.connected) return { sent: false, reason: 'not connected to the relay' };
    try {
      await c.publishAsync(topics.meshRequest(this.ctx!.services.config.node.name), JSON.stringify(request), { qos: 0 });
      return { sent: true };
    } catch (e) {
      return { sent: false, reason: errorMessage(e) };
    }
  }

  status(): HubStatus {
    const { uplink } = this.ctx!.services;
    const s = uplink.backlog();
    const a = uplink.applied();
    return {
      connected: this.client?.connected ?? false,
      url: this.url(),
      appliedVersion: a.version,
      epoch: a.epoch,
      reconnectAttempt: this.rotation?.failures ?? 0,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      outbox: { rows: s.rows, dropped: s.dropped },
    };
  }

  private connect(): void {
    const ctx = this.ctx!;
    const { config } = ctx.services;
    const hub = config.modules.edgehub;
    noPacketNumberCache();
    this.rotation = startRotation(brokerList(hub.relay.url, hub.relay.urls), config.node.name);
    const client = mqtt.connect(currentUrl(this.rotation), {
      clientId: config.node.name,
      clean: false,
      keepalive: hub.keepaliveSeconds,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      resubscribe: false,
      ...(hub.relay.username ? { username: hub.relay.username, password: hub.relay.password } : {}),
      ...(hub.relay.caFile ? { ca: readFileSync(hub.relay.caFile) } : {}),
      will: this.willFor(),
    });
    this.client = client;
    client.on('connect', (ack) => {
      noDelay(client);
      ctx.log.info('connected to relay', { url: this.url(), sessionPresent: ack.sessionPresent, attempt: this.rotation!.failures });
      this.rotation = connected(this.rotation!);
      this.onConnected(client).catch((e) => {
        // a refused SUBSCRIBE (NATS answers 0x80 while JetStream is busy) or a birth not taken: left
        // connected, the node would hear no desired document — the link is dropped and tried again
        ctx.log.warn('post-connect steps failed; reconnecting', { error: errorMessage(e) });
        if (this.client === client && client.connected) client.stream?.destroy();
      });
    });
    const received = ctx.services.metrics.counter('mqtt_messages_received_total', { link: 'relay' });
    const sent = ctx.services.metrics.counter('mqtt_messages_sent_total', { link: 'relay' });
    client.on('message', (topic, payload) => {
      received();
      this.onMessage(topic, payload);
    });
    client.on('packetsend', (p) => {
      if (p.cmd === 'publish') sent();
    });
    client.on('error', (e) => {
      this.lastError = e.message;
      ctx.log.debug('relay connection error', { error: e.message });
    });
    client.on('close', () => {
      this.streams?.resetAll('link to the relay lost');
      this.scheduleReconnect();
    });
  }

  private scheduleReconnect(): void {
    if (this.stopped || this.reconnectTimer) return;
    const r = this.ctx!.services.config.modules.edgehub.reconnect;
    const next = nextAttempt(this.rotation!, { initialMs: r.initialMs, maxMs: r.maxMs, factor: 2, jitter: r.jitter });
    this.rotation = next.rotation;
    const delay = next.delayMs;
    this.ctx!.log.info('relay unreachable; the node keeps running from its store', { retryInMs: delay, next: this.url(), lastError: this.lastError });
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (this.stopped || !this.client || this.client.connected) return;
      this.client.options.will = this.willFor();
      retarget(this.client.options, this.url());
      // the same stores: reconnect() without them starts empty ones, and the QoS 1 packets not yet
      // acknowledged (a flush window) would be neither resent nor failed — the flush awaiting
      // them would wait for ever and the outbox never drain. Kept, mqtt.js resends them first.
      this.client.reconnect({ incomingStore: this.client.incomingStore, outgoingStore: this.client.outgoingStore });
    }, delay);
  }

  /**
   * The Last Will of the next connect attempt: presence "offline", naming the attempt. A timed-out
   * attempt's socket is closed (mqtt.js destroys it), but the relay may still read its CONNECT
   * late — after a later attempt connected; the attempt number lets the broker refuse it instead
   * of handing it the session (clean: false, same client id).
   */
  private willFor(): NonNullable<mqtt.IClientOptions['will']> {
    const node = this.ctx!.services.config.node.name;
    const will: Presence = { online: false, bootId: this.bootId, agentVersion: this.ctx!.services.version, timestamp: Date.now(), attempt: ++this.connects };
    return { topic: topics.presence(node), payload: Buffer.from(JSON.stringify(will)), qos: 1, retain: true };
  }

  private async onConnected(client: MqttClient): Promise<void> {
    const ctx = this.ctx!;
    const node = ctx.services.config.node.name;
    await client.subscribeAsync([topics.desired(node), topics.rpcRequest(node), topics.appDown(node), topics.appRoutes(node)], { qos: 1 });
    await client.subscribeAsync(topics.streamDown(node), { qos: 0 });
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
    } else if (topic === topics.appDown(node)) {
      this.app?.onDown(payload, async (t, p) => {
        if (!this.client?.connected) throw new Error('not connected');
        await this.client.publishAsync(t, p, { qos: 1 });
      });
    } else if (topic === topics.appRoutes(node)) {
      this.app?.onRoutes(payload);
      void this.flush();
    } else if (topic === topics.streamDown(node)) {
      this.streams?.handle(payload);
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
    // the Node's labels first: the pass the objects trigger judges node affinity against them
    if (doc.labels) setRelayNodeLabels(store.meta, doc.labels);
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
    const status: NodeHubStatus = {
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

  /** Publish what was queued within the next `flushDelayMs` together. */
  private flushSoon(): void {
    if (this.flushTimer || this.stopped) return;
    const delay = this.ctx!.services.config.modules.edgehub.flushDelayMs;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, delay);
  }

  /**
   * Publish the outbox in order, a window at a time; each row is removed only after the broker
   * acknowledged it. The daemon's rows (state, telemetry) go first; apps' rows follow, paced to
   * the node's quota (docs/appchannel.md). On a disconnect mqtt.js keeps the unacknowledged
   * packets and resends them first on reconnect; a crash before `ack` resends them after restart
   * (the relay drops duplicates by sequence number).
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
      const hub = ctx.services.config.modules.edgehub;
      for (;;) {
        const client = this.client;
        if (!client?.connected || this.stopped) break;
        const batch = uplink.pending(hub.flushBatch);
        if (batch.length > 0) {
          // one write for the window; the acknowledged rows go in one transaction
          const sent = await Promise.allSettled(batch.map((e) => client.publishAsync(e.topic, e.payload, { qos: 1 })));
          if (!this.stopped) uplink.ack(batch.filter((_, i) => sent[i]!.status === 'fulfilled').map((e) => e.seq));
          const failed = sent.find((r): r is PromiseRejectedResult => r.status === 'rejected');
          if (failed) throw failed.reason;
          continue;
        }
        if (!(await this.flushApp(client, hub.appFlushBatch))) break;
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

  /** One paced window of app rows; false when there is nothing (more) to send now. */
  private async flushApp(client: MqttClient, batchSize: number): Promise<boolean> {
    const { uplink } = this.ctx!.services;
    const pacer = this.app!.pacer;
    const rows = uplink.pendingApp(batchSize);
    if (rows.length === 0) return false;
    const n = pacer.allow(rows.map((r) => r.payload.length));
    if (n === 0) {
      // over the quota for now: come back when the bucket holds the next message
      if (!this.paceTimer) {
        this.paceTimer = setTimeout(() => {
          this.paceTimer = undefined;
          void this.flush();
        }, pacer.waitFor(rows[0]!.payload.length));
      }
      return false;
    }
    const send = rows.slice(0, n);
    pacer.spend(send.length, send.reduce((a, r) => a + r.payload.length, 0));
    await Promise.all(send.map((e) => client.publishAsync(e.topic, e.payload, { qos: 1 })));
    if (!this.stopped) uplink.ack(send.map((e) => e.seq));
    return true;
  }

  /** A relay call, parsed at the edge: a malformed one with an id is answered `Invalid` (field paths), without an id dropped. */
  private onRpc(payload: Buffer): void {
    const ctx = this.ctx!;
    let raw: unknown;
    try {
      raw = JSON.parse(payload.toString('utf8'));
    } catch {
      ctx.log.debug('rpc request dropped: not JSON');
      return;
    }
    const cancel = rpcCancelSchema.safeParse(raw);
    if (cancel.success) {
      this.calls.get(cancel.data.id)?.abort();
      return;
    }
    const r = rpcRequestSchema.safeParse(raw);
    if (!r.success) {
      const id = (raw as { id?: unknown } | null)?.id;
      const error = wireErrorOf(new ValidationError(toFieldIssues(r.error), 'rpc request'), 'Failed');
      if (typeof id === 'string' && id.length > 0 && id.length <= 64) this.responder(id)({ done: true, error });
      else ctx.log.debug('rpc request dropped', { error: error.message });
      return;
    }
    const req = r.data;
    if (req.deadline < Date.now()) return;
    const ac = new AbortController();
    this.calls.set(req.id, ac);
    const emit = this.responder(req.id);
    this.handlers![req.method](req, emit, ac.signal)
      .catch((e) => emit({ done: true, error: wireErrorOf(e, 'Failed') }))
      .finally(() => this.calls.delete(req.id));
  }

  /** Publishes the chunks of one call's answer, numbered from 0. */
  private responder(id: string): Emit {
    const node = this.ctx!.services.config.node.name;
    let n = 0;
    return (r) => {
      this.client?.publish(topics.rpcResponse(node), JSON.stringify({ id, n: n++, ...r }), { qos: 1 });
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.paceTimer);
    this.paceTimer = undefined;
    for (const u of this.unsubs) u();
    this.unsubs = [];
    for (const ac of this.calls.values()) ac.abort();
    this.streams?.resetAll('edgehub stopping');
    this.calls.clear();
    await this.applyChain.catch(() => undefined);
    await this.app?.idle();
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
