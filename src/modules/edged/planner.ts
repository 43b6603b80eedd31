/**
 * The pure planner: desired pods + the engine state observed this loop + run-time facts → the
 * steps that move the engine toward the desired state. No I/O, no clock (facts.now), no memory
 * between calls: the same inputs always give the same plan. Each pod is planned on its own; the
 * caller runs each pod's steps independently of the others'.
 */
import { pullPolicyOf, type Container, type Pod } from '../../contract/resources/pod.js';
import { expandAll, finalEnv, needsPodIP } from './env.js';
import { containerName } from './labels.js';
import type { DesiredPod, Facts, Observed, ObservedContainer, Plan, Step, Waiting } from './model.js';

const ALIVE = new Set(['running', 'restarting', 'paused']);
const ENDED = new Set(['exited', 'dead']);
/** containers that ended this long before the engine went away count as ended by the outage */
const OUTAGE_SLACK_MS = 10_000;

export function crashLoopDelayMs(c: ObservedContainer, facts: Facts): number {
  const started = c.startedAt ? Date.parse(c.startedAt) : NaN;
  const finished = c.finishedAt ? Date.parse(c.finishedAt) : NaN;
  if (Number.isFinite(started) && Number.isFinite(finished) && finished - started >= facts.crashLoop.resetMs) return 0;
  // Stopped by an engine restart, not crashed: back at once.
  if (facts.outage && Number.isFinite(finished) && finished >= facts.outage.from - OUTAGE_SLACK_MS && finished <= facts.outage.to) return 0;
  return Math.min(facts.crashLoop.maxMs, facts.crashLoop.initialMs * Math.pow(2, Math.min(c.attempt, 30)));
}

export function pullBackoffMs(attempts: number, facts: Facts): number {
  return Math.min(facts.pullBackoff.maxMs, facts.pullBackoff.initialMs * Math.pow(2, Math.max(0, attempts - 1)));
}

const newest = (list: ObservedContainer[]): ObservedContainer | undefined => [...list].sort((a, b) => b.attempt - a.attempt)[0];

class PodPlanner {
  readonly steps: Step[] = [];
  readonly waiting = new Map<string, Waiting>();
  wakeAt?: number;
  terminal?: 'Succeeded' | 'Failed';
  private readonly pulled = new Set<string>();
  private volumesDone = false;
  /** the sandbox the pod's containers join: the running one, or the one this plan creates */
  private sandboxName?: string;
  /** the pod's IP when known now (its running sandbox's, or the host's) */
  private podIP?: string;
  /** members of a sandbox this plan replaces: their attempts and restart counts go on */
  private carry: ObservedContainer[] = [];

  constructor(
    private readonly d: DesiredPod & { pod: Pod },
    private mine: ObservedContainer[],
    private readonly obs: Observed,
    private readonly facts: Facts,
  ) {}

  private get grace(): number {
    return this.d.pod.spec.terminationGracePeriodSeconds;
  }

  private wake(at: number): void {
    this.wakeAt = this.wakeAt === undefined ? at : Math.min(this.wakeAt, at);
  }

  private remove(c: ObservedContainer, reason: string): void {
    this.steps.push({ op: 'remove', pod: this.d.uid, id: c.id, name: c.dockerName, role: c.role, container: c.container, graceSeconds: ALIVE.has(c.state) ? c.graceSeconds : 0, reason });
  }

  private stop(c: ObservedContainer, graceSeconds: number, reason: string): void {
    this.steps.push({ op: 'stop', pod: this.d.uid, id: c.id, name: c.dockerName, role: c.role, container: c.container, graceSeconds, reason });
  }

  private start(c: ObservedContainer): void {
    this.steps.push({ op: 'start', pod: this.d.uid, id: c.id, name: c.dockerName, role: c.role, container: c.container });
  }

