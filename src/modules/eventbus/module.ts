/**
 * eventbus: the node-local MQTT side of devices (KubeEdge's mapper contract, src/contract/mapper.ts).
 * Mapper requests on `$hw/events/device/{id}/…` and `$hw/events/node/{node}/membership/get`
 * become bus requests to devicetwin; its answers (or errors, as 400/404/409/500) go back on the
 * matching `…/result` topic. devicetwin's published changes become `twin/update/delta`,
 * `twin/update/document`, `membership/updated` and `$ke/…/data/update`.
 */
import { randomUUID } from 'node:crypto';
import { mapperCodeOf, wireErrorOf } from '../../contract/errors.js';
import {
  deviceIds,
  eventId,
  hwTopics,
  parseDeviceTopic,
  parseJson,
  parseStateUpdate,
  parseTwinUpdate,
  toMsgTwin,
  toWireDevice,
  twinMap,
  type DataUpdateMessage,
  type DeviceRef,
  type ErrorResultMessage,
  type MembershipGetResultMessage,
  type MembershipUpdatedMessage,
  type StateResultMessage,
  type TwinDeltaMessage,
  type TwinDocumentMessage,
  type TwinResultMessage,
} from '../../contract/mapper.js';
import { errorMessage } from '../../core/errors.js';
import type { NodeMessage } from '../../node/messages.js';
import type { NodeContext, NodeModule } from '../../node/services.js';
import { appTap } from './app.js';
import { connectExternalBroker, startEmbeddedBroker, type BrokerLink } from './broker.js';

const TWIN = 'devicetwin';

const codeOf = (e: unknown): ErrorResultMessage['code'] => mapperCodeOf(wireErrorOf(e, 'Failed').code);

export class EventBus implements NodeModule {
  readonly name = 'eventbus';
  readonly group = 'bus';
  private link?: BrokerLink;
  private ctx?: NodeContext;
  private offs: (() => void)[] = [];

  /** where the embedded broker listens (tests, diagnostics) */
  get address(): { host: string; port: number } | undefined {
    return this.link?.address;
  }

  async start(ctx: NodeContext): Promise<void> {
    this.ctx = ctx;
    const cfg = ctx.services.config.modules.eventbus;
    const node = ctx.services.config.node.name;
    const tap = appTap(ctx);
    this.link =
      cfg.mode === 'embedded'
        ? await startEmbeddedBroker(cfg.host, cfg.port, ctx.log, cfg.maxPacketBytes, tap)
        : await connectExternalBroker(cfg.url, `edgecore-eventbus-${node}`, ctx.log, { clientId: cfg.appSessionId || `edgecore-apps-${node}`, expirySeconds: cfg.appSessionExpirySeconds, tap, filters: ctx.services.app.filters() });
    const link = this.link;
    this.offs.push(ctx.services.app.onRoutes((r) => void link.appFiltersChanged(r.filters).catch((e) => ctx.log.warn('app subscriptions not updated', { error: errorMessage(e) }))));
    ctx.bus.serve(async (msg: NodeMessage) => {
      if (msg.type !== 'app.publish') return undefined;
      // an app that reconnects after an edgecore restart gets a moment to subscribe again
      const deadline = Date.now() + cfg.appSubscriberWaitSeconds * 1000;
      while (link.hasSubscriber(msg.topic) === false) {
        if (Date.now() >= deadline || ctx.signal.aborted) throw new Error(`no app subscribes to ${msg.topic} on the node`);
        await new Promise((r) => setTimeout(r, 200));
      }
      ctx.services.metrics.count('mqtt_messages_sent_total', { link: 'eventbus' });
      await link.publishApp(msg.topic, msg.payload);
      return undefined;
    });
    ctx.log.info('eventbus ready', { mode: cfg.mode, ...(this.link.address ? { address: this.link.address } : { url: cfg.url }) });
    const received = (): void => ctx.services.metrics.count('mqtt_messages_received_total', { link: 'eventbus' });
    await this.link.subscribe(hwTopics.deviceFilter, (topic, payload) => {
      received();
      void this.onDevice(topic, payload);
    });
    await this.link.subscribe(hwTopics.membershipGet(node), (_t, payload) => {
      received();
      void this.onMembershipGet(payload);
    });
    this.offs.push(
      ctx.bus.subscribe('twin.changed', (m) => this.onTwinChanged(m)),
      ctx.bus.subscribe('device.data', (m) => this.onData(m)),
      ctx.bus.subscribe('membership.changed', (m) => this.onMembership(m)),
    );
  }

  async stop(): Promise<void> {
    for (const off of this.offs.splice(0)) off();
    const l = this.link;
    this.link = undefined;
    this.ctx = undefined;
    await l?.close();
  }

  private send(topic: string, body: object): void {
    this.ctx?.services.metrics.count('mqtt_messages_sent_total', { link: 'eventbus' });
    this.link?.publish(topic, JSON.stringify(body)).catch((e) => this.ctx?.log.warn('publish failed', { topic, error: errorMessage(e) }));
  }

  private base(event_id = ''): { event_id: string; timestamp: number } {
    return { event_id, timestamp: this.ctx?.services.now().getTime() ?? Date.now() };
  }

