/**
 * `edgecore check`'s node-status checks: the kernel figures the nodestatus module samples can be
 * read, and the conditions it would report now — memory, disk (data dir and Docker's root),
 * process ids, and on a Raspberry Pi the firmware's under-voltage and throttling flags — each
 * against the thresholds in config. A node under pressure still runs, so these are optional.
 */
import type { EdgecoreConfig } from '../config/schema.js';
import type { NodeUsage } from '../contract/node-status.js';
import { errorMessage } from '../core/errors.js';
import { findConditions } from '../modules/nodestatus/conditions.js';
import { readRuntime } from '../modules/nodestatus/facts.js';
import { sampleDisk, sampleKernel, sampleThrottled } from '../modules/nodestatus/sampler.js';
import type { CheckResult } from './check.js';

const FIX: Record<string, string> = {
  MemoryPressure: 'stop what uses the memory, or lower modules.nodestatus.thresholds.memoryAvailableBytes',
  DiskPressure: 'free space (docker system prune, old logs), or lower modules.nodestatus.thresholds.diskAvailablePercent',
  PIDPressure: 'too many processes: find the pod that forks, or raise kernel.pid_max',
  UnderVoltage: 'use the official power supply (5.1 V, 3 A for a Pi 4) and a short, thick cable',
  Throttled: 'cool the board (heatsink, fan, airflow); check the power supply',
};

export async function nodeStatusChecks(cfg: EdgecoreConfig): Promise<CheckResult[]> {
  const ns = cfg.modules.nodestatus;
  let k;
  try {
    k = await sampleKernel(cfg.paths.procfs, cfg.paths.sysfs);
  } catch (e) {
    return [{ name: 'node status', ok: false, detail: `cannot read the kernel's figures under ${cfg.paths.procfs}: ${errorMessage(e)}`, fix: 'mount /proc, or set paths.procfs' }];
  }
  const disks: NodeUsage['disks'] = [];
  const data = await sampleDisk(cfg.dataDir);
  if (data) disks.push({ role: 'data', path: cfg.dataDir, ...data });
  const rt = cfg.modules.edged.enabled ? await readRuntime(cfg.paths.dockerSocket, true) : undefined;
  if (rt?.rootDir) {
    const d = await sampleDisk(rt.rootDir);
    if (d) disks.push({ role: 'docker', path: rt.rootDir, ...d });
  }
  const throttledFile = ns.throttledFile || `${cfg.paths.sysfs}/devices/platform/soc/soc:firmware/get_throttled`;
  let throttled;
  try {
    throttled = await sampleThrottled(throttledFile);
  } catch (e) {
    return [{ name: 'node status', ok: false, optional: true, detail: `${throttledFile}: ${errorMessage(e)}`, fix: 'set modules.nodestatus.throttledFile to the firmware flags file, or "" on boards without one' }];
  }
  const usage: NodeUsage = { cpuCores: 0, memory: k.memory, disks, load: k.load, processes: k.processes, bootTime: new Date(k.bootTime).toISOString(), ...(throttled ? { throttled } : {}) };
  const out: CheckResult[] = [
    {
      name: 'node status',
      ok: true,
      detail: `load ${k.load.join(' ')}, ${Math.round(k.memory.availableBytes / 1048576)} MiB of ${Math.round(k.memory.totalBytes / 1048576)} MiB free${k.temperatureC !== undefined ? `, SoC ${k.temperatureC} °C` : ''}${throttled ? '' : ' (no firmware throttled flags: not a Pi)'}`,
    },
  ];
  for (const c of findConditions(usage, ns.thresholds)) {
    const bad = c.status === 'True';
    out.push({ name: c.type, ok: !bad, optional: true, detail: c.message ?? c.reason ?? c.status, ...(bad ? { fix: FIX[c.type] ?? 'see docs/metaserver.md' } : {}) });
  }
  return out;
}
