#!/usr/bin/env node
/**
 * Devices pipeline figures, in-process on a real SQLite store and the real bus/modules
 * (metamanager + eventbus + devicetwin), measured in the same run as their baselines:
 *
 * 1. Reported-value latency: a driver read resolves → the sample is in the outbox (filtered,
 *    twin updated, status stored via metamanager, upstream state + telemetry enqueued).
 *    Baseline: one bare `outbox.enqueueTelemetry` of the same payload size.
 * 2. Uplink bytes saved by deadband on a noisy signal: two devices read the same signal
 *    (slow sine + gaussian noise) on the same cycle; one reports every sample (no filter),
 *    one with a 0.5 absolute deadband. Telemetry bytes enqueued, ratio.
 * 3. The same signal over a simulated hour at 1 Hz through the filter alone (pure), for
 *    deadband absolute/percent, min interval and 60 s aggregates.
 *
 * The drivers here are bench drivers (a counter and a noisy-signal source), named as such.
 * Usage: node bench/devices-latency.mjs [samples=1000]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { register } from 'tsx/esm/api';
import { emit, percentile, round, sleep } from './lib.mjs';

register();
const src = (p) => import(new URL(`../src/${p}`, import.meta.url).href);
const { configSchema } = await src('config/schema.ts');
const { Bus } = await src('core/bus.ts');
const { nullLogger } = await src('core/logger.ts');
const { Supervisor } = await src('core/supervisor.ts');
const { DeviceTwin } = await src('modules/devicetwin/module.ts');
const { EventBus } = await src('modules/eventbus/module.ts');
const { MetaManager } = await src('modules/metamanager/module.ts');
const { PropertyFilter } = await src('modules/devicetwin/filter.ts');
const { openNodeStore } = await src('store/store.ts');
const { nodeServices } = await src('node/services.ts');

const SAMPLES = Number(process.argv[2] ?? 1000);
const ns = () => process.hrtime.bigint();

/** gaussian noise (Box-Muller) from a seeded PRNG, so runs are comparable */
function noisySignal(seed = 7) {
  let a = seed >>> 0;
  const rnd = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (tMs) => {
    const g = Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
    return Number((20 + 5 * Math.sin((2 * Math.PI * tMs) / 3_600_000) + 0.1 * g).toFixed(3));
  };
}

async function startNode(dir, drivers) {
  const config = configSchema.parse({
    node: { name: 'bench-node' },
    dataDir: dir,
    log: { level: 'silent' },
    modules: { metamanager: { api: { enabled: false } }, edged: { enabled: false }, edgehub: { enabled: false }, eventbus: { port: 0 } },
  });
  const store = openNodeStore(join(dir, 'edgecore.db'));
  const bus = new Bus();
  const sup = new Supervisor(bus, nodeServices(config, store, 'bench'), nullLogger(), { stopTimeoutMs: 5000 });
  const restart = { initialMs: 100, maxMs: 1000, factor: 2, jitter: 0, maxRestarts: 0, resetAfterMs: 1000 };
  sup.add({ module: new MetaManager(), enabled: true, restart });
  sup.add({ module: new EventBus(), enabled: true, restart });
  sup.add({ module: new DeviceTwin({ drivers }), enabled: true, restart });
  await sup.startAll();
  const probe = bus.attach('bench', 'bench', () => undefined);
  const apply = (kind, name, spec) =>
    probe.request('metamanager', { type: 'desired.apply', origin: 'cloud', key: { kind, namespace: 'default', name }, spec: { apiVersion: 'devices.kubeedge.io/v1beta1', kind, metadata: { name, namespace: 'default' }, spec } });
  return { store, apply, stop: async () => (probe.close(), await sup.stopAll(), store.close()) };
}

const model = (protocol) => ({ protocol, properties: [{ name: 'v', type: 'DOUBLE', accessMode: 'ReadOnly' }] });
const device = (protocol, filter, collect) => ({
  deviceModelRef: { name: protocol },
  protocol: { protocolName: protocol },
  properties: [{ name: 'v', collectCycle: collect, reportCycle: collect, reportToCloud: true, reportFilter: filter }],
});

