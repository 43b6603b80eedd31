/**
 * devicetwin: Device/DeviceModel objects from the store → twins, drivers, reports.
 *
 * On start every DeviceModel/Device (stored as its whole manifest) is loaded from SQLite (so a node restores its devices with no
 * cloud), then each committed `resource.changed` of those kinds triggers a reconcile. A Device is
 * taken when its `spec.nodeName` is empty or this node's name. An invalid Device (bad shape,
 * unknown model, bad desired value, unserved protocol) is not driven; its status says why.
 * Twins live in the Device's status and go upstream with it (metamanager's `status.report`: stored
 * and queued by the node's uplink in one transaction; the relay gets the reportToCloud twins);
 * reportToCloud samples go up as telemetry (`telemetry.report`).
 */
import { TWIN_SAMPLES, type TwinSample, type TwinSamples } from '../../contract/payloads.js';
import { checkDevice, deviceProtocol, parseDevice, parseDeviceModel, type DeviceModelSpec, type DeviceSpec } from '../../contract/resources/device.js';
import { parseStored } from '../../contract/resources/kinds.js';
import { errorMessage, isValidationError, ValidationError, type FieldIssue } from '../../core/errors.js';
import { builtinDrivers } from '../../drivers/index.js';
import type { DriverFactory } from '../../drivers/types.js';
import { CycleClock } from '../../lib/cycle.js';
import { stableStringify } from '../../lib/json.js';
import type { NodeMessage } from '../../node/messages.js';
import type { NodeContext, NodeModule } from '../../node/services.js';
import type { StoredResource } from '../../store/resources.js';
import type { MemberDevice } from './messages.js';
import { computeDelta, DEVICE_STATES, fromStatus, stateText, toStatus, type DeviceState, type TwinDocument } from './twin.js';
import { DeviceUnit, notFound, type Sink } from './unit.js';

export interface DeviceTwinOptions {
  /** driver registry (default: the built-in drivers) */
  drivers?: DriverFactory[];
}

interface Entry {
  unit: DeviceUnit;
  signature: string;
}

const KINDS = new Set(['Device', 'DeviceModel']);

export class DeviceTwin implements NodeModule {
  readonly name = 'devicetwin';
  readonly group = 'twin';
  private ctx?: NodeContext;
  private readonly drivers: Map<string, DriverFactory>;
  private readonly units = new Map<string, Entry>();
  private reconciling: Promise<void> = Promise.resolve();
  /** one timer per report or collect cycle for all devices (made at start, with the node's clock) */
  private clock?: CycleClock;
  private unsubscribe?: () => void;

  constructor(opts: DeviceTwinOptions = {}) {
    this.drivers = new Map((opts.drivers ?? builtinDrivers()).map((d) => [d.protocol, d]));
  }

  async start(ctx: NodeContext): Promise<void> {
    this.ctx = ctx;
    this.clock = new CycleClock(() => ctx.services.now().getTime());
    ctx.bus.serve((msg) => this.handle(msg));
    this.unsubscribe = ctx.bus.subscribe('resource.changed', (m) => {
      if (m.change.op !== 'status' && KINDS.has(m.change.resource.kind)) this.schedule();
    });
    this.schedule();
    await this.reconciling;
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.reconciling.catch(() => undefined);
    const all = [...this.units.values()];
    this.units.clear();
    await Promise.all(all.map((e) => e.unit.stop()));
    this.ctx = undefined;
  }

  /** Serialise reconciles; a failing one is logged, never fatal. */
  private schedule(): Promise<void> {
    this.reconciling = this.reconciling
      .then(() => this.reconcile())
      .catch((e) => this.ctx?.log.error('device reconcile failed', { error: e }));
    return this.reconciling;
  }

