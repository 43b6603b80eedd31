#!/usr/bin/env node
/**
 * What node status and metrics cost the daemon, in the same run: `edgecore run` daemons of the
 * real bundle side by side (edged and edgehub off, no workload), one with nodestatus off and
 * /metrics off, the other with both on at their defaults (a sample every 10 s) and /metrics
 * scraped every 15 s as Prometheus would; CPU (utime+stime from /proc, dead threads included)
 * over the same window, and RSS as the median of samples every 5 s over it (one reading at the
 * end moves by ±3 MiB with the last GC), split into private (RssAnon) and file-backed pages
 * (RssFile: mostly node's own binary, shared with every node process). Goal: ≤ 0.05 % of a core and ≤ 1 MiB for status + metrics.
 * PARTS=1 adds daemons that tell the parts apart: nodestatus alone (no /metrics), nodestatus
 * without its usage reports (`nodestatus.metrics` off, no /metrics), and /metrics alone (scraped,
 * nodestatus off). COMPARE=<other dist/edgecore.js> adds an "on" daemon of another build (e.g.
 * the integration branch's), so a change is measured against its parent in the same run.
 * REPLICAS=k (default 3) runs k identical daemons per arm, started interleaved: an arm's RSS is the
 * median of its daemons' medians and its CPU their mean, and `noise` is the spread between the
 * identical "off" daemons — the resolution the RSS cost can be read at. Daemons get the launcher's
 * flags and environment (MALLOC_ARENA_MAX=1), as footprint.mjs gives them. Every daemon also
 * loads bench/heap-probe.cjs (PROBE=0: not), which on each sample writes V8's own figures, so
 * each arm's RSS is split into V8's heap (resident, used; by space), external/ArrayBuffer memory
 * and the rest of the private memory (malloc, stacks: RssAnon less V8's resident heap).
 * The load averages before and after the window are in the JSON. LIVE=1 also gives the daemons
 * --expose-gc and, after the window, has each collect its garbage once and report its heap's live
 * size (`v8.liveMiB`): what the arm keeps, without the garbage and headroom between collections.
 * Usage: [REPLICAS=k] [PARTS=1] [COMPARE=path] [PROBE=0] [LIVE=1] node bench/node-status.mjs [windowSeconds=300]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { daemonEnv, daemonNodeFlags, emit, median, ROOT, round, rssKiB, sleep, spawnUntil, stop } from './lib.mjs';

const WINDOW_S = Number(process.argv[2] ?? 300);
const bundle = join(ROOT, 'dist/edgecore.js');
if (!existsSync(bundle)) spawnSync(process.execPath, [join(ROOT, 'build.mjs')], { stdio: 'inherit' });
const TICK = 100; // USER_HZ
const REPLICAS = Number(process.env.REPLICAS ?? 3);
const PROBE = process.env.PROBE !== '0';
const LIVE = PROBE && process.env.LIVE === '1';
const probeFile = join(ROOT, 'bench/heap-probe.cjs');
const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number);
const loadBefore = loadavg();

/** RssAnon and RssFile (KiB): private memory, and pages of mapped files (node's own binary among them, shared with every node process). */
const rssParts = (pid) => {
  const t = readFileSync(`/proc/${pid}/status`, 'utf8');
  return { anon: Number(/RssAnon:\s+(\d+)/.exec(t)?.[1]), file: Number(/RssFile:\s+(\d+)/.exec(t)?.[1]) };
};

const cpuTicks = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
};

