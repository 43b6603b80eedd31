/**
 * What each pod's containers use, for `kubectl top pods`: a reading of every running app container
 * (cumulative CPU time and memory: its cgroup's files, else the engine's one-shot stats), turned into a CPU rate against the
 * previous reading of the same container and a memory working set (usage less inactive file
 * pages, as the kubelet counts it). A container seen for the first time has no rate yet, so its
 * pod is left out until the next sample. Sandboxes and init containers are not shown, as in
 * Kubernetes. The arithmetic is pure; `sample` reads through the function it is given.
 */
import type { PodUsage } from '../../contract/metrics.js';
import type { ObservedContainer } from './model.js';

/** One reading of one container. */
export interface ContainerReading {
  /** cumulative CPU time, ns */
  cpuNs: number;
  /** when the engine read it, ms since epoch */
  atMs: number;
  workingSetBytes: number;
}

interface DockerStats {
  read?: string;
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
  memory_stats?: { usage?: number; stats?: Record<string, number> };
}

/** Docker's /containers/{id}/stats?one-shot=true answer → a reading (cgroup v1 and v2 field names). */
export function readingOf(raw: unknown): ContainerReading | undefined {
  const s = (raw ?? {}) as DockerStats;
  const cpuNs = s.cpu_stats?.cpu_usage?.total_usage;
  const atMs = s.read ? Date.parse(s.read) : Number.NaN;
  if (typeof cpuNs !== 'number' || !Number.isFinite(atMs)) return undefined;
  const usage = s.memory_stats?.usage ?? 0;
  const st = s.memory_stats?.stats ?? {};
  const inactive = st.total_inactive_file ?? st.inactive_file ?? 0;
  return { cpuNs, atMs, workingSetBytes: Math.max(0, usage - inactive) };
}

/** CPU between two readings, in nanocores (ns of CPU per second of wall time × 1e9 / 1e9); undefined without a usable interval. */
export function nanoCores(prev: ContainerReading, cur: ContainerReading): number | undefined {
  const dtMs = cur.atMs - prev.atMs;
  if (dtMs <= 0 || cur.cpuNs < prev.cpuNs) return undefined;
  return Math.round(((cur.cpuNs - prev.cpuNs) / dtMs) * 1000);
}

export class ContainerUsage {
  private readonly last = new Map<string, ContainerReading>();

  /**
   * The running app containers' usage, by pod. `read` reads one container (undefined: gone
   * meanwhile). Readings of containers no longer running are forgotten.
   */
  async sample(containers: readonly ObservedContainer[], read: (c: ObservedContainer) => Promise<ContainerReading | undefined>): Promise<PodUsage[]> {
    const running = containers.filter((c) => c.role === 'app' && c.state === 'running');
    const readings = await Promise.all(running.map(async (c) => ({ c, r: await read(c).catch(() => undefined) })));
    const seen = new Set(running.map((c) => c.id));
    for (const id of this.last.keys()) if (!seen.has(id)) this.last.delete(id);
    const pods = new Map<string, PodUsage & { complete: boolean }>();
    for (const { c, r } of readings) {
      let p = pods.get(c.podUid);
      if (!p) pods.set(c.podUid, (p = { namespace: c.namespace, name: c.podName, uid: c.podUid, containers: [], complete: true }));
      if (!r) {
        p.complete = false;
        continue;
      }
      const prev = this.last.get(c.id);
      this.last.set(c.id, r);
      const cpu = prev ? nanoCores(prev, r) : undefined;
      if (cpu === undefined) p.complete = false;
      else p.containers.push({ name: c.container, cpuNanoCores: cpu, memoryWorkingSetBytes: r.workingSetBytes });
    }
    return [...pods.values()]
      .filter((p) => p.complete && p.containers.length > 0)
      .map(({ complete: _, ...p }) => ({ ...p, containers: p.containers.sort((a, b) => a.name.localeCompare(b.name)) }))
      .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
  }
}
