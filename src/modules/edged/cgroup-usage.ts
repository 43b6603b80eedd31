/**
 * A running container's CPU time and memory read from its cgroup's files, as the kubelet's
 * cAdvisor does, instead of asking the engine for one-shot stats (an HTTP round trip and a few
 * KB of JSON per container per period, in the daemon and in dockerd). The container's cgroup is
 * found from its main process (`/proc/<pid>/cgroup`) and the cgroup mounts this process sees
 * (`/proc/self/mountinfo`). It is taken only if its path carries the container's id (Docker names
 * a container's cgroup after it with either cgroup driver) and its `cgroup.procs` lists that
 * process: a daemon in another PID or mount namespace than the engine (inside a container itself)
 * finds a stranger or nothing, and the caller asks the engine as before. cgroup v2 (Raspberry Pi OS since bookworm,
 * Debian 11+) and v1 (cpuacct + memory hierarchies) are read; the figures are the ones Docker's
 * stats carry: CPU = cpu.stat usage_usec (v2) or cpuacct.usage (v1), working set = memory usage
 * less inactive file pages. Parsing is pure; `CgroupUsage` reads the files synchronously (they
 * live in kernel memory, as /proc does).
 */
import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { intAfter } from '../../lib/kernel-text.js';
import type { ContainerReading } from './usage.js';

/** One cgroup mount from mountinfo: where it is, which part of the hierarchy it shows, what it controls. */
export interface CgroupMount {
  version: 1 | 2;
  /** the hierarchy path mounted here ('/' unless the mount shows a subtree) */
  root: string;
  mountPoint: string;
  /** v1: the controllers of this hierarchy; v2: none listed */
  controllers: string[];
}

/** One line of /proc/<pid>/cgroup. */
export interface ProcCgroup {
  /** 0 for the v2 (unified) hierarchy */
  hierarchy: number;
  controllers: string[];
  path: string;
}

/** Where one container's figures are read. */
export type CgroupFiles = { version: 2; dir: string } | { version: 1; cpuacct: string; memory: string };

/** mountinfo's octal escapes (`\040` for a space) undone. */
function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
}

/** /proc/self/mountinfo → the cgroup mounts (v1 `cgroup`, v2 `cgroup2`). */
export function parseMountInfo(text: string): CgroupMount[] {
  const out: CgroupMount[] = [];
  for (const line of text.split('\n')) {
    const sep = line.indexOf(' - ');
    if (sep < 0) continue;
    const pre = line.slice(0, sep).split(' ');
    const [fstype, , superOptions = ''] = line.slice(sep + 3).split(' ');
    if (pre.length < 5 || (fstype !== 'cgroup' && fstype !== 'cgroup2')) continue;
    const root = unescapeMount(pre[3]!);
    const mountPoint = unescapeMount(pre[4]!);
    if (fstype === 'cgroup2') out.push({ version: 2, root, mountPoint, controllers: [] });
    else out.push({ version: 1, root, mountPoint, controllers: superOptions.split(',').filter((o) => o !== 'rw' && o !== 'ro') });
  }
  return out;
}

/** /proc/<pid>/cgroup → its lines (`hierarchy:controllers:path`). */
export function parseProcCgroup(text: string): ProcCgroup[] {
  const out: ProcCgroup[] = [];
  for (const line of text.split('\n')) {
    const a = line.indexOf(':');
    const b = a < 0 ? -1 : line.indexOf(':', a + 1);
    if (b < 0) continue;
    const hierarchy = Number(line.slice(0, a));
    if (!Number.isInteger(hierarchy)) continue;
    const controllers = line.slice(a + 1, b);
    out.push({ hierarchy, controllers: controllers ? controllers.split(',') : [], path: line.slice(b + 1) });
  }
  return out;
}

/** A hierarchy path as seen through a mount, or undefined if the mount does not show it. */
function through(m: CgroupMount, path: string): string | undefined {
  if (m.root === '/') return join(m.mountPoint, path);
  if (path === m.root) return m.mountPoint;
  return path.startsWith(`${m.root}/`) ? join(m.mountPoint, posix.relative(m.root, path)) : undefined;
}

