#!/usr/bin/env node
/**
 * What node status and metrics cost the daemon, in the same run: two `edgecore run` daemons of
 * the real bundle side by side (edged and edgehub off, no workload), one with nodestatus off and
 * /metrics off, the other with both on at their defaults (a sample every 10 s) and /metrics
 * scraped every 15 s as Prometheus would; CPU (utime+stime from /proc) over the same window and
 * RSS at its end. Goal: ≤ 0.05 % of a core and ≤ 1 MiB for status + metrics.
 * Usage: node bench/node-status.mjs [windowSeconds=120]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { daemonNodeFlags, emit, ROOT, round, rssKiB, sleep, spawnUntil, stop } from './lib.mjs';

const WINDOW_S = Number(process.argv[2] ?? 120);
const bundle = join(ROOT, 'dist/edgecore.js');
if (!existsSync(bundle)) spawnSync(process.execPath, [join(ROOT, 'build.mjs')], { stdio: 'inherit' });
const TICK = 100; // USER_HZ

const cpuTicks = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
};

function config(on) {
  const dir = mkdtempSync(join(tmpdir(), 'edgecore-bench-'));
  const file = join(dir, 'edgecore.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      node: { name: `bench-${on ? 'on' : 'off'}` },
      dataDir: join(dir, 'data'),
      log: { level: 'info', format: 'json' },
      ops: { port: 0, metrics: on },
      modules: { metamanager: { api: { port: 0 } }, eventbus: { port: 0 }, edged: { enabled: false }, nodestatus: { enabled: on } },
    }),
  );
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const off = config(false);
const on = config(true);
const a = await spawnUntil(process.execPath, [...daemonNodeFlags(), bundle, 'run', '--config', off.file], /"msg":"edgecore ready"/);
const b = await spawnUntil(process.execPath, [...daemonNodeFlags(), bundle, 'run', '--config', on.file], /"msg":"edgecore ready"/);
const port = Number(/"msg":"ops endpoint listening".*?"port":(\d+)/.exec(b.output())[1]);
let scrapes = 0;
let bytes = 0;
const scrape = async () => {
  const t = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  scrapes++;
  bytes = t.length;
};
await scrape(); // prom-client loaded before the window, as on a scraped node
await sleep(5000);
const t0 = { a: cpuTicks(a.child.pid), b: cpuTicks(b.child.pid) };
const timer = setInterval(() => void scrape(), 15_000);
await sleep(WINDOW_S * 1000);
clearInterval(timer);
const t1 = { a: cpuTicks(a.child.pid), b: cpuTicks(b.child.pid) };
const rss = { a: rssKiB(a.child.pid), b: rssKiB(b.child.pid) };
await stop(a.child);
await stop(b.child);
off.cleanup();
on.cleanup();
const pct = (ticks) => round((ticks / TICK / WINDOW_S) * 100, 3);
emit('node-status', {
  windowSeconds: WINDOW_S,
  off: { cpuPercentOfCore: pct(t1.a - t0.a), rssMiB: round(rss.a / 1024, 1) },
  on: { cpuPercentOfCore: pct(t1.b - t0.b), rssMiB: round(rss.b / 1024, 1), scrapes, metricsBytes: bytes },
  cost: { cpuPercentOfCore: round(pct(t1.b - t0.b) - pct(t1.a - t0.a), 3), rssMiB: round((rss.b - rss.a) / 1024, 1), resolutionPercent: round((1 / TICK / WINDOW_S) * 100, 3) },
  goal: { cpuPercentOfCore: 0.05, rssMiB: 1 },
});
