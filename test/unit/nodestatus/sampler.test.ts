import assert from 'node:assert/strict';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { findConditions, usageMoved, withTransitions } from '../../../src/modules/nodestatus/conditions.js';
import { nodestatusConfig } from '../../../src/modules/nodestatus/config.js';
import { busyCores, decodeThrottled, parseCpu, parseLoadavg, parseMeminfo, sampleKernel, sampleThrottled } from '../../../src/modules/nodestatus/sampler.js';
import type { NodeUsage } from '../../../src/contract/node-status.js';
import { tmpDir } from '../../helpers/tmp.js';

const cfg = nodestatusConfig.parse({});

test('kernel files parse: /proc/stat cpu line, meminfo, loadavg; busy cores between two readings', () => {
  const a = parseCpu('cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3\n');
  const b = parseCpu('cpu  200 0 200 1000 0 0 0 0 0 0\n');
  assert.deepEqual(a, { total: 1000, idle: 800 });
  assert.equal(busyCores(a, b, 4), 2, '200 of 400 jiffies busy on 4 cpus = 2 cores');
  assert.equal(busyCores(b, b, 4), 0);
  assert.deepEqual(parseMeminfo('MemTotal:        1000 kB\nMemFree: 1 kB\nMemAvailable:     500 kB\n'), { totalBytes: 1024000, availableBytes: 512000 });
  assert.throws(() => parseMeminfo('MemTotal: 1 kB\n'), /MemAvailable/);
  assert.deepEqual(parseLoadavg('0.50 0.25 0.10 3/412 9999\n'), { load: [0.5, 0.25, 0.1], threads: 412 });
});

test("the Raspberry Pi firmware's throttled word: now bits 0-3, since-boot bits 16-19; garbage is refused", () => {
  const t = decodeThrottled('0x50005\n');
  assert.deepEqual(
    [t.underVoltage, t.frequencyCapped, t.throttled, t.softTempLimit, t.underVoltageOccurred, t.throttledOccurred],
    [true, false, true, false, true, true],
  );
  assert.equal(decodeThrottled('0x0').flags, 0);
  assert.throws(() => decodeThrottled('hello'), /not a throttled word/);
});

const usage = (over: Partial<NodeUsage> = {}): NodeUsage => ({
  cpuCores: 0.5,
  memory: { totalBytes: 4e9, availableBytes: 2e9 },
  disks: [{ role: 'data', path: '/var/lib/edgecore', totalBytes: 100e9, availableBytes: 50e9, inodesTotal: 1000, inodesFree: 900 }],
  load: [0.1, 0.1, 0.1],
  processes: { count: 300, max: 32768 },
  bootTime: '2026-01-01T00:00:00.000Z',
  ...over,
});

test('a fake throttled-flags file produces UnderVoltage and Throttled; thresholds produce the pressure conditions', async (t) => {
  const fake = join(tmpDir(t), 'get_throttled (fake)');
  writeFileSync(fake, '0x50005\n');
  const th = await sampleThrottled(fake);
  const found = findConditions(usage({ throttled: th!, memory: { totalBytes: 4e9, availableBytes: 50e6 }, processes: { count: 32000, max: 32768 } }), cfg.thresholds);
  const by = Object.fromEntries(found.map((c) => [c.type, `${c.status}/${c.reason}`]));
  assert.deepEqual(by, {
    MemoryPressure: 'True/KubeletHasInsufficientMemory',
    DiskPressure: 'False/KubeletHasNoDiskPressure',
    PIDPressure: 'True/KubeletHasInsufficientPID',
    UnderVoltage: 'True/UnderVoltageDetected',
    Throttled: 'True/CPUThrottled',
  });
  writeFileSync(fake, '0x50000\n');
  const calm = findConditions(usage({ throttled: (await sampleThrottled(fake))! }), cfg.thresholds);
  assert.deepEqual(calm.filter((c) => c.status === 'True'), []);
  assert.match(calm.find((c) => c.type === 'UnderVoltage')!.message!, /occurred since boot/);
  assert.equal(await sampleThrottled(join(tmpDir(t), 'absent')), undefined, 'no file (not a Pi): no throttling conditions');
  const low = findConditions(usage({ disks: [{ role: 'docker', path: '/d', totalBytes: 100, availableBytes: 5 }] }), cfg.thresholds);
  assert.equal(low.find((c) => c.type === 'DiskPressure')!.status, 'True');
});

