/**
 * gpio driver logic over a FAKE line backend (no GPIO chips on this machine; onoff needs the
 * real /sys/class/gpio): chip resolution from a sysfs-like temp tree, what is asked of the line
 * (global number, raw direction, edge, debounce), edges routed to watch(), errors to onError.
 * The real kernel (gpio-sim in a QEMU guest) is exercised by the hardware-in-the-loop suite.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { isDeviceUnavailable, isDriverProtocolError } from '../../../src/drivers/errors.js';
import { gpioDriver } from '../../../src/drivers/gpio/driver.js';
import { sysfsDirection, type GpioLine, type LineOptions } from '../../../src/drivers/gpio/line.js';
import { tmpDir } from '../../helpers/tmp.js';

/** FAKE line: keeps a logical level and lets the test fire edges. */
class FakeLine implements GpioLine {
  level: 0 | 1;
  closed = false;
  private listeners: ((err: Error | undefined, v: 0 | 1) => void)[] = [];
  constructor(readonly global: number, readonly opts: LineOptions) {
    this.level = opts.direction === 'out' ? opts.initial : 0;
  }
  async read() { return this.level; }
  async write(v: 0 | 1) { this.level = v; }
  watch(cb: (err: Error | undefined, v: 0 | 1) => void) {
    this.listeners.push(cb);
    return () => void (this.listeners = this.listeners.filter((l) => l !== cb));
  }
  fire(v: 0 | 1, err?: Error) {
    this.level = v;
    for (const l of this.listeners) l(err, v);
  }
  close() { this.closed = true; }
}

function sysfsTree(t: TestContext): string {
  const sysfs = tmpDir(t, 'edgecore-gpio-');
  const dir = join(sysfs, 'class', 'gpio', 'gpiochip1016');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'label'), 'gpio-sim.0-node0\n');
  writeFileSync(join(dir, 'base'), '1016\n');
  writeFileSync(join(dir, 'ngpio'), '8\n');
  return sysfs;
}

async function setup(t: TestContext, protocol: Record<string, unknown> = { chip: 'gpio-sim.0-node0' }) {
  const sysfs = sysfsTree(t);
  const lines: FakeLine[] = [];
  const driver = gpioDriver({
    opener: (global, opts) => {
      const l = new FakeLine(global, opts);
      lines.push(l);
      return l;
    },
  }).create(protocol, { sysfs, dev: '/dev', log: { debug() {}, warn() {} } });
  t.after(() => driver.close());
  await driver.connect();
  return { driver, lines };
}

test('an output by chip label + offset: global number computed from the base; active-low start level', async (t) => {
  const { driver, lines } = await setup(t);
  const led = { property: 'led', config: { offset: 3, direction: 'out', activeLow: true, initial: true } };
  await driver.write(led, false);
  const l = lines[0]!;
  assert.equal(l.global, 1019);
  assert.equal(sysfsDirection(l.opts), 'low'); // logical 1 with active-low starts physically low
  assert.equal(l.level, 0);
  await driver.write(led, 'on');
  assert.equal(await driver.read(led), true);
  await assert.rejects(driver.write(led, 'maybe'), /expected a boolean level/);
  assert.equal(lines.length, 1, 'the line is exported once and reused');
});

test('edges reach watch() as they come; errors go to onError; unsubscribe stops them', async (t) => {
  const { driver, lines } = await setup(t);
  const btn = { property: 'btn', config: { offset: 0, edge: 'both', debounceMs: 5 } };
  const seen: boolean[] = [];
  const errors: string[] = [];
  const off = driver.watch!(btn, (v) => seen.push(v as boolean), (e) => errors.push(e.message));
  const l = lines[0]!;
  assert.deepEqual([l.opts.edge, l.opts.debounceMs, sysfsDirection(l.opts)], ['both', 5, 'in']);
  l.fire(1);
  l.fire(0);
  l.fire(1, new Error('EPOLL failed'));
  assert.deepEqual(seen, [true, false]);
  assert.deepEqual(errors, ['EPOLL failed']);
  off();
  l.fire(0);
  assert.deepEqual(seen, [true, false]);
  await assert.rejects(driver.write(btn, true), isDriverProtocolError);
});

test('watch on an output reports through onError, never throws', async (t) => {
  const { driver } = await setup(t);
  const errors: Error[] = [];
  const off = driver.watch!({ property: 'led', config: { offset: 1, direction: 'out' } }, () => undefined, (e) => errors.push(e));
  await new Promise((r) => setImmediate(r));
  off();
  assert.equal(errors.length, 1);
  assert.match(errors[0]!.message, /watch needs an input line/);
});

test('unknown chip, out-of-range offset and unknown line name are DeviceUnavailable', async (t) => {
  const sysfs = sysfsTree(t);
  const mk = (p: Record<string, unknown>) => gpioDriver({ opener: (g, o) => new FakeLine(g, o) }).create(p, { sysfs, dev: '/dev', log: { debug() {}, warn() {} } });
  await assert.rejects(mk({ chip: 'pinctrl-bcm2711' }).connect(), (e: unknown) => isDeviceUnavailable(e) && /found: gpio-sim\.0-node0/.test((e as Error).message));
  const d = mk({});
  await d.connect();
  await assert.rejects(d.read({ property: 'a', config: { chip: 'gpio-sim.0-node0', offset: 8 } }), /0\.\.7/);
  await assert.rejects(d.read({ property: 'b', config: { line: 'BUTTON' } }), /no GPIO line named "BUTTON"/);
});

test('closing unexports every line it opened', async (t) => {
  const { driver, lines } = await setup(t);
  await driver.read({ property: 'a', config: { offset: 0 } });
  await driver.read({ property: 'b', config: { offset: 1 } });
  await driver.close();
  assert.deepEqual(lines.map((l) => l.closed), [true, true]);
});

test('canWatch: only inputs with an edge are watched; outputs and edge-less inputs are polled', async (t) => {
  const { driver, lines } = await setup(t);
  assert.equal(driver.canWatch!({ property: 'btn', config: { offset: 0, edge: 'both' } }), true);
  assert.equal(driver.canWatch!({ property: 'led', config: { offset: 1, direction: 'out' } }), false);
  assert.equal(driver.canWatch!({ property: 'lvl', config: { offset: 2, edge: 'none' } }), false);
  assert.equal(lines.length, 0, 'asking opens no line');
});