  private async handle(msg: NodeMessage): Promise<unknown> {
    switch (msg.type) {
      case 'devicetwin.resync':
        return this.schedule();
      case 'twin.get': {
        const u = this.unit(msg.device);
        return this.result(u);
      }
      case 'twin.update': {
        const u = this.unit(msg.device);
        const document = await u.update(msg.patch, 'edge', msg.eventId);
        // KubeEdge answers every twin message with the delta while expected ≠ actual: mappers
        // publish at QoS 0, and a delta they missed is repaired by the next one. A change
        // announced it already (twin.changed); an update that changed nothing announces it here.
        const delta = computeDelta(u.doc);
        if (Object.keys(document).length === 0 && Object.keys(delta).length > 0) {
          this.ctx?.bus.publish({ type: 'twin.changed', device: u.ref, document: {}, twins: u.doc.twins, delta, ...(msg.eventId !== undefined ? { eventId: msg.eventId } : {}) });
        }
        return this.result(u, Object.keys(msg.patch));
      }
      case 'twin.set': {
        const u = this.unit(msg.device);
        u.checkDesired(msg.desired, 'desired');
        const patch = Object.fromEntries(Object.entries(msg.desired).map(([k, v]) => [k, { expected: v }]));
        await u.update(patch, msg.source ?? 'cloud');
        return this.result(u);
      }
      case 'device.state': {
        const u = this.unit(msg.device);
        const s = msg.state.toLowerCase() as DeviceState;
        if (!DEVICE_STATES.includes(s)) {
          throw new ValidationError([{ path: 'state', reason: `must be one of ${DEVICE_STATES.join(', ')}` }], 'state update');
        }
        await u.setState(s, msg.state);
        return { device: u.ref, state: stateText(u.doc), ...(u.doc.lastOnlineTime ? { lastOnlineTime: u.doc.lastOnlineTime } : {}) };
      }
      case 'membership.get':
        return { devices: [...this.units.values()].map((e) => this.member(e.unit)) };
      default:
        return undefined;
    }
  }

  private unit(ref: { namespace: string; name: string }): DeviceUnit {
    const e = this.units.get(`${ref.namespace}/${ref.name}`);
    if (!e) throw notFound(ref);
    return e.unit;
  }

  private result(u: DeviceUnit, only?: string[]) {
    const twins = only ? Object.fromEntries(only.filter((k) => u.doc.twins[k]).map((k) => [k, u.doc.twins[k]!])) : u.doc.twins;
    return {
      device: u.ref,
      state: u.doc.state,
      ...(u.doc.lastOnlineTime ? { lastOnlineTime: u.doc.lastOnlineTime } : {}),
      twins,
      delta: computeDelta(u.doc),
    };
  }

  private member(u: DeviceUnit): MemberDevice {
    return {
      namespace: u.ref.namespace,
      name: u.ref.name,
      description: '',
      protocol: u.protocol,
      builtin: u.builtin,
      state: stateText(u.doc),
      ...(u.doc.lastOnlineTime ? { lastOnlineTime: u.doc.lastOnlineTime } : {}),
      twins: u.doc.twins,
    };
  }