  private async onDevice(topic: string, payload: Buffer): Promise<void> {
    const ctx = this.ctx;
    const t = parseDeviceTopic(topic);
    if (!ctx || !t) return;
    const resultTopic =
      t.kind === 'twin/update' ? hwTopics.twinUpdateResult(t.id) : t.kind === 'twin/get' ? hwTopics.twinGetResult(t.id) : hwTopics.stateUpdateResult(t.id);
    let ev = '';
    try {
      const m = parseJson(payload);
      ev = eventId(m);
      if (t.kind === 'twin/update') {
        const patch = parseTwinUpdate(m);
        const r = await ctx.bus.request(TWIN, { type: 'twin.update', device: t.device, patch, ...(ev ? { eventId: ev } : {}) });
        const body: TwinResultMessage = { ...this.base(ev), twin: twinMap(r.twins, false) };
        this.send(resultTopic, body);
      } else if (t.kind === 'twin/get') {
        const r = await ctx.bus.request(TWIN, { type: 'twin.get', device: t.device });
        const body: TwinResultMessage = { ...this.base(ev), twin: twinMap(r.twins, false) };
        this.send(resultTopic, body);
      } else {
        const state = parseStateUpdate(m);
        const r = await ctx.bus.request(TWIN, { type: 'device.state', device: t.device, state });
        const body: StateResultMessage = { ...this.base(ev), device: { name: r.device.name, state: r.state, lastOnlineTime: r.lastOnlineTime ?? '' } };
        this.send(resultTopic, body);
      }
    } catch (e) {
      const code = codeOf(e);
      if (code === 500) ctx.log.warn('mapper request failed', { topic, error: errorMessage(e) });
      const body: ErrorResultMessage = { ...this.base(ev), code, reason: errorMessage(e) };
      this.send(resultTopic, body);
    }
  }

  private async onMembershipGet(payload: Buffer): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) return;
    const topic = hwTopics.membershipGetResult(ctx.services.config.node.name);
    let ev = '';
    try {
      if (payload.length > 0) ev = eventId(parseJson(payload));
      const r = await ctx.bus.request(TWIN, { type: 'membership.get' });
      const body: MembershipGetResultMessage = { ...this.base(ev), devices: r.devices.map((d) => toWireDevice(d, false)) };
      this.send(topic, body);
    } catch (e) {
      const body: ErrorResultMessage = { ...this.base(ev), code: codeOf(e), reason: errorMessage(e) };
      this.send(topic, body);
    }
  }

  private ids(ref: DeviceRef): string[] {
    return deviceIds(ref, this.ctx?.services.config.modules.eventbus.legacyIds ?? true);
  }

  /**
   * The topics of `topics` a client may receive: on the embedded broker those some connected
   * client subscribes to (a QoS 0 message nobody subscribes to is dropped by the broker anyway,
   * so a device's changes cost nothing while no mapper or app listens); all of them on an
   * external broker, which cannot tell.
   */
  private heard(topics: string[]): string[] {
    const link = this.link;
    if (!link) return [];
    return topics.filter((t) => link.hasSubscriber(t) !== false);
  }

  private onTwinChanged(m: Extract<NodeMessage, { type: 'twin.changed' }>): void {
    const ids = this.ids(m.device);
    const docTopics = Object.keys(m.document).length ? this.heard(ids.map((id) => hwTopics.twinUpdateDocument(id))) : [];
    const deltaTopics = Object.keys(m.delta).length > 0 ? this.heard(ids.map((id) => hwTopics.twinUpdateDelta(id))) : [];
    if (docTopics.length) {
      // the document of a mapper's update carries that update's event_id (KubeEdge); the delta a new one
      const doc: TwinDocumentMessage = { ...this.base(m.eventId || randomUUID()), twin: {} };
      for (const [k, v] of Object.entries(m.document)) {
        doc.twin[k] = { last: v.last ? toMsgTwin(v.last, true) : null, current: v.current ? toMsgTwin(v.current, true) : null };
      }
      for (const t of docTopics) this.send(t, doc);
    }
    if (deltaTopics.length) {
      const withExpected = Object.fromEntries(Object.entries(m.twins).filter(([, t]) => t.expected));
      const delta: TwinDeltaMessage = { ...this.base(randomUUID()), twin: twinMap(withExpected, true), delta: m.delta };
      for (const t of deltaTopics) this.send(t, delta);
    }
  }

  private onData(m: Extract<NodeMessage, { type: 'device.data' }>): void {
    const dataTopics = this.heard(this.ids(m.device).map((id) => hwTopics.dataUpdate(id)));
    if (!dataTopics.length) return;
    const body: DataUpdateMessage = { ...this.base(randomUUID()), data: {} };
    for (const [k, p] of Object.entries(m.data)) body.data[k] = { value: p.value, metadata: { timestamp: p.timestamp, type: p.type } };
    for (const t of dataTopics) this.send(t, body);
  }

  private onMembership(m: Extract<NodeMessage, { type: 'membership.changed' }>): void {
    const ctx = this.ctx;
    if (!ctx) return;
    const body: MembershipUpdatedMessage = {
      ...this.base(randomUUID()),
      added_devices: m.added.map((d) => toWireDevice(d, true)),
      removed_devices: m.removed.map((d) => toWireDevice(d, true)),
    };
    this.send(hwTopics.membershipUpdated(ctx.services.config.node.name), body);
  }
}
