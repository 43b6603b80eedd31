#!/usr/bin/env node
/**
 * Idle footprint and start-up of the real bundle against bare node, measured in the same run:
 * - RSS of `edgecore run` (default modules, no workload) after it is ready and has settled,
 *   vs a bare `node -e 'setInterval(...)'` process;
 * - spawn → "edgecore ready" time vs `node -e 0` spawn → exit.
 * Usage: node bench/foundation-idle.mjs [runs=5]
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { benchConfig, daemonEnv, daemonNodeFlags, emit, median, ROOT, round, rssKiB, sleep, spawnUntil, stop } from './lib.mjs';

const runs = Number(process.argv[2] ?? 5);
const bundle = join(ROOT, 'dist/edgecore.js');
if (!existsSync(bundle)) spawnSync(process.execPath, [join(ROOT, 'build.mjs')], { stdio: 'inherit' });

const SETTLE_MS = 3000;
const bareRss = [];
const edgeRss = [];
const bareStart = [];
const edgeStart = [];
for (let i = 0; i < runs; i++) {
  const t0 = process.hrtime.bigint();
  spawnSync(process.execPath, ['-e', '0']);
  bareStart.push(Number(process.hrtime.bigint() - t0) / 1e6);

  const bare = await spawnUntil(process.execPath, ['-e', "setInterval(() => {}, 1000); console.log('up')"], /up/);
  await sleep(SETTLE_MS);
  bareRss.push(rssKiB(bare.child.pid));
  await stop(bare.child);

  const cfg = benchConfig({ edged: { enabled: false } });
  const edge = await spawnUntil(process.execPath, [...daemonNodeFlags(), bundle, 'run', '--config', cfg.file], /"msg":"edgecore ready"/, { env: daemonEnv() });
  edgeStart.push(edge.ms);
  await sleep(SETTLE_MS);
  edgeRss.push(rssKiB(edge.child.pid));
  await stop(edge.child);
  cfg.cleanup();
}
const b = median(bareRss);
const e = median(edgeRss);
emit('foundation-idle', {
  daemonNodeFlags: daemonNodeFlags(),
  daemonEnv: daemonEnv(),
  runs,
  modules: 'metamanager, eventbus, devicetwin (edged off: no engine needed; edgehub off: not joined)',
  idleRssMiB: { edgecore: round(e / 1024), bareNode: round(b / 1024), ratio: round(e / b), deltaMiB: round((e - b) / 1024) },
  startMs: { edgecoreToReady: round(median(edgeStart)), nodeE0: round(median(bareStart)), ratio: round(median(edgeStart) / median(bareStart)) },
});
