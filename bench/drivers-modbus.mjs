#!/usr/bin/env node
/**
 * Modbus RTU read round trip through the whole driver stack (driver → master → RTU framer →
 * serialport transport) over a real socat pty pair, against the test slave simulator on the far
 * end; versus a raw serialport baseline in the same run: write the same 8-byte request, the far
 * end answers a 9-byte frame at once (no parsing), time until those 9 bytes are back.
 * Usage: node bench/drivers-modbus.mjs [rounds=500]
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPort } from 'serialport';
import { register } from 'tsx/esm/api';
import { emit, percentile, round, sleep } from './lib.mjs';

register();
const rounds = Number(process.argv[2] ?? 500);
const warmup = 50;
const { modbusRtuDriver } = await import(new URL('../src/drivers/modbus/driver.ts', import.meta.url).href);
const { ModbusSlaveSim } = await import(new URL('../test/integration/drivers/modbus-slave.ts', import.meta.url).href);

const dir = mkdtempSync(join(tmpdir(), 'edgecore-bench-modbus-'));
const a = join(dir, 'ttyA');
const b = join(dir, 'ttyB');
const socat = spawn('socat', [`pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], { stdio: 'ignore' });
for (let i = 0; i < 300 && !(existsSync(a) && existsSync(b)); i++) await sleep(10);

const open = (path) =>
  new Promise((res, rej) => {
    const p = new SerialPort({ path, baudRate: 115200, autoOpen: false });
    p.open((e) => (e ? rej(e) : res(p)));
  });
const close = (p) => new Promise((r) => (p.isOpen ? p.close(() => r()) : r()));
const ms = (t0) => Number(process.hrtime.bigint() - t0) / 1e6;
const stats = (xs) => ({ p50: round(percentile(xs, 50), 3), p99: round(percentile(xs, 99), 3), mean: round(xs.reduce((s, x) => s + x, 0) / xs.length, 3) });

try {
  // baseline: raw write/read echo of frame-sized messages
  const near = await open(a);
  const far = await open(b);
  const answer = Buffer.from('010304429ae97900', 'hex').subarray(0, 9);
  far.on('data', () => far.write(Buffer.concat([answer, Buffer.alloc(9 - answer.length)])));
  const request = Buffer.from('0103006400023415', 'hex');
  const raw = [];
  for (let i = 0; i < rounds + warmup; i++) {
    const t0 = process.hrtime.bigint();
    await new Promise((res) => {
      let got = 0;
      const on = (d) => {
        got += d.length;
        if (got >= 9) {
          near.off('data', on);
          res();
        }
      };
      near.on('data', on);
      near.write(request);
    });
    if (i >= warmup) raw.push(ms(t0));
  }
  await close(near);
  await close(far);

  // driver: float32 read (function 3, two registers) through the full stack
  const sim = new ModbusSlaveSim(1);
  await sim.open(b);
  sim.holding.set([0x42f6, 0xe979], 100);
  const driver = modbusRtuDriver().create({ port: a, slaveId: 1, baudRate: 115200, timeoutMs: 1000 }, { sysfs: '/sys', dev: '/dev', log: { debug() {}, warn() {} } });
  await driver.connect();
  const visitor = { property: 'f', config: { register: 'holding', address: 100, type: 'float32' } };
  const drv = [];
  for (let i = 0; i < rounds + warmup; i++) {
    const t0 = process.hrtime.bigint();
    const v = await driver.read(visitor);
    if (i >= warmup) drv.push(ms(t0));
    if (Math.abs(v - 123.456) > 1e-3) throw new Error(`bad value ${v}`);
  }
  await driver.close();
  await sim.close();

  const r = stats(raw);
  const d = stats(drv);
  emit('drivers-modbus', {
    transport: 'socat pty pair (no baud-rate pacing)',
    rounds,
    unit: 'ms',
    baseline_raw_serialport_echo: r,
    modbus_rtu_driver_read_float32: d,
    ratio_p50: round(d.p50 / r.p50, 2),
    ratio_p99: round(d.p99 / r.p99, 2),
  });
} finally {
  socat.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}
