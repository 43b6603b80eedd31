/**
 * One reconcile pass: read desired pods from the store, observe the engine, plan, execute,
 * observe again, then sync probes and report every pod status that changed (metamanager's
 * `status.report`: stored and queued upstream by the node's uplink in one transaction).
 */
import { networkInterfaces } from 'node:os';
import type { Logger } from '../../core/logger.js';
import { stableStringify } from '../../lib/json.js';
import type { NodeStore } from '../../store/store.js';
import { desiredPods, type Lookups, type SandboxSettings } from './desired.js';
import type { ContainerEngine } from './engine.js';
import { execute, type StepError } from './executor.js';
import type { DesiredPod, Facts, Observed, ObservedContainer, Plan, PullFailure } from './model.js';
import { plan } from './planner.js';
import type { ProbeManager, ProbeTarget } from './probes.js';
import { podStatus, type PodStatus } from './status.js';
import { listPodDirs, prepareVolumes } from './volumes.js';
import { errorMessage } from '../../core/errors.js';

export interface ReconcilerDeps {
  engine: ContainerEngine;
  store: NodeStore;
  lookups: Lookups;
  probes: ProbeManager;
  dataDir: string;
  nodeName: string;
  sandbox: SandboxSettings;
  timing: Pick<Facts, 'crashLoop' | 'pullBackoff'>;
  /** status.report to metamanager (stored, and queued upstream) */
  reportStatus: (key: { kind: string; namespace: string; name: string }, status: PodStatus) => Promise<void>;
  now: () => number;
  log: Logger;
}

export interface PassResult {
  steps: number;
  errors: StepError[];
  wakeAt?: number;
  /** the last plan still had work (e.g. a pull finished; containers to create) */
  pending: boolean;
}

export function hostIPv4(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

export class Reconciler {
  readonly pulls = new Map<string, PullFailure>();
  private readonly reported = new Map<string, string>();
  private readonly hostIP = hostIPv4();

  constructor(private readonly d: ReconcilerDeps) {
    for (const r of d.store.resources.list('Pod')) if (r.status !== null) this.reported.set(`${r.namespace}/${r.name}`, stableStringify(r.status));
  }

  private async observe(desired: DesiredPod[]): Promise<Observed> {
    const containers = await this.d.engine.observe();
    const images = new Set<string>();
    const wanted = new Set<string>();
    for (const p of desired) {
      if (!p.pod) continue;
      wanted.add(p.sandboxImage);
      for (const c of [...(p.pod.spec.initContainers ?? []), ...p.pod.spec.containers]) wanted.add(c.image);
    }
    for (const img of wanted) if (await this.d.engine.imagePresent(img)) images.add(img);
    return { containers, images, podDirs: listPodDirs(this.d.dataDir) };
  }

  private facts(): Facts {
    return { now: this.d.now(), probes: this.d.probes.facts(), pulls: this.pulls, ...this.d.timing };
  }

  async pass(): Promise<PassResult> {
    const desired = desiredPods(this.d.store.resources, this.d.lookups, this.d.sandbox);
    let obs = await this.observe(desired);
    let p = plan(desired, obs, this.facts());
    let steps = 0;
    const errors: StepError[] = [];
    if (p.steps.length) {
      const r = await execute(p.steps, {
        engine: this.d.engine,
        dataDir: this.d.dataDir,
        desired: new Map(desired.map((x) => [x.uid, x])),
        lookups: this.d.lookups,
        sandbox: this.d.sandbox,
        pulls: this.pulls,
        now: this.d.now,
        log: this.d.log,
      });
      steps = r.done;
      errors.push(...r.errors);
      for (const e of r.errors) this.d.log.warn('step failed', { op: e.step.op, pod: e.step.pod, error: e.error });
      obs = await this.observe(desired);
      p = plan(desired, obs, this.facts());
    }
    this.refreshVolumes(desired, obs);
    this.d.probes.sync(probeTargets(desired, obs.containers));
    await this.report(desired, obs.containers, p);
    return { steps, errors, ...(p.wakeAt !== undefined ? { wakeAt: p.wakeAt } : {}), pending: p.steps.length > 0 };
  }

  /** ConfigMap/Secret changes reach running pods: their files are rewritten in place (write-if-changed). */
  private refreshVolumes(desired: DesiredPod[], obs: Observed): void {
    const dirs = new Set(obs.podDirs);
    for (const d of desired) {
      if (!d.pod || !dirs.has(d.uid) || !(d.pod.spec.volumes ?? []).some((v) => v.configMap || v.secret)) continue;
      try {
        prepareVolumes(this.d.dataDir, d.uid, d.pod, this.d.lookups);
      } catch (e) {
        this.d.log.warn('volume refresh failed', { pod: `${d.namespace}/${d.name}`, error: errorMessage(e) });
      }
    }
  }

  private async report(desired: DesiredPod[], containers: ObservedContainer[], p: Plan): Promise<void> {
    const live = new Set<string>();
    for (const d of desired) {
      const k = `${d.namespace}/${d.name}`;
      live.add(k);
      const st = podStatus(d, containers.filter((c) => c.podUid === d.uid), p, this.d.probes.facts(), this.hostIP);
      const json = stableStringify(st);
      if (this.reported.get(k) === json) continue;
      const key = { kind: 'Pod', namespace: d.namespace, name: d.name };
      await this.d.reportStatus(key, st);
      this.reported.set(k, json);
    }
    for (const k of [...this.reported.keys()]) if (!live.has(k)) this.reported.delete(k);
  }
}

function probeTargets(desired: DesiredPod[], containers: ObservedContainer[]): ProbeTarget[] {
  const out: ProbeTarget[] = [];
  for (const d of desired) {
    if (!d.pod) continue;
    const mine = containers.filter((c) => c.podUid === d.uid);
    const box = mine.filter((c) => c.role === 'sandbox').sort((a, b) => b.attempt - a.attempt)[0];
    const host = d.pod.spec.hostNetwork ? '127.0.0.1' : box?.ip;
    for (const spec of d.pod.spec.containers) {
      if (!spec.livenessProbe && !spec.readinessProbe && !spec.startupProbe) continue;
      const cur = mine.filter((c) => c.role === 'app' && c.container === spec.name).sort((a, b) => b.attempt - a.attempt)[0];
      if (!cur || cur.state !== 'running' || cur.hash !== d.hashes[spec.name]) continue;
      out.push({
        id: cur.id,
        container: spec.name,
        host: host ?? '127.0.0.1',
        ports: Object.fromEntries((spec.ports ?? []).filter((x) => x.name).map((x) => [x.name!, x.containerPort])),
        ...(spec.livenessProbe ? { liveness: spec.livenessProbe } : {}),
        ...(spec.readinessProbe ? { readiness: spec.readinessProbe } : {}),
        ...(spec.startupProbe ? { startup: spec.startupProbe } : {}),
      });
    }
  }
  return out;
}