  /**
   * Can a container with this image be created now? Adds a pull step when one is due. 'present':
   * no pull needed (the image is on the node); 'pull': pulled in this plan; false: not yet.
   */
  private imageReady(image: string, policy: 'Always' | 'IfNotPresent' | 'Never', role: 'init' | 'app', who: string): 'present' | 'pull' | false {
    const present = this.obs.images.has(image);
    if (policy === 'Never') {
      if (present) return 'present';
      this.waiting.set(who, { reason: 'ErrImageNeverPull', message: `image ${image} is not present and imagePullPolicy is Never` });
      return false;
    }
    if (policy === 'IfNotPresent' && present) return 'present';
    if (this.pulled.has(image)) return 'pull';
    const fail = this.facts.pulls.get(image);
    if (fail) {
      const until = fail.lastAt + pullBackoffMs(fail.attempts, this.facts);
      if (this.facts.now < until) {
        const fresh = this.facts.now - fail.lastAt < Math.min(2000, (until - fail.lastAt) / 2);
        this.waiting.set(who, { reason: fresh ? 'ErrImagePull' : 'ImagePullBackOff', message: fail.message });
        this.wake(fresh ? fail.lastAt + Math.min(2000, (until - fail.lastAt) / 2) : until);
        return false;
      }
    }
    const auth = this.d.pullAuth[image];
    this.steps.push({ op: 'pull', pod: this.d.uid, image, ...(auth ? { auth } : {}), for: { role, container: who } });
    this.pulled.add(image);
    return 'pull';
  }

  /** Restart count and attempt of a container created with no predecessor observed. */
  private fresh(name: string): { attempt: number; restarts: number } {
    const olds = this.carry.filter((c) => c.container === name);
    if (olds.length) return { attempt: Math.max(...olds.map((c) => c.attempt)) + 1, restarts: Math.max(...olds.map((c) => c.restarts)) + 1 };
    // It existed before (removed meanwhile, e.g. by an engine restart): that is a restart too.
    const seen = this.facts.restarts?.get(this.d.uid)?.get(name);
    return { attempt: 0, restarts: seen !== undefined ? seen + 1 : 0 };
  }

  private create(spec: Container, role: 'init' | 'app', n: { attempt: number; restarts: number }): void {
    const err = this.d.configErrors[spec.name];
    if (err) {
      this.waiting.set(spec.name, { reason: 'CreateContainerConfigError', message: err });
      return;
    }
    const image = this.imageReady(spec.image, pullPolicyOf(spec), role, spec.name);
    if (!image) return;
    const sources = this.d.env[spec.name] ?? [];
    // Its env reads the pod IP: wait until the sandbox this plan creates runs (the next pass).
    if (needsPodIP(sources) && this.podIP === undefined) return;
    this.volumes();
    const env = finalEnv(sources, { ...(this.podIP ? { podIP: this.podIP } : {}), ...(this.facts.hostIP ? { hostIP: this.facts.hostIP } : {}) });
    const command = expandAll(spec.command, env);
    const args = expandAll(spec.args, env);
    this.steps.push({
      op: 'create',
      pod: this.d.uid,
      role,
      container: spec.name,
      attempt: n.attempt,
      restarts: n.restarts,
      env: [...env].map(([k, v]) => `${k}=${v}`),
      ...(command ? { command } : {}),
      ...(args ? { args } : {}),
      ...(this.sandboxName ? { sandbox: this.sandboxName } : {}),
      ...(image === 'present' ? { present: spec.image } : {}),
    });
  }

  private volumes(): void {
    if (this.volumesDone) return;
    this.volumesDone = true;
    this.steps.push({ op: 'volumes', pod: this.d.uid });
  }

  /** Latest attempt of one container, the previous one (kept for lastState/logs), and the rest. */
  private attempts(role: 'init' | 'app', name: string): { cur?: ObservedContainer; prev?: ObservedContainer } {
    const list = this.mine.filter((c) => c.role === role && c.container === name).sort((a, b) => b.attempt - a.attempt);
    const [cur, prev, ...rest] = list;
    for (const c of rest) this.remove(c, 'old attempt');
    if (prev && !ENDED.has(prev.state)) {
      this.remove(prev, 'superseded');
      return cur ? { cur } : {};
    }
    return { ...(cur ? { cur } : {}), ...(prev ? { prev } : {}) };
  }

  /** A container that ended: restart it now, later (CrashLoopBackOff), or never. */
  private restartAfterEnd(spec: Container, role: 'init' | 'app', cur: ObservedContainer, prev: ObservedContainer | undefined): boolean {
    const policy = this.d.pod.spec.restartPolicy;
    const restart = role === 'init' ? policy !== 'Never' : policy === 'Always' || (policy === 'OnFailure' && cur.exitCode !== 0);
    if (!restart) return false;
    const finished = cur.finishedAt ? Date.parse(cur.finishedAt) : NaN;
    const at = (Number.isFinite(finished) ? finished : this.facts.now) + crashLoopDelayMs(cur, this.facts);
    if (this.facts.now < at) {
      this.waiting.set(spec.name, { reason: 'CrashLoopBackOff', message: `back-off ${Math.round((at - (Number.isFinite(finished) ? finished : this.facts.now)) / 1000)}s restarting failed container ${spec.name}` });
      this.wake(at);
      return true;
    }
    if (prev) this.remove(prev, 'old attempt');
    this.create(spec, role, { attempt: cur.attempt + 1, restarts: cur.restarts + 1 });
    return true;
  }

