/**
 * Probes (exec, httpGet, tcpSocket) per running container. Results are run-time facts for the
 * planner (a failed liveness/startup probe → restart) and for status (readiness → Ready).
 * Each container's workers stop when the container is no longer running.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import type { Probe } from '../../contract/resources/pod.js';
import type { Logger } from '../../core/logger.js';
import type { DesiredPod, ObservedContainer, ProbeFacts } from './model.js';

export interface ProbeTarget {
  id: string;
  container: string;
  /** where httpGet/tcpSocket connect (the pod IP, or 127.0.0.1 with hostNetwork) */
  host: string;
  /** named container ports */
  ports: Record<string, number>;
  liveness?: Probe;
  readiness?: Probe;
  startup?: Probe;
}

export type ExecFn = (id: string, cmd: string[], timeoutMs: number) => Promise<number>;

function httpOk(host: string, port: number, path: string, headers: Record<string, string>, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host, port, path, headers, timeout: timeoutMs, method: 'GET' }, (res) => {
      res.resume();
      resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function tcpOk(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

/** Run one probe once: true = success. */
export async function runProbe(p: Probe, t: ProbeTarget, exec: ExecFn): Promise<boolean> {
  const timeoutMs = p.timeoutSeconds * 1000;
  const portOf = (v: number | string): number | undefined => (typeof v === 'number' ? v : t.ports[v]);
  try {
    if (p.exec) return (await exec(t.id, p.exec.command, timeoutMs)) === 0;
    if (p.httpGet) {
      const port = portOf(p.httpGet.port);
      if (port === undefined) return false;
      const headers = Object.fromEntries((p.httpGet.httpHeaders ?? []).map((h) => [h.name, h.value]));
      return await httpOk(p.httpGet.host ?? t.host, port, p.httpGet.path, headers, timeoutMs);
    }
    if (p.tcpSocket) {
      const port = portOf(p.tcpSocket.port);
      return port !== undefined && (await tcpOk(p.tcpSocket.host ?? t.host, port, timeoutMs));
    }
  } catch {
    return false;
  }
  return false;
}

class Worker {
  readonly facts: ProbeFacts;
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    readonly target: ProbeTarget,
    private readonly exec: ExecFn,
    private readonly changed: () => void,
  ) {
    this.facts = { started: !target.startup, ...(target.readiness ? { ready: false } : {}) };
    if (target.startup) this.loop(target.startup, 'startup');
    else this.afterStartup();
  }

  private afterStartup(): void {
    if (this.target.liveness) this.loop(this.target.liveness, 'liveness');
    if (this.target.readiness) this.loop(this.target.readiness, 'readiness');
  }

  private loop(p: Probe, kind: 'startup' | 'liveness' | 'readiness'): void {
    let ok = 0;
    let bad = 0;
    const tick = async (): Promise<void> => {
      if (this.stopped) return;
      const pass = await runProbe(p, this.target, this.exec);
      if (this.stopped) return;
      if (pass) {
        ok++;
        bad = 0;
      } else {
        bad++;
        ok = 0;
      }
      if (kind === 'startup') {
        if (pass) {
          this.facts.started = true;
          this.changed();
          return this.afterStartup();
        }
        if (bad >= p.failureThreshold) return this.fail();
      } else if (kind === 'liveness') {
        if (bad >= p.failureThreshold) return this.fail();
      } else {
        const ready = ok >= p.successThreshold ? true : bad >= p.failureThreshold ? false : this.facts.ready;
        if (ready !== this.facts.ready) {
          this.facts.ready = ready;
          this.changed();
        }
      }
      this.schedule(tick, p.periodSeconds * 1000);
    };
    this.schedule(tick, p.initialDelaySeconds * 1000);
  }

  private fail(): void {
    this.facts.unhealthy = true;
    this.changed();
    this.stop();
  }

  private schedule(fn: () => Promise<void>, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      void fn();
    }, ms);
    t.unref();
    this.timers.add(t);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

export class ProbeManager {
  private readonly workers = new Map<string, Worker>();

  constructor(
    private readonly exec: ExecFn,
    private readonly onChange: () => void,
    private readonly log: Logger,
  ) {}

  /** Probe exactly these containers (new ones start, missing ones stop). */
  sync(targets: readonly ProbeTarget[]): void {
    const want = new Set(targets.map((t) => t.id));
    for (const [id, w] of this.workers) {
      if (!want.has(id)) {
        w.stop();
        this.workers.delete(id);
      }
    }
    for (const t of targets) {
      if (this.workers.has(t.id) || (!t.liveness && !t.readiness && !t.startup)) continue;
      const w = new Worker(t, this.exec, () => {
        this.log.debug('probe result changed', { container: t.container, id: t.id.slice(0, 12), ...w.facts });
        this.onChange();
      });
      this.workers.set(t.id, w);
    }
  }

  facts(): Map<string, ProbeFacts> {
    return new Map([...this.workers].map(([id, w]) => [id, { ...w.facts }]));
  }

  stopAll(): void {
    for (const w of this.workers.values()) w.stop();
    this.workers.clear();
  }
}

/** What to probe this pass: running, current containers that have probes, and where to reach them. */
export function probeTargets(desired: readonly DesiredPod[], containers: readonly ObservedContainer[], hostIP: string | undefined): ProbeTarget[] {
  const out: ProbeTarget[] = [];
  for (const d of desired) {
    if (!d.pod || d.deleting) continue;
    const mine = containers.filter((c) => c.podUid === d.uid);
    const box = mine.filter((c) => c.role === 'sandbox').sort((a, b) => b.attempt - a.attempt)[0];
    for (const spec of d.pod.spec.containers) {
      if (!spec.livenessProbe && !spec.readinessProbe && !spec.startupProbe) continue;
      const cur = mine.filter((c) => c.role === 'app' && c.container === spec.name).sort((a, b) => b.attempt - a.attempt)[0];
      if (!cur || cur.state !== 'running' || cur.hash !== d.hashes[spec.name]) continue;
      // hostNetwork: the host's loopback (as the kubelet, which probes the host IP); else the pod IP
      const host = d.network === 'host' ? '127.0.0.1' : d.network === 'own' ? cur.ip : box?.ip;
      out.push({
        id: cur.id,
        container: spec.name,
        host: host ?? hostIP ?? '127.0.0.1',
        ports: Object.fromEntries((spec.ports ?? []).filter((x) => x.name).map((x) => [x.name!, x.containerPort])),
        ...(spec.livenessProbe ? { liveness: spec.livenessProbe } : {}),
        ...(spec.readinessProbe ? { readiness: spec.readinessProbe } : {}),
        ...(spec.startupProbe ? { startup: spec.startupProbe } : {}),
      });
    }
  }
  return out;
}