/** One daemon's config: `status` = nodestatus on, `usage` = its kubectl-top reports, `metrics` = /metrics on (and scraped). */
function config(name, { status, usage = true, metrics, bundle: from = bundle }) {
  const dir = mkdtempSync(join(tmpdir(), 'edgecore-bench-'));
  const file = join(dir, 'edgecore.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      node: { name: `bench-${name}` },
      dataDir: join(dir, 'data'),
      log: { level: 'info', format: 'json' },
      ops: { port: 0, metrics },
      modules: { metamanager: { api: { port: 0 } }, eventbus: { port: 0 }, edged: { enabled: false }, nodestatus: { enabled: status, metrics: { enabled: usage } } },
    }),
  );
  return { name, opts: { status, usage, metrics, bundle: from }, metrics, bundle: from, file, probe: join(dir, 'probe.json'), cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const variants = [config('off', { status: false, metrics: false }), config('on', { status: true, metrics: true })];
if (process.env.PARTS) variants.push(config('status', { status: true, metrics: false }), config('status-no-usage', { status: true, usage: false, metrics: false }), config('metrics', { status: false, metrics: true }));
if (process.env.COMPARE) variants.push(config('on-compare', { status: true, metrics: true, bundle: process.env.COMPARE }));
const daemons = [];
// interleaved (off, on, …, off, on, …) so no arm is all early or all late
for (let r = 0; r < REPLICAS; r++) {
  for (const v of variants) {
    const c = r === 0 ? v : { ...v, ...config(`${v.name}-${r}`, v.opts) };
    const probe = PROBE ? ['--require', probeFile, ...(LIVE ? ['--expose-gc'] : [])] : [];
    const d = await spawnUntil(process.execPath, [...daemonNodeFlags(), ...probe, c.bundle, 'run', '--config', c.file], /"msg":"edgecore ready"/, { env: { ...daemonEnv(), EDGECORE_BENCH_PROBE: c.probe } });
    const port = c.metrics ? Number(/"msg":"ops endpoint listening".*?"port":(\d+)/.exec(d.output())[1]) : 0;
    daemons.push({ ...c, arm: v.name, child: d.child, port, scrapes: 0, bytes: 0, rssSamples: [], anonSamples: [], fileSamples: [], probes: [] });
  }
}
const scrapeAll = () =>
  Promise.all(
    daemons.filter((d) => d.metrics).map(async (d) => {
      const t = await (await fetch(`http://127.0.0.1:${d.port}/metrics`)).text();
      d.scrapes++;
      d.bytes = t.length;
    }),
  );
await scrapeAll(); // prom-client loaded before the window, as on a scraped node
await sleep(5000);
for (const d of daemons) d.t0 = cpuTicks(d.child.pid);
const timer = setInterval(() => void scrapeAll(), 15_000);
/** the probe's figures (bytes), with the RssAnon read at the same moment */
const readProbe = (d, anonKiB) => {
  try {
    d.probes.push({ ...JSON.parse(readFileSync(d.probe, 'utf8')), anon: anonKiB * 1024 });
  } catch {
    // not written (yet): this sample has no probe figures
  }
};
const sampler = setInterval(() => {
  for (const d of daemons) {
    d.rssSamples.push(rssKiB(d.child.pid));
    const p = rssParts(d.child.pid);
    d.anonSamples.push(p.anon);
    d.fileSamples.push(p.file);
    if (PROBE) {
      process.kill(d.child.pid, 'SIGUSR2');
      setTimeout(() => readProbe(d, p.anon), 500);
    }
  }
}, 5000);
await sleep(WINDOW_S * 1000);
clearInterval(timer);
clearInterval(sampler);
await sleep(600); // the last probe read
const loadAfter = loadavg();
if (LIVE) {
  // after the window: one full collection each, then the live heap
  for (const d of daemons) {
    writeFileSync(`${d.probe}.gc`, '');
    process.kill(d.child.pid, 'SIGUSR2');
  }
  await sleep(5000);
  for (const d of daemons) d.live = JSON.parse(readFileSync(d.probe, 'utf8')).live;
}
for (const d of daemons) {
  d.t1 = cpuTicks(d.child.pid);
  d.rss = median(d.rssSamples);
  d.anon = median(d.anonSamples);
  d.file = median(d.fileSamples);
}
for (const d of daemons) {
  await stop(d.child);
  d.cleanup();
}
const pct = (ticks) => round((ticks / TICK / WINDOW_S) * 100, 3);
const mib = (kib) => round(kib / 1024, 1);
const PROBE_KEYS = ['heapPhysical', 'heapUsed', 'external', 'arrayBuffers', 'mallocedMemory'];
/** one daemon's probe medians (bytes): V8's figures, its spaces' resident sizes, and RssAnon less V8's resident heap */
const probeMedians = (d) => {
  if (!d.probes.length) return undefined;
  const m = Object.fromEntries(PROBE_KEYS.map((k) => [k, median(d.probes.map((p) => p[k]))]));
  m.anonLessHeap = median(d.probes.map((p) => p.anon - p.heapPhysical));
  m.spaces = Object.fromEntries(Object.keys(d.probes[0].spaces).map((s) => [s, median(d.probes.map((p) => p.spaces[s]?.physical ?? 0))]));
  return m;
};
/** an arm's probe figures in MiB: the median over its daemons of each daemon's median */
const armProbe = (ds) => {
  const per = ds.map(probeMedians).filter(Boolean);
  if (!per.length) return undefined;
  const b = (x) => round(x / 1048576, 2);
  const out = Object.fromEntries([...PROBE_KEYS, 'anonLessHeap'].map((k) => [`${k}MiB`, b(median(per.map((p) => p[k])))]));
  if (LIVE) out.liveMiB = b(median(ds.map((d) => d.live)));
  out.spacesMiB = Object.fromEntries(Object.keys(per[0].spaces).map((s) => [s, b(median(per.map((p) => p.spaces[s])))]));
  return out;
};
/** one arm: its daemons' medians → the arm's median RSS (and parts), mean CPU ticks */
const arms = variants.map((v) => {
  const ds = daemons.filter((d) => d.arm === v.name);
  const first = ds[0];
  return {
    name: v.name,
    ticks: ds.reduce((a, d) => a + (d.t1 - d.t0), 0) / ds.length,
    rss: median(ds.map((d) => d.rss)),
    anon: median(ds.map((d) => d.anon)),
    file: median(ds.map((d) => d.file)),
    perDaemonRssMiB: ds.map((d) => mib(d.rss)),
    probe: armProbe(ds),
    ...(first.metrics ? { scrapes: first.scrapes, metricsBytes: first.bytes } : {}),
  };
});
const figures = Object.fromEntries(arms.map((a) => [a.name, { cpuPercentOfCore: pct(a.ticks), rssMiB: mib(a.rss), perDaemonRssMiB: a.perDaemonRssMiB, rssAnonMiB: mib(a.anon), rssFileMiB: mib(a.file), ...(a.probe ? { v8: a.probe } : {}), ...(a.scrapes !== undefined ? { scrapes: a.scrapes, metricsBytes: a.metricsBytes } : {}) }]));
const off = arms[0];
const probeCost = (a) =>
  a.probe && off.probe ? { v8: Object.fromEntries(Object.keys(a.probe).filter((k) => k !== 'spacesMiB').map((k) => [k, round(a.probe[k] - off.probe[k], 2)])) } : {};
const costOf = (a) => ({ cpuPercentOfCore: round(pct(a.ticks) - pct(off.ticks), 3), rssMiB: mib(a.rss - off.rss), rssAnonMiB: mib(a.anon - off.anon), rssFileMiB: mib(a.file - off.file), ...probeCost(a) });
emit('node-status', {
  windowSeconds: WINDOW_S,
  replicasPerArm: REPLICAS,
  loadAverage: { before: loadBefore, after: loadAfter },
  ...figures,
  cost: { ...costOf(arms[1]), resolutionPercent: round((1 / TICK / WINDOW_S / REPLICAS) * 100, 4) },
  // identical daemons differ by this much: the RSS cost is read to about this resolution
  noise: { offRssSpreadMiB: round(Math.max(...off.perDaemonRssMiB) - Math.min(...off.perDaemonRssMiB), 1) },
  ...(arms.length > 2 ? { partCosts: Object.fromEntries(arms.slice(2).map((a) => [a.name, costOf(a)])) } : {}),
  goal: { cpuPercentOfCore: 0.05, rssMiB: 1 },
});