  plan(): void {
    if (this.d.unfit && this.mine.length === 0) {
      this.terminal = 'Failed'; // refused at admission, as the kubelet does; a running pod keeps running
      return;
    }
    if (this.d.deleting) return this.terminate(this.d.deleting.graceSeconds);
    this.planContainers();
    if (!this.terminal) return;
    // Nothing will run in this pod again: its network holder can stop (containers stay for logs).
    for (const b of this.mine.filter((c) => c.role === 'sandbox' && ALIVE.has(c.state))) this.stop(b, 1, 'pod finished');
  }

  /** The pod is being deleted: stop everything (members with the grace period, then the sandbox). */
  private terminate(grace: number): void {
    const alive = this.mine.filter((c) => ALIVE.has(c.state));
    for (const c of alive) this.stop(c, c.role === 'sandbox' ? 1 : grace, 'pod deleting');
    if (alive.some((c) => c.role !== 'sandbox')) return;
    const apps = this.d.pod.spec.containers.map((c) => newest(this.mine.filter((m) => m.role === 'app' && m.container === c.name)));
    this.terminal = apps.every((c) => c && ENDED.has(c.state) && c.exitCode === 0) ? 'Succeeded' : 'Failed';
  }

  private planContainers(): void {
    const spec = this.d.pod.spec;
    if (!this.sandbox()) return;
    // Init containers run once, in order, before any app container exists.
    const appsStarted = spec.containers.some((c) => this.mine.some((o) => o.role === 'app' && o.container === c.name));
    if (!appsStarted) {
      for (const ic of spec.initContainers ?? []) {
        const { cur, prev } = this.attempts('init', ic.name);
        if (!cur) return this.create(ic, 'init', this.fresh(ic.name));
        if (cur.hash !== this.d.hashes[ic.name]) {
          this.remove(cur, 'spec changed');
          return this.create(ic, 'init', { attempt: cur.attempt + 1, restarts: cur.restarts });
        }
        if (cur.state === 'created') return this.start(cur);
        if (!ENDED.has(cur.state)) return;
        if (cur.exitCode === 0) continue;
        if (!this.restartAfterEnd(ic, 'init', cur, prev)) this.terminal = 'Failed';
        return;
      }
    }
    let ended = 0;
    let failed = 0;
    for (const c of spec.containers) {
      const { cur, prev } = this.attempts('app', c.name);
      if (!cur) {
        this.create(c, 'app', this.fresh(c.name));
        continue;
      }
      if (cur.hash !== this.d.hashes[c.name]) {
        // A changed spec replaces the container; that is not a restart (the count stays).
        this.remove(cur, 'spec changed');
        this.create(c, 'app', { attempt: cur.attempt + 1, restarts: cur.restarts });
        continue;
      }
      if (cur.state === 'created') {
        this.start(cur);
        continue;
      }
      if (ALIVE.has(cur.state)) {
        const p = this.facts.probes.get(cur.id);
        if (p?.unhealthy) this.stop(cur, this.grace, `${p.unhealthyBy ?? 'liveness'} probe failed`);
        continue;
      }
      if (!this.restartAfterEnd(c, 'app', cur, prev)) {
        ended++;
        if (cur.exitCode !== 0) failed++;
      }
    }
    if (ended === spec.containers.length) this.terminal = failed > 0 ? 'Failed' : 'Succeeded';
  }

  /** Every app container ended and none will restart (Never; OnFailure with all exits 0). */
  private finished(members: ObservedContainer[]): boolean {
    const policy = this.d.pod.spec.restartPolicy;
    if (policy === 'Always') return false;
    const latest = (role: 'init' | 'app', name: string) => newest(members.filter((m) => m.role === role && m.container === name));
    if (policy === 'Never') {
      const initFailed = (this.d.pod.spec.initContainers ?? []).some((ic) => {
        const c = latest('init', ic.name);
        return c && ENDED.has(c.state) && c.exitCode !== 0 && c.hash === this.d.hashes[ic.name];
      });
      if (initFailed) return true;
    }
    const apps = this.d.pod.spec.containers.map((c) => latest('app', c.name));
    return apps.every((c) => c && ENDED.has(c.state) && c.hash === this.d.hashes[c.container] && (policy === 'Never' || c.exitCode === 0));
  }

