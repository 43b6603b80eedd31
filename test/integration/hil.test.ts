/**
 * The hardware-in-the-loop suite (hw-tests/) as part of `npm test`: boots the simulated board (QEMU
 * guest with Debian's kernel, gpio-sim, i2c-stub, 16550 UARTs) through hw-tests/run.sh and asserts
 * on its JSON results. Skipped ("skipped: ...") when qemu or the kernel setup is unavailable —
 * which fails under CI=true: .ci/provision.d/hil.sh provisions both.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { needService } from '../helpers/service.js';
import { ROOT, tmpDir } from '../helpers/tmp.js';

interface HilResults {
  suite: string;
  arch: string;
  passed: number;
  failed: number;
  cases: { name: string; ok: boolean; ms: number; detail?: string; metrics?: Record<string, unknown> }[];
  metrics: Record<string, unknown>;
}

/** Every case the simulated board must run: a case that silently went missing is a failure too. */
const EXPECTED = [
  'driver gpio: input edges pushed by watch()',
  'driver gpio: output write reaches the line',
  'driver gpio: active-low output and input',
  'driver gpio: debounce collapses a burst into one event',
  'driver i2c: TMP102-style word read and scaled',
  'driver i2c: absent chip is unavailable, then reads again',
  'driver modbus-rtu: read an input register, scaled',
  'driver modbus-rtu: holding register and coil writes reach the slave',
  'driver modbus-rtu: cable unplugged is unavailable, replugged reads again',
  'driver serial-line: request/response over a 16550 UART',
  'daemon: seeded devices come online from the store',
  'daemon gpio: input edge reaches the reported twin',
  'daemon gpio: desired twin drives the output line',
  'daemon gpio: active-low output and input',
  'daemon gpio: debounce reports a burst once',
  'daemon i2c: TMP102 word read, scaled and reported',
  'daemon i2c: sensor removed → offline → back → online',
  'daemon modbus: slave read and written over the UART',
  'daemon modbus: serial cable unplugged → offline → replugged → online',
  'daemon restart: devices resume from the store',
];

test('HIL: the suite passes on the simulated x86_64 board', { timeout: 900_000 }, async (t) => {
  const ok = await needService(t, 'HIL guest (qemu-system-x86_64 + hw-tests/setup.sh)', async () => {
    const q = spawnSync('qemu-system-x86_64', ['--version'], { encoding: 'utf8' });
    if (q.error || q.status !== 0) throw new Error('qemu-system-x86_64 not installed (apt-get install qemu-system-x86)');
    const s = spawnSync('bash', [join(ROOT, 'hw-tests/setup.sh')], { encoding: 'utf8' });
    if (s.status !== 0) throw new Error(`hw-tests/setup.sh failed: ${s.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  });
  if (!ok) return;
  const out = tmpDir(t, 'edgecore-hil-');
  const log: string[] = [];
  const rc = await new Promise<number>((resolve, reject) => {
    const p = spawn('bash', [join(ROOT, 'hw-tests/run.sh')], {
      cwd: ROOT,
      env: { ...process.env, HIL_OUT_DIR: join(out, 'x86_64') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (d: Buffer): void => {
      log.push(d.toString());
    };
    p.stdout.on('data', keep);
    p.stderr.on('data', keep);
    p.on('error', reject);
    p.on('close', (code) => resolve(code ?? 1));
  });
  const file = join(out, 'x86_64', 'results.json');
  assert.ok(existsSync(file), `no results.json (run.sh exit ${rc}); output:\n${log.join('').slice(-4000)}`);
  const r = JSON.parse(readFileSync(file, 'utf8')) as HilResults;
  const failures = r.cases.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail ?? ''}`);
  assert.deepEqual(failures, [], `failed HIL cases:\n${failures.join('\n')}`);
  const names = new Set(r.cases.map((c) => c.name));
  assert.deepEqual(EXPECTED.filter((n) => !names.has(n)), [], 'cases missing from the run');
  assert.equal(r.failed, 0);
  // the latency figures are recorded (context only under TCG: never asserted on their size)
  assert.ok(r.metrics.edgeToReported && r.metrics.desiredToLine, 'latency metrics recorded');
  assert.equal(rc, 0, `run.sh exit status (output tail:\n${log.join('').slice(-2000)})`);
});
