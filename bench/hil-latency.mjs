#!/usr/bin/env node
/**
 * HIL latency, measured inside the simulated board (QEMU guest, Debian kernel, gpio-sim):
 *   - GPIO edge → reported twin: the line's level changes (gpio-sim pull) → the daemon's
 *     `twin/update/document` for that property arrives on its eventbus (MQTT)
 *   - desired → line written: `twin/update` with `expected` published → gpio-sim sees the level
 * Baseline, same run, same guest: the driver alone (watch() callback; write() → level), so the
 * ratio is the daemon's share (twin, filter, store commit, MQTT).
 * The guest runs under TCG (software emulation, often on a loaded host): the absolute numbers
 * are context only. On a real board, run the suite with HIL_WIRING (hw-tests/README.md).
 *
 *   node bench/hil-latency.mjs            (needs hw-tests/setup.sh to work: qemu + Debian apt)
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { percentile, ROOT, round } from './lib.mjs';

const out = mkdtempSync(join(tmpdir(), 'hil-bench-'));
const t0 = Date.now();
const r = spawnSync('bash', [join(ROOT, 'hw-tests/run.sh')], {
  env: {
    ...process.env,
    HIL_OUT_DIR: out,
    HIL_ONLY: '^(driver gpio: (input edges|output write)|daemon: seeded|daemon gpio: (input edge|desired twin))',
  },
  encoding: 'utf8',
  maxBuffer: 64 * 1024 * 1024,
});
let results;
try {
  results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8'));
} catch {
  process.stderr.write(`hil-latency: no results (run.sh exit ${r.status})\n${(r.stdout ?? '').slice(-3000)}${r.stderr ?? ''}\n`);
  rmSync(out, { recursive: true, force: true });
  process.exit(1);
}
rmSync(out, { recursive: true, force: true });

const metric = (name, key) => results.cases.find((c) => c.name === name)?.metrics?.[key] ?? [];
const stats = (xs) => ({ n: xs.length, p50: round(percentile(xs, 50), 1), p99: round(percentile(xs, 99), 1) });
const edgeDaemon = stats(metric('daemon gpio: input edge reaches the reported twin and the outbox', 'edgeToReportedMs'));
const edgeDriver = stats(metric('driver gpio: input edges pushed by watch()', 'edgeLatencyMs'));
const writeDaemon = stats(metric('daemon gpio: desired twin drives the output line', 'desiredToLineMs'));
const writeDriver = stats(metric('driver gpio: output write reaches the line', 'writeLatencyMs'));

const report = {
  bench: 'hil-latency',
  where: `QEMU TCG ${results.arch} guest, kernel ${results.kernel}, node ${results.node} — software emulation: context only`,
  gpioEdgeToReportedMs: { daemon: edgeDaemon, baselineDriverWatch: edgeDriver, ratioP50: round(edgeDaemon.p50 / edgeDriver.p50, 1) },
  desiredToLineMs: { daemon: writeDaemon, baselineDriverWrite: writeDriver, ratioP50: round(writeDaemon.p50 / writeDriver.p50, 1) },
  daemonStartMs: results.metrics?.daemonStartMs,
  failedCases: results.failed,
  wallS: round((Date.now() - t0) / 1000, 1),
};
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
process.exit(results.failed ? 1 : 0);
