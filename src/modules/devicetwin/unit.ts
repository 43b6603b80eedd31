/**
 * One device bound to this node: its spec and model, its twin document, per-property filters and
 * report timers, and (for a built-in protocol) the driver runner. All persistence and fan-out go
 * through the `Sink` the module provides, so this file holds the device's behaviour only.
 */
import { checkDesiredValue, formatValue, parseValue, type DeviceModelSpec, type DeviceSpec, type ModelProperty } from '../../contract/resources/device.js';
import { backoffDelay } from '../../core/backoff.js';
import { errorMessage, NotFoundError, ValidationError, type FieldIssue } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { DriverEnv, DriverFactory, RawValue } from '../../drivers/types.js';
import { CycleClock } from '../../lib/cycle.js';
import { PropertyFilter, type Report, type Sample } from './filter.js';
import type { DataPoint, DeviceRef } from './messages.js';
import { DriverRunner } from './runner.js';
import { applyPatch, computeDelta, syncWithSpec, withState, type DeviceState, type TwinDoc, type TwinDocument, type TwinPatch } from './twin.js';

export interface Sink {
  /** persist the document (status), send it upstream, publish the change; rejects when it could not be stored */
  commit(unit: DeviceUnit, document: TwinDocument, eventId?: string): Promise<void>;
  /** the samples of one report (one tick, or one edge update): local consumers, and upstream telemetry (one message) when reportToCloud */
  reported(unit: DeviceUnit, samples: readonly ReportedSample[]): void;
  /** the device went online, offline or unhealthy: an event upstream (a Kubernetes Event at the relay) */
  stateChanged(unit: DeviceUnit, state: DeviceState, detail: string): void;
}

/** One property's reported sample: the point as the twin holds it, and what its filter reported. */
export interface ReportedSample {
  property: string;
  point: DataPoint;
  report: Report;
}

export interface UnitOptions {
  ref: DeviceRef;
  spec: DeviceSpec;
  model: DeviceModelSpec;
  protocol: string;
  factory?: DriverFactory;
  env: DriverEnv;
  doc: TwinDoc;
  defaults: { collectMs: number; reportMs: number };
  offlineAfter: number;
  reconnect: { initialMs: number; maxMs: number };
  readBackDelayMs: number;
  now: () => number;
  log: Logger;
  sink: Sink;
  /** counts each driver sample and error (the node's metrics) */
  observe?: { sample(): void; error(): void };
  /** the report and collect cycles' timers, shared by the node's devices (default: one of its own) */
  clock?: CycleClock;
}

/** Twins one device may hold: its properties plus those a mapper adds (optional twins), bounded. */
export const MAX_TWINS = 256;

/** KubeEdge manifests write cycles in ms (mapper-framework) or as Go durations in ns; ≥ 1e9 is read as ns. */
export function cycleMs(v: number | undefined, dflt: number): number {
  if (!v || v <= 0) return dflt;
  return v >= 1e9 ? Math.max(1, Math.round(v / 1e6)) : v;
}

function toSample(type: ModelProperty['type'], s: string): Sample {
  const p = parseValue(type, s);
  if (p.ok && (typeof p.value === 'number' || typeof p.value === 'boolean')) return p.value;
  return s;
}

/** A value to record as a property's actual value (`rep`: what its filter reported, if it came from one). */
interface Reading {
  name: string;
  value: Sample;
  at: number;
  rep?: Report;
}

export class DeviceUnit {
  doc: TwinDoc;
  readonly ref: DeviceRef;
  readonly props = new Map<string, ModelProperty>();
  private readonly filters = new Map<string, PropertyFilter>();
  private readonly cycles: (() => void)[] = [];
  private readonly clock: CycleClock;
  private stopped = false;
  private runner?: DriverRunner;
  private writing = new Set<string>();
  /** per property: failed or unconfirmed writes back off before the next attempt */
  private writeRetry = new Map<string, { attempt: number; notBefore: number }>();
  /** the twin changes failed commits did not store (merged): committed again until the store takes them */
  private unstored?: TwinDocument;
  private storeRetry = { attempt: 0, timer: undefined as ReturnType<typeof setTimeout> | undefined };

  constructor(private readonly o: UnitOptions) {
    this.ref = o.ref;
    const byName = new Map(o.model.properties.map((p) => [p.name, p]));
    for (const p of o.spec.properties) {
      const mp = byName.get(p.name);
      if (mp) this.props.set(p.name, mp);
    }
    this.doc = syncWithSpec(o.doc, o.spec, o.model, o.now()).doc;
    this.clock = o.clock ?? new CycleClock(o.now);
  }

  get spec(): DeviceSpec {
    return this.o.spec;
  }
  get protocol(): string {
    return this.o.protocol;
  }
  get builtin(): boolean {
    return this.o.factory !== undefined;
  }
  get key(): string {
    return `${this.ref.namespace}/${this.ref.name}`;
  }

