/**
 * The node's conditions and its report, from a sample (pure). Pressure as the kubelet signals
 * it (memory.available, nodefs.available and inodesFree, pid.available below their thresholds),
 * UnderVoltage and Throttled from a Raspberry Pi's firmware flags, and whether a figure moved
 * past its deadband (only then does a usage report go up).
 */
import type { NodeCondition, NodeUsage } from '../../contract/node-status.js';
import type { NodestatusConfig } from './config.js';

type Found = Omit<NodeCondition, 'lastTransitionTime'>;

const mib = (b: number): string => `${Math.round(b / 1048576)}Mi`;

export function findConditions(u: NodeUsage, t: NodestatusConfig['thresholds']): Found[] {
  const out: Found[] = [];
  const mem = u.memory.availableBytes < t.memoryAvailableBytes;
  out.push(
    mem
      ? { type: 'MemoryPressure', status: 'True', reason: 'KubeletHasInsufficientMemory', message: `memory available ${mib(u.memory.availableBytes)} is below ${mib(t.memoryAvailableBytes)}` }
      : { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory', message: 'edgecore has sufficient memory available' },
  );
  const low = u.disks.filter(
    (d) => (d.totalBytes > 0 && (d.availableBytes / d.totalBytes) * 100 < t.diskAvailablePercent) || (d.inodesTotal && d.inodesFree !== undefined && (d.inodesFree / d.inodesTotal) * 100 < t.inodesFreePercent),
  );
  out.push(
    low.length
      ? { type: 'DiskPressure', status: 'True', reason: 'KubeletHasDiskPressure', message: `low on space or inodes: ${low.map((d) => `${d.role} ${d.path} (${mib(d.availableBytes)} free)`).join(', ')}` }
      : { type: 'DiskPressure', status: 'False', reason: 'KubeletHasNoDiskPressure', message: 'edgecore has no disk pressure' },
  );
  const pids = u.processes.max > 0 && ((u.processes.max - u.processes.count) / u.processes.max) * 100 < t.pidsAvailablePercent;
  out.push(
    pids
      ? { type: 'PIDPressure', status: 'True', reason: 'KubeletHasInsufficientPID', message: `${u.processes.count} of ${u.processes.max} process ids in use` }
      : { type: 'PIDPressure', status: 'False', reason: 'KubeletHasSufficientPID', message: 'edgecore has sufficient PID available' },
  );
  const th = u.throttled;
  if (th) {
    out.push(
      th.underVoltage
        ? { type: 'UnderVoltage', status: 'True', reason: 'UnderVoltageDetected', message: `the firmware reports under-voltage now (throttled=0x${th.flags.toString(16)})` }
        : { type: 'UnderVoltage', status: 'False', reason: 'PowerSupplyOK', message: th.underVoltageOccurred ? 'under-voltage occurred since boot, not now' : 'no under-voltage since boot' },
    );
    const now = th.throttled || th.frequencyCapped || th.softTempLimit;
    out.push(
      now
        ? { type: 'Throttled', status: 'True', reason: th.throttled ? 'CPUThrottled' : th.frequencyCapped ? 'FrequencyCapped' : 'SoftTemperatureLimit', message: `the firmware limits the CPU now (throttled=0x${th.flags.toString(16)})` }
        : { type: 'Throttled', status: 'False', reason: 'NotThrottled', message: th.throttledOccurred || th.frequencyCappedOccurred ? 'throttled since boot, not now' : 'not throttled since boot' },
    );
  }
  return out;
}

/**
 * Conditions with their lastTransitionTime: kept from `prev` while the status stays, else now.
 * A condition that did not change at all is `prev`'s own object, and `prev` itself when none
 * did: the usual sample makes no new conditions to keep.
 */
export function withTransitions(found: Found[], prev: readonly NodeCondition[] | undefined, now: Date): NodeCondition[] {
  let at: string | undefined;
  let same = prev !== undefined && prev.length === found.length;
  const out = found.map((c, i) => {
    const p = prev?.[i]?.type === c.type ? prev[i] : prev?.find((x) => x.type === c.type);
    if (p && p.status === c.status && p.reason === c.reason && p.message === c.message) {
      if (p !== prev![i]) same = false;
      return p;
    }
    same = false;
    at ??= now.toISOString().replace(/\.\d{3}Z$/, 'Z');
    return { ...c, lastTransitionTime: p && p.status === c.status ? p.lastTransitionTime : at };
  });
  return same ? (prev as NodeCondition[]) : out;
}

const moved = (a: number | undefined, b: number | undefined, band: number): boolean => (a === undefined) !== (b === undefined) || (a !== undefined && b !== undefined && Math.abs(a - b) >= band && a !== b);

/** Did usage move past a deadband since the last report (or a throttled flag change)? */
export function usageMoved(prev: NodeUsage | undefined, next: NodeUsage, d: NodestatusConfig['deadbands']): boolean {
  if (!prev) return true;
  if (moved(prev.cpuCores, next.cpuCores, d.cpuCores) || moved(prev.memory.availableBytes, next.memory.availableBytes, d.memoryBytes) || prev.memory.totalBytes !== next.memory.totalBytes) return true;
  if (next.load.some((l, i) => moved(prev.load[i], l, d.load))) return true;
  if (moved(prev.temperatureC, next.temperatureC, d.temperatureC) || moved(prev.processes.count, next.processes.count, d.processes)) return true;
  if (prev.bootTime !== next.bootTime || prev.throttled?.flags !== next.throttled?.flags) return true;
  if (prev.disks.length !== next.disks.length) return true;
  return next.disks.some((x, i) => {
    const p = prev.disks[i]!;
    return p.path !== x.path || p.totalBytes !== x.totalBytes || moved(p.availableBytes, x.availableBytes, d.diskBytes);
  });
}
