/**
 * One reconcile pass: read desired pods from the store, observe the engine, plan, hand each pod's
 * steps to its worker (the pass never waits for them: a pod's work ending asks for the next
 * pass), then sync probes and report every pod status that changed (metamanager's
 * `status.report`: stored and queued upstream by the node's uplink in one transaction). A
 * container that starts waiting (CrashLoopBackOff, ImagePullBackOff...) is told as the kubelet's
 * BackOff/Failed event, once per wait.
 */
import { networkInterfaces } from 'node:os';
import type { BackoffPolicy } from '../../core/backoff.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { stableStringify } from '../../lib/json.js';
import type { NodeStore } from '../../store/store.js';
import { relayNodeLabels } from '../../store/meta.js';
import { desiredPods, keepRunningSandboxes, type Lookups, type SandboxSettings } from './desired.js';
import type { NodeInfo } from './downward.js';
import type { ContainerEngine } from './engine.js';
import { waitingEvents, type PodEventSink } from './events.js';
import { PodWorkers, type StepError } from './executor.js';
import type { DesiredPod, Facts, Observed, ObservedContainer, Plan, PullFailure, Step } from './model.js';
import { plan } from './planner.js';
import { probeTargets, type ProbeManager } from './probes.js';
import { engineDownStatus, podStatus, type PodStatus } from './status.js';
import { listPodDirs, prepareVolumes } from './volumes.js';
import type { IssueToken } from './serviceaccount.js';

export interface ReconcilerDeps {
  engine: ContainerEngine;
  store: NodeStore;
  lookups: Lookups;
  probes: ProbeManager;
  dataDir: string;
  node: NodeInfo;
  sandbox: SandboxSettings;
  timing: Pick<Facts, 'crashLoop' | 'pullBackoff'>;
  /** backoff of a pod whose steps failed (each pod its own) */
  podRetry: BackoffPolicy;
  /** status.report to metamanager (stored, and queued upstream) */
  reportStatus: (key: { kind: string; namespace: string; name: string }, status: PodStatus) => Promise<void>;
  /** a pod's work ended (failed: a step of it failed): time for another pass */
  workDone: (failed: boolean) => void;
  now: () => number;
  log: Logger;
  /** service-account tokens for pods (metamanager's MetaServer) */
  issueToken?: IssueToken;
  /** the kubelet's events about pods (metamanager's `event.report`) */
  events?: PodEventSink;
}

export interface PassResult {
  /** pods given work this pass */
  dispatched: number;
  /** ms since epoch when a pass is next needed (a backoff expires) */
  wakeAt?: number;
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
  private readonly last = new Map<string, PodStatus>();
  /** per pod uid, per container: restart counts seen (they outlive removed containers) */
  private readonly restarts = new Map<string, Map<string, number>>();
  private readonly workers: PodWorkers;
  /** per pod: its last failure as logged, and how often it repeated since */
  private readonly failing = new Map<string, { error: string; count: number }>();
  private readonly hostIP = hostIPv4();
  private open = true;
  private outage?: { from: number; to?: number };
  private names = new Map<string, string>();
  /** per pod uid/container: the waiting reason last told as an event */
  private readonly waitingTold = new Map<string, string>();

  constructor(private readonly d: ReconcilerDeps) {
    for (const r of d.store.resources.list('Pod')) {
      if (r.status === null) continue;
      this.reported.set(`${r.namespace}/${r.name}`, stableStringify(r.status));
      const st = r.status as PodStatus;
      this.last.set(`${r.namespace}/${r.name}`, st);
      for (const cs of [...(st.initContainerStatuses ?? []), ...(st.containerStatuses ?? [])]) {
        if (cs?.containerID) this.seen(r.uid, cs.name, cs.restartCount ?? 0);
      }
    }
    this.workers = new PodWorkers(
      {
        engine: d.engine,
        dataDir: d.dataDir,
        lookups: d.lookups,
        node: d.node,
        sandbox: d.sandbox,
        pulls: this.pulls,
        pulling: new Map(),
        now: d.now,
        log: d.log,
        open: () => this.open,
        ...(d.issueToken ? { issueToken: d.issueToken } : {}),
        ...(d.events ? { events: d.events } : {}),
      },
      d.podRetry,
      { settled: (pod, errors) => (this.logOutcome(pod, errors), d.workDone(errors.length > 0)) },
    );
  }