test('lastTransitionTime moves only when a status changes; usage goes up only past a deadband', () => {
  const t0 = new Date('2026-01-01T00:00:00Z');
  const t1 = new Date('2026-01-01T00:05:00Z');
  const a = withTransitions(findConditions(usage(), cfg.thresholds), undefined, t0);
  const b = withTransitions(findConditions(usage(), cfg.thresholds), a, t1);
  assert.deepEqual(b, a);
  const c = withTransitions(findConditions(usage({ memory: { totalBytes: 4e9, availableBytes: 1e6 } }), cfg.thresholds), b, t1);
  assert.equal(c.find((x) => x.type === 'MemoryPressure')!.lastTransitionTime, '2026-01-01T00:05:00Z');
  assert.equal(c.find((x) => x.type === 'DiskPressure')!.lastTransitionTime, '2026-01-01T00:00:00Z');
  const d = cfg.deadbands;
  assert.equal(usageMoved(usage(), usage({ cpuCores: 0.6 }), d), false);
  assert.equal(usageMoved(usage(), usage({ cpuCores: 0.9 }), d), true);
  assert.equal(usageMoved(usage(), usage({ memory: { totalBytes: 4e9, availableBytes: 2e9 - 1e6 } }), d), false);
  assert.equal(usageMoved(usage(), usage({ temperatureC: 50 }), d), true, 'a temperature appearing is a change');
  assert.equal(usageMoved(undefined, usage(), d), true);
});

test('SoC temperature: the zone named like the CPU is found once and read each sample; a vanished zone is looked for again', async (t) => {
  const sys = tmpDir(t);
  const zone = (n: number, type: string, milli: number) => {
    mkdirSync(join(sys, `class/thermal/thermal_zone${n}`), { recursive: true });
    writeFileSync(join(sys, `class/thermal/thermal_zone${n}/type`), `${type}\n`);
    writeFileSync(join(sys, `class/thermal/thermal_zone${n}/temp`), `${milli}\n`);
  };
  zone(0, 'acpitz', 27800);
  zone(1, 'cpu-thermal', 48312);
  const procfs = '/proc';
  const thermal = {};
  assert.equal((await sampleKernel(procfs, sys, thermal)).temperatureC, 48.3, 'cpu-thermal, not zone 0');
  writeFileSync(join(sys, 'class/thermal/thermal_zone1/temp'), '51049\n');
  writeFileSync(join(sys, 'class/thermal/thermal_zone1/type'), 'renamed\n');
  assert.equal((await sampleKernel(procfs, sys, thermal)).temperatureC, 51, 'the zone found first is read again; its type is not looked at each time');
  rmSync(join(sys, 'class/thermal/thermal_zone1'), { recursive: true });
  assert.equal((await sampleKernel(procfs, sys, thermal)).temperatureC, undefined, 'gone: no figure this sample');
  assert.equal((await sampleKernel(procfs, sys, thermal)).temperatureC, 27.8, 'then zone 0, looked for again');
  assert.equal((await sampleKernel(procfs, join(sys, 'none'), {})).temperatureC, undefined, 'no thermal zones at all');
});

test('conditions that did not change are the previous objects (nothing new to keep per sample); a changed one is new', () => {
  const t0 = new Date('2026-01-01T00:00:00Z');
  const a = withTransitions(findConditions(usage(), cfg.thresholds), undefined, t0);
  assert.equal(withTransitions(findConditions(usage(), cfg.thresholds), a, new Date('2026-01-01T00:01:00Z')), a, 'the same array');
  const b = withTransitions(findConditions(usage({ memory: { totalBytes: 4e9, availableBytes: 1e6 } }), cfg.thresholds), a, new Date('2026-01-01T00:02:00Z'));
  assert.notEqual(b, a);
  assert.equal(b.find((c) => c.type === 'DiskPressure'), a.find((c) => c.type === 'DiskPressure'), 'unchanged: the same object');
  assert.equal(b.find((c) => c.type === 'MemoryPressure')!.lastTransitionTime, '2026-01-01T00:02:00Z');
});

test('kernel files scanned: the cpu line wherever it is, figures missing count 0, btime read from /proc/stat', async (t) => {
  assert.deepEqual(parseCpu('intr 1 2\ncpu  1 2 3 4 5\nbtime 7\n'), { total: 15, idle: 9 });
  assert.throws(() => parseCpu('cpu0 1 2 3\n'), /no cpu line/);
  assert.throws(() => parseMeminfo('MemAvailable: 1 kB\n'), /MemTotal/);
  const proc = tmpDir(t);
  mkdirSync(join(proc, 'sys/kernel'), { recursive: true });
  writeFileSync(join(proc, 'stat'), 'cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 100 0 100 800\nintr 5 6 7\nctxt 9\nbtime 1700000000\nprocesses 5\n');
  writeFileSync(join(proc, 'meminfo'), 'MemTotal:        1000 kB\nMemFree:  10 kB\nMemAvailable:     500 kB\n');
  writeFileSync(join(proc, 'loadavg'), '0.50 0.25 0.10 3/412 9999\n');
  writeFileSync(join(proc, 'sys/kernel/pid_max'), '32768\n');
  const k = await sampleKernel(proc, join(proc, 'no-sys'));
  assert.deepEqual(k, { cpu: { total: 1000, idle: 800 }, memory: { totalBytes: 1024000, availableBytes: 512000 }, load: [0.5, 0.25, 0.1], processes: { count: 412, max: 32768 }, bootTime: 1700000000000 });
});