// ------------------------------------------------------------------ 1. latency
async function latency() {
  const dir = mkdtempSync(join(tmpdir(), 'edgecore-bench-dev-'));
  const readAt = new Map();
  let n = 0;
  const counter = {
    protocol: 'bench-counter',
    validate: () => [],
    create: () => ({
      connect: async () => undefined,
      read: async () => {
        const v = ++n;
        readAt.set(v, ns());
        return v;
      },
      write: async () => undefined,
      close: async () => undefined,
    }),
  };
  const node = await startNode(dir, [counter]);
  const lat = [];
  const enqueue = node.store.outbox.enqueueTelemetry.bind(node.store.outbox);
  let payloadBytes = 0;
  node.store.outbox.enqueueTelemetry = (topic, payload) => {
    const seq = enqueue(topic, payload);
    const body = JSON.parse(payload);
    const t0 = readAt.get(Number(body.data.value));
    if (t0 !== undefined && body.data.property === 'v') lat.push(Number(ns() - t0) / 1e6);
    payloadBytes = Buffer.byteLength(payload);
    return seq;
  };
  await node.apply('DeviceModel', 'bench-counter', model('bench-counter'));
  await node.apply('Device', 'counter-1', device('bench-counter', { mode: 'change' }, 5));
  while (lat.length < SAMPLES) await sleep(50);
  await node.stop();
  // baseline: the bare outbox append of a payload of the same size
  const store = openNodeStore(join(dir, 'baseline.db'));
  const payload = 'x'.repeat(payloadBytes);
  const base = [];
  for (let i = 0; i < SAMPLES; i++) {
    const t0 = ns();
    store.outbox.enqueueTelemetry('edgecore/v1/nodes/bench-node/reported/telemetry', payload);
    base.push(Number(ns() - t0) / 1e6);
  }
  store.close();
  rmSync(dir, { recursive: true, force: true });
  const p = (v, q) => round(percentile(v, q), 3);
  return {
    samples: lat.length,
    pipelineMs: { p50: p(lat, 50), p99: p(lat, 99) },
    bareOutboxEnqueueMs: { p50: p(base, 50), p99: p(base, 99) },
    ratioP50: round(percentile(lat, 50) / percentile(base, 50), 1),
  };
}

// ------------------------------------------------------------------ 2. deadband through the pipeline
async function deadbandPipeline() {
  const dir = mkdtempSync(join(tmpdir(), 'edgecore-bench-dev-'));
  const signal = noisySignal();
  const t0 = Date.now();
  // both devices read the same value sequence: slot i gets signal(i)
  const seq = [];
  const noisy = {
    protocol: 'bench-noisy',
    validate: () => [],
    create: () => {
      let i = 0;
      return {
        connect: async () => undefined,
        read: async () => {
          const k = i++;
          while (seq.length <= k) seq.push(signal(seq.length * 1000)); // one sample = one simulated second
          return seq[k];
        },
        write: async () => undefined,
        close: async () => undefined,
      };
    },
  };
  const node = await startNode(dir, [noisy]);
  const bytes = { none: 0, deadband: 0 };
  const count = { none: 0, deadband: 0 };
  const enqueue = node.store.outbox.enqueueTelemetry.bind(node.store.outbox);
  node.store.outbox.enqueueTelemetry = (topic, payload) => {
    const which = JSON.parse(payload).name === 'noisy-raw' ? 'none' : 'deadband';
    bytes[which] += Buffer.byteLength(topic) + Buffer.byteLength(payload);
    count[which]++;
    return enqueue(topic, payload);
  };
  await node.apply('DeviceModel', 'bench-noisy', model('bench-noisy'));
  await node.apply('Device', 'noisy-raw', device('bench-noisy', { mode: 'change' }, 5));
  await node.apply('Device', 'noisy-db', device('bench-noisy', { mode: 'deadband', absolute: 0.5 }, 5));
  while (count.none < SAMPLES) await sleep(50);
  await node.stop();
  rmSync(dir, { recursive: true, force: true });
  return {
    samplesNoFilter: count.none,
    telemetryBytes: { noFilter: bytes.none, deadband05: bytes.deadband },
    messages: { noFilter: count.none, deadband05: count.deadband },
    savedRatio: round(bytes.none / Math.max(1, bytes.deadband), 1),
    wallMs: Date.now() - t0,
  };
}

// ------------------------------------------------------------------ 3. a simulated hour, filter alone
function simulatedHour() {
  const payloadBytes = 260; // ~ one ReportedTelemetry JSON with its topic
  const run = (spec, reportEveryMs) => {
    const f = new PropertyFilter(spec);
    const signal = noisySignal();
    let reports = 0;
    for (let t = 0; t < 3_600_000; t += 1000) {
      if (f.sample(signal(t), t)) reports++;
      if (reportEveryMs && t % reportEveryMs === reportEveryMs - 1000 && f.tick(t)) reports++;
    }
    return reports;
  };
  const none = run({ mode: 'cycle', minIntervalMs: 0 }, 1000);
  const cases = {
    deadbandAbs05: run({ mode: 'deadband', absolute: 0.5, minIntervalMs: 0 }),
    deadbandPct2: run({ mode: 'deadband', percent: 2, minIntervalMs: 0 }),
    changeMinInterval10s: run({ mode: 'change', minIntervalMs: 10_000 }, 1000),
    aggregate60s: run({ mode: 'aggregate', minIntervalMs: 0 }, 60_000),
  };
  return {
    samples: 3600,
    reports: { noFilter: none, ...cases },
    approxBytes: { noFilter: none * payloadBytes, ...Object.fromEntries(Object.entries(cases).map(([k, v]) => [k, v * payloadBytes])) },
    savedRatio: Object.fromEntries(Object.entries(cases).map(([k, v]) => [k, round(none / Math.max(1, v), 1)])),
  };
}

const l = await latency();
const d = await deadbandPipeline();
emit('devices-latency', {
  signal: 'sine 20±5 over 1 h + gaussian noise σ=0.1, one sample per simulated second',
  readToOutbox: l,
  deadbandPipeline: d,
  simulatedHourFilterOnly: simulatedHour(),
});
process.exit(0);