  reportsToCloud(property: string): boolean {
    this.toCloud ??= new Set(this.o.spec.properties.filter((p) => p.reportToCloud === true).map((p) => p.name));
    return this.toCloud.has(property);
  }
  private toCloud?: Set<string>;

  /** whether every twin goes to the cloud (the relay's view of the status is the whole status) */
  allToCloud(): boolean {
    for (const name in this.doc.twins) if (!this.reportsToCloud(name)) return false;
    return true;
  }

  /** Run `fn` on the clock's `ms` boundaries (reports of every device with this cycle share a wake-up). */
  private every(ms: number, fn: () => void): void {
    if (!this.stopped) this.cycles.push(this.clock.every(ms, () => this.stopped || fn()));
  }

  /** Start driving the hardware (built-in protocols) and publish the first document. */
  async start(initial: TwinDocument): Promise<void> {
    // a first status the store did not take (metamanager busy) is committed again later: the
    // hardware is driven meanwhile
    await this.persist(initial).catch((e) => this.o.log.warn('device status not stored yet; trying again', { device: this.key, error: errorMessage(e) }));
    if (!this.o.factory) return;
    const protocolConfig = { ...(this.o.model.protocolConfigData ?? {}), ...(this.o.spec.protocol?.configData ?? {}) };
    // properties with the same report cycle tick together: one status write for all of them
    const cycles = new Map<number, string[]>();
    const properties = this.o.spec.properties
      .filter((p) => this.props.has(p.name))
      .map((p) => {
        const mp = this.props.get(p.name)!;
        const collectMs = cycleMs(p.collectCycle, this.o.defaults.collectMs);
        const reportMs = cycleMs(p.reportCycle, this.o.defaults.reportMs);
        this.filters.set(p.name, new PropertyFilter(p.reportFilter));
        const same = cycles.get(reportMs);
        if (same) same.push(p.name);
        else cycles.set(reportMs, [p.name]);
        return {
          name: p.name,
          collectMs,
          poll: mp.type !== 'STREAM',
          visitor: { property: p.name, config: { ...(mp.visitors?.configData ?? {}), ...(p.visitors?.configData ?? {}) } },
        };
      });
    for (const [ms, names] of cycles) this.every(ms, () => this.tick(names));
    this.runner = new DriverRunner({
      factory: this.o.factory,
      protocolConfig,
      env: this.o.env,
      properties,
      offlineAfter: this.o.offlineAfter,
      backoff: { initialMs: this.o.reconnect.initialMs, maxMs: this.o.reconnect.maxMs, factor: 2, jitter: 0.2 },
      readBackDelayMs: this.o.readBackDelayMs,
      now: this.o.now,
      ...(this.o.clock ? { clock: this.o.clock } : {}),
      hooks: {
        onSample: (name, v, at, pushed) => this.onSample(name, v, at, pushed),
        onError: (err, offline) => this.onError(err, offline),
        onHealthy: () => this.onHealthy(),
      },
    });
    this.runner.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.storeRetry.timer);
    for (const c of this.cycles.splice(0)) c();
    await this.runner?.stop();
  }

  /** Validate desired values (edgectl / app): unknown property, ReadOnly, type, range → ValidationError. */
  checkDesired(desired: Record<string, string>, pathPrefix: string): void {
    const issues: FieldIssue[] = [];
    for (const [name, value] of Object.entries(desired)) {
      const mp = this.props.get(name);
      if (!mp) {
        issues.push({ path: `${pathPrefix}.${name}`, reason: `unknown property: device ${this.key} has no property ${name}` });
        continue;
      }
      const why = checkDesiredValue(mp, value);
      if (why) issues.push({ path: `${pathPrefix}.${name}`, reason: why });
    }
    if (issues.length) throw new ValidationError(issues, `device ${this.key}`);
  }

  /** An edge update (mapper twin/update, twin.set). Validated, committed, then written to hardware. */
  async update(patch: TwinPatch, source: 'edge' | 'cloud', eventId?: string): Promise<TwinDocument> {
    const desired: Record<string, string> = {};
    const issues: FieldIssue[] = [];
    let added = 0;
    for (const [name, e] of Object.entries(patch)) {
      if (e && !this.props.has(name) && !this.doc.twins[name]) {
        // a twin the model does not have: a built-in device has exactly its model's twins (no ghosts)
        if (this.builtin) {
          issues.push({ path: `twin.${name}`, reason: `unknown property: device ${this.key} has no property ${name} (its driver serves only its model's properties)` });
          continue;
        }
        added++;
      }
      if (e?.expected !== undefined) {
        if (this.props.has(name)) desired[name] = e.expected;
      }
      const mp = this.props.get(name);
      if (e?.actual !== undefined && mp) {
        const p = parseValue(mp.type, e.actual);
        if (!p.ok) issues.push({ path: `twin.${name}.actual.value`, reason: p.reason });
      }
    }
    if (added > 0 && Object.keys(this.doc.twins).length + added > MAX_TWINS) {
      issues.push({ path: 'twin', reason: `device ${this.key} would have more than ${MAX_TWINS} twins` });
    }
    if (issues.length) throw new ValidationError(issues, `device ${this.key}`);
    this.checkDesired(desired, 'twin');
    const prev = this.doc;
    const { doc, document } = applyPatch(prev, patch, source, this.o.now());
    this.doc = doc;
    try {
      await this.o.sink.commit(this, document, eventId);
    } catch (e) {
      if (this.doc === doc) this.doc = prev; // not stored: not applied
      throw e;
    }
    const samples: ReportedSample[] = [];
    for (const [name, e] of Object.entries(patch)) {
      if (e?.actual !== undefined && this.props.has(name) && !this.builtin) {
        const at = this.o.now();
        samples.push({ property: name, point: { value: e.actual, type: doc.twins[name]?.type ?? 'string', timestamp: at }, report: { value: e.actual, at } });
      }
    }
    if (samples.length) this.o.sink.reported(this, samples);
    this.pushDesired();
    return document;
  }

  /** A state reported by an external mapper. */
  /** A mapper's report; `text` is its spelling (kept: KubeEdge answers with it). */
  async setState(state: DeviceState, text?: string): Promise<void> {
    const doc = withState(this.doc, state, text);
    if (state === 'online' || state === 'ok') doc.lastOnlineTime = new Date(this.o.now()).toISOString();
    if (this.doc.state !== state) this.o.sink.stateChanged(this, state, 'reported by its mapper');
    this.doc = doc;
    await this.persist({});
  }

  /** Write every pending desired value of a ReadWrite property (built-in drivers only). */
  pushDesired(): void {
    const runner = this.runner;
    if (!runner?.isConnected) return;
    for (const [name, want] of Object.entries(computeDelta(this.doc))) {
      const mp = this.props.get(name);
      if (!mp || mp.accessMode !== 'ReadWrite' || this.writing.has(name)) continue;
      if ((this.writeRetry.get(name)?.notBefore ?? 0) > this.o.now()) continue;
      const parsed = parseValue(mp.type, want);
      if (!parsed.ok) continue;
      this.writing.add(name);
      const retryLater = (): void => {
        const attempt = (this.writeRetry.get(name)?.attempt ?? 0) + 1;
        const delay = backoffDelay({ initialMs: this.o.reconnect.initialMs, maxMs: this.o.reconnect.maxMs, factor: 2, jitter: 0 }, attempt - 1);
        this.writeRetry.set(name, { attempt, notBefore: this.o.now() + delay });
      };
      runner
        .write(name, parsed.value as RawValue)
        .then(async (back) => {
          const got = formatValue(mp.type, back);
          await this.report(name, toSample(mp.type, got), this.o.now(), true);
          if (got === want) this.writeRetry.delete(name);
          else {
            retryLater();
            this.recordError(new Error(`read-back of ${name} gave ${got}, desired ${want}`), false);
          }
        })
        .catch((e) => {
          retryLater();
          this.o.log.warn('write failed', { device: this.key, property: name, error: errorMessage(e) });
        })
        .finally(() => {
          this.writing.delete(name);
          // a newer desired value may have arrived while writing
          const again = computeDelta(this.doc)[name];
          if (again !== undefined && again !== want) this.pushDesired();
        });
    }
  }

  private onSample(name: string, raw: RawValue, at: number, pushed: boolean): void {
    this.o.observe?.sample();
    const mp = this.props.get(name);
    const f = this.filters.get(name);
    if (!mp || !f) return;
    const s = toSample(mp.type, formatValue(mp.type, raw));
    const rep = pushed ? f.pushed(s, at) : f.sample(s, at);
    if (rep) void this.emit(name, rep);
  }

  /** The report cycle of `names` elapsed: what their filters report goes up in one commit. */
  private tick(names: readonly string[]): void {
    const now = this.o.now();
    const due: Reading[] = [];
    for (const name of names) {
      const rep = this.filters.get(name)?.tick(now);
      if (rep) due.push({ name, value: rep.value, at: rep.at, rep });
    }
    if (due.length) void this.reportAll(due, false);
  }

  private async emit(name: string, rep: Report): Promise<void> {
    await this.reportAll([{ name, value: rep.value, at: rep.at, rep }], false);
  }

  private async report(name: string, value: Sample, at: number, fromWrite: boolean): Promise<void> {
    await this.reportAll([{ name, value, at }], fromWrite);
  }

  /** Record reported values as the twins' actual values: one document, one commit, then each sample goes out. */
  private async reportAll(readings: readonly Reading[], fromWrite: boolean): Promise<void> {
    let doc = this.doc;
    const document: TwinDocument = {};
    const done: (Reading & { str: string })[] = [];
    try {
      for (const r of readings) {
        const mp = this.props.get(r.name);
        if (!mp) continue;
        const str = formatValue(mp.type, r.value);
        const next = applyPatch(doc, { [r.name]: { actual: str } }, 'edge', r.at);
        doc = next.doc;
        Object.assign(document, next.document);
        done.push({ ...r, str });
      }
      if (!done.length) return;
      this.doc = doc;
      await this.persist(document);
      const samples: ReportedSample[] = [];
      for (const r of done) {
        samples.push({ property: r.name, point: { value: r.str, type: doc.twins[r.name]?.type ?? 'string', timestamp: r.at }, report: r.rep ?? { value: r.value, at: r.at } });
        if (fromWrite) this.filters.get(r.name)?.reset();
      }
      this.o.sink.reported(this, samples);
      // the hardware drifted from the desired value (restart, manual change): write it again
      if (!fromWrite) {
        const delta = computeDelta(this.doc);
        if (done.some((r) => delta[r.name] !== undefined)) this.pushDesired();
      }
    } catch (e) {
      this.o.log.warn('could not record a reported value', { device: this.key, property: readings.map((r) => r.name).join(','), error: errorMessage(e) });
    }
  }

  private onHealthy(): void {
    if (this.doc.state !== 'online') this.o.sink.stateChanged(this, 'online', 'its driver answers');
    const doc = { ...withState(this.doc, 'online'), consecutiveErrors: 0, lastOnlineTime: new Date(this.o.now()).toISOString() };
    this.doc = doc;
    for (const f of this.filters.values()) f.reset();
    this.writeRetry.clear();
    this.o.log.info('device online', { device: this.key });
    this.persist({}).catch(() => undefined);
    this.pushDesired();
  }

  private onError(err: Error, offline: boolean): void {
    this.o.observe?.error();
    this.recordError(err, offline);
  }

  private recordError(err: Error, offline: boolean): void {
    const state: DeviceState = offline ? 'offline' : 'unhealthy';
    if (this.doc.state !== state) {
      this.o.log.warn(`device ${state}`, { device: this.key, error: err.message });
      this.o.sink.stateChanged(this, state, err.message);
    }
    this.doc = {
      ...withState(this.doc, state),
      errorCount: this.doc.errorCount + 1,
      consecutiveErrors: this.doc.consecutiveErrors + 1,
      lastError: err.message,
      lastErrorTime: new Date(this.o.now()).toISOString(),
    };
    this.persist({}).catch(() => undefined);
  }

  /**
   * Store the device's current document, announcing `document`'s changes. The document in memory
   * is the device's truth (what its hardware said): a commit that fails — metamanager busy or
   * restarting, its request timed out — is not forgotten, or a value read once (a button pressed
   * while the daemon was down) would stay unstored until it changed again. It is committed again,
   * with every change not yet announced, 0.5 s doubling to 30 s, until the store takes it.
   * Rejects with the failure (the retry is already scheduled).
   */
  private async persist(document: TwinDocument): Promise<void> {
    const changes = this.unstored ? mergeChanges(this.unstored, document) : document;
    this.unstored = undefined;
    try {
      await this.o.sink.commit(this, changes);
      if (!this.unstored) this.storeRetry.attempt = 0;
    } catch (e) {
      this.unstored = this.unstored ? mergeChanges(changes, this.unstored) : changes;
      if (!this.storeRetry.timer && !this.stopped) {
        const delay = backoffDelay({ initialMs: 500, maxMs: 30_000, factor: 2, jitter: 0.2 }, this.storeRetry.attempt++);
        this.storeRetry.timer = setTimeout(() => {
          this.storeRetry.timer = undefined;
          if (!this.stopped) this.persist({}).catch((err) => this.o.log.debug('device status not stored yet', { device: this.key, error: errorMessage(err) }));
        }, delay);
        this.storeRetry.timer.unref?.();
      }
      throw e;
    }
  }
}

/** Two documents of changes as one: each twin's first `last` and latest `current`. */
export function mergeChanges(older: TwinDocument, newer: TwinDocument): TwinDocument {
  const out: TwinDocument = { ...older };
  for (const [name, c] of Object.entries(newer)) out[name] = { last: older[name] ? older[name].last : c.last, current: c.current };
  return out;
}

export const notFound = (ref: DeviceRef): NotFoundError => new NotFoundError(`device ${ref.namespace}/${ref.name}`);