  private seen(uid: string, container: string, restarts: number): void {
    const m = this.restarts.get(uid) ?? new Map<string, number>();
    m.set(container, Math.max(m.get(container) ?? 0, restarts));
    this.restarts.set(uid, m);
  }

  private async observe(desired: DesiredPod[]): Promise<Observed> {
    const containers = await this.d.engine.observe();
    const images = new Set<string>();
    const wanted = new Set<string>();
    for (const p of desired) {
      if (!p.pod || p.deleting) continue;
      if (p.network === 'shared') wanted.add(p.sandboxImage);
      for (const c of [...(p.pod.spec.initContainers ?? []), ...p.pod.spec.containers]) wanted.add(c.image);
    }
    await Promise.all([...wanted].map(async (img) => void ((await this.d.engine.imagePresent(img)) && images.add(img))));
    return { containers, images, podDirs: listPodDirs(this.d.dataDir) };
  }

  private facts(): Facts {
    return {
      now: this.d.now(),
      probes: this.d.probes.facts(),
      pulls: this.pulls,
      restarts: this.restarts,
      ...(this.hostIP ? { hostIP: this.hostIP } : {}),
      ...(this.outage?.to !== undefined ? { outage: { from: this.outage.from, to: this.outage.to } } : {}),
      ...this.d.timing,
    };
  }

  /** The node as pods see it: its own labels, and over them its Node's labels as the relay sent them (kubectl label node). */
  private node(): NodeInfo {
    return { ...this.d.node, labels: { ...this.d.node.labels, ...relayNodeLabels(this.d.store.meta) } };
  }

  async pass(): Promise<PassResult> {
    const wanted = desiredPods(this.d.store.resources, this.d.lookups, this.d.sandbox, this.node());
    const obs = await this.observe(wanted);
    const desired = keepRunningSandboxes(wanted, obs.containers);
    for (const c of obs.containers) if (c.role !== 'sandbox') this.seen(c.podUid, c.container, c.restarts);
    const p = plan(desired, obs, this.facts());
    const byUid = new Map(desired.map((x) => [x.uid, x]));
    for (const e of waitingEvents(this.waitingTold, p.waiting, byUid)) this.d.events?.(e.pod, e.event);
    for (const x of desired) this.names.set(x.uid, `${x.namespace}/${x.name}`);
    let wakeAt = p.wakeAt;
    let dispatched = 0;
    for (const [pod, steps] of groupByPod(p.steps)) {
      if (!this.open || this.workers.isBusy(pod)) continue;
      const notBefore = this.workers.notBefore(pod);
      if (notBefore !== undefined) {
        wakeAt = wakeAt === undefined ? notBefore : Math.min(wakeAt, notBefore);
        continue;
      }
      this.workers.dispatch(pod, steps, byUid.get(pod));
      dispatched++;
    }
    this.refreshVolumes(desired, obs);
    this.d.probes.sync(probeTargets(desired, obs.containers, this.hostIP));
    await this.report(desired, obs.containers, p);
    this.prune(new Set([...desired.map((x) => x.uid), ...obs.containers.map((c) => c.podUid)]));
    return { dispatched, ...(wakeAt !== undefined ? { wakeAt } : {}) };
  }

  /** Forget what belongs to pods that are gone (and have no work in flight). */
  private prune(live: Set<string>): void {
    for (const uid of [...this.restarts.keys(), ...this.failing.keys(), ...this.names.keys()]) {
      if (live.has(uid) || this.workers.isBusy(uid)) continue;
      this.restarts.delete(uid);
      this.failing.delete(uid);
      this.names.delete(uid);
      this.workers.forget(uid);
    }
  }

