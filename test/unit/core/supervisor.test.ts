import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Bus } from '../../../src/core/bus.js';
import { nullLogger } from '../../../src/core/logger.js';
import type { Module, ModuleContext, ModuleSpec } from '../../../src/core/module.js';
import { Supervisor } from '../../../src/core/supervisor.js';

type Msg = { type: 'crash' } | { type: 'hello' };
type Ctx = ModuleContext<Msg, Record<never, never>, object>;

const policy = { initialMs: 10, maxMs: 40, factor: 2, jitter: 0, maxRestarts: 0, resetAfterMs: 60_000 };

class Probe implements Module<Msg, Record<never, never>, object> {
  starts = 0;
  stops = 0;
  constructor(
    readonly name: string,
    readonly group = 'test',
    private readonly failStarts = 0,
    private readonly order?: string[],
  ) {}
  async start(ctx: Ctx): Promise<void> {
    this.starts++;
    this.order?.push(`start:${this.name}`);
    if (this.starts <= this.failStarts) throw new Error(`start ${this.starts} failed`);
    ctx.bus.serve((m) => {
      if (m.type === 'crash') throw new Error('handler crashed');
    });
  }
  async stop(): Promise<void> {
    this.stops++;
    this.order?.push(`stop:${this.name}`);
  }
}

const spec = (module: Probe, over: Partial<ModuleSpec<Msg, Record<never, never>, object>> = {}) => ({
  module,
  enabled: true,
  restart: policy,
  ...over,
});

async function until(cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('starts in order, stops in reverse, skips disabled modules', async () => {
  const order: string[] = [];
  const bus = new Bus<Msg>();
  const sup = new Supervisor(bus, {}, nullLogger(), { stopTimeoutMs: 500 });
  sup.add(spec(new Probe('a', 'g', 0, order))).add(spec(new Probe('b', 'g', 0, order))).add(spec(new Probe('off', 'g', 0, order), { enabled: false }));
  await sup.startAll();
  assert.equal(await sup.healthy(), true);
  await sup.stopAll();
  assert.deepEqual(order, ['start:a', 'start:b', 'stop:b', 'stop:a']);
  assert.deepEqual(
    sup.status().map((s) => [s.name, s.state]),
    [
      ['a', 'stopped'],
      ['b', 'stopped'],
      ['off', 'disabled'],
    ],
  );
});

test('a failing start is retried with backoff until it succeeds; others keep running', async () => {
  const bus = new Bus<Msg>();
  const sup = new Supervisor(bus, {}, nullLogger(), { stopTimeoutMs: 500 });
  const flaky = new Probe('flaky', 'g', 2);
  const steady = new Probe('steady');
  sup.add(spec(flaky)).add(spec(steady));
  await sup.startAll();
  assert.equal(await sup.healthy(), false);
  await until(() => sup.status()[0]!.state === 'running');
  assert.equal(flaky.starts, 3);
  assert.equal(sup.status()[0]!.restarts, 2);
  assert.equal(steady.starts, 1, 'the healthy module was never restarted');
  assert.equal(await sup.healthy(), true);
  await sup.stopAll();
});

test('a module whose handler throws is stopped and restarted', async () => {
  const bus = new Bus<Msg>();
  const sup = new Supervisor(bus, {}, nullLogger(), { stopTimeoutMs: 500 });
  const m = new Probe('victim');
  const other = new Probe('other');
  sup.add(spec(m)).add(spec(other));
  await sup.startAll();
  const client = bus.attach('client', 'x', () => undefined);
  client.send('victim', { type: 'crash' });
  await until(() => m.starts === 2 && sup.status()[0]!.state === 'running');
  assert.equal(m.stops, 1);
  assert.match(sup.status()[0]!.lastError ?? '', /handler crashed/);
  assert.equal(other.starts, 1);
  await sup.stopAll();
});

test('maxRestarts gives up and reports unhealthy', async () => {
  const bus = new Bus<Msg>();
  const sup = new Supervisor(bus, {}, nullLogger(), { stopTimeoutMs: 500 });
  sup.add(spec(new Probe('doomed', 'g', 100), { restart: { ...policy, maxRestarts: 2 } }));
  await sup.startAll();
  await until(() => sup.status()[0]!.state === 'failed');
  assert.equal(await sup.healthy(), false);
  await sup.stopAll();
});

test('a module that ignores stop is abandoned after the timeout', async () => {
  const bus = new Bus<Msg>();
  const sup = new Supervisor(bus, {}, nullLogger(), { stopTimeoutMs: 50 });
  const stuck: Module<Msg, Record<never, never>, object> = {
    name: 'stuck',
    group: 'g',
    start: async () => undefined,
    stop: () => new Promise(() => undefined),
  };
  sup.add({ module: stuck, enabled: true, restart: policy });
  await sup.startAll();
  await sup.stopAll();
  assert.equal(sup.status()[0]!.state, 'stopped');
});
