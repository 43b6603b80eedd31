/**
 * Probes (exec, httpGet, tcpSocket) per running container. Results are run-time facts for the
 * planner (a failed liveness/startup probe → restart) and for status (readiness → Ready).
 * Each container's workers stop when the container is no longer running. A failed probe is
 * told as the kubelet's Unhealthy event, with what the probe said.
 */
import { request } from 'node:http';
import { connect } from 'node:net';
import type { Probe } from '../../contract/resources/pod.js';
import type { Logger } from '../../core/logger.js';
import { kubeletEvents, type PodEventSink, type PodRef } from './events.js';
import type { DesiredPod, ObservedContainer, ProbeFacts } from './model.js';

export interface ProbeTarget {
  id: string;
  container: string;
  /** the pod (what its Unhealthy events are about) */
  pod?: PodRef;
  /** where httpGet/tcpSocket connect (the pod IP, or 127.0.0.1 with hostNetwork) */
  host: string;
  /** named container ports */
  ports: Record<string, number>;
  liveness?: Probe;
  readiness?: Probe;
  startup?: Probe;
}

/** A command run in the container: its exit code (-1: timed out) and what it printed. */
export type ExecFn = (id: string, cmd: string[], timeoutMs: number) => Promise<{ exitCode: number; output?: string }>;

/** One probe's verdict and, when it failed, why (the Unhealthy event's message, as the kubelet words it). */
export interface ProbeResult {
  ok: boolean;
  output: string;
}

const pass: ProbeResult = { ok: true, output: '' };
const fail = (output: string): ProbeResult => ({ ok: false, output });

function httpProbe(host: string, port: number, path: string, headers: Record<string, string>, timeoutMs: number): Promise<ProbeResult> {
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`;
  return new Promise((resolve) => {
    const req = request({ host, port, path, headers, timeout: timeoutMs, method: 'GET' }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve(code >= 200 && code < 400 ? pass : fail(`HTTP probe failed with statuscode: ${code}`));
    });
    req.on('timeout', () => req.destroy(new Error('context deadline exceeded (Client.Timeout exceeded while awaiting headers)')));
    req.on('error', (e) => resolve(fail(`Get "${url}": ${e.message}`)));
    req.end();
  });
}

function tcpProbe(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const t = setTimeout(() => {
      s.destroy();
      resolve(fail(`dial tcp ${host}:${port}: i/o timeout`));
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(pass);
    });
    s.once('error', (e) => {
      clearTimeout(t);
      resolve(fail(`dial tcp ${host}:${port}: ${e.message}`));
    });
  });
}

/** Run one probe once, with what it said when it failed. */
export async function probeOnce(p: Probe, t: ProbeTarget, exec: ExecFn): Promise<ProbeResult> {
  const timeoutMs = p.timeoutSeconds * 1000;
  const portOf = (v: number | string): number | undefined => (typeof v === 'number' ? v : t.ports[v]);
  try {
    if (p.exec) {
      const r = await exec(t.id, p.exec.command, timeoutMs);
      if (r.exitCode === 0) return pass;
      const said = r.output?.trim();
      if (r.exitCode === -1) return fail(`command ${JSON.stringify(p.exec.command.join(' '))} timed out`);
      return fail(said || `command ${JSON.stringify(p.exec.command.join(' '))} exited with ${r.exitCode}`);
    }
    if (p.httpGet) {
      const port = portOf(p.httpGet.port);
      if (port === undefined) return fail(`unknown port name ${JSON.stringify(p.httpGet.port)}`);
      const headers = Object.fromEntries((p.httpGet.httpHeaders ?? []).map((h) => [h.name, h.value]));
      return await httpProbe(p.httpGet.host ?? t.host, port, p.httpGet.path, headers, timeoutMs);
    }
    if (p.tcpSocket) {
      const port = portOf(p.tcpSocket.port);
      if (port === undefined) return fail(`unknown port name ${JSON.stringify(p.tcpSocket.port)}`);
      return await tcpProbe(p.tcpSocket.host ?? t.host, port, timeoutMs);
    }
  } catch (e) {
    return fail(e instanceof Error ? e.message : String(e));
  }
  return fail('the probe has no handler');
}

/** Run one probe once: true = success. */
export async function runProbe(p: Probe, t: ProbeTarget, exec: ExecFn): Promise<boolean> {
  return (await probeOnce(p, t, exec)).ok;
}

class Worker {
  readonly facts: ProbeFacts;
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    readonly target: ProbeTarget,
    private readonly exec: ExecFn,
    private readonly changed: () => void,
    private readonly events?: PodEventSink,
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
      const r = await probeOnce(p, this.target, this.exec);
      if (this.stopped) return;
      const pass = r.ok;
      if (pass) {
        ok++;
        bad = 0;
      } else {
        bad++;
        ok = 0;
        if (this.target.pod) this.events?.(this.target.pod, kubeletEvents.unhealthy(kind, this.target.container, r.output));
      }
      if (kind === 'startup') {
        if (pass) {
          this.facts.started = true;
          this.changed();
          return this.afterStartup();
        }
        if (bad >= p.failureThreshold) return this.fail(kind);
      } else if (kind === 'liveness') {
        if (bad >= p.failureThreshold) return this.fail(kind);
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

  private fail(by: 'liveness' | 'startup'): void {
    this.facts.unhealthy = true;
    this.facts.unhealthyBy = by;
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
    private readonly events?: PodEventSink,
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
      }, this.events);
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
        pod: { namespace: d.namespace, name: d.name, uid: d.uid },
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