  /** One line per new failure of a pod; repeats of the same one are counted, not logged again. */
  private logOutcome(pod: string, errors: StepError[]): void {
    const who = this.names.get(pod) ?? `uid ${pod}`;
    const prev = this.failing.get(pod);
    const e = errors[0];
    if (!e) {
      if (prev) this.d.log.info('pod work recovered', { pod: who, after: `${prev.count} failures` });
      this.failing.delete(pod);
      return;
    }
    const what = stepWhat(e.step);
    const error = `${what}: ${e.error}`;
    if (prev?.error === error) {
      prev.count++;
      if ((prev.count & (prev.count - 1)) === 0) this.d.log.warn('pod work still failing', { pod: who, error, times: prev.count });
      return;
    }
    this.failing.set(pod, { error, count: 1 });
    this.d.log.warn('pod work failed; retrying with backoff', { pod: who, error });
  }

  /** ConfigMap/Secret changes reach running pods: their files are rewritten in place (write-if-changed). */
  private refreshVolumes(desired: DesiredPod[], obs: Observed): void {
    const dirs = new Set(obs.podDirs);
    for (const d of desired) {
      if (!d.pod || !dirs.has(d.uid) || this.workers.isBusy(d.uid) || !(d.pod.spec.volumes ?? []).some((v) => v.configMap || v.secret || v.downwardAPI)) continue;
      try {
        prepareVolumes(this.d.dataDir, d.uid, d.pod, this.d.lookups, this.d.node);
      } catch (e) {
        this.d.log.warn('volume refresh failed', { pod: `${d.namespace}/${d.name}`, error: errorMessage(e) });
      }
    }
  }

  /**
   * The engine stopped answering (or is going away): nothing more is sent to it, and every pod's
   * status says so instead of a stale ContainerCreating.
   */
  async engineAway(message: string): Promise<void> {
    const first = this.open;
    this.open = false;
    if (first) this.outage = { from: this.d.now() };
    const desired = desiredPods(this.d.store.resources, this.d.lookups, this.d.sandbox, this.node());
    for (const d of desired) {
      if (d.pod) await this.publish(d, engineDownStatus(this.last.get(`${d.namespace}/${d.name}`), d, message));
    }
  }

  /** The engine answers again: steps may go to it, and containers the outage stopped restart at once. */
  engineBack(): void {
    if (this.open) return;
    this.open = true;
    if (this.outage) this.outage.to = this.d.now();
  }

  private async report(desired: DesiredPod[], containers: ObservedContainer[], p: Plan): Promise<void> {
    const live = new Set<string>();
    for (const d of desired) {
      live.add(`${d.namespace}/${d.name}`);
      const st = podStatus(d, containers.filter((c) => c.podUid === d.uid), p, this.d.probes.facts(), this.hostIP, {
        restarts: this.restarts.get(d.uid),
        workError: this.workers.notBefore(d.uid) !== undefined ? this.workers.lastError(d.uid) : undefined,
      });
      await this.publish(d, st);
    }
    for (const k of [...this.reported.keys()]) {
      if (live.has(k)) continue;
      this.reported.delete(k);
      this.last.delete(k);
    }
  }

  private async publish(d: DesiredPod, st: PodStatus): Promise<void> {
    const k = `${d.namespace}/${d.name}`;
    const json = stableStringify(st);
    if (this.reported.get(k) === json) return;
    await this.d.reportStatus({ kind: 'Pod', namespace: d.namespace, name: d.name }, st);
    this.reported.set(k, json);
    this.last.set(k, st);
  }

  /** Resolves when no pod has work in flight (tests, shutdown). */
  idle(): Promise<void> {
    return this.workers.idle();
  }
}

function groupByPod(steps: readonly Step[]): Map<string, Step[]> {
  const out = new Map<string, Step[]>();
  for (const s of steps) {
    const list = out.get(s.pod) ?? [];
    list.push(s);
    out.set(s.pod, list);
  }
  return out;
}

/** A step in words, for messages: "create container web", "pull busybox:1". */
function stepWhat(s: Step): string {
  switch (s.op) {
    case 'pull':
      return `pull ${s.image}`;
    case 'create':
      return s.role === 'sandbox' ? 'create the sandbox' : `create container ${s.container}`;
    case 'start':
    case 'stop':
    case 'remove':
      return `${s.op} ${s.name}`;
    case 'volumes':
      return 'prepare volumes';
    case 'removeDir':
      return 'remove the pod folder';
  }
}