/**
 * The directories of a container's cgroup, from its process's lines (which must name the
 * container: else undefined). v1 when the cpuacct and memory controllers are mounted
 * as v1 hierarchies (a controller lives in one hierarchy only, so on a hybrid system with an empty
 * unified hierarchy beside them the v1 ones hold the figures); else the v2 hierarchy.
 */
export function locate(proc: readonly ProcCgroup[], mounts: readonly CgroupMount[], containerId: string): CgroupFiles | undefined {
  // a hierarchy may be mounted more than once (a subtree bind-mounted elsewhere): the first mount that shows the path
  const seen = (line: ProcCgroup | undefined, version: 1 | 2, controller?: string): string | undefined => {
    if (!line?.path.includes(containerId)) return undefined;
    for (const m of mounts) {
      if (m.version !== version || (controller && !m.controllers.includes(controller))) continue;
      const dir = through(m, line.path);
      if (dir) return dir;
    }
    return undefined;
  };
  const v1 = (controller: string): string | undefined => seen(proc.find((l) => l.hierarchy !== 0 && l.controllers.includes(controller)), 1, controller);
  if (mounts.some((m) => m.version === 1 && m.controllers.includes('memory'))) {
    const cpuacct = v1('cpuacct');
    const memory = v1('memory');
    return cpuacct && memory ? { version: 1, cpuacct, memory } : undefined;
  }
  const dir = seen(proc.find((l) => l.hierarchy === 0), 2);
  return dir ? { version: 2, dir } : undefined;
}

/** The figures of one cgroup, from its files' text. */
export function readingFrom(version: 1 | 2, cpu: string, usage: string, memStat: string, atMs: number): ContainerReading | undefined {
  const cpuNs = version === 2 ? intAfter(cpu, 'usage_usec ') * 1000 : Number(cpu);
  const used = Number(usage);
  if (!Number.isFinite(cpuNs) || !Number.isFinite(used)) return undefined;
  const inactive = intAfter(memStat, version === 2 ? 'inactive_file ' : 'total_inactive_file ');
  return { cpuNs, atMs, workingSetBytes: Math.max(0, used - (Number.isNaN(inactive) ? 0 : inactive)) };
}

export class CgroupUsage {
  /** by container id: its files, or null where they cannot be read from here (the engine is asked) */
  private readonly found = new Map<string, CgroupFiles | null>();
  private mounts: CgroupMount[] | undefined;

  constructor(private readonly o: { procfs: string; now: () => number }) {}

  /** A running container's reading, or undefined when its cgroup cannot be read from here. */
  read(id: string, pid: number | undefined): ContainerReading | undefined {
    let files = this.found.get(id);
    if (files === undefined) {
      files = pid ? this.find(id, pid) : null;
      this.found.set(id, files);
    }
    if (!files) return undefined;
    try {
      const r =
        files.version === 2
          ? readingFrom(2, readFileSync(join(files.dir, 'cpu.stat'), 'utf8'), readFileSync(join(files.dir, 'memory.current'), 'utf8'), readFileSync(join(files.dir, 'memory.stat'), 'utf8'), this.o.now())
          : readingFrom(1, readFileSync(join(files.cpuacct, 'cpuacct.usage'), 'utf8'), readFileSync(join(files.memory, 'memory.usage_in_bytes'), 'utf8'), readFileSync(join(files.memory, 'memory.stat'), 'utf8'), this.o.now());
      if (!r) this.found.set(id, null);
      return r;
    } catch {
      // the cgroup went with its container (or was never readable): ask anew next time
      this.found.delete(id);
      return undefined;
    }
  }

  /** Forget containers that are no longer running. */
  keep(ids: ReadonlySet<string>): void {
    for (const id of this.found.keys()) if (!ids.has(id)) this.found.delete(id);
  }

  private find(id: string, pid: number): CgroupFiles | null {
    try {
      this.mounts ??= parseMountInfo(readFileSync(join(this.o.procfs, 'self/mountinfo'), 'utf8'));
      const files = locate(parseProcCgroup(readFileSync(join(this.o.procfs, String(pid), 'cgroup'), 'utf8')), this.mounts, id);
      if (!files) return null;
      // the process must be in it: a pid from another namespace names someone else here
      const procs = readFileSync(join(files.version === 2 ? files.dir : files.memory, 'cgroup.procs'), 'utf8');
      return procs.split('\n').includes(String(pid)) ? files : null;
    } catch {
      return null;
    }
  }
}
