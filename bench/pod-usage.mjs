#!/usr/bin/env node
/**
 * What `kubectl top`'s sampling costs a node, in the same run: two `edgecore run` daemons of the
 * real bundle side by side, both with edged running the same number of static pods on the real
 * Docker engine and nodestatus at the same period, one with `nodestatus.metrics` off and one with
 * it on (each period: a reading per running container — its cgroup's files, else a one-shot stats
 * call to the engine — and a report when a figure moved). `COMPARE=<another dist/edgecore.js>` adds
 * a third daemon, "on" with that bundle, in the same window (its cost against the same "off").
 * CPU (utime+stime from /proc) of each daemon over the same window, RSS at its end, and dockerd's
 * CPU over the window (shared by the daemons and by anything else on the machine: context only).
 * Usage: [COMPARE=bundle] node bench/pod-usage.mjs [windowSeconds=120] [pods=5] [periodSeconds=10]
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { daemonNodeFlags, emit, ROOT, round, rssKiB, sleep, spawnUntil, stop } from './lib.mjs';

const WINDOW_S = Number(process.argv[2] ?? 120);
const PODS = Number(process.argv[3] ?? 5);
const PERIOD_S = Number(process.argv[4] ?? 10);
const IMAGE = 'edgecore-test/busybox:1';
const bundle = join(ROOT, 'dist/edgecore.js');
if (!existsSync(bundle)) spawnSync(process.execPath, [join(ROOT, 'build.mjs')], { stdio: 'inherit' });
const TICK = 100; // USER_HZ
const cpuTicks = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return Number(f[11]) + Number(f[12]);
};
const dockerdPid = () => {
  try {
    return Number(execFileSync('pidof', ['dockerd'], { encoding: 'utf8' }).trim().split(/\s+/)[0]) || undefined;
  } catch {
    return undefined;
  }
};
const stamp = `${process.pid}-${Date.now().toString(36)}`;

const COMPARE = process.env.COMPARE;

function config(on, tag = on ? 'on' : 'off') {
  const dir = mkdtempSync(join(tmpdir(), 'edgecore-bench-top-'));
  const pods = join(dir, 'pods');
  mkdirSync(pods);
  const name = `benchtop-${tag}-${stamp}`;
  for (let i = 0; i < PODS; i++) {
    writeFileSync(join(pods, `p${i}.yaml`), JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `u-${tag}-${i}`, namespace: 'default' }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'main', image: IMAGE, imagePullPolicy: 'Never', command: ['sleep', '100000'] }] } }));
  }
  const file = join(dir, 'edgecore.yaml');
  writeFileSync(
    file,
    JSON.stringify({
      node: { name },
      dataDir: join(dir, 'data'),
      log: { level: 'info', format: 'json' },
      ops: { port: 0 },
      modules: {
        metamanager: { api: { port: 0 } },
        eventbus: { port: 0 },
        edged: { enabled: true, staticPodPath: pods },
        nodestatus: { enabled: true, periodSeconds: PERIOD_S, metrics: { enabled: on } },
      },
    }),
  );
  return { file, name, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

const running = (node) => Number(execFileSync('docker', ['ps', '-q', '--filter', `label=io.edgecore.node=${node}`, '--filter', 'label=io.edgecore.role=app'], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).length);
const removeAll = (node) => {
  const ids = execFileSync('docker', ['ps', '-aq', '--filter', `label=io.edgecore.node=${node}`], { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
  if (ids.length) spawnSync('docker', ['rm', '-f', ...ids], { stdio: 'ignore' });
};

const off = config(false);
const on = config(true);
const cmp = COMPARE ? config(true, 'compare') : undefined;
const start = (bundleFile, cfg) => spawnUntil(process.execPath, [...daemonNodeFlags(), bundleFile, 'run', '--config', cfg.file], /"msg":"edgecore ready"/, { timeoutMs: 60_000 });
const a = await start(bundle, off);
const b = await start(bundle, on);
const c = cmp ? await start(COMPARE, cmp) : undefined;
const arms = [off, on, ...(cmp ? [cmp] : [])];
try {
  const allUp = () => arms.every((x) => running(x.name) >= PODS);
  for (let i = 0; i < 120 && !allUp(); i++) await sleep(1000);
  if (!allUp()) throw new Error('the static pods did not all start');
  await sleep(2 * PERIOD_S * 1000); // all settled, the on daemons past their first readings
  const dockerd = dockerdPid();
  const ticks = () => ({ a: cpuTicks(a.child.pid), b: cpuTicks(b.child.pid), c: c ? cpuTicks(c.child.pid) : 0, d: dockerd ? cpuTicks(dockerd) : 0 });
  const t0 = ticks();
  await sleep(WINDOW_S * 1000);
  const t1 = ticks();
  const rss = { a: rssKiB(a.child.pid), b: rssKiB(b.child.pid), c: c ? rssKiB(c.child.pid) : 0 };
  const pct = (ticks) => round((ticks / TICK / WINDOW_S) * 100, 3);
  emit('pod-usage', {
    windowSeconds: WINDOW_S,
    pods: PODS,
    periodSeconds: PERIOD_S,
    off: { cpuPercentOfCore: pct(t1.a - t0.a), rssMiB: round(rss.a / 1024, 1) },
    on: { cpuPercentOfCore: pct(t1.b - t0.b), rssMiB: round(rss.b / 1024, 1) },
    cost: { cpuPercentOfCore: round(pct(t1.b - t0.b) - pct(t1.a - t0.a), 3), rssMiB: round((rss.b - rss.a) / 1024, 1), resolutionPercent: round((1 / TICK / WINDOW_S) * 100, 3) },
    ...(c
      ? {
          compare: {
            bundle: COMPARE,
            on: { cpuPercentOfCore: pct(t1.c - t0.c), rssMiB: round(rss.c / 1024, 1) },
            cost: { cpuPercentOfCore: round(pct(t1.c - t0.c) - pct(t1.a - t0.a), 3), rssMiB: round((rss.c - rss.a) / 1024, 1) },
          },
        }
      : {}),
    dockerdCpuPercentOfCore: dockerd ? pct(t1.d - t0.d) : null,
  });
} finally {
  for (const p of [a, b, c]) if (p) await stop(p.child);
  for (const x of arms) {
    removeAll(x.name);
    x.cleanup();
  }
}