  /** Make sure the pod's network holder runs. Returns false when nothing else can be done yet. */
  private sandbox(): boolean {
    const boxes = this.mine.filter((c) => c.role === 'sandbox').sort((a, b) => b.attempt - a.attempt);
    if (this.d.network !== 'shared') {
      for (const b of boxes) this.remove(b, `${this.d.network === 'host' ? 'a hostNetwork pod' : 'a single-container pod'} needs no sandbox`);
      if (this.d.network === 'host' && this.facts.hostIP) this.podIP = this.facts.hostIP;
      return true;
    }
    const [box, ...extra] = boxes;
    for (const b of extra) this.remove(b, 'duplicate sandbox');
    if (box && box.hash === this.d.sandboxHash && box.state === 'created') {
      this.sandboxName = box.dockerName;
      this.start(box);
      return true;
    }
    if (box && box.hash === this.d.sandboxHash && ALIVE.has(box.state)) {
      this.sandboxName = box.dockerName;
      if (box.ip) this.podIP = box.ip;
      return true;
    }
    // No usable sandbox: everything that joined the old one's network namespace goes with it.
    const members = this.mine.filter((c) => c.role !== 'sandbox');
    if (this.finished(members)) {
      if (box) this.sandboxName = box.dockerName;
      return true; // a completed pod keeps its containers for status and logs
    }
    if (box) this.remove(box, box.hash === this.d.sandboxHash ? 'sandbox not running' : 'sandbox spec changed');
    for (const c of members) this.remove(c, 'sandbox replaced');
    const first = this.d.pod.spec.containers[0]!;
    const policy = this.d.sandboxImage === first.image ? pullPolicyOf(first) : 'IfNotPresent';
    if (!this.imageReady(this.d.sandboxImage, policy, 'app', first.name)) {
      for (const c of [...(this.d.pod.spec.initContainers ?? []), ...this.d.pod.spec.containers]) {
        if (!this.waiting.has(c.name)) this.waiting.set(c.name, this.waiting.get(first.name)!);
      }
      return false;
    }
    this.volumes();
    const attempt = box ? box.attempt + 1 : 0;
    this.sandboxName = containerName(this.d, 'sandbox', 'sandbox', attempt);
    this.steps.push({ op: 'create', pod: this.d.uid, role: 'sandbox', container: 'sandbox', attempt });
    // Containers are recreated against the new sandbox in the same plan (restart counts go on).
    this.mine = [];
    this.carry = members;
    return true;
  }
}

export function plan(desired: readonly DesiredPod[], obs: Observed, facts: Facts): Plan {
  const out: Plan = { steps: [], waiting: new Map(), terminal: new Map() };
  const known = new Set(desired.map((d) => d.uid));
  // Containers of pods that no longer exist (or whose uid changed) go first.
  for (const c of obs.containers) {
    if (!known.has(c.podUid)) {
      out.steps.push({ op: 'remove', pod: c.podUid, id: c.id, name: c.dockerName, role: c.role, container: c.container, graceSeconds: ALIVE.has(c.state) ? c.graceSeconds : 0, reason: 'pod deleted' });
    }
  }
  for (const d of desired) {
    if (!d.pod) continue; // refused spec: nothing is created or removed
    const mine = obs.containers.filter((c) => c.podUid === d.uid);
    const p = new PodPlanner(d as DesiredPod & { pod: Pod }, mine, obs, facts);
    p.plan();
    out.steps.push(...p.steps);
    if (p.waiting.size) out.waiting.set(d.uid, p.waiting);
    if (p.terminal) out.terminal.set(d.uid, p.terminal);
    if (p.wakeAt !== undefined) out.wakeAt = out.wakeAt === undefined ? p.wakeAt : Math.min(out.wakeAt, p.wakeAt);
  }
  for (const uid of obs.podDirs) {
    if (!known.has(uid)) out.steps.push({ op: 'removeDir', pod: uid, uid });
  }
  return out;
}