  private async reconcile(): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) return;
    const { store, config } = ctx.services;
    const models = new Map<string, { spec?: DeviceModelSpec; issues?: FieldIssue[] }>();
    for (const r of store.resources.list('DeviceModel')) {
      try {
        models.set(`${r.namespace}/${r.name}`, { spec: parseStored(parseDeviceModel, r.spec, r).spec });
      } catch (e) {
        models.set(`${r.namespace}/${r.name}`, { issues: isValidationError(e) ? e.issues : [{ path: 'spec', reason: String(e) }] });
      }
    }
    const wanted = new Set<string>();
    const added: MemberDevice[] = [];
    const removed: MemberDevice[] = [];
    for (const r of store.resources.list<unknown, unknown>('Device')) {
      const key = `${r.namespace}/${r.name}`;
      const nodeName = (r.spec as { spec?: { nodeName?: unknown } } | null)?.spec?.nodeName;
      if (typeof nodeName === 'string' && nodeName !== '' && nodeName !== config.node.name) continue;
      const checked = this.check(r, models);
      const signature = stableStringify(checked);
      const cur = this.units.get(key);
      if (cur && cur.signature === signature) {
        wanted.add(key);
        continue;
      }
      if (cur) {
        this.units.delete(key);
        await cur.unit.stop();
      }
      if ('issues' in checked) {
        ctx.log.warn('device refused', { device: key, issues: checked.issues });
        await this.refuse(r, checked.issues);
        if (cur) removed.push(this.member(cur.unit));
        continue;
      }
      wanted.add(key);
      const unit = this.build(r, checked.spec, checked.model, checked.protocol, cur?.unit);
      this.units.set(key, { unit, signature });
      const docBefore = cur?.unit.doc ?? fromStatus(r.status);
      const initial: TwinDocument = {};
      for (const [n, t] of Object.entries(unit.doc.twins)) {
        if (stableStringify(docBefore.twins[n]) !== stableStringify(t)) initial[n] = { last: docBefore.twins[n] ?? null, current: t };
      }
      // a status the store did not take is retried by the unit itself; what lands here is the driver's start
      await unit.start(initial).catch((e) => ctx.log.warn('device driver not started', { device: key, error: errorMessage(e) }));
      // a pending delta is announced again after a (re)start, so a mapper that missed it acts on it
      const delta = computeDelta(unit.doc);
      if (Object.keys(initial).length === 0 && Object.keys(delta).length > 0) {
        ctx.bus.publish({ type: 'twin.changed', device: unit.ref, document: {}, twins: unit.doc.twins, delta });
      }
      if (!cur) added.push(this.member(unit));
    }
    for (const [key, e] of [...this.units]) {
      if (wanted.has(key)) continue;
      this.units.delete(key);
      await e.unit.stop();
      removed.push(this.member(e.unit));
    }
    if (added.length || removed.length) ctx.bus.publish({ type: 'membership.changed', added, removed });
  }

  private check(
    r: StoredResource,
    models: Map<string, { spec?: DeviceModelSpec; issues?: FieldIssue[] }>,
  ): { spec: DeviceSpec; model: DeviceModelSpec; protocol: string } | { issues: FieldIssue[] } {
    let spec: DeviceSpec;
    try {
      spec = parseStored(parseDevice, r.spec, r).spec;
    } catch (e) {
      return { issues: isValidationError(e) ? e.issues : [{ path: 'spec', reason: String(e) }] };
    }
    const modelName = `${r.namespace}/${spec.deviceModelRef.name}`;
    const m = models.get(modelName);
    if (m?.issues) return { issues: [{ path: 'spec.deviceModelRef.name', reason: `DeviceModel ${modelName} is invalid: ${m.issues.map((i) => `${i.path}: ${i.reason}`).join('; ')}` }] };
    const builtin = new Map([...this.drivers].map(([p, f]) => [p, (c: Record<string, unknown>, v: { property: string; config: Record<string, unknown> }[]) => f.validate(c, v)]));
    const issues = checkDevice(spec, m?.spec, modelName, { builtin, allowExternalMappers: this.ctx!.services.config.modules.devicetwin.allowExternalMappers });
    if (issues.length) return { issues };
    return { spec, model: m!.spec!, protocol: deviceProtocol(spec, m!.spec) };
  }

  private async refuse(r: StoredResource, issues: FieldIssue[]): Promise<void> {
    const ctx = this.ctx!;
    const doc = fromStatus(r.status);
    const status = { ...toStatus({ ...doc, state: 'unknown' }), invalid: issues, lastError: new ValidationError(issues, `Device ${r.namespace}/${r.name}`).message };
    try {
      await ctx.bus.request('metamanager', { type: 'status.report', key: { kind: 'Device', namespace: r.namespace, name: r.name }, status });
    } catch (e) {
      ctx.log.warn('could not store a refused device status', { error: e });
    }
  }

  private build(r: StoredResource, spec: DeviceSpec, model: DeviceModelSpec, protocol: string, previous?: DeviceUnit): DeviceUnit {
    const ctx = this.ctx!;
    const cfg = ctx.services.config;
    const dt = cfg.modules.devicetwin;
    return new DeviceUnit({
      ref: { namespace: r.namespace, name: r.name },
      spec,
      model,
      protocol,
      ...(this.drivers.has(protocol) ? { factory: this.drivers.get(protocol)! } : {}),
      env: { sysfs: cfg.paths.sysfs, dev: cfg.paths.dev, now: () => ctx.services.now().getTime(), log: ctx.log.child(`driver.${r.name}`) },
      doc: previous?.doc ?? fromStatus(r.status),
      defaults: { collectMs: dt.defaultCollectCycleMs, reportMs: dt.defaultReportCycleMs },
      offlineAfter: dt.offlineAfterErrors,
      reconnect: dt.reconnect,
      readBackDelayMs: dt.readBackDelayMs,
      now: () => ctx.services.now().getTime(),
      log: ctx.log,
      sink: this.sink,
      ...(this.clock ? { clock: this.clock } : {}),
      observe: {
        sample: ctx.services.metrics.counter('driver_reads_total', { namespace: r.namespace, device: r.name }),
        error: ctx.services.metrics.counter('driver_errors_total', { namespace: r.namespace, device: r.name }),
      },
    });
  }

  private readonly sink: Sink = {
    stateChanged: (unit, state, detail) => {
      const ctx = this.ctx;
      if (!ctx) return;
      const online = state === 'online' || state === 'ok';
      const reason = online ? 'DeviceOnline' : state === 'offline' ? 'DeviceOffline' : 'DeviceUnhealthy';
      const event = { type: online ? ('Normal' as const) : ('Warning' as const), reason, message: `Device ${unit.ref.name} is ${state}: ${detail}`.slice(0, 4096), component: 'devicetwin' };
      try {
        ctx.bus.send('metamanager', { type: 'event.report', key: { kind: 'Device', namespace: unit.ref.namespace, name: unit.ref.name }, event });
      } catch {
        /* metamanager restarting: an event is droppable */
      }
    },
    commit: async (unit, document, eventId) => {
      const ctx = this.ctx;
      if (!ctx || this.units.get(unit.key)?.unit !== unit) return;
      const key = { kind: 'Device', namespace: unit.ref.namespace, name: unit.ref.name };
      const status = toStatus(unit.doc);
      const upstream = unit.allToCloud() ? status : toStatus(unit.doc, (n) => unit.reportsToCloud(n));
      await ctx.bus.request('metamanager', { type: 'status.report', key, status, upstream });
      if (Object.keys(document).length) {
        ctx.bus.publish({ type: 'twin.changed', device: unit.ref, document, twins: unit.doc.twins, delta: computeDelta(unit.doc), ...(eventId !== undefined ? { eventId } : {}) });
      }
    },
    reported: (unit, samples) => {
      const ctx = this.ctx;
      if (!ctx) return;
      const up: TwinSample[] = [];
      for (const { property, point, report } of samples) {
        if (unit.builtin) ctx.bus.publish({ type: 'device.data', device: unit.ref, data: { [property]: point } });
        if (unit.reportsToCloud(property)) up.push({ property, value: point.value, type: point.type, sampledAt: point.timestamp, ...(report.aggregate ? { aggregate: report.aggregate } : {}) });
      }
      if (!up.length) return;
      const data: TwinSamples = { samples: up };
      try {
        // one message per device and report, whatever the number of properties in it
        ctx.bus.send('metamanager', { type: 'telemetry.report', key: { kind: 'Device', namespace: unit.ref.namespace, name: unit.ref.name }, event: TWIN_SAMPLES, data });
      } catch (e) {
        // metamanager restarting: a sample is telemetry (droppable); the twin's state went up with the status
        ctx.log.debug('telemetry not queued', { device: unit.key, properties: up.length, error: e });
      }
    },
  };
}
