/**
 * The live figures, read straight from the kernel each period: a few small files under /proc
 * and /sys and one statfs per filesystem — no process spawned, nothing held open. (The slow
 * facts are read in facts.ts.) Every path hangs off a configurable root.
 * /proc and /sys are read synchronously: their files are made in memory by the kernel when read
 * (no disk, nothing to wait for), and one sync read costs ~1/15 of the same read through the
 * thread pool with its open/stat/read/close hops (docs/benchmarks.md, node status). statfs
 * stays asynchronous: a filesystem may be slow to answer.
 * Each file's text is parsed by scanning it, without splitting it into lines and fields: a
 * sample makes the files' text and its figures, little else (the heap's young generation grows
 * with what each sample allocates: docs/benchmarks.md, node status).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { Throttled } from '../../contract/node-status.js';
import { intAfter } from '../../lib/kernel-text.js';

export interface CpuTimes {
  total: number;
  idle: number;
}

export interface KernelSample {
  cpu: CpuTimes;
  memory: { totalBytes: number; availableBytes: number };
  load: [number, number, number];
  processes: { count: number; max: number };
  bootTime: number;
  temperatureC?: number;
}

export interface DiskSample {
  totalBytes: number;
  availableBytes: number;
  inodesTotal: number;
  inodesFree: number;
}

const read = (p: string): string => readFileSync(p, 'utf8');

const readOr = (p: string, fallback: string): string => {
  try {
    return read(p);
  } catch {
    return fallback;
  }
};

/** /proc/stat's first line: the jiffies of all CPUs, and the idle ones (idle + iowait). */
export function parseCpu(stat: string): CpuTimes {
  // user nice system idle iowait irq softirq steal (guest time is inside user); a figure missing counts 0
  let total = 0;
  let idle = 0;
  for (let i = 0; i < 8; i++) {
    const v = intAfter(stat, 'cpu ', i);
    if (i === 0 && Number.isNaN(v)) throw new Error('/proc/stat has no cpu line');
    if (Number.isNaN(v)) break;
    total += v;
    if (i === 3 || i === 4) idle += v;
  }
  return { total, idle };
}

export function parseMeminfo(text: string): { totalBytes: number; availableBytes: number } {
  const total = intAfter(text, 'MemTotal:');
  const available = intAfter(text, 'MemAvailable:');
  if (Number.isNaN(total) || Number.isNaN(available)) throw new Error(`/proc/meminfo has no ${Number.isNaN(total) ? 'MemTotal' : 'MemAvailable'}`);
  return { totalBytes: total * 1024, availableBytes: available * 1024 };
}

/** /proc/loadavg: "0.10 0.20 0.30 2/345 6789" — loads, and running/total scheduling entities. */
export function parseLoadavg(text: string): { load: [number, number, number]; threads: number } {
  const p = text.trim().split(/\s+/);
  const threads = Number((p[3] ?? '0/0').split('/')[1]);
  return { load: [Number(p[0]), Number(p[1]), Number(p[2])], threads };
}

/** Cores busy between two /proc/stat readings. */
export function busyCores(a: CpuTimes, b: CpuTimes, cpus: number): number {
  const total = b.total - a.total;
  if (total <= 0) return 0;
  return Math.max(0, Math.min(cpus, ((total - (b.idle - a.idle)) / total) * cpus));
}

/** The firmware's throttled word: bits 0-3 now, 16-19 since boot (Raspberry Pi documentation). */
export function decodeThrottled(text: string): Throttled {
  const t = text.trim();
  const flags = /^0x[0-9a-f]+$/i.test(t) ? Number.parseInt(t.slice(2), 16) : /^\d+$/.test(t) ? Number(t) : Number.NaN;
  if (!Number.isFinite(flags) || flags < 0 || flags > 0xffffffff) throw new Error(`not a throttled word: "${t.slice(0, 32)}"`);
  const bit = (n: number): boolean => ((flags >>> n) & 1) === 1;
  return {
    flags,
    underVoltage: bit(0),
    frequencyCapped: bit(1),
    throttled: bit(2),
    softTempLimit: bit(3),
    underVoltageOccurred: bit(16),
    frequencyCappedOccurred: bit(17),
    throttledOccurred: bit(18),
    softTempLimitOccurred: bit(19),
  };
}

/** Where the SoC temperature is read, found once per sampler (the zone list does not change while the system runs). */
export interface ThermalCache {
  /** the chosen zone's `temp` file; '' = none */
  file?: string;
}

/** The thermal zone named like the CPU's (cpu-thermal on a Pi), else zone 0; '' when there is none. */
function thermalFile(sysfs: string): string {
  const base = join(sysfs, 'class/thermal');
  let zones: string[];
  try {
    zones = readdirSync(base).filter((z) => z.startsWith('thermal_zone')).sort();
  } catch {
    return '';
  }
  const chosen = zones.find((z) => /cpu|soc|x86_pkg/i.test(readOr(join(base, z, 'type'), ''))) ?? zones[0];
  return chosen ? join(base, chosen, 'temp') : '';
}

/** The SoC temperature in °C (one decimal), or undefined without a thermal zone. */
function temperature(sysfs: string, cache: ThermalCache): number | undefined {
  cache.file ??= thermalFile(sysfs);
  if (!cache.file) return undefined;
  let text: string;
  try {
    text = read(cache.file);
  } catch {
    cache.file = undefined; // gone: look again next time
    return undefined;
  }
  const milli = Number(text.trim());
  return Number.isFinite(milli) && milli !== 0 ? Math.round(milli / 100) / 10 : undefined;
}

/** One reading of the kernel's figures; pass the same `thermal` each time to find the zone once. */
export async function sampleKernel(procfs: string, sysfs: string, thermal: ThermalCache = {}): Promise<KernelSample> {
  const stat = read(join(procfs, 'stat'));
  const meminfo = read(join(procfs, 'meminfo'));
  const loadavg = read(join(procfs, 'loadavg'));
  const pidMax = read(join(procfs, 'sys/kernel/pid_max'));
  const temp = temperature(sysfs, thermal);
  const btime = intAfter(stat, 'btime ');
  const la = parseLoadavg(loadavg);
  return {
    cpu: parseCpu(stat),
    memory: parseMeminfo(meminfo),
    load: la.load,
    processes: { count: la.threads, max: Number(pidMax.trim()) },
    bootTime: Number.isNaN(btime) ? 0 : btime * 1000,
    ...(temp !== undefined ? { temperatureC: temp } : {}),
  };
}

export async function sampleDisk(path: string): Promise<DiskSample | undefined> {
  try {
    const s = await statfs(path);
    return { totalBytes: s.blocks * s.bsize, availableBytes: s.bavail * s.bsize, inodesTotal: s.files, inodesFree: s.ffree };
  } catch {
    return undefined;
  }
}

/** The throttled word, or undefined when the file is absent (not a Pi, or an old kernel). */
export async function sampleThrottled(file: string): Promise<Throttled | undefined> {
  if (!existsSync(file)) return undefined; // no exception made every period on a board without the file
  let text: string;
  try {
    text = read(file);
  } catch {
    return undefined;
  }
  return decodeThrottled(text);
}
